"""The wheel students install, as an instructor builds it: `python -m build --wheel` from
the repository's files, `auditwheel repair` (which bundles the OpenMP runtime), then
installed into a fresh virtual environment away from the repository and run there, with
no compiler on PATH, by tests/wheel_smoke.py."""
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = ("_conv", "_pool", "_batchnorm", "_elementwise")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="auditwheel repairs Linux wheels")


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def copy_source_tree(dest):
    """The files a clone of the repository has, as they are now: tracked files and untracked
    ones that are not ignored (`git ls-files` only reads), never build products."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        src = ROOT / name
        if src.is_file():                     # a tracked file deleted in the working tree is not
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The repaired wheel (the build's isolated environment downloads setuptools, Cython,
    NumPy and SciPy, through pip's cache)."""
    tmp = tmp_path_factory.mktemp("wheel")
    copy_source_tree(tmp / "src")
    assert not (tmp / "src" / "build").exists() and (tmp / "src" / "setup.py").is_file()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CC", "CFLAGS", "LDSHARED", "CNNCORE_DEBUG", "CNNCORE_OPENMP")}
    run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp / "dist", tmp / "src"],
        cwd=tmp, env=env, timeout=1200)
    (built,) = (tmp / "dist").glob("cnncore-*.whl")
    run([sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", tmp / "wheelhouse", built],
        cwd=tmp, timeout=300)
    (repaired,) = (tmp / "wheelhouse").glob("cnncore-*.whl")
    return repaired


def test_wheel_is_manylinux_with_openmp_bundled(wheel):
    machine = platform.machine()
    assert re.fullmatch(rf"cnncore-[^-]+-cp3\d+-cp3\d+-manylinux_2_\d+_{machine}\.whl", wheel.name)
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"cnncore\.libs/libgomp-[0-9a-f]+\.so[.\d]*", n) for n in names), names
    for name in EXTENSIONS:
        assert any(re.fullmatch(rf"cnncore/{name}\.cpython-.*\.so", n) for n in names), name
    # a student's wheel carries the library, never the course's answers or tests
    assert not [n for n in names if n.startswith(("solutions/", "assignments/", "tests/"))]


def test_wheel_installs_and_runs_without_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], timeout=300)
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", wheel],
        cwd=tmp_path, timeout=900)
    smoke = tmp_path / "wheel_smoke.py"
    shutil.copy(ROOT / "tests" / "wheel_smoke.py", smoke)
    work = tmp_path / "work"
    work.mkdir()
    # only the venv on PATH (no compiler), no PYTHONPATH, nothing of the repository around
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = run([python, smoke, "--bundled-openmp", "--no-compiler"], cwd=work, env=env,
                 timeout=600)
    assert "smoke test passed" in result.stdout
    assert str(venv / "lib") in result.stdout        # cnncore came from the venv


def test_handout_carries_the_wheel(wheel, tmp_path, monkeypatch):
    """`cnncourse handout --wheel`: the wheel beside the notebook, and the README's command
    installs it from there."""
    pytest.importorskip("nbgrader")
    from cnncourse import demo
    monkeypatch.setenv("CNNCOURSE_SECRET", "handout-test-secret")
    course = demo.copy_course(str(tmp_path / "course"))
    out = tmp_path / "handout"
    run([sys.executable, "-m", "cnncourse", "--course", course, "handout", "conv2d",
         "--wheel", wheel, "--out", out], timeout=300)
    handed_out = sorted(p.name for p in out.iterdir())
    assert handed_out == sorted(["conv2d.ipynb", "README.md", wheel.name])
    readme = (out / "README.md").read_text()
    command = "pip install --find-links . cnncore jupyterlab matplotlib"
    assert command in readme and wheel.name in readme
    # what that command picks for cnncore (dependencies left out: no index needed)
    report = tmp_path / "report.json"
    run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
         "--no-index", "--find-links", ".", "cnncore", "--report", report], cwd=out, timeout=300)
    (item,) = json.loads(report.read_text())["install"]
    assert item["download_info"]["url"] == (out / wheel.name).as_uri()
    bad = subprocess.run([sys.executable, "-m", "cnncourse", "--course", course, "handout",
                          "conv2d", "--wheel", str(out / "README.md")], capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "--wheel must be a cnncore wheel file" in bad.stderr
