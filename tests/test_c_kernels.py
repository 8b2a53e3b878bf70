"""The standalone C test of the micro-kernels (tests/c/test_kernels.c), through
scripts/test_c_kernels.sh: natively (every instance this CPU runs) and for
aarch64 under qemu (the portable instance on NEON)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test_c_kernels.sh"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)


def _run(mode):
    proc = subprocess.run(["bash", str(SCRIPT), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0, f"test_c_kernels.sh {mode} failed:\n{out}"
    summaries = SUMMARY.findall(proc.stdout)
    assert summaries, f"no 'N passed, M failed' line:\n{out}"
    for passed, failed in summaries:
        assert int(failed) == 0 and int(passed) > 0, out
    tested = re.findall(r"^tested:(.*)$", proc.stdout, re.MULTILINE)
    assert tested, out
    return tested[-1].split()


def test_c_kernels_native():
    tested = _run("native")
    assert "portable" in tested      # every CPU runs the portable instance


def test_c_kernels_aarch64():
    have_tools = bool(shutil.which("aarch64-linux-gnu-gcc")) and bool(
        shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static"))
    in_ci = os.environ.get("CI", "").lower() in ("true", "1", "yes")
    if not have_tools and os.geteuid() != 0 and not in_ci:
        pytest.skip("aarch64-linux-gnu-gcc or qemu-aarch64 missing and not root to install "
                    "them (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross "
                    "qemu-user)")
    tested = _run("aarch64")
    assert tested == ["portable"]
