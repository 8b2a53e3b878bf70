"""How long cnncore's idle OpenMP threads spin: what each policy costs, without PyTorch.

Each policy runs in a fresh process (the OpenMP runtime reads it once, when it
loads), with no PyTorch in it: PyTorch loads its own OpenMP runtime, with its own
default, which cnncore's kernels would then share, as they do in the other
benchmarks here.  The cases:

- a convolution (batch 1, (112, 64, 128), 3x3 SAME) called back to back, and
  each call after 0.2 s of idleness (as in a notebook): GFLOP/s;
- 20 rounds of cnncore calls that alternate OpenMP loops and matrix products
  (dense (32, 512) x (512, 512), ReLU, a convolution, max pooling): ms;
- the same rounds with the dense replaced by the caller's own NumPy ``a @ w``
  (NumPy's BLAS threads between cnncore's OpenMP loops): ms;
- one training step of a small VGG (VGG-11 with batch norm, a quarter of the
  channels, 32x32x1 input, batch 16: the digits example's model): ms;
- one VGG-19 training step, 64x64, batch 32: ms.

Medians of several runs.  Policies: cnncore's default (``GOMP_SPINCOUNT=30000``,
set at import), GNU OpenMP's own (``GOMP_SPINCOUNT=300000``) and
``OMP_WAIT_POLICY=PASSIVE`` (threads sleep at once).

    python benchmarks/bench_threads.py              # about two minutes; run it alone
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

POLICIES = {"cnncore's default (GOMP_SPINCOUNT=30000)": {},
            "GNU OpenMP's default (GOMP_SPINCOUNT=300000)": {"GOMP_SPINCOUNT": "300000"},
            "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"}}
CASES = ["conv back to back, GFLOP/s", "conv after 0.2 s idle, GFLOP/s",
         "cnncore calls alternating, ms", "the same with NumPy's own matmul, ms",
         "small VGG training step, ms", "VGG-19 64x64 batch 32 step, ms"]


def training_step(model, x, labels):
    """One training step of a cnncore model, as ``cnncore.training.fit`` makes it per batch:
    the forward pass in training mode, softmax cross-entropy on the logits, the backward
    pass and SGD with momentum 0.9 (learning rate 1e-4)."""
    from cnncore import functional as F
    from cnncore.training import SGD

    opt = SGD(1e-4, momentum=0.9)

    def step():
        logits = model.forward(x, training=True, logits=True)
        _, dlogits = F.softmax_cross_entropy(logits, labels)
        model.backward(dlogits, input_grad=False)
        opt.step(model.parameters(), model.gradients())
    return step


def median_time(f, runs, pause=0.0):
    f()
    times = []
    for _ in range(runs):
        time.sleep(pause)
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure():
    """The cases in this process: {case: figure}."""
    import numpy as np

    import cnncore
    from cnncore.models import vgg, vgg19

    rng = np.random.default_rng(0)
    out = {}
    x = rng.standard_normal((1, 112, 112, 64), dtype=np.float32)
    k = rng.standard_normal((3, 3, 64, 128), dtype=np.float32)
    flop = 2 * 112 * 112 * 64 * 128 * 9

    def conv():
        cnncore.conv2d(x, k, padding="same")
    out[CASES[0]] = flop / median_time(conv, 15) / 1e9
    out[CASES[1]] = flop / median_time(conv, 12, pause=0.2) / 1e9

    a = rng.standard_normal((32, 512), dtype=np.float32)
    w = rng.standard_normal((512, 512), dtype=np.float32)
    xs = rng.standard_normal((32, 8, 8, 64), dtype=np.float32)
    ks = rng.standard_normal((3, 3, 64, 64), dtype=np.float32)

    def rounds(matmul):
        def run():
            for _ in range(20):
                h = matmul(a, w)
                cnncore.relu(h, out=h)
                cnncore.max_pool2d(cnncore.conv2d(xs, ks, padding="same"))
        return run
    out[CASES[2]] = median_time(rounds(cnncore.dense), 9) * 1e3
    out[CASES[3]] = median_time(rounds(np.matmul), 9) * 1e3

    def step_of(model, batch):
        xb = rng.standard_normal((batch,) + model.input_shape, dtype=np.float32)
        return training_step(model, xb, rng.integers(0, model.num_classes, batch))
    small = vgg("vgg11", num_classes=10, input_shape=(32, 32, 1), batch_norm=True, width=0.25,
                fc_units=64, dropout=0.0, seed=0)
    out[CASES[4]] = median_time(step_of(small, 16), 30) * 1e3
    out[CASES[5]] = median_time(step_of(vgg19(input_shape=(64, 64, 3), seed=0), 32), 3) * 1e3
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spincount", type=int, nargs="*", default=[],
                   help="more policies to compare: GOMP_SPINCOUNT=N for each N")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    policies = POLICIES | {f"GOMP_SPINCOUNT={n}": {"GOMP_SPINCOUNT": str(n)} for n in args.spincount}
    if args.worker:
        print(json.dumps(measure()))
        return
    results = {}
    for name, env in policies.items():
        child = {k: v for k, v in os.environ.items()
                 if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | env
        run = subprocess.run([sys.executable, __file__, "--worker"], env=child,
                             capture_output=True, text=True, check=True)
        results[name] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"{name}: done", file=sys.stderr, flush=True)
    from cnncore._isa import cpu_name
    import cnncore

    print("| case | " + " | ".join(policies) + " |")
    print("|---|" + "---:|" * len(policies))
    for case in CASES:
        print(f"| {case} | " + " | ".join(f"{results[p][case]:.1f}" for p in policies) + " |")
    print(f"\nMachine: {cpu_name()}; {len(os.sched_getaffinity(0))} cores, "
          f"{cnncore.get_num_threads()} threads; Python {platform.python_version()}, "
          f"cnncore {cnncore.__version__}; no PyTorch in the measuring processes.")


if __name__ == "__main__":
    main()
