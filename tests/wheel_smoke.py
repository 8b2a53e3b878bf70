"""Smoke test of an installed cnncore (a wheel), run outside the repository.

    python wheel_smoke.py [--bundled-openmp] [--no-compiler]

Run by tests/test_wheel.py in a fresh virtual environment and by cibuildwheel
after each wheel it builds (pyproject.toml, [tool.cibuildwheel]); it needs
only cnncore and NumPy.  It checks that cnncore is the installed package with
its four compiled extensions, that conv2d, conv2d_backward, batch_norm_train
and max_pool2d agree with NumPy on small float32 and float64 cases, and that
show_config() and a small VGG run.  ``--bundled-openmp``: the OpenMP runtime in
the process is the one auditwheel put in cnncore.libs/ (Linux).
``--no-compiler``: no C compiler is on PATH.
"""
import importlib.machinery
import io
import os
import pathlib
import shutil
import sys

import numpy as np

import cnncore

EXTENSIONS = ("_conv", "_pool", "_batchnorm", "_elementwise")


def conv_reference(x, k, stride, pad):
    """Cross-correlation by shifted slices: pad ((top, bottom), (left, right))."""
    xp = np.pad(x, ((0, 0), pad[0], pad[1], (0, 0)))
    (KH, KW), (sh, sw) = k.shape[:2], stride
    OH, OW = (xp.shape[1] - KH) // sh + 1, (xp.shape[2] - KW) // sw + 1
    y = np.zeros((x.shape[0], OH, OW, k.shape[3]))
    for m in range(KH):
        for n in range(KW):
            patch = xp[:, m:m + sh * (OH - 1) + 1:sh, n:n + sw * (OW - 1) + 1:sw]
            y += np.tensordot(patch, k[m, n], axes=([3], [0]))
    return y


def conv_backward_reference(dy, x, k, stride, pad):
    xp = np.pad(x, ((0, 0), pad[0], pad[1], (0, 0))).astype(np.float64)
    dxp, dk = np.zeros_like(xp), np.zeros(k.shape)
    (KH, KW), (sh, sw), (OH, OW) = k.shape[:2], stride, dy.shape[1:3]
    for m in range(KH):
        for n in range(KW):
            rows, cols = slice(m, m + sh * (OH - 1) + 1, sh), slice(n, n + sw * (OW - 1) + 1, sw)
            dk[m, n] = np.tensordot(xp[:, rows, cols], dy, axes=([0, 1, 2], [0, 1, 2]))
            dxp[:, rows, cols] += np.tensordot(dy, k[m, n], axes=([3], [1]))
    H, W = x.shape[1:3]
    dx = dxp[:, pad[0][0]:pad[0][0] + H, pad[1][0]:pad[1][0] + W]
    return dx, dk, dy.sum(axis=(0, 1, 2))


def close(got, want, dtype, what):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    err = float(np.abs(got - want).max(initial=0))
    assert err <= tol * scale, f"{what} ({np.dtype(dtype).name}): off by {err:.3g}"


def check_installed():
    here = pathlib.Path(cnncore.__file__).resolve()
    assert here.is_relative_to(pathlib.Path(sys.prefix).resolve()), (here, sys.prefix)
    assert not any("editable" in repr(f).lower() for f in sys.meta_path), sys.meta_path
    for name in EXTENSIONS:
        module = sys.modules[f"cnncore.{name}"]
        assert isinstance(module.__loader__, importlib.machinery.ExtensionFileLoader), module
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def check_operations():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((2, 7, 6, 5)).astype(dtype)
        # 20 output channels: a whole and a partial block of the float32 micro-kernels
        k = rng.standard_normal((3, 2, 5, 20)).astype(dtype)
        for stride, pad, padding in [((1, 1), ((0, 0), (0, 0)), "valid"),
                                     ((2, 1), ((1, 2), (0, 1)), ((1, 2), (0, 1)))]:
            y = cnncore.conv2d(x, k, stride=stride, padding=padding)
            close(y, conv_reference(x, k, stride, pad), dtype, f"conv2d {padding}")
            dy = rng.standard_normal(y.shape).astype(dtype)
            got = cnncore.conv2d_backward(dy, x, k, stride=stride, padding=padding)
            want = conv_backward_reference(dy, x, k, stride, pad)
            for g, w, what in zip(got, want, ("dx", "dkernel", "dbias")):
                close(g, w, dtype, f"conv2d_backward {padding} {what}")
        gamma, beta = rng.uniform(0.5, 2, 5), rng.standard_normal(5)
        y, mean, var = cnncore.batch_norm_train(x, gamma, beta)
        m, v = x.astype(np.float64).mean(axis=(0, 1, 2)), x.astype(np.float64).var(axis=(0, 1, 2))
        close(y, gamma * (x - m) / np.sqrt(v + 1e-3) + beta, dtype, "batch_norm_train y")
        close(mean, m, dtype, "batch_norm_train mean")
        close(var, v, dtype, "batch_norm_train var")
        pooled = x[:, :6, :6].reshape(2, 3, 2, 3, 2, 5).max(axis=(2, 4))
        close(cnncore.max_pool2d(x, 2), pooled, dtype, "max_pool2d")


def check_config_and_model():
    out = io.StringIO()
    cnncore.show_config(file=out)
    assert f"cnncore {cnncore.__version__}" in out.getvalue(), out.getvalue()
    model = cnncore.vgg19(num_classes=10, input_shape=(32, 32, 3), batch_norm=True, width=0.125)
    probs = model(np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32))
    assert probs.shape == (2, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5), probs


def check_bundled_openmp():
    """The libgomp in this process is the copy auditwheel bundled in cnncore.libs/."""
    cnncore.set_num_threads(2)
    cnncore.batch_norm_train(np.ones((64, 8, 8, 16)), np.ones(16), np.zeros(16))  # threads
    libs = pathlib.Path(cnncore.__file__).resolve().parent.parent / "cnncore.libs"
    with open("/proc/self/maps") as f:
        loaded = {line.split()[-1] for line in f if "libgomp" in line}
    assert loaded, "no libgomp mapped"
    assert all(pathlib.Path(p).parent == libs for p in loaded), loaded


def main(argv):
    if "--no-compiler" in argv:
        found = {cc: shutil.which(cc) for cc in ("gcc", "cc", "clang")}
        assert not any(found.values()), found
    check_installed()
    check_operations()
    check_config_and_model()
    if "--bundled-openmp" in argv:
        check_bundled_openmp()
    where = os.path.dirname(cnncore.__file__)
    print(f"cnncore {cnncore.__version__} from {where}: smoke test passed")


if __name__ == "__main__":
    main(sys.argv[1:])
