"""A whole VGG-19 training step: cnncore side by side with the same network in PyTorch CPU.

One step is what ``cnncore.training.fit`` does per batch: the forward pass in training
mode (batch statistics, dropout), softmax cross-entropy on the logits, the backward
pass, and SGD with momentum 0.9.  PyTorch runs the same network channels-last with
``torch.optim.SGD(momentum=0.9)`` at the same thread count.  VGG-19 with and without
batch norm, 224x224 at batch 8 and 64x64 at batch 32.  Times are medians of
``--repeat`` interleaved steps after a warm-up step, each after a 0.2 s pause (so that
neither framework's spinning threads run into the other's turn); the ratio is PyTorch's time over
cnncore's (higher is better for cnncore).  Peak memory is the growth of the peak
resident set over the steps, each framework measured alone in a fresh process.

    pip install -e ".[bench]"                     # torch==2.13.0, CPU build
    python benchmarks/bench_train.py              # the full run (minutes; run it alone)
    python benchmarks/bench_train.py --cases 64x32 --repeat 1 --width 0.25   # smoke

Run it alone on the machine: anything else busy on the cores skews the ratios.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np
import torch  # before cnncore: cnncore sets GOMP_SPINCOUNT for OpenMP runtimes loaded after it
from threadpoolctl import threadpool_limits

import cnncore
from cnncore._isa import cpu_name, effective
from cnncore.models import vgg19

from bench_threads import training_step  # noqa: E402  (this folder: python benchmarks/...)
from bench_core import SETTLE_SECONDS, interleaved  # noqa: E402

CASES = {"224x8": (224, 8), "64x32": (64, 32)}


def torch_twin(model):
    """The torch.nn network of a cnncore VGG (same layers; its own initial weights)."""
    from torch import nn

    layers, c = [], model.input_shape[-1]
    for v in model.config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        v = max(1, int(round(v * model.width)))
        layers.append(nn.Conv2d(c, v, 3, padding=1, bias=not model.batch_norm))
        if model.batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c = v
    side = model.input_shape[0] // 32
    net = nn.Sequential(
        *layers, nn.Flatten(),
        nn.Linear(c * side * side, model.fc_units), nn.ReLU(True), nn.Dropout(),
        nn.Linear(model.fc_units, model.fc_units), nn.ReLU(True), nn.Dropout(),
        nn.Linear(model.fc_units, model.num_classes))
    return net.train().to(memory_format=torch.channels_last)


def build(framework, size, batch, batch_norm, width):
    """(model, one training step) for ``framework``, on fixed random images and labels."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 3), dtype=np.float32)
    labels = rng.integers(0, 1000, batch)
    model = vgg19(input_shape=(size, size, 3), batch_norm=batch_norm, width=width,
                  fc_units=None if width == 1.0 else 256, seed=0)
    if framework == "cnncore":
        return training_step(model, x, labels)

    net = torch_twin(model)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)      # NCHW view of NHWC memory: channels-last
    yt = torch.from_numpy(labels)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(xt), yt).backward()
        opt.step()
    return step


def peak_memory(framework, case, batch_norm, width, threads, steps=2):
    """Growth of the peak RSS (MB) over ``steps`` training steps, in a fresh process."""
    code = (f"import sys; sys.argv = ['x']; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
            f"import bench_train as b\n"
            f"print(b._measure_memory({framework!r}, {case!r}, {batch_norm!r}, {width!r}, "
            f"{threads!r}, {steps!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _measure_memory(framework, case, batch_norm, width, threads, steps):
    torch.set_num_threads(threads)
    cnncore.set_num_threads(threads)
    size, batch = CASES[case]
    step = build(framework, size, batch, batch_norm, width)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")            # Linux: the peak RSS (VmHWM) starts again from the current RSS
    before = _status_kb("VmRSS")
    with threadpool_limits(threads):
        for _ in range(steps):
            step()
    return (_status_kb("VmHWM") - before) / 1024


def _status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--batch-norm", choices=["off", "on", "both"], default="both")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (1 = VGG-19)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    cnncore.set_num_threads(args.threads)
    bns = {"off": [False], "on": [True], "both": [False, True]}[args.batch_norm]
    rows = []
    for case in args.cases:
        size, batch = CASES[case]
        for bn in bns:
            fns = {fw: build(fw, size, batch, bn, args.width) for fw in ("cnncore", "torch")}
            with threadpool_limits(args.threads):
                t = interleaved(fns, args.repeat, rewarm=False)
            mem = {} if args.no_memory else {
                fw: peak_memory(fw, case, bn, args.width, args.threads) for fw in fns}
            rows.append(dict(case=case, batch_norm=bn, seconds=t, memory_mb=mem,
                             ratio=t["torch"] / t["cnncore"]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    title = "VGG-19" if args.width == 1.0 else f"VGG-19 (width {args.width})"
    lines = [
        f"### {title} training step, float32, {args.threads} threads (benchmarks/bench_train.py)",
        "",
        f"{cpu_name()} (cnncore's {effective()} path), Python {platform.python_version()}, "
        f"NumPy {np.__version__}, PyTorch {torch.__version__}; median of {args.repeat} interleaved steps after a warm-up, "
        f"each after a {SETTLE_SECONDS} s pause; "
        "peak memory: growth of the peak RSS over two steps, each framework alone in a fresh process.",
        "",
        "| input | batch norm | cnncore s/step | PyTorch s/step | ratio (PyTorch time / cnncore) "
        "| cnncore peak MB | PyTorch peak MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        size, batch = CASES[r["case"]]
        mem = r["memory_mb"]
        lines.append(f"| {size}x{size}, batch {batch} | {'yes' if r['batch_norm'] else 'no'} | "
                     f"{r['seconds']['cnncore']:.2f} | {r['seconds']['torch']:.2f} | {r['ratio']:.2f} | "
                     f"{mem.get('cnncore', float('nan')):.0f} | {mem.get('torch', float('nan')):.0f} |")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
