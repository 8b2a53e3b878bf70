"""The Czech edition (conv2d_cs, batchnorm_cs, vgg19_cs) through the instructor's nbgrader workflow, for real.

The same course root and gradebook as the English edition: nbgrader
generate_assignment, the sample class submitted from the Czech release (the
worked solution, the untouched release, the typical mistakes: the same
solution code as in English), nbgrader autograde, generate_feedback, and
nbgrader validate on the Czech source notebooks.  The scores are the English
edition's; the diagnoses and the feedback are Czech.  A few minutes on 2 cores.
"""
import os

import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("jupytext")
import nbformat  # noqa: E402
from cnncourse import build as builder  # noqa: E402
from cnncourse import demo as sample_class  # noqa: E402

MISTAKES = sample_class.load_mistakes()
ASSIGNMENTS = builder.available_assignments()
EDITIONS = [builder.edition(a, "cs") for a in ASSIGNMENTS]
LIMITS = ["--SandboxedGrading.case_timeout=2", "--SandboxedGrading.max_timeouts=3"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = str(tmp_path_factory.mktemp("course_cs"))
    sample_class.copy_course(course)
    rows = {}
    for a in ASSIGNMENTS:
        edition = builder.edition(a, "cs")
        students = dict(MISTAKES.SAMPLE_CLASS.get(a, {}))
        students.setdefault("ada", [])
        students.setdefault("ben", "release")
        sample_class.generate(course, edition)
        for student, mistakes in students.items():
            sample_class.submit(course, edition, student, mistakes, MISTAKES.MISTAKES)
        sample_class.autograde(course, edition, *LIMITS)
        sample_class.feedback(course, edition)
        rows[edition] = {student: cells for student, cells, _, _ in sample_class.gradebook_rows(course, edition)}
    return course, rows


def code_scores(rows, edition, student):
    return {k: (v[0], v[1]) for k, v in rows[edition][student].items() if v[3] == "code"}


def output_text(course, edition, student, grade_id):
    nb = nbformat.read(os.path.join(course, "autograded", student, edition, f"{edition}.ipynb"), 4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return " ".join("".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                                    for o in c.outputs).split())
    raise KeyError(grade_id)


@pytest.mark.parametrize("edition", EDITIONS)
def test_worked_solution_gets_every_autograded_point(graded, edition):
    course, rows = graded
    scores = code_scores(rows, edition, "ada")
    assert scores and all(s == m for s, m in scores.values()), scores


@pytest.mark.parametrize("edition", EDITIONS)
def test_untouched_release_gets_zero(graded, edition):
    course, rows = graded
    scores = code_scores(rows, edition, "ben")
    assert scores and all(s == 0 for s, m in scores.values()), scores


def _sample_students():
    for a, students in MISTAKES.SAMPLE_CLASS.items():
        for student, mistakes in students.items():
            if mistakes and mistakes != "release":
                yield builder.edition(a, "cs"), student, mistakes


@pytest.mark.parametrize("edition,student,mistakes", list(_sample_students()))
def test_each_mistake_loses_points_in_its_cell_only(graded, edition, student, mistakes):
    course, rows = graded
    scores = code_scores(rows, edition, student)
    broken = {f"test_{MISTAKES.MISTAKES[m]['function']}" for m in mistakes}
    for cell, (score, max_score) in scores.items():
        if cell in broken:
            assert score < max_score, f"{student} ({mistakes}) kept every point of {cell}"
        else:
            assert score == max_score, f"{student} ({mistakes}) lost points in {cell}: {score}/{max_score}"


CZECH_DIAGNOSES = {
    ("conv2d_cs", "cara", "test_conv2d_forward"): "výstup se rovná skutečné konvoluci: jádro je převrácené",
    ("conv2d_cs", "cara", "test_conv_output_size"): "o jednu méně",
    ("conv2d_cs", "cara", "test_conv2d_backward"): "sečtěte příspěvky všech příkladů v dávce",
    ("conv2d_cs", "dan", "test_conv2d_forward"): "doplnění SAME je na špatné straně",
    ("conv2d_cs", "dan", "test_conv2d_backward"): "očekávaný tvar",
    ("conv2d_cs", "eve", "test_conv2d_forward"): "kroky po řádcích a po sloupcích jsou prohozené",
    ("conv2d_cs", "finn", "test_conv2d_forward"): "očekávaný dtype float32",
    ("batchnorm_cs", "cara", "test_batch_norm_train"): "nestranný rozptyl",
    ("batchnorm_cs", "cara", "test_batch_norm_infer"): "statistikami této dávky",
    ("batchnorm_cs", "cara", "test_update_moving_stats"): "moment je použitý obráceně",
    ("batchnorm_cs", "cara", "test_batch_norm_backward"): "jako konstanty",
    ("batchnorm_cs", "dan", "test_batch_norm_train"): "po pozicích",
    ("batchnorm_cs", "dan", "test_update_moving_stats"): "na místě",
    ("batchnorm_cs", "eve", "test_batch_norm_train"): "eps patří pod odmocninu",
    ("vgg19_cs", "cara", "test_vgg19_stages"): "jeden bias na výstupní kanál",
    ("vgg19_cs", "cara", "test_receptive_field"): "přidá k - 1, ne k",
    ("vgg19_cs", "dan", "test_vgg19_stages"): "půlí výšku a šířku",
}


def test_typical_mistakes_explained_in_czech(graded):
    course, rows = graded
    for (edition, student, cell), phrase in CZECH_DIAGNOSES.items():
        if edition in rows:
            text = output_text(course, edition, student, cell)
            assert phrase in text and "Body za" in text, (edition, student, cell, text[:500])
            assert "cases passed" not in text and "Score for" not in text


def test_czech_feedback_shows_czech_diagnoses_not_hidden_tests(graded):
    course, _ = graded
    with open(os.path.join(course, "feedback", "cara", "conv2d_cs", "conv2d_cs.html"), encoding="utf-8") as f:
        html = " ".join(f.read().split())
    assert "jádro je převrácené" in html and "vygenerovaných případů" in html
    assert "Konvoluce" in html or "konvoluce" in html
    assert "HIDDEN TESTS" not in html and "grading import check" not in html


def test_czech_release_has_czech_text_and_neither_solutions_nor_hidden_tests(graded):
    course, _ = graded
    for edition in EDITIONS:
        with open(os.path.join(course, "release", edition, f"{edition}.ipynb"), encoding="utf-8") as f:
            text = f.read()
        for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "grading import check", "np.einsum",
                       "Vzorová odpověď", "Model answer", "### END"):
            assert secret not in text, (edition, secret)
        assert "Hodnoceno automaticky" in text and "viditelné testy prošly" in text
        assert "# SEM NAPIŠTE SVŮJ KÓD" in text and "raise NotImplementedError()" in text
        assert "YOUR CODE HERE" not in text and "YOUR ANSWER HERE" not in text
        assert "SEM NAPIŠTE SVOU ODPOVĚĎ" in text, edition


@pytest.mark.parametrize("edition", EDITIONS)
def test_nbgrader_validate_passes_on_the_czech_source_notebooks(tmp_path, edition):
    course = sample_class.copy_course(str(tmp_path / "c"))
    proc = sample_class.nbgrader(course, "validate", os.path.join("source", edition, f"{edition}.ipynb"))
    assert "Success! Your notebook passes all the tests." in proc.stdout + proc.stderr, proc.stdout[-3000:]
