"""The layers of cnncore's design, checked on its sources (docs/design.md: nothing below
imports from above; cnncore never imports cnncourse):

    compiled kernels (.pyx), _checks, _threads, _isa
      <- functional <- layers <- weights, training <- models <- the package (__init__)

``weights`` and ``training`` work on a model through what it offers (``layers``,
``named_weights``, ``forward``, ``backward``, ...) without importing
``cnncore.models``: the model classes call them (``model.save_weights``,
``model.fit``), so they sit below the models, and there is no import cycle.
Imports inside functions count as much as those at the top of a module.
"""
import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cnncore"

KERNELS = ("_batchnorm", "_conv", "_elementwise", "_pool")
RANK = {
    **{name: 0 for name in KERNELS}, "_checks": 0, "_threads": 0, "_isa": 0,
    "functional": 1,
    "layers": 2,
    "weights": 3, "training": 3,
    "models": 4,
    "__init__": 5,
}
# show_config (in _isa, below functional) is a report printed on demand: it reads the
# version and functional's dispatch when called, once everything is loaded.
ALLOWED = {("_isa", "functional"), ("_isa", "__init__")}


def _targets(node, module):
    """(module of cnncore or "cnncourse", line) for each import that ``node`` makes."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == "cnncourse":
                yield "cnncourse", node.lineno
            elif parts[0] == "cnncore":
                yield (parts[1] if len(parts) > 1 else "__init__"), node.lineno
        return
    if node.level == 0:
        parts = (node.module or "").split(".")
        if parts[0] == "cnncourse":
            yield "cnncourse", node.lineno
            return
        if parts[0] != "cnncore":
            return
        parts = parts[1:]
    else:
        assert node.level == 1, f"{module}:{node.lineno}: import from above the package"
        parts = node.module.split(".") if node.module else []
    if parts:
        yield parts[0], node.lineno
    else:       # from . import x: a module, or a name of the package itself
        for alias in node.names:
            yield (alias.name if alias.name in RANK else "__init__"), node.lineno


def python_imports():
    for path in sorted(PACKAGE.glob("*.py")):
        module = path.stem
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, line in _targets(node, module):
                    yield module, target, line


def test_every_module_has_a_place_in_the_layers():
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {p.stem for p in PACKAGE.glob("*.pyx")}
    assert modules == set(RANK), f"give new modules a rank here: {modules ^ set(RANK)}"


def test_nothing_imports_from_above_and_cnncore_never_imports_cnncourse():
    wrong = []
    for module, target, line in python_imports():
        if target == "cnncourse":
            wrong.append(f"cnncore/{module}.py:{line} imports cnncourse")
            continue
        assert target in RANK, f"cnncore/{module}.py:{line} imports an unknown module {target}"
        below = RANK[target] < RANK[module] or RANK[target] == RANK[module] == 0
        if not below and (module, target) not in ALLOWED:
            wrong.append(f"cnncore/{module}.py:{line} ({RANK[module]}) imports {target} "
                         f"({RANK[target]})")
    assert not wrong, "\n".join(wrong)


def test_weights_does_not_import_models():
    imported = {target for module, target, _ in python_imports() if module == "weights"}
    assert "models" not in imported and "training" not in imported, imported


def test_the_kernels_cimport_only_their_declarations():
    for path in sorted(PACKAGE.glob("*.pyx")) + sorted(PACKAGE.glob("*.pxd")):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:from|c?import)\s+(cnncore|cnncourse)\b([\w.]*)", line)
            if not m:
                continue
            assert m.group(1) == "cnncore", f"{path.name}: {line}"
            name = m.group(2).lstrip(".")
            assert (PACKAGE / f"{name}.pxd").exists() or (PACKAGE / f"{name}.h").exists(), \
                f"{path.name} reaches beyond the C declarations: {line}"
