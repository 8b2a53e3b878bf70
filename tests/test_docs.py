"""The documentation site (docs/): it builds with no warning, its examples run,
and its API reference covers every public name.

The examples are the pages' ```python blocks, run page by page in one namespace,
in order, in a temporary working directory: a block with ``>>>`` prompts is a
doctest (its printed outputs are compared, with ELLIPSIS and NORMALIZE_WHITESPACE),
any other block runs as a script.  Code that a test cannot run (Keras, downloaded
weights) is shown with ```{code-block} python instead, which is not run here.
"""
import doctest
import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import cnncore

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(page):
    """``(line number, code)`` of each ```python block of a Markdown page."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def run_blocks(page, blocks):
    """Run the blocks in one namespace; return a description of each failure."""
    namespace = {"__name__": "__docs__"}
    failures = []
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for lineno, code in blocks:
        where = f"{page.relative_to(DOCS)}:{lineno}"
        if re.search(r"^\s*>>>", code, re.MULTILINE):
            test = doctest.DocTestParser().get_doctest(code, {}, where, str(page), lineno)
            test.globs = namespace      # DocTest copies its globals: share the page's instead
            report = []
            runner = doctest.DocTestRunner(optionflags=flags)
            result = runner.run(test, out=report.append, clear_globs=False)
            if result.failed:
                failures.append("".join(report))
        else:
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception as err:  # noqa: BLE001  (reported with the block's place)
                failures.append(f"{where}: {type(err).__name__}: {err}")
    return failures


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


def test_pages_have_examples():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES_WITH_CODE}
    assert {"getting_started.md", "conventions.md"} <= names


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    if any("import torch" in code for _, code in blocks) and not importlib.util.find_spec("torch"):
        pytest.skip(f"{page.name} has PyTorch examples and torch is not installed")
    monkeypatch.chdir(tmp_path)
    old_threads = cnncore.get_num_threads()
    try:
        failures = run_blocks(page, blocks)
    finally:
        cnncore.set_num_threads(old_threads)
    assert not failures, "\n".join(failures)


def test_run_blocks_reports_failures():
    """The runner is not vacuous: a wrong output and an exception are both reported."""
    page = DOCS / "index.md"
    failures = run_blocks(page, [(1, ">>> 1 + 1\n3\n"), (5, "raise ValueError('boom')\n"),
                                 (9, ">>> x = 2\n"), (11, "assert x == 2\n")])
    assert len(failures) == 2
    assert "Expected:\n    3\nGot:\n    2" in failures[0]
    assert failures[1] == "index.md:5: ValueError: boom"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """Build the site as CI and the acceptance check do: warnings are errors."""
    for module in ("sphinx", "numpydoc", "myst_parser", "pydata_sphinx_theme", "matplotlib"):
        pytest.importorskip(module, reason='the docs extra: pip install ".[docs]"')
    out = tmp_path_factory.mktemp("docs") / "html"
    # the site documents the cnncore these tests import (the installed one, as
    # sphinx-build would): not one that `python -m` finds in its working directory
    env = {**os.environ, "PYTHONPATH": str(Path(cnncore.__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOCS), str(out)],
        capture_output=True, text=True, cwd=out.parent, env=env, timeout=300,
    )
    return proc, out


def test_docs_build_without_warnings(built_site):
    proc, out = built_site
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "WARNING" not in output, output[-5000:]
    for page in ("index", "getting_started", "conventions", "design", "api/index"):
        assert (out / f"{page}.html").is_file(), page
    for script in (DOCS / "figures").glob("*.py"):
        assert (out / "_images" / f"{script.stem}.svg").is_file(), f"{script.name} drew nothing"


def test_api_reference_covers_all_public_names(built_site):
    """Every name in ``cnncore.__all__``, and every public name of the modules listed
    there, has an entry (an HTML anchor made by autodoc) in the built reference."""
    proc, out = built_site
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    html = "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    anchors = set(re.findall(r'id="([^"]+)"', html))
    missing = []
    for name in cnncore.__all__:
        obj = getattr(cnncore, name)
        if not isinstance(obj, types.ModuleType):
            if f"cnncore.{name}" not in anchors:
                missing.append(f"cnncore.{name}")
            continue
        if f"module-cnncore.{name}" not in anchors:
            missing.append(f"module cnncore.{name}")
        for member in obj.__all__:
            # cnncore.models' names are documented where users call them: cnncore.vgg19
            same = getattr(cnncore, member, None) is getattr(obj, member)
            if not ({f"cnncore.{name}.{member}", f"cnncore.{member}" if same else ""} & anchors):
                missing.append(f"cnncore.{name}.{member}")
    assert not missing, f"not in the API reference: {missing}"
