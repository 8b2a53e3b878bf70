"""nbgrader's generate_assignment in the language of the edition: the placeholders of the release.

nbgrader's ``ClearSolutions`` puts one code stub (``# YOUR CODE HERE`` and
``raise NotImplementedError()``) and one text stub (``YOUR ANSWER HERE``) in
place of every solution, for the whole course.  :class:`EditionClearSolutions`
takes its place among ``c.GenerateAssignment.preprocessors`` (see
:func:`cnncourse.grading.autograde.configure`) and picks the stubs by the
assignment's name: the course's configured ``ClearSolutions`` stubs for the
English edition (``conv2d``), the catalogue's (:mod:`.grading.messages`,
``stub_code`` and ``stub_answer``) for the others (``conv2d_cs``: ``# SEM
NAPIŠTE SVŮJ KÓD``, ``SEM NAPIŠTE SVOU ODPOVĚĎ``).  The code itself, ``raise
NotImplementedError()``, is the same in every edition, and nothing in the
grader looks for the placeholders' words: an untouched answer is told by
nbgrader's checksums, an untouched function by what it raises.
"""
from nbgrader.preprocessors import ClearSolutions

from .grading.messages import LANGUAGES, language_of, t


def stubs(lang):
    """``(code stub, text stub)`` of the catalogue in ``lang``."""
    return t("stub_code", lang), t("stub_answer", lang)


class EditionClearSolutions(ClearSolutions):
    """nbgrader's ClearSolutions with the placeholders in the language of the assignment's edition."""

    def preprocess(self, nb, resources):
        lang = language_of((resources.get("nbgrader") or {}).get("assignment"))
        if lang == "en" or lang not in LANGUAGES:
            return super().preprocess(nb, resources)
        code, text = stubs(lang)
        saved = self.code_stub, self.text_stub
        self.code_stub, self.text_stub = dict(self.code_stub, python=code), text
        try:
            return super().preprocess(nb, resources)
        finally:
            self.code_stub, self.text_stub = saved


def configure(c):
    """Put :class:`EditionClearSolutions` in place of nbgrader's ClearSolutions in a course's config ``c``."""
    from nbgrader.converters import GenerateAssignment
    current = c.GenerateAssignment.get("preprocessors")      # the course's own list, if it has one
    steps = list(current if isinstance(current, (list, tuple)) else
                 GenerateAssignment.class_traits()["preprocessors"].default())
    c.GenerateAssignment.preprocessors = [EditionClearSolutions if p is ClearSolutions else p for p in steps]
    return c


__all__ = ["EditionClearSolutions", "configure", "stubs"]
