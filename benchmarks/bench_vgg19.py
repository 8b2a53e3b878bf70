"""VGG-19 inference: cnncore's model side by side with the same network in PyTorch CPU.

The same weights in both (copied with ``cnncore.weights.to_torchvision_state_dict``),
224x224x3 float32 images, batch 1 and 8, 1 and 2 threads.  PyTorch runs channels-last
under ``torch.inference_mode()`` (its fastest CPU layout for convolutions); cnncore runs
``model.predict``.  The two run interleaved in one process, each run after a 0.2 s pause
(so that neither one's spinning threads run into the other's turn); each figure is the
median of ``--repeat`` runs after a warm-up, and the ratio is cnncore's images/s over PyTorch's
(the target: >= 1.0 at 2 threads).

    pip install -e ".[torch]"                        # torch==2.13.0, CPU build
    python benchmarks/bench_vgg19.py                 # the full run (minutes; run it alone)
    python benchmarks/bench_vgg19.py --markdown >> benchmarks/RESULTS.md
    python benchmarks/bench_vgg19.py --size 32 --width 0.125 --batch 1 --threads 1 --repeat 1   # smoke

Run it alone on the machine: anything else busy on the cores skews the ratios.
"""
import argparse
import platform

import numpy as np
import torch  # before cnncore: cnncore sets GOMP_SPINCOUNT for OpenMP runtimes loaded after it
from threadpoolctl import threadpool_limits

import cnncore
from cnncore._isa import cpu_name, effective
from cnncore.models import vgg19
from cnncore.weights import to_torchvision_state_dict

from bench_core import SETTLE_SECONDS, interleaved  # noqa: E402  (this folder: python benchmarks/...)


def torch_vgg(model):
    """The torch.nn twin of a cnncore VGG (torchvision's layout), with its weights."""
    import torch
    from torch import nn

    layers, c = [], model.input_shape[-1]
    for v in model.config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            v = max(1, int(round(v * model.width)))
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    side = model.input_shape[0] // 32
    net = nn.Sequential(
        nn.Sequential(*layers), nn.Flatten(),
        nn.Sequential(nn.Linear(c * side * side, model.fc_units), nn.ReLU(True), nn.Dropout(),
                      nn.Linear(model.fc_units, model.fc_units), nn.ReLU(True), nn.Dropout(),
                      nn.Linear(model.fc_units, model.num_classes)),
        nn.Softmax(dim=1))
    sd = to_torchvision_state_dict(model)
    renamed = {("0." if k.startswith("features") else "2.") + k.split(".", 1)[1]: torch.from_numpy(v)
               for k, v in sd.items()}
    net.load_state_dict(renamed)
    return net.eval().to(memory_format=torch.channels_last)


def main(argv=None):
    p = argparse.ArgumentParser(description="VGG-19 inference, cnncore vs PyTorch CPU")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--size", type=int, default=224, help="image side (a multiple of 32)")
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (1 = VGG-19)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown section for RESULTS.md")
    args = p.parse_args(argv)

    import torch

    model = vgg19(input_shape=(args.size, args.size, 3), width=args.width,
                  fc_units=None if args.width != 1.0 else 4096, seed=0)
    net = torch_vgg(model)
    rng = np.random.default_rng(0)
    rows = []
    for threads in args.threads:
        cnncore.set_num_threads(threads)
        torch.set_num_threads(threads)
        for batch in args.batch:
            x = rng.standard_normal((batch, args.size, args.size, 3), dtype=np.float32)
            xt = torch.from_numpy(x).permute(0, 3, 1, 2)          # NCHW view of NHWC memory: channels-last
            with threadpool_limits(threads), torch.inference_mode():
                ours = model.predict(x, batch_size=batch, verbose=False)
                theirs = net(xt).numpy()
                err = float(np.abs(ours - theirs).max())
                t = interleaved({"cnncore": lambda: model.predict(x, batch_size=batch, verbose=False),
                                 "torch": lambda: net(xt)}, args.repeat, rewarm=False)
            ips = {k: batch / v for k, v in t.items()}
            rows.append((threads, batch, t["cnncore"], t["torch"], ips["cnncore"], ips["torch"],
                         ips["cnncore"] / ips["torch"], err))
            if not args.markdown:
                print(f"threads={threads} batch={batch}: cnncore {t['cnncore'] * 1e3:8.1f} ms "
                      f"({ips['cnncore']:.2f} img/s), torch {t['torch'] * 1e3:8.1f} ms "
                      f"({ips['torch']:.2f} img/s), ratio {ips['cnncore'] / ips['torch']:.2f}, "
                      f"max |prob diff| {err:.1e}", flush=True)

    title = "VGG-19" if args.width == 1.0 else f"VGG-19 (width {args.width})"
    lines = [
        f"## {title} inference at {args.size}x{args.size}, float32 (benchmarks/bench_vgg19.py)",
        "",
        f"{cpu_name()} (cnncore path {effective()}), Python {platform.python_version()}, "
        f"NumPy {np.__version__}, PyTorch {torch.__version__}; {model.macs / 1e9:.2f} G MACs per image; "
        f"median of {args.repeat} interleaved runs after a warm-up, each after a "
        f"{SETTLE_SECONDS} s pause.",
        "",
        "| threads | batch | cnncore ms | PyTorch ms | cnncore img/s | PyTorch img/s | ratio | max abs diff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for th, b, tc, tt, ic, it, ratio, err in rows:
        lines.append(f"| {th} | {b} | {tc * 1e3:.1f} | {tt * 1e3:.1f} | {ic:.2f} | {it:.2f} | "
                     f"{ratio:.2f} | {err:.1e} |")
    text = "\n".join(lines)
    print(text if args.markdown else "\n" + text)
    return rows


if __name__ == "__main__":
    main()
