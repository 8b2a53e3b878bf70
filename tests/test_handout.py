"""`cnncourse handout`: what a student gets holds no solution, model answer, hidden case or grader code."""
import ast
import os
import subprocess
import sys

import pytest

pytest.importorskip("nbgrader")
from cnncourse import build as builder  # noqa: E402
from cnncourse import demo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def solution_lines(assignment):
    """Every line of the worked solution's function bodies and model answers that is specific enough to spot."""
    path = os.path.join(ROOT, "solutions", f"{assignment}.py")
    text = open(path).read()
    lines = text.splitlines()
    found = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            for sub in body:
                for line in lines[sub.lineno - 1:sub.end_lineno]:
                    found.add(line.strip())
    for answer in builder.SolutionModule(path).written.values():
        found.update(line.strip() for line in answer.splitlines())
    return {line for line in found if len(line) > 25 and not line.startswith(("#", "import ", "from "))}


@pytest.mark.parametrize("assignment", builder.available_assignments())
def test_handout_has_no_answers(tmp_path, assignment, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_SECRET", "handout-test-secret")
    course = demo.copy_course(str(tmp_path / "course"))
    out = tmp_path / "handout"
    proc = subprocess.run([sys.executable, "-m", "cnncourse", "--course", course, "handout", assignment,
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(os.listdir(out))
    assert files == sorted([f"{assignment}.ipynb", "README.md"]), files
    text = "\n".join(open(out / f, encoding="utf-8").read() for f in files)
    readme = open(out / "README.md").read()
    assert "pip install cnncore" in readme and "git clone" not in readme and "[course]" not in readme
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "cnncourse", "check(", "Model answer",
                   "handout-test-secret"):
        assert marker not in text, marker
    leaked = [line for line in solution_lines(assignment) if line in text]
    assert not leaked, leaked[:5]
    assert "raise NotImplementedError()" in text


def test_czech_handout_speaks_czech(tmp_path, monkeypatch):
    """The Czech edition's handout: a Czech README (the same steps) and Czech placeholders in the notebook."""
    monkeypatch.setenv("CNNCOURSE_SECRET", "handout-test-secret")
    course = demo.copy_course(str(tmp_path / "course"))
    wheel = tmp_path / "cnncore-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl"
    wheel.write_bytes(b"not really a wheel")
    out = tmp_path / "handout"
    proc = subprocess.run([sys.executable, "-m", "cnncourse", "--course", course, "handout", "conv2d_cs",
                           "--out", str(out), "--wheel", str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    readme = open(out / "README.md", encoding="utf-8").read()
    for phrase in ("# conv2d_cs: jak na to", "Nainstalujte referenční knihovnu",
                   "pip install --find-links . cnncore jupyterlab matplotlib", f"`{wheel.name}`",
                   "jupyter lab conv2d_cs.ipynb", "`# SEM NAPIŠTE SVŮJ KÓD`", "`SEM NAPIŠTE SVOU ODPOVĚĎ`",
                   "`viditelné testy prošly`", "odevzdejte", "k dispozici"):
        assert phrase in readme, phrase
    for english in ("how to work on it", "Install", "YOUR", "visible tests", "hand in", "git clone"):
        assert english not in readme, english
    text = open(out / "conv2d_cs.ipynb", encoding="utf-8").read()
    assert "# SEM NAPIŠTE SVŮJ KÓD" in text and "SEM NAPIŠTE SVOU ODPOVĚĎ" in text
    assert "raise NotImplementedError()" in text and "YOUR CODE HERE" not in text and "YOUR ANSWER HERE" not in text
