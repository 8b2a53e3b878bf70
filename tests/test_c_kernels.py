"""The standalone C test of the micro-kernels (tests/c/test_kernels.c), through
scripts/test_c_kernels.sh: natively (every instance this CPU runs) and for
aarch64 under qemu (the portable instance on NEON)."""
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test_c_kernels.sh"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)
# a branch to a local label: aarch64's b, b.ne or bne (GCC's spelling), cbz, tbnz, ...;
# x86's jmp, jne, ...
BRANCH = re.compile(r"^\s+(?:b\.?(?:eq|ne|[lg][te]|hi|hs|lo|ls|mi|pl|cs|cc|vs|vc)?\s+|"
                    r"(?:cbn?z|tbn?z)\s.*,\s*|j[a-z]+\s+)(\.L\w+)$")
LABEL = re.compile(r"^\.L\w+:$")


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
    # and, in the code setup.py's flags make, no accumulator lives on the stack
    # (docs/design.md, What the aarch64 kernel test proves)
    loops = _inner_loops(_portable_asm("aarch64-linux-gnu-gcc"), "fmla")
    assert len(loops) >= 2, loops               # the forward's and the kernel gradient's
    for body in loops:
        assert body.count("fmla") == 24 and not re.search(r"\bsp\b", body), body


@pytest.mark.skipif(platform.machine() != "x86_64" or not shutil.which("gcc"),
                    reason="the x86-64 build of the portable kernels")
def test_portable_kernels_on_x86_keep_accumulators_in_registers():
    """SSE2 (_direct.h): 2 rows x 4 vectors, a multiply and an add each, no stack."""
    loops = _inner_loops(_portable_asm("gcc"), "mulps")
    assert len(loops) >= 2, loops
    for body in loops:
        assert body.count("mulps") == 8 and body.count("addps") == 8, body
        assert not re.search(r"\(%rsp\)", body), body


def _portable_asm(compiler):
    """What ``compiler`` makes of the portable kernels with setup.py's flags."""
    source = ('#include "_direct.h"\n'
              "void *keep[] = {cnncore_direct_block_portable, cnncore_dkernel_tasks_portable};\n")
    proc = subprocess.run([compiler, "-O3", "-ffp-contract=fast", "-I", str(ROOT / "cnncore"),
                           "-x", "c", "-S", "-o", "-", "-"],
                          input=source, capture_output=True, text=True, check=True)
    return proc.stdout


def _inner_loops(asm, op):
    """The bodies of the innermost loops (a label up to a branch back to it) that use ``op``."""
    lines = asm.splitlines()
    label_at = {line[:-1]: i for i, line in enumerate(lines) if LABEL.match(line)}
    loops = []
    for i, line in enumerate(lines):
        m = BRANCH.match(line)
        if m and label_at.get(m.group(1), i) < i:
            body = lines[label_at[m.group(1)]:i + 1]
            if not any(LABEL.match(ln) for ln in body[1:]) and any(op in ln for ln in body):
                loops.append("\n".join(body))
    return loops
