"""The docstrings of cnncore's public API: complete in numpydoc form, and their examples run.

1. numpydoc's own validator (``numpydoc.validate.validate``) finds no error on
   every name of ``cnncore.__all__`` (functions; the classes with the public
   methods and properties they define; the submodules) and on every public
   class and function the submodules ``layers``, ``models``, ``training`` and
   ``weights`` define, with the public methods and properties of those
   classes.  One case per object, so a failure names it.
2. The examples of the docstrings of cnncore's public modules run as doctests
   (ELLIPSIS, NORMALIZE_WHITESPACE), in a temporary working directory.
"""
import doctest
import importlib
import inspect

import pytest

import cnncore

SUBMODULES = ["layers", "models", "training", "weights"]

# What numpydoc may leave unchecked, by kind of object; everything else must pass.  Missing
# sections (GL08 no docstring, PR01 a parameter undocumented, RT01 no Returns, EX01 no
# Examples, SA01 no See Also, ES01 no extended summary) are errors for every module,
# function and class.
IGNORE = {
    "module": set(),
    "function": set(),
    "class": set(),
    # A method is shown in use by its class's example and listed on its class's page: an
    # example and a See Also on each (get_weights, parameters, ...) would repeat those.
    "method": {"EX01", "SA01"},
    # A property is a value, described in its one-line summary.
    "property": {"ES01", "EX01", "SA01"},
}

# Public dunder methods: calling a model or a layer is its main use.
PUBLIC_DUNDERS = {"__call__"}


def _members(cls, prefix):
    """The public methods and properties a class defines itself (inherited ones are
    checked on the class that defines them)."""
    for name, value in vars(cls).items():
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        if isinstance(value, property):
            yield f"{prefix}.{name}", value, "property"
        elif inspect.isfunction(inspect.unwrap(getattr(value, "__func__", value))):
            yield f"{prefix}.{name}", value, "method"


def _targets():
    """``{qualified name: kind}`` of every object to validate, each object once."""
    found = {}                          # id(object) -> (name, kind)

    def add(name, obj, kind):
        found.setdefault(id(obj), (name, kind))
        if kind == "class":
            for member in _members(obj, name):
                found.setdefault(id(member[1]), (member[0], member[2]))

    def kind_of(obj):
        if inspect.ismodule(obj):
            return "module"
        if inspect.isclass(obj):
            return "class"
        if inspect.isfunction(obj):
            return "function"
        return None

    add("cnncore", cnncore, "module")
    add("cnncore.functional", cnncore.functional, "module")
    for name in cnncore.__all__:
        obj = getattr(cnncore, name)
        if kind_of(obj) is not None:    # VGG_CONFIGS, a dict: see test_vgg_configs_documented
            add(f"cnncore.{name}", obj, kind_of(obj))
    for modname in SUBMODULES:
        module = importlib.import_module(f"cnncore.{modname}")
        for name, obj in vars(module).items():
            if (not name.startswith("_") and kind_of(obj) in ("class", "function")
                    and obj.__module__ == module.__name__):
                add(f"cnncore.{modname}.{name}", obj, kind_of(obj))
    return dict(found.values())


TARGETS = _targets()


def _validate(name):
    nv = pytest.importorskip("numpydoc.validate")

    class Validator(nv.Validator):
        """numpydoc's validator, loading the object by name.  numpydoc 1.11 looks for the
        first ``def`` or ``class`` line of a module to place its docstring, and raises
        StopIteration for a module with none (cnncore/__init__.py): no line, then."""

        def __init__(self, obj_name):
            super().__init__(nv.get_doc_object(nv.Validator._load_obj(obj_name)))

        @property
        def source_file_def_line(self):
            try:
                return super().source_file_def_line
            except StopIteration:
                return None

    return nv.validate(name, validator_cls=Validator)


def test_targets_cover_the_public_api():
    """The list of objects checked is what the docstring promises (not vacuous)."""
    for name in cnncore.__all__:
        if name != "VGG_CONFIGS":
            assert f"cnncore.{name}" in TARGETS, name
    for name in ["cnncore.layers.Conv2D", "cnncore.Sequential.get_weights",
                 "cnncore.Sequential.__call__", "cnncore.Sequential.num_params",
                 "cnncore.training.SGD", "cnncore.weights.load_weights"]:
        assert name in TARGETS, name
    assert TARGETS["cnncore.Sequential.num_params"] == "property"
    assert not any(".__init__" in name or "._" in name.replace(".__call__", "")
                   for name in TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_numpydoc_validation(name):
    kind = TARGETS[name]
    result = _validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORE[kind]]
    assert not errors, f"{name} ({kind}, {result['file']}:{result['file_line']}):\n" + "\n".join(
        f"  {code}: {msg}" for code, msg in errors)


def test_validation_is_not_vacuous():
    """The validator reports a missing section on an undocumented function."""
    def f(x):
        """Do nothing."""
        return x

    nv = pytest.importorskip("numpydoc.validate")
    codes = {code for code, _ in nv.validate(nv.get_doc_object(f))["errors"]}
    assert {"PR01", "RT01", "EX01"} <= codes


def test_vgg_configs_documented():
    """VGG_CONFIGS is a dict (its docstring would be dict's): the VGG builders document it."""
    assert "VGG_CONFIGS" in cnncore.VGG.__doc__
    assert "VGG_CONFIGS" in cnncore.vgg.__doc__


# ---------------------------------------------------------------------------
# Doctests

DOCTEST_MODULES = ["cnncore", "cnncore.functional", "cnncore.layers", "cnncore.models",
                   "cnncore.training", "cnncore.weights", "cnncore._threads", "cnncore._isa"]
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def run_doctests(module):
    """``(attempted, failed, report)`` of the module's docstring examples."""
    report = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module):
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    return results.attempted, results.failed, "".join(report)


@pytest.mark.parametrize("modname", DOCTEST_MODULES)
def test_doctests(modname, tmp_path, monkeypatch):
    """Every public module has examples, and they pass.  They run in a temporary directory,
    so an example that saves weights to a relative path writes nothing into the repository."""
    module = importlib.import_module(modname)
    monkeypatch.chdir(tmp_path)
    threads = cnncore.get_num_threads()
    try:
        attempted, failed, report = run_doctests(module)
    finally:
        cnncore.set_num_threads(threads)
    assert attempted > 0, f"{modname}: no examples in its docstrings"
    assert failed == 0, f"{modname}: {failed} of {attempted} examples failed\n{report}"


def test_doctest_runner_reports_failures():
    """run_doctests is not vacuous: a wrong output counts as a failure and is shown."""
    module = type(cnncore)("fake_module", ">>> 1 + 1\n3\n")
    attempted, failed, report = run_doctests(module)
    assert (attempted, failed) == (1, 1) and "Expected" in report
