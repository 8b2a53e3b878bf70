"""The package is the compiled one, fails loudly when it is not, and its
bounds-checked build survives fuzzing."""
import importlib.machinery
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cnncore

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXTENSIONS = ("_conv", "_pool", "_batchnorm", "_elementwise")

# Import cnncore from the current directory, not from the installed (possibly
# editable) package: drop the editable-install finders before importing.
FROM_CWD = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
    "repr(f).lower()]; sys.path.insert(0, '.')\n"
)


@pytest.mark.parametrize("name", EXTENSIONS)
def test_kernels_are_compiled_extensions(name):
    module = sys.modules[f"cnncore.{name}"]
    assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), module.__file__
    assert isinstance(module.__loader__, importlib.machinery.ExtensionFileLoader)


def test_import_without_compiled_extensions_fails_clearly(tmp_path):
    pkg = tmp_path / "cnncore"
    pkg.mkdir()
    for src in (ROOT / "cnncore").glob("*.py"):
        shutil.copy(src, pkg / src.name)
    result = subprocess.run([sys.executable, "-c", FROM_CWD + "import cnncore"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode != 0
    assert "compiled extensions are not built" in result.stderr
    assert "pip install" in result.stderr


def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 40, 36, 8)).astype(np.float32)
    k = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    old = cnncore.set_num_threads(1)
    try:
        y1 = cnncore.conv2d(x, k, padding="same")
        cnncore.set_num_threads(2)
        y2 = cnncore.conv2d(x, k, padding="same")
    finally:
        cnncore.set_num_threads(old)
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="n"):
        cnncore.set_num_threads(0)


FUZZ = textwrap.dedent(
    """
    import sys
    import numpy as np
    import cnncore, cnncore.functional as F
    assert cnncore._conv.__file__.startswith(sys.argv[1]), cnncore._conv.__file__
    rng = np.random.default_rng(int(sys.argv[2]))
    ok = errors = 0

    def call(fn, *args, **kw):
        global ok, errors
        try:
            fn(*args, **kw)
            ok += 1
        except (ValueError, TypeError):
            errors += 1

    for trial in range(400):
        # both convolution paths: one big GEMM, and tiles over threads
        F.BIG_GEMM_BYTES = int(rng.choice([0, 1 << 30]))
        F.TILE_BYTES = int(rng.choice([8, 4096]))
        F.SERIAL_WORK = int(rng.choice([0, 1 << 16]))
        cnncore.set_num_threads(int(rng.integers(1, 4)))
        dt = rng.choice([np.float32, np.float64])
        x = rng.standard_normal(tuple(rng.integers(0, 7, 4))).astype(dt)
        k = rng.standard_normal(tuple(rng.integers(0, 5, 4))).astype(dt)
        if rng.random() < 0.7 and x.shape[3] > 0:
            k = rng.standard_normal(tuple(rng.integers(1, 5, 2)) + (x.shape[3], int(rng.integers(1, 4)))).astype(dt)
        stride = tuple(int(v) for v in rng.integers(0, 4, 2))
        dil = tuple(int(v) for v in rng.integers(0, 3, 2))
        pad = [\"valid\", \"same\", int(rng.integers(-1, 3)), (int(rng.integers(0, 3)), int(rng.integers(0, 3))),
               ((int(rng.integers(0, 3)), int(rng.integers(0, 3))), (int(rng.integers(0, 3)), int(rng.integers(0, 3))))][int(rng.integers(0, 5))]
        call(cnncore.conv2d, x, k, stride=stride, padding=pad, dilation=dil)
        try:
            y = cnncore.conv2d(x, k, stride=stride, padding=pad, dilation=dil)
            call(cnncore.conv2d_backward, rng.standard_normal(y.shape), x, k, stride=stride, padding=pad, dilation=dil)
        except (ValueError, TypeError):
            pass
        pool = tuple(int(v) for v in rng.integers(0, 4, 2))
        call(cnncore.max_pool2d, x, pool, stride=stride, padding=pad)
        try:
            y = cnncore.max_pool2d(x, pool, stride=stride, padding=pad)
            call(cnncore.max_pool2d_backward, rng.standard_normal(y.shape), x, pool, stride=stride, padding=pad)
        except (ValueError, TypeError):
            pass
        c = x.shape[-1] if rng.random() < 0.8 else int(rng.integers(0, 5))
        g, b = rng.standard_normal(c), rng.standard_normal(c)
        call(cnncore.batch_norm_train, x, g, b)
        try:
            y, m, v = cnncore.batch_norm_train(x, g, b)
            call(cnncore.batch_norm_backward, rng.standard_normal(x.shape), x, g, m, v)
            call(cnncore.batch_norm_infer, x, g, b, m, np.abs(v))
        except (ValueError, TypeError):
            pass
    print(ok, errors)
    """
)


@pytest.fixture(scope="module")
def debug_build(tmp_path_factory):
    """cnncore built with CNNCORE_DEBUG=1: bounds, wraparound and initialisation checks on."""
    out = tmp_path_factory.mktemp("debug_build")
    env = {**os.environ, "CNNCORE_DEBUG": "1"}
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(out),
                    "--build-temp", str(out / "tmp")], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    for src in (ROOT / "cnncore").glob("*.py"):
        shutil.copy(src, out / "cnncore" / src.name)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_bounds_checked_build(debug_build, seed):
    result = subprocess.run([sys.executable, "-c", FROM_CWD + FUZZ, str(debug_build), str(seed)],
                            cwd=debug_build, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    ok, errors = map(int, result.stdout.split())
    assert ok > 100 and errors > 10  # both valid calls and rejected ones were exercised
