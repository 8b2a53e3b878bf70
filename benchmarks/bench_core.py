"""cnncore's kernels side by side with PyTorch CPU and a plain NumPy im2col.

Every distinct convolution shape of VGG-19 at 224x224 (3x3, SAME, stride 1),
forward and forward+backward, batch 1 and 8, at 1 and 2 threads; batch norm
training and inference on large channels-last activations.  The contenders
run interleaved in the same process, each timing is the median of several
runs, and ratios are throughput ratios (higher is better for cnncore).

    pip install -e ".[bench]"        # torch==2.13.0, CPU build
    python benchmarks/bench_core.py --markdown > /tmp/results.md

Run it alone on the machine: anything else busy on the cores skews ratios.

``--isa avx2`` runs cnncore's AVX2 micro-kernel against PyTorch restricted to
AVX2 as well (ATen through ATEN_CPU_CAPABILITY=avx2, oneDNN's convolutions
through ONEDNN_MAX_CPU_ISA=AVX2: ATen's switch alone leaves them on AVX-512);
the script starts itself again with those set.  ``--compare-paths avx2
portable`` times cnncore's own micro-kernels against each other in one process.
"""
import argparse
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch  # before cnncore: cnncore sets GOMP_SPINCOUNT for OpenMP runtimes loaded after it
import torch.nn.functional as TF
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_info, threadpool_limits

# as given, before cnncore sets it: a restart for --isa must not hand its spin count to PyTorch
SPINCOUNT_GIVEN = os.environ.get("GOMP_SPINCOUNT")
import cnncore  # noqa: E402
import cnncore.functional as F  # noqa: E402
from cnncore._isa import cpu_name, effective  # noqa: E402

# (input side, C_in, C_out): the distinct 3x3 convolutions of VGG-19 at 224x224
VGG19_CONVS = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128), (56, 128, 256),
               (56, 256, 256), (28, 256, 512), (28, 512, 512), (14, 512, 512)]
BN_SHAPES = [(8, 112, 112, 64), (8, 56, 56, 256), (64, 4096)]


# Idle threads spin a while after a call before they sleep (OpenBLAS's about
# 0.1 s): a contender timed right after another would share the cores with
# them.  So each contender first waits SETTLE_SECONDS, then (with rewarm) makes
# one untimed call, which wakes its own thread pool and the idle core, then the
# timed one.
SETTLE_SECONDS = 0.2


def interleaved(fns, reps, rewarm=True):
    """Median seconds of each callable, running them in turn rep after rep."""
    for fn in fns.values():  # warm up: workspaces, thread pools, first-touch pages
        fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            time.sleep(SETTLE_SECONDS)
            if rewarm:
                fn()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


# --- NumPy im2col baseline ---------------------------------------------------

def np_conv_same(x, k):
    kh, kw = k.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    cols = sliding_window_view(xp, (kh, kw), axis=(1, 2))       # N, H, W, C, kh, kw
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * x.shape[3])
    return (cols @ k.reshape(-1, k.shape[3])).reshape(x.shape[:3] + (k.shape[3],))


def np_conv_same_backward(dy, x, k):
    kh, kw = k.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    cols = sliding_window_view(xp, (kh, kw), axis=(1, 2))
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * x.shape[3])
    dk = (cols.T @ dy.reshape(-1, dy.shape[3])).reshape(k.shape)
    dx = np_conv_same(dy, np.ascontiguousarray(k[::-1, ::-1].transpose(0, 1, 3, 2)))
    return dx, dk


# --- the comparisons ----------------------------------------------------------

def conv_cases(batch, threads, reps, backward):
    rows = []
    for side, cin, cout in VGG19_CONVS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, side, side, cin), dtype=np.float32)
        k = (rng.standard_normal((3, 3, cin, cout), dtype=np.float32) / math.sqrt(9 * cin))
        b = np.zeros(cout, np.float32)
        dy = rng.standard_normal((batch, side, side, cout), dtype=np.float32)
        tx = torch.from_numpy(x).permute(0, 3, 1, 2)          # NCHW view of NHWC memory
        tk = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1))).contiguous(
            memory_format=torch.channels_last)
        tb = torch.from_numpy(b)
        tdy = torch.from_numpy(dy).permute(0, 3, 1, 2)
        assert tx.is_contiguous(memory_format=torch.channels_last)
        flops = 2.0 * batch * side * side * cout * 9 * cin * (3 if backward else 1)

        if backward:
            def ours():
                cnncore.conv2d(x, k, b, padding="same")
                cnncore.conv2d_backward(dy, x, k, padding="same")

            def theirs():
                xr = tx.detach().requires_grad_(True)
                kr = tk.detach().requires_grad_(True)
                y = TF.conv2d(xr, kr, tb, padding=1)
                y.backward(tdy)

            def numpy():
                np_conv_same(x, k)
                np_conv_same_backward(dy, x, k)
        else:
            def ours():
                cnncore.conv2d(x, k, b, padding="same")

            def theirs():
                with torch.no_grad():
                    TF.conv2d(tx, tk, tb, padding=1)

            def numpy():
                np_conv_same(x, k) + b

        with threadpool_limits(threads):
            t = interleaved({"cnncore": ours, "torch": theirs, "numpy": numpy}, reps)
        rows.append(((side, cin, cout), {n: flops / s / 1e9 for n, s in t.items()}))
    return rows


def bn_cases(threads, reps):
    rows = []
    for shape in BN_SHAPES:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape, dtype=np.float32)
        c = shape[-1]
        g, b = np.ones(c, np.float32), np.zeros(c, np.float32)
        mm, mv = np.zeros(c, np.float32), np.ones(c, np.float32)
        if len(shape) == 4:
            tx = torch.from_numpy(x).permute(0, 3, 1, 2)
        else:
            tx = torch.from_numpy(x)
        tg, tb = torch.from_numpy(g), torch.from_numpy(b)
        tm, tv = torch.from_numpy(mm.copy()), torch.from_numpy(mv.copy())
        gbytes = 2 * x.nbytes / 1e9  # one read and one write of the activation
        for mode in ("train", "infer"):
            if mode == "train":
                def ours():
                    cnncore.batch_norm_train(x, g, b)

                def theirs():
                    with torch.no_grad():
                        TF.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-3)

                def numpy():
                    axes = tuple(range(x.ndim - 1))
                    m = x.mean(axes)
                    v = x.var(axes)
                    (x - m) / np.sqrt(v + 1e-3) * g + b
            else:
                def ours():
                    cnncore.batch_norm_infer(x, g, b, mm, mv)

                def theirs():
                    with torch.no_grad():
                        TF.batch_norm(tx, tm, tv, tg, tb, training=False, eps=1e-3)

                def numpy():
                    (x - mm) / np.sqrt(mv + 1e-3) * g + b

            with threadpool_limits(threads):
                t = interleaved({"cnncore": ours, "torch": theirs, "numpy": numpy}, reps)
            rows.append(((mode,) + shape, {n: gbytes / s for n, s in t.items()}))
    return rows


def path_cases(paths, batch, threads, reps, backward):
    """cnncore's micro-kernels against each other: {shape: {path: GFLOP/s}}."""
    rows = []
    for side, cin, cout in VGG19_CONVS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, side, side, cin), dtype=np.float32)
        k = (rng.standard_normal((3, 3, cin, cout), dtype=np.float32) / math.sqrt(9 * cin))
        dy = rng.standard_normal((batch, side, side, cout), dtype=np.float32)
        flops = 2.0 * batch * side * side * cout * 9 * cin * (3 if backward else 1)

        def run(path):
            def fn():
                F.MICROKERNEL = path
                cnncore.conv2d(x, k, padding="same")
                if backward:
                    cnncore.conv2d_backward(dy, x, k, padding="same")
            return fn
        saved = F.MICROKERNEL
        try:
            with threadpool_limits(threads):
                t = interleaved({p: run(p) for p in paths}, reps)
        finally:
            F.MICROKERNEL = saved
        rows.append(((side, cin, cout), {p: flops / s / 1e9 for p, s in t.items()}))
    return rows


def report_paths(title, paths, rows, out):
    out.append(f"\n### {title}\n")
    out.append("| shape | " + " | ".join(f"{p} GFLOP/s" for p in paths) + " | "
               + " | ".join(f"{p} / {paths[0]}" for p in paths[1:]) + " |")
    out.append("|---|" + "---:|" * (2 * len(paths) - 1))
    for shape, r in rows:
        out.append(f"| {shape} | " + " | ".join(f"{r[p]:.1f}" for p in paths) + " | "
                   + " | ".join(f"{r[p] / r[paths[0]]:.2f}" for p in paths[1:]) + " |")
    gms = [geomean([r[p] / r[paths[0]] for _, r in rows]) for p in paths[1:]]
    out.append("| **geometric mean** | " + " | " * len(paths) + " | ".join(f"**{g:.2f}**" for g in gms) + " |")
    return gms


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def report(title, unit, rows, out):
    out.append(f"\n### {title}\n")
    out.append(f"| shape | cnncore {unit} | PyTorch {unit} | NumPy {unit} | cnncore / PyTorch | cnncore / NumPy |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for shape, r in rows:
        out.append(f"| {shape} | {r['cnncore']:.1f} | {r['torch']:.1f} | {r['numpy']:.1f} | "
                   f"{r['cnncore'] / r['torch']:.2f} | {r['cnncore'] / r['numpy']:.2f} |")
    gm_t = geomean([r["cnncore"] / r["torch"] for _, r in rows])
    gm_n = geomean([r["cnncore"] / r["numpy"] for _, r in rows])
    out.append(f"| **geometric mean** | | | | **{gm_t:.2f}** | **{gm_n:.2f}** |")
    return gm_t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--only", choices=["conv", "bn"], default=None)
    parser.add_argument("--markdown", action="store_true", help="(tables are markdown anyway)")
    parser.add_argument("--isa", choices=["avx512", "avx2"], default=None,
                        help="cap cnncore (CNNCORE_ISA) and PyTorch (ATen and oneDNN) to this ISA")
    parser.add_argument("--compare-paths", nargs="+", metavar="PATH", default=None,
                        help="time these cnncore micro-kernels against each other instead")
    args = parser.parse_args()
    if args.isa and os.environ.get("CNNCORE_ISA") != args.isa:
        env = dict(os.environ, CNNCORE_ISA=args.isa, ATEN_CPU_CAPABILITY=args.isa,
                   ONEDNN_MAX_CPU_ISA="AVX512_CORE" if args.isa == "avx512" else "AVX2")
        # PyTorch keeps its OpenMP runtime's default, as in the first run (cnncore's
        # kernels share that runtime when torch is imported first)
        if SPINCOUNT_GIVEN is None:
            env.pop("GOMP_SPINCOUNT", None)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')})" for i in threadpool_info()]
    out = [f"Machine: {cpu_name()}; cnncore path {effective()} (CNNCORE_ISA="
           f"{os.environ.get('CNNCORE_ISA', '')}), PyTorch capped by ATEN_CPU_CAPABILITY="
           f"{os.environ.get('ATEN_CPU_CAPABILITY', '')} ONEDNN_MAX_CPU_ISA="
           f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '')}; "
           f"{len(__import__('os').sched_getaffinity(0))} cores; Python {platform.python_version()}, "
           f"NumPy {np.__version__}, PyTorch {torch.__version__}, cnncore {cnncore.__version__}; "
           f"BLAS: {', '.join(sorted(set(blas)))}; {args.reps} interleaved runs, median."]
    summary = []
    if args.compare_paths:
        for threads in args.threads:
            cnncore.set_num_threads(threads)
            for batch in args.batches:
                for backward in (False, True):
                    what = "forward+backward" if backward else "forward"
                    title = f"conv2d {what}, batch {batch}, {threads} thread(s), cnncore's micro-kernels"
                    rows = path_cases(args.compare_paths, batch, threads, args.reps, backward)
                    gms = report_paths(title, args.compare_paths, rows, out)
                    summary += [(f"conv2d {what}: {p} / {args.compare_paths[0]}", batch, threads, g)
                                for p, g in zip(args.compare_paths[1:], gms)]
        args.only = "none"
    for threads in args.threads if args.only != "none" else []:
        torch.set_num_threads(threads)
        cnncore.set_num_threads(threads)
        if args.only in (None, "conv"):
            for batch in args.batches:
                for backward in (False, True):
                    what = "forward+backward" if backward else "forward"
                    title = f"conv2d {what}, batch {batch}, {threads} thread(s), float32, GFLOP/s"
                    gm = report(title, "GFLOP/s", conv_cases(batch, threads, args.reps, backward), out)
                    summary.append((f"conv2d {what}", batch, threads, gm))
                    print("\n".join(out[-(len(VGG19_CONVS) + 4):]), flush=True)
        if args.only in (None, "bn"):
            title = f"batch norm, {threads} thread(s), float32, GB/s (one read + one write)"
            rows = bn_cases(threads, args.reps)
            report(title, "GB/s", rows, out)
            for mode in ("train", "infer"):
                gm = geomean([r["cnncore"] / r["torch"] for s, r in rows if s[0] == mode])
                summary.append((f"batch norm {mode}", "-", threads, gm))
            print("\n".join(out[-(len(rows) + 4):]), flush=True)
    out.append("\n### Summary: cnncore / PyTorch throughput, geometric mean over shapes\n")
    out.append("| what | batch | threads | ratio |")
    out.append("|---|---|---|---:|")
    out += [f"| {w} | {b} | {t} | {g:.2f} |" for w, b, t, g in summary]
    print("\n".join(out))


if __name__ == "__main__":
    main()
