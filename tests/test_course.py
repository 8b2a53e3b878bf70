"""The course files themselves: notebooks up to date, well formed, and the seed's points."""
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupytext")
from cnncourse import build as builder  # noqa: E402
from cnncourse import demo  # noqa: E402

# The seed's exam: written answers graded by hand, with its points.
WRITTEN_POINTS = {
    "conv2d": {"q1_equation": 5, "q2_padding": 5},
    "batchnorm": {"q3_batchnorm": 10},
    "vgg19": {"q4_vgg19": 5},
}
STUDENT_FUNCTIONS = {
    "conv2d": {
        "conv_output_size": "(size, kernel_size, stride=1, padding='valid')",
        "conv2d_forward": "(x, kernel, stride=1, padding='valid')",
        "conv2d_backward": "(dy, x, kernel, stride=1, padding='valid')",
    },
    "batchnorm": {
        "batch_norm_train": "(x, gamma, beta, eps=0.001)",
        "batch_norm_infer": "(x, gamma, beta, moving_mean, moving_var, eps=0.001)",
        "update_moving_stats": "(moving_mean, moving_var, mean, var, momentum=0.99)",
        "batch_norm_backward": "(dy, x, gamma, mean, var, eps=0.001)",
    },
}
ASSIGNMENTS = builder.available_assignments()
EDITIONS = builder.available_editions()          # conv2d, conv2d_cs, batchnorm, batchnorm_cs, ...


def base(edition):
    return builder.split_edition(edition)[0]


def test_committed_notebooks_are_not_stale():
    assert builder.stale_notebooks() == [], "run `cnncourse build` and commit the notebooks"


def test_every_assignment_has_an_english_and_a_czech_edition():
    assert set(EDITIONS) == {a for a in ASSIGNMENTS} | {f"{a}_cs" for a in ASSIGNMENTS}
    for a in ASSIGNMENTS:
        assert os.path.exists(os.path.join(ROOT, "assignments", "source", a, f"{a}.ipynb"))
        assert os.path.exists(os.path.join(ROOT, "assignments", "source", f"{a}_cs", f"{a}_cs.ipynb"))


@pytest.mark.parametrize("assignment", EDITIONS)
def test_source_notebook_has_no_outputs_and_valid_metadata(assignment):
    path = builder.notebook_path(assignment)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    ids = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        md = cell.metadata.get("nbgrader")
        if md:
            ids.append(md["grade_id"])
            if md.get("grade"):
                assert md["points"] > 0
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("assignment", EDITIONS)
def test_written_answers_carry_the_seed_points(assignment):
    nb = nbformat.read(builder.notebook_path(assignment), as_version=4)
    manual = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}
    assert manual == WRITTEN_POINTS[base(assignment)]


@pytest.mark.parametrize("assignment", [a for a in EDITIONS if base(a) in STUDENT_FUNCTIONS])
def test_student_functions_have_the_contract_signatures(assignment):
    edition, assignment = assignment, base(assignment)
    import inspect
    import importlib.util
    spec = importlib.util.spec_from_file_location("s", os.path.join(ROOT, "solutions", f"{assignment}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, sig in STUDENT_FUNCTIONS[assignment].items():
        assert str(inspect.signature(getattr(mod, name))).replace('"', "'") == sig
    nb = nbformat.read(builder.notebook_path(edition), as_version=4)
    tested = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    assert tested == {f"test_{n}" for n in STUDENT_FUNCTIONS[assignment]}


@pytest.mark.parametrize("assignment", EDITIONS)
def test_solution_cells_come_from_solutions(assignment):
    """Every solution cell is the solutions/ function, its body between the markers."""
    nb = nbformat.read(builder.notebook_path(assignment), as_version=4)
    with open(os.path.join(ROOT, "solutions", f"{base(assignment)}.py")) as f:
        text = f.read()
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            assert f"def {md['grade_id']}(" in cell.source
            assert f"def {md['grade_id']}(" in text


def test_sample_class_mistakes_apply_and_are_enough():
    mod = demo.load_mistakes()
    typical = [k for k, m in mod.MISTAKES.items() if "replace" in m and k not in ("noisy_but_right", "endless_loop_strided")]
    assert len(typical) >= 12
    used = {m for cls in (mod.SAMPLE_CLASS, mod.MISBEHAVING) for students in cls.values()
            for ms in students.values() if ms != "release" for m in ms}
    assert used == set(mod.MISTAKES)
    for assignment, students in {**mod.SAMPLE_CLASS}.items():
        for student, mistakes in students.items():
            if mistakes != "release":
                cells = demo.student_cells(assignment, mistakes, mod.MISTAKES)
                assert cells and all("BEGIN SOLUTION" not in src for src in cells.values())


# --------------------------------------------------------------------------
# the two editions: one source, the same cells, grade ids, points and code
# --------------------------------------------------------------------------

def _nbgrader_shape(nb):
    return [(c.id, c.cell_type, tuple(sorted(c.metadata.get("nbgrader", {}).items()))) for c in nb.cells]


def _code_without_text(source):
    """The code's syntax tree with every string blanked: comments, messages and labels do not count."""
    import ast
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        if isinstance(node, ast.Call):          # check(..., lang='cs'): the grader's language
            node.keywords = [k for k in node.keywords if k.arg != "lang"]
    return ast.dump(tree)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_editions_have_the_same_cells_grade_ids_and_points(assignment):
    en = nbformat.read(builder.notebook_path(assignment), as_version=4)
    cs = nbformat.read(builder.notebook_path(f"{assignment}_cs"), as_version=4)
    assert _nbgrader_shape(en) == _nbgrader_shape(cs)
    assert cs.metadata["cnncourse"]["language"] == "cs" and "cnncourse" not in en.metadata


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_editions_run_the_same_code(assignment):
    """Code, names and signatures are the same in both editions: only text differs, so one solution passes both."""
    en = nbformat.read(builder.notebook_path(assignment), as_version=4)
    cs = nbformat.read(builder.notebook_path(f"{assignment}_cs"), as_version=4)
    for ce, cc in zip(en.cells, cs.cells):
        if ce.cell_type == "code":
            assert _code_without_text(ce.source) == _code_without_text(cc.source), ce.id
            if ce.metadata.get("nbgrader", {}).get("solution"):
                body = lambda s: s[s.index("### BEGIN SOLUTION"):]  # noqa: E731
                assert body(ce.source) == body(cc.source), f"{ce.id}: the solution code differs"
        if ce.metadata.get("nbgrader", {}).get("grade") and ce.cell_type == "code":
            assert "lang='cs'" in cc.source and "lang=" not in ce.source


# Lines of a comment or a string that read the same in both languages (formulas, not prose).
NEUTRAL = {"x: (N, H, W, C); kernel: (KH, KW, C, O) -> y: (N, OH, OW, O)."}
PROSE = re.compile(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}")


def _prose_lines(source):
    """The lines of prose in a code cell's comments and strings (the instructor's solution body left out)."""
    import io
    import tokenize
    kept, inside = [], False
    for line in source.splitlines():
        inside = inside or "### BEGIN SOLUTION" in line
        if not inside:
            kept.append(line)
        inside = inside and "### END SOLUTION" not in line
    out = set()
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(kept)).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            out |= {line.strip() for line in tok.string.splitlines() if PROSE.search(line)}
    return out - NEUTRAL


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_czech_edition_has_no_english_left(assignment):
    """Every text a student reads in the Czech edition is Czech: markdown, comments, messages, labels, docstrings."""
    en = nbformat.read(builder.notebook_path(assignment), as_version=4)
    cs = nbformat.read(builder.notebook_path(f"{assignment}_cs"), as_version=4)
    for ce, cc in zip(en.cells, cs.cells):
        if ce.cell_type == "markdown":
            assert cc.source != ce.source, f"{assignment}_cs: cell {cc.id} is still English"
        elif not ce.metadata.get("nbgrader", {}).get("grade"):
            left = _prose_lines(cc.source) & _prose_lines(ce.source)
            assert not left, f"{assignment}_cs: cell {cc.id} has English text left: {sorted(left)}"
    text = nbformat.writes(cs)
    assert "Vzorová odpověď" in text and "Hodnoceno automaticky" in text
    assert "visible tests passed" not in text and "Model answer" not in text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_model_answers_exist_in_both_languages(assignment):
    sol = builder.SolutionModule(os.path.join(ROOT, "solutions", f"{assignment}.py"))
    assert sol.written and set(sol.written) == set(sol.written_cs)


def _course_with(tmp_path, monkeypatch, source):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conv2d.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(builder, "SRC", str(src))


HEADER = "# ---\n# jupyter:\n#   jupytext:\n#     text_representation:\n#       format_name: percent\n# ---\n\n"


def test_text_in_one_language_only_fails_the_build(tmp_path, monkeypatch):
    _course_with(tmp_path, monkeypatch, HEADER + "# %% [markdown]\n# # Only English\n")
    builder.build_notebook("conv2d")                       # the English edition builds
    with pytest.raises(builder.TranslationError, match="no 'cs' text"):
        builder.build_notebook("conv2d_cs")


def test_a_translation_that_matches_nothing_fails_the_build(tmp_path, monkeypatch):
    _course_with(tmp_path, monkeypatch, HEADER + '# %%\nprint("hello")\n\n# %% lang="cs"\n{"goodbye": "nashledanou"}\n')
    with pytest.raises(builder.TranslationError, match="matches nothing"):
        builder.build_notebook("conv2d_cs")
