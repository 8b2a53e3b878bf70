"""Shared test configuration: tests that need a whole graded class are marked ``slow``."""
import pytest

# fixtures that grade a class of notebooks for real (nbgrader, sandboxes): minutes each
SLOW_FIXTURES = {"graded", "clean_run", "attack_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
