"""The instructor's nbgrader workflow, run for real on a temporary copy of the course.

nbgrader generate_assignment for every assignment; submissions made from the
released notebooks (the worked solution, the untouched release, the sample
class's typical mistakes, misbehaving students); one nbgrader autograde per
assignment over all of them; the SQLite gradebook read back with
nbgrader.api.Gradebook; nbgrader generate_feedback; nbgrader validate on the
source notebooks.  The Czech edition (conv2d_cs, ...) goes the same way in the
same course root and gradebook, with the sample class (the same solution code
as in English): the same scores, Czech diagnoses and feedback.  About 7
minutes on 2 cores.
"""
import os
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("nbgrader")
pytest.importorskip("jupytext")
import nbformat  # noqa: E402
from cnncourse import build as builder  # noqa: E402
from cnncourse import demo as sample_class  # noqa: E402

MISTAKES = sample_class.load_mistakes()
ASSIGNMENTS = [a for a in builder.available_assignments()]
CZECH = [builder.edition(a, "cs") for a in ASSIGNMENTS]
EDITIONS = ASSIGNMENTS + CZECH
# The grader's time limits, lowered for the test so that the endless-loop
# student costs less time (the sample class's honest cases take milliseconds).
LIMITS = ["--SandboxedGrading.case_timeout=2", "--SandboxedGrading.max_timeouts=3"]


def classes():
    """{edition: {student: mistakes}}: in English the sample class and the misbehaving
    students, in Czech the sample class; everywhere the worked solution and the release."""
    out = {}
    for table in (MISTAKES.SAMPLE_CLASS, MISTAKES.MISBEHAVING):
        for a, students in table.items():
            out.setdefault(a, {}).update(students)
    for a, students in MISTAKES.SAMPLE_CLASS.items():
        out[builder.edition(a, "cs")] = dict(students)
    for a in EDITIONS:
        out.setdefault(a, {}).setdefault("ada", [])
        out[a].setdefault("ben", "release")
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = str(tmp_path_factory.mktemp("course"))
    sample_class.copy_course(course)
    timings = {}
    rows = {}
    for a, students in classes().items():
        if a not in EDITIONS:
            continue
        sample_class.generate(course, a)
        for student, mistakes in students.items():
            sample_class.submit(course, a, student, mistakes, MISTAKES.MISTAKES)
        t0 = time.monotonic()
        sample_class.autograde(course, a, *LIMITS)
        timings[a] = (time.monotonic() - t0) / len(students)
        sample_class.feedback(course, a)
        rows[a] = {student: cells for student, cells, _, _ in sample_class.gradebook_rows(course, a)}
    print("autograde seconds per submission:", {a: round(t, 1) for a, t in timings.items()})
    return course, rows


def autograded_cells(course, assignment):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in
            nbformat.read(os.path.join(course, "source", assignment, f"{assignment}.ipynb"), 4).cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def code_scores(rows, assignment, student):
    return {k: (v[0], v[1]) for k, v in rows[assignment][student].items() if v[3] == "code"}


def output_text(course, assignment, student, grade_id):
    """The output of a graded cell, with whitespace collapsed (the feedback wraps long lines)."""
    nb = nbformat.read(os.path.join(course, "autograded", student, assignment, f"{assignment}.ipynb"), 4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            text = "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) or
                           (o.get("ename", "") + ": " + o.get("evalue", "")) for o in c.outputs)
            return " ".join(text.split())
    raise KeyError(grade_id)


@pytest.mark.parametrize("assignment", EDITIONS)
def test_worked_solution_gets_every_autograded_point(graded, assignment):
    course, rows = graded
    scores = code_scores(rows, assignment, "ada")
    assert scores and all(s == m for s, m in scores.values()), scores


@pytest.mark.parametrize("assignment", EDITIONS)
def test_untouched_release_gets_zero(graded, assignment):
    course, rows = graded
    scores = code_scores(rows, assignment, "ben")
    assert scores and all(s == 0 for s, m in scores.values()), scores


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_both_editions_give_each_student_the_same_scores(graded, assignment):
    # one course secret, the same hidden cases: the language changes the words only
    _, rows = graded
    czech = builder.edition(assignment, "cs")
    assert rows[czech]
    for student in rows[czech]:
        assert code_scores(rows, czech, student) == code_scores(rows, assignment, student), student


def _sample_students():
    for a, students in MISTAKES.SAMPLE_CLASS.items():
        for student, mistakes in students.items():
            if mistakes and mistakes != "release":
                yield a, student, mistakes
                yield builder.edition(a, "cs"), student, mistakes


@pytest.mark.parametrize("assignment,student,mistakes", list(_sample_students()))
def test_each_mistake_loses_points_in_its_cell_only(graded, assignment, student, mistakes):
    course, rows = graded
    if assignment not in rows:
        pytest.skip(f"{assignment} not built")
    scores = code_scores(rows, assignment, student)
    broken = {f"test_{MISTAKES.MISTAKES[m]['function']}" for m in mistakes}
    for cell, (score, max_score) in scores.items():
        if cell in broken:
            assert score < max_score, f"{student} ({mistakes}) kept every point of {cell}"
        else:
            assert score == max_score, f"{student} ({mistakes}) lost points in {cell}: {score}/{max_score}"


def test_typical_mistakes_explained_in_the_output(graded):
    course, rows = graded
    expected = {
        ("cara", "test_conv2d_forward"): "the kernel is flipped",
        ("cara", "test_conv_output_size"): "one too few",
        ("cara", "test_conv2d_backward"): "add up the contributions of every example",
        ("dan", "test_conv2d_forward"): "SAME padding is on the wrong side",
        ("dan", "test_conv2d_backward"): "expected shape",
        ("eve", "test_conv2d_forward"): "strides are swapped",
        ("finn", "test_conv2d_forward"): "expected dtype float32",
    }
    for (student, cell), phrase in expected.items():
        assert phrase in output_text(course, "conv2d", student, cell), (student, cell)
    if "batchnorm" in rows:
        bn = {
            ("cara", "test_batch_norm_train"): "unbiased",
            ("cara", "test_batch_norm_infer"): "statistics of this batch",
            ("cara", "test_update_moving_stats"): "wrong way round",
            ("cara", "test_batch_norm_backward"): "constants",
            ("dan", "test_batch_norm_train"): "per position",
            ("dan", "test_update_moving_stats"): "in place",
            ("eve", "test_batch_norm_train"): "under the square root",
        }
        for (student, cell), phrase in bn.items():
            assert phrase in output_text(course, "batchnorm", student, cell), (student, cell)
    if "vgg19" in rows:
        vgg = {
            ("cara", "test_vgg19_stages"): "one bias per output channel",
            ("cara", "test_receptive_field"): "adds k - 1, not k",
            ("dan", "test_vgg19_stages"): "halves the height and width",
        }
        for (student, cell), phrase in vgg.items():
            assert phrase in output_text(course, "vgg19", student, cell), (student, cell)


def test_misbehaving_students_gain_nothing(graded):
    course, rows = graded
    s = lambda student: code_scores(rows, "conv2d", student)  # noqa: E731
    full = {k: m for k, (v, m) in s("ada").items()}
    for student in ("gus", "hal", "ivy", "max"):    # patched numpy / replaced cnncore / always-equal / display
        scores = s(student)
        assert scores["test_conv2d_forward"][0] == 0, (student, scores)
        assert scores["test_conv_output_size"][0] == full["test_conv_output_size"]
        assert scores["test_conv2d_backward"][0] == full["test_conv2d_backward"]
    jo = s("jo")                                    # calls cnncore
    assert jo["test_conv2d_forward"][0] == 0 and jo["test_conv_output_size"][0] == 0
    assert "no credit" in output_text(course, "conv2d", "jo", "test_conv2d_forward")
    assert jo["test_conv2d_backward"][0] == full["test_conv2d_backward"]


def test_endless_loops_are_cut_off_and_the_rest_is_graded(graded):
    course, rows = graded
    kim = code_scores(rows, "conv2d", "kim")
    assert kim["test_conv_output_size"][0] == 0
    assert 0 < kim["test_conv2d_forward"][0] < kim["test_conv2d_forward"][1]
    assert kim["test_conv2d_backward"][0] == kim["test_conv2d_backward"][1]
    assert "stopped after" in output_text(course, "conv2d", "kim", "test_conv2d_forward")


def test_warnings_and_stderr_do_not_zero_a_correct_solution(graded):
    course, rows = graded
    lou = code_scores(rows, "conv2d", "lou")
    assert all(s == m for s, m in lou.values()), lou


def test_release_has_neither_solutions_nor_hidden_tests(graded):
    course, _ = graded
    for a in ASSIGNMENTS:
        path = os.path.join(course, "release", a, f"{a}.ipynb")
        with open(path) as f:
            text = f.read()
        for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "grading import check",
                       "np.einsum", "Model answer", "### END"):
            assert secret not in text, (a, secret)
        assert "raise NotImplementedError()" in text


def test_feedback_shows_diagnostics_not_hidden_tests(graded):
    course, _ = graded
    path = os.path.join(course, "feedback", "cara", "conv2d", "conv2d.html")
    with open(path) as f:
        html = f.read()
    assert "the kernel is flipped" in " ".join(html.split()) and "cases passed" in html
    assert "HIDDEN TESTS" not in html and "grading import check" not in html


@pytest.mark.parametrize("assignment", EDITIONS)
def test_nbgrader_validate_passes_on_the_source_notebooks(tmp_path, assignment):
    course = sample_class.copy_course(str(tmp_path / "c"))
    proc = sample_class.nbgrader(course, "validate", os.path.join("source", assignment, f"{assignment}.ipynb"))
    assert "Success! Your notebook passes all the tests." in proc.stdout + proc.stderr, proc.stdout[-3000:]


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
    for edition in CZECH:
        with open(os.path.join(course, "release", edition, f"{edition}.ipynb"), encoding="utf-8") as f:
            text = f.read()
        for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "grading import check", "np.einsum",
                       "Vzorová odpověď", "Model answer", "### END"):
            assert secret not in text, (edition, secret)
        assert "Hodnoceno automaticky" in text and "viditelné testy prošly" in text
        assert "# SEM NAPIŠTE SVŮJ KÓD" in text and "raise NotImplementedError()" in text
        assert "YOUR CODE HERE" not in text and "YOUR ANSWER HERE" not in text
        assert "SEM NAPIŠTE SVOU ODPOVĚĎ" in text, edition
