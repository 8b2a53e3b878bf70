"""The package is the compiled one, fails loudly when it is not; its
bounds-checked build with AddressSanitizer and UndefinedBehaviorSanitizer
survives fuzzing; and a clang build (with OpenMP) passes the functional tests."""
import importlib.machinery
import os
import pathlib
import re
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
    with pytest.raises(TypeError, match="`n` must be an integer"):
        cnncore.set_num_threads(2.0)
    old = cnncore.set_num_threads(np.int64(1))
    assert cnncore.set_num_threads(old) == 1 and isinstance(cnncore.get_num_threads(), int)


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

    for trial in range(1000):
        # both convolution paths: one big GEMM, and tiles over threads
        F.BIG_GEMM_BYTES = int(rng.choice([0, 1 << 30]))
        F.TILE_BYTES = int(rng.choice([8, 4096]))
        F.SOURCE_BYTES = int(rng.choice([1, 1 << 24]))
        F.SMALL_WEIGHTS_BYTES = int(rng.choice([0, 1 << 20]))   # a block per task, or all
        F.SERIAL_WORK = int(rng.choice([0, 1 << 16]))
        cnncore.set_num_threads(int(rng.integers(1, 4)))
        dt = rng.choice([np.float32, np.float64])
        x = rng.standard_normal(tuple(rng.integers(0, 7, 4))).astype(dt)
        k = rng.standard_normal(tuple(rng.integers(0, 5, 4))).astype(dt)
        if rng.random() < 0.7 and x.shape[3] > 0:
            k = rng.standard_normal(tuple(rng.integers(1, 5, 2)) + (x.shape[3], int(rng.integers(1, 4)))).astype(dt)
        if rng.random() < 0.2:
            # channel counts around the micro-kernels' blocks (16 and 64 columns): whole and
            # partial blocks, for the sanitizers to check the C kernels' pointer arithmetic
            x = rng.standard_normal(tuple(rng.integers(1, 7, 3)) + (int(rng.choice([3, 16, 17])),))
            cout = int(rng.choice([15, 16, 17, 63, 64, 65]))
            k = rng.standard_normal(tuple(rng.integers(1, 4, 2)) + (x.shape[3], cout))
            x, k = x.astype(dt), k.astype(dt)
        stride = tuple(int(v) for v in rng.integers(0, 4, 2))
        dil = tuple(int(v) for v in rng.integers(0, 3, 2))
        pad = [\"valid\", \"same\", int(rng.integers(-1, 3)), (int(rng.integers(0, 3)), int(rng.integers(0, 3))),
               ((int(rng.integers(0, 3)), int(rng.integers(0, 3))), (int(rng.integers(0, 3)), int(rng.integers(0, 3))))][int(rng.integers(0, 5))]
        bias = rng.standard_normal(k.shape[3]).astype(dt) if rng.random() < 0.5 else None
        call(cnncore.conv2d, x, k, bias, stride=stride, padding=pad, dilation=dil)
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


def build_extensions(out, env):
    """setup.py build_ext into ``out`` (objects under out/tmp), beside a copy of the
    package's Python files; returns the build's output."""
    result = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(out),
                             "--build-temp", str(out / "tmp")], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for src in (ROOT / "cnncore").glob("*.py"):
        shutil.copy(src, out / "cnncore" / src.name)
    return result.stdout + result.stderr


def linked_libraries(extension):
    """{soname: path} of the shared libraries an extension module loads (ldd)."""
    ldd = subprocess.run(["ldd", str(extension)], capture_output=True, text=True, check=True)
    return dict(re.findall(r"^\s*(\S+) => (\S+)", ldd.stdout, re.MULTILINE))


def extension_file(build, name):
    return next((build / "cnncore").glob(f"{name}.*.so"))


@pytest.fixture(scope="module")
def debug_build(tmp_path_factory):
    """cnncore built with CNNCORE_DEBUG=1: bounds, wraparound and initialisation checks on,
    and the C compiled with AddressSanitizer and UndefinedBehaviorSanitizer."""
    out = tmp_path_factory.mktemp("debug_build")
    build_extensions(out, {**os.environ, "CNNCORE_DEBUG": "1"})
    return out


@pytest.fixture(scope="module")
def sanitizer_env(debug_build):
    """The environment a sanitized build runs in: Python itself is not built with ASan, so
    the runtime the extensions link against is preloaded (LD_PRELOAD), and leak checking is
    off (CPython keeps its own allocations to the end)."""
    libs = linked_libraries(extension_file(debug_build, "_conv"))
    asan = [path for soname, path in libs.items() if soname.startswith("libasan")]
    assert asan, f"the debug build is not linked against libasan: {libs}"
    return {**os.environ, "LD_PRELOAD": asan[0], "ASAN_OPTIONS": "detect_leaks=0",
            "UBSAN_OPTIONS": "print_stacktrace=1"}


def test_debug_build_is_sanitized(debug_build):
    for name in EXTENSIONS:
        libs = linked_libraries(extension_file(debug_build, name))
        assert any(s.startswith("libasan") for s in libs), (name, libs)
        assert any(s.startswith("libubsan") for s in libs), (name, libs)
    # without the runtime preloaded, ASan refuses to start: the instrumentation is really there
    result = subprocess.run([sys.executable, "-c", FROM_CWD + "import cnncore"], cwd=debug_build,
                            capture_output=True, text=True, env={**os.environ, "LD_PRELOAD": ""})
    assert result.returncode != 0 and "ASan runtime does not come first" in result.stderr


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_bounds_checked_build(debug_build, sanitizer_env, seed):
    result = subprocess.run([sys.executable, "-c", FROM_CWD + FUZZ, str(debug_build), str(seed)],
                            cwd=debug_build, capture_output=True, text=True, timeout=600,
                            env=sanitizer_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, result.stderr
    ok, errors = map(int, result.stdout.split())
    assert ok > 100 and errors > 10  # both valid calls and rejected ones were exercised


# The functional tests, rerun against the clang build: every convolution path (test_isa runs
# each CNNCORE_ISA cap in a subprocess, which imports the clang build too), hand-made and
# golden cases, gradients, properties and bad input.
CLANG_TESTS = ["test_conv_paths.py", "test_isa.py", "test_functional_hand.py",
               "test_functional_golden.py", "test_functional_gradcheck.py",
               "test_functional_properties.py", "test_bad_input.py"]

RUN_TESTS = textwrap.dedent(
    """
    import sys
    import cnncore, pytest
    build = sys.argv[1]
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-m", "not slow"] + sys.argv[2:])
    for name in ("_conv", "_pool", "_batchnorm", "_elementwise"):
        path = sys.modules["cnncore." + name].__file__
        assert path.startswith(build), path
    print("loaded from", build)
    sys.exit(code)
    """
)


@pytest.fixture(scope="module")
def clang_build(tmp_path_factory):
    """cnncore built with CC=clang and OpenMP (LLVM's libomp), as CI does once beside gcc."""
    install = subprocess.run(["bash", str(ROOT / "scripts" / "install_clang.sh")],
                             capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        if os.environ.get("CI", "").lower() not in ("true", "1", "yes"):
            pytest.skip(f"no clang with OpenMP: {install.stderr.strip()}")
        pytest.fail(f"scripts/install_clang.sh failed:\n{install.stdout}\n{install.stderr}")
    out = tmp_path_factory.mktemp("clang_build")
    env = {k: v for k, v in os.environ.items() if k not in ("CNNCORE_DEBUG", "LDSHARED")}
    log = build_extensions(out, {**env, "CC": "clang", "CNNCORE_OPENMP": "1"})
    assert "building with clang, OpenMP=on" in log, log[-3000:]
    return out


def test_clang_build_passes_the_functional_tests(clang_build):
    for name in EXTENSIONS:
        ext = extension_file(clang_build, name)
        comment = subprocess.run(["readelf", "-p", ".comment", str(ext)], capture_output=True,
                                 text=True, check=True).stdout
        assert "clang version" in comment, comment          # the module's code is clang's
        assert "libomp.so.5" in linked_libraries(ext), name  # with LLVM's OpenMP runtime
    tests = [str(ROOT / "tests" / name) for name in CLANG_TESTS]
    env = {**os.environ, "PYTHONPATH": str(clang_build)}
    result = subprocess.run([sys.executable, "-c", RUN_TESTS, str(clang_build)] + tests,
                            cwd=clang_build, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"\d{3,} passed", result.stdout), result.stdout[-3000:]
    assert f"loaded from {clang_build}" in result.stdout


def test_fuzz_clang_build(clang_build):
    result = subprocess.run([sys.executable, "-c", FROM_CWD + FUZZ, str(clang_build), "3"],
                            cwd=clang_build, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
