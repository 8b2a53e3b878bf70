"""Grading helpers for the cnncore nbgrader course.

The hidden test cells of the course notebooks call :func:`check`::

    from cnncore.grading import check
    check("conv2d_forward", globals(), points=6)

which grades the student's function against the compiled cnncore on many
generated cases, prints what went wrong (which case, expected shape against
received, largest error, the typical mistake the output matches) and returns
the score, which nbgrader takes as the cell's partial credit.

Layers: :mod:`.runner` runs inside the student's kernel and imports only
NumPy and the standard library; :mod:`.worker` and :mod:`.checks` run in a
clean interpreter started by the runner, and are the only ones that import
cnncore.
"""
from .runner import check

__all__ = ["check"]
