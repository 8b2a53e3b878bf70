"""CNNCORE_ISA caps the convolution path; show_config says which path each operation takes."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cnncore
from cnncore import _isa

import reference as ref


def run_with(isa, code):
    env = dict(os.environ)
    env.pop("CNNCORE_ISA", None)
    if isa is not None:
        env["CNNCORE_ISA"] = isa
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


PROBE = """
import json, numpy as np, cnncore, cnncore.functional as F
from cnncore import _isa
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 7, 6, 64)).astype(np.float32)
k = rng.standard_normal((3, 3, 64, 64)).astype(np.float32)
print(json.dumps({"microkernel": F.MICROKERNEL, "path": _isa.effective(),
                  "y": cnncore.conv2d(x, k, padding="same").astype(float).ravel()[:50].tolist()}))
"""


@pytest.mark.parametrize("isa", [None, "avx512", "avx2", "portable", "blas", " BLAS "])
def test_the_cap_decides_the_path_and_every_path_agrees(isa):
    proc = run_with(isa, PROBE)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    cap = _isa.ISAS.index((isa or "avx512").strip().lower())
    want_path = next(p for p in _isa.paths() if _isa.ISAS.index(p) >= cap)
    assert got["path"] == want_path
    assert got["microkernel"] == (None if want_path == "blas" else want_path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 7, 6, 64)).astype(np.float32)
    k = rng.standard_normal((3, 3, 64, 64)).astype(np.float32)
    want = ref.conv2d(x.astype(np.float64), k.astype(np.float64), padding="same").ravel()[:50]
    np.testing.assert_allclose(got["y"], want, rtol=1e-4, atol=1e-4)


def test_an_unknown_cap_fails_at_import_and_says_what_is_accepted():
    proc = run_with("sse4", "import cnncore")
    assert proc.returncode != 0
    assert "CNNCORE_ISA must be one of avx512, avx2, portable, blas" in proc.stderr and "'sse4'" in proc.stderr


def test_every_x86_64_cpu_with_avx2_runs_avx2_and_every_cpu_the_portable_kernel():
    flags = _isa.cpu_flags()
    assert "portable" in _isa.paths() and _isa.paths()[-1] == "blas"
    assert ("avx2" in _isa.paths()) == ("avx2" in flags and "fma" in flags)
    assert ("avx512" in _isa.paths()) == ("avx512f" in flags and "fma" in flags)


def test_requested_reads_the_environment():
    assert _isa.requested({}) == "avx512"
    assert _isa.requested({"CNNCORE_ISA": "Portable"}) == "portable"
    with pytest.raises(ValueError, match="CNNCORE_ISA"):
        _isa.requested({"CNNCORE_ISA": "avx1024"})
    assert _isa.effective({"CNNCORE_ISA": "blas"}) == "blas"
    assert _isa.effective({}) == _isa.available()


def test_show_config_names_the_cpu_the_cap_and_each_operations_path(monkeypatch):
    import cnncore.functional as F
    out = io.StringIO()
    cnncore.show_config(file=out)
    text = out.getvalue()
    assert text.startswith(f"cnncore {cnncore.__version__}\n")
    assert "CNNCORE_ISA:" in text and f"path: {_isa.effective()}" in text
    for op in ("conv2d forward:", "conv2d input gradient:", "conv2d kernel gradient:"):
        assert op in text
    monkeypatch.setattr(F, "MICROKERNEL", None)
    out = io.StringIO()
    cnncore.show_config(file=out)
    assert "micro-kernel" not in out.getvalue() and "im2col + BLAS" in out.getvalue()


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="needs /proc/cpuinfo")
def test_the_forward_chunks_its_reduction_except_on_amd():
    """On AMD (Zen 4) the AVX-512 and AVX2 forwards run their reduction in one chunk; the
    vendor is read by the compiler's CPU detection, checked here against the kernel's
    /proc/cpuinfo."""
    import cnncore.functional as F
    with open("/proc/cpuinfo") as f:
        amd = any(line.split(":")[-1].strip() == "AuthenticAMD"
                  for line in f if line.startswith("vendor_id"))
    assert cnncore._conv.cpu_is_amd() == amd
    assert (F.CHUNK_BYTES["avx512"] == 0) == (F.CHUNK_BYTES["avx2"] == 0) == amd
    assert F.CHUNK_BYTES["portable"] == 32 << 10


@pytest.mark.parametrize("given, want", [
    ({}, {"GOMP_SPINCOUNT": "30000", "OMP_WAIT_POLICY": None}),
    ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": "PASSIVE"}),
    ({"GOMP_SPINCOUNT": "0"}, {"GOMP_SPINCOUNT": "0", "OMP_WAIT_POLICY": None}),
])
def test_import_asks_for_a_short_spin_unless_the_environment_chose(given, want):
    """Idle OpenMP threads spin about 0.3 ms (GOMP_SPINCOUNT=30000), not GNU OpenMP's
    3 ms, before they sleep; a wait policy or spin count in the environment stands
    (docs/design.md, Threads).  show_config reports both."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = ("import io, json, os, cnncore; out = io.StringIO(); cnncore.show_config(file=out); "
            "print(json.dumps([{k: os.environ.get(k) for k in ('GOMP_SPINCOUNT', 'OMP_WAIT_POLICY')},"
            " out.getvalue()]))")
    proc = subprocess.run([sys.executable, "-c", code], env=env | given, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen, config = json.loads(proc.stdout)
    assert seen == want
    assert (f"OMP_WAIT_POLICY={want['OMP_WAIT_POLICY'] or '(unset)'}, "
            f"GOMP_SPINCOUNT={want['GOMP_SPINCOUNT'] or '(unset)'}") in config
