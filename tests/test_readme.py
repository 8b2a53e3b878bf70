"""README.md's examples run as written, and every extra the documentation names exists.

The ```python blocks of README.md run top to bottom in one namespace, as a reader
pastes them one after the other, in a temporary working directory (they write
files), with warnings as errors.
"""
import pathlib
import re
import warnings

import numpy as np
import pytest

tomllib = pytest.importorskip("tomllib")     # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def python_blocks(path):
    """(first line number, code) of each ```python block of a Markdown file."""
    text = path.read_text()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S):
        blocks.append((text.count("\n", 0, match.start(1)) + 1, match.group(1)))
    return blocks


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    blocks = python_blocks(README)
    assert len(blocks) >= 2, "README.md lost its examples"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for line, code in blocks:
            # padded with newlines, so that a traceback gives the README's own line numbers
            exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
    # what the examples' comments say they compute
    assert namespace["y"].shape == (8, 16, 16, 16)
    assert namespace["p"].shape == (8, 8, 8, 16)
    assert namespace["probs"].shape == (1, 1000)
    np.testing.assert_allclose(namespace["probs"].sum(axis=1), 1.0, rtol=1e-5)
    assert (tmp_path / "small.npz").exists()


# `pip install ".[course]"`, `pip install 'cnncore[cluster]'`, `-e ".[test,docs]"`
EXTRAS = re.compile(r"""(?:["']\.|\bcnncore)\[([\w,\s-]+)\]""")


def documents():
    """The files that tell people what to install: READMEs, docs pages, scripts, and the
    sources of cnncore and cnncourse (their error messages)."""
    yield README
    yield ROOT / "assignments" / "README.md"
    for pattern in ("docs/*.md", "docs/**/*.rst", "scripts/*.sh", ".ci/*", "examples/*.py",
                    "cnncore/*.py", "cnncore/*.pyx", "cnncourse/**/*.py"):
        yield from sorted(p for p in ROOT.glob(pattern) if "_build" not in p.parts)


def test_every_extra_named_exists():
    with open(ROOT / "pyproject.toml", "rb") as f:
        declared = set(tomllib.load(f)["project"]["optional-dependencies"])
    named = {}
    for path in documents():
        for match in EXTRAS.finditer(path.read_text(errors="replace")):
            for extra in match.group(1).split(","):
                named.setdefault(extra.strip(), set()).add(str(path.relative_to(ROOT)))
    assert {"course", "docs", "examples"} <= set(named), named    # the pattern finds them
    unknown = {extra: sorted(paths) for extra, paths in named.items() if extra not in declared}
    assert not unknown, f"extras named but not in pyproject.toml: {unknown}"
