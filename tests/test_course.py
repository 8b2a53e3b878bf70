"""The course files themselves: notebooks up to date, well formed, and the seed's points."""
import json
import os

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


def test_committed_notebooks_are_not_stale():
    assert builder.stale_notebooks() == [], "run `cnncourse build` and commit the notebooks"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_written_answers_carry_the_seed_points(assignment):
    nb = nbformat.read(builder.notebook_path(assignment), as_version=4)
    manual = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}
    assert manual == WRITTEN_POINTS[assignment]


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a in STUDENT_FUNCTIONS])
def test_student_functions_have_the_contract_signatures(assignment):
    import inspect
    import importlib.util
    spec = importlib.util.spec_from_file_location("s", os.path.join(ROOT, "solutions", f"{assignment}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, sig in STUDENT_FUNCTIONS[assignment].items():
        assert str(inspect.signature(getattr(mod, name))).replace('"', "'") == sig
    nb = nbformat.read(builder.notebook_path(assignment), as_version=4)
    tested = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    assert tested == {f"test_{n}" for n in STUDENT_FUNCTIONS[assignment]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_cells_come_from_solutions(assignment):
    """Every solution cell is the solutions/ function, its body between the markers."""
    nb = nbformat.read(builder.notebook_path(assignment), as_version=4)
    with open(os.path.join(ROOT, "solutions", f"{assignment}.py")) as f:
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
