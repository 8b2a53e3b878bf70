"""Shared test configuration.

* Tests that need a whole graded class are marked ``slow``.
* The fixture ``m`` runs a test once on each implementation of the functional API:
  ``tests/reference.py`` (the NumPy oracle) and ``cnncore`` (see ``oracle_support``).

The tests' shared modules (``reference``, ``oracle_support``) are importable because
pyproject.toml puts ``tests`` on pytest's ``pythonpath``.
"""
import pytest

from oracle_support import IMPLS, impl

# fixtures that grade a class of notebooks for real (nbgrader, sandboxes): minutes each
SLOW_FIXTURES = {"graded", "clean_run", "attack_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=IMPLS, scope="module")
def m(request):
    """The implementation under test: the oracle (``reference``), then ``cnncore``."""
    return impl(request.param)
