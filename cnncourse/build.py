"""The course's notebooks, written from readable sources.

    cnncourse build      # assignments/src/*.py + solutions/*.py -> assignments/source/*/*.ipynb
    cnncourse check      # fail if the committed notebooks are stale

The notebooks are written from readable jupytext percent scripts
(`assignments/src/<assignment>.py`).  Cells carry a `kind` in their header:

    # %% kind="setup"                                  read-only code (imports)
    # %% kind="solution" function="conv2d_forward"     the function from solutions/<assignment>.py,
    #                                                  its body between ### BEGIN/END SOLUTION
    # %% kind="visible" grade_id="visible_conv2d"      read-only visible tests (not graded)
    # %% kind="tests" check="conv2d_forward" points=6  a graded cell: the hidden cases of that check,
    #                                                  graded outside the notebook (cnncourse.grading)
    # %% [markdown] kind="written" grade_id="q1" points=5
    #                                                  a manually graded answer; the model answer
    #                                                  comes from solutions/<assignment>.py WRITTEN_ANSWERS

The solution code exists once, in `solutions/`.

Two editions from one source.  Every assignment is built twice into the one
course root, with the same cells, grade ids and points: the English edition
`source/<assignment>/<assignment>.ipynb` and the Czech one
`source/<assignment>_cs/<assignment>_cs.ipynb`.  The Czech text sits in the
source right after the cell it translates, in a cell marked `lang="cs"`:

    # %% [markdown] lang="cs"                          the Czech text of the markdown cell above
    # %% lang="cs"                                     {"English": "Czech", ...}: replacements in the
    #                                                  code cell above (comments, messages, figure
    #                                                  labels, a solution's docstring); the code itself
    #                                                  is never translated

The English build skips these cells.  The Czech build fails when a cell that
a student reads has no Czech pair, or when a replacement no longer matches;
the Czech model answers come from WRITTEN_ANSWERS_CS.
"""
import ast
import os
import textwrap


def _repo_root():
    """The repository with assignments/src and solutions/: next to this package, or above the cwd."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for d in [here] + _ancestors(os.getcwd()):
        if os.path.isdir(os.path.join(d, "assignments", "src")) and os.path.isdir(os.path.join(d, "solutions")):
            return d
    return here


def _ancestors(d):
    out = []
    while True:
        out.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            return out
        d = parent


ROOT = _repo_root()
COURSE = os.path.join(ROOT, "assignments")
SRC = os.path.join(COURSE, "src")
SOLUTIONS = os.path.join(ROOT, "solutions")
ASSIGNMENTS = ["conv2d", "batchnorm", "vgg19"]
LANGUAGES = ("en", "cs")          # the English edition first: it is the one the source is written in
EDITION_SUFFIX = {"en": "", "cs": "_cs"}


def edition(assignment, lang="en"):
    """The nbgrader assignment (and notebook) name of an edition: conv2d, conv2d_cs."""
    return assignment + EDITION_SUFFIX[lang]


def split_edition(name):
    """conv2d_cs -> ("conv2d", "cs"); conv2d -> ("conv2d", "en")."""
    for lang, suffix in EDITION_SUFFIX.items():
        if suffix and name.endswith(suffix):
            return name[:-len(suffix)], lang
    return name, "en"


def language_of(name):
    """The language of an assignment or notebook name: "cs" for *_cs, else "en"."""
    if not name:
        return "en"
    base = os.path.basename(str(name))
    if base.endswith(".ipynb"):
        base = base[:-len(".ipynb")]
    return split_edition(base)[1]


# --------------------------------------------------------------------------
# building the source notebooks
# --------------------------------------------------------------------------

class SolutionModule:
    """The functions and written answers of solutions/<assignment>.py, as source text."""

    def __init__(self, path, replacements=None):
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.tree = ast.parse(self.text)
        self.functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.lines = self.text.splitlines()
        self.written = {}
        self.written_cs = {}
        self.constants = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name == "WRITTEN_ANSWERS":
                    self.written = ast.literal_eval(node.value)
                elif name == "WRITTEN_ANSWERS_CS":
                    self.written_cs = ast.literal_eval(node.value)
        self.replacements = replacements or {}

    def written_answer(self, grade_id, lang="en"):
        return (self.written_cs if lang == "cs" else self.written).get(grade_id)

    def _segment(self, node):
        return "\n".join(self.lines[node.lineno - 1:node.end_lineno])

    def helpers_of(self, name, seen=None):
        """Private module-level functions that `name` uses, transitively, in source order."""
        seen = set() if seen is None else seen
        node = self.functions[name]
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.functions and sub.id.startswith("_") \
                    and sub.id not in seen:
                seen.add(sub.id)
                self.helpers_of(sub.id, seen)
        order = [n for n in self.functions if n in seen]
        return order

    def solution_cell(self, name):
        """`def name(...)`, docstring, then the body (with nested helpers) between markers."""
        node = self.functions[name]
        body = node.body
        doc = None
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            doc = body[0]
            body = body[1:]
        header = "\n".join(self.lines[node.lineno - 1:(doc.end_lineno if doc else node.body[0].lineno - 1)])
        indent = " " * body[0].col_offset
        body_text = "\n".join(self.lines[body[0].lineno - 1:node.end_lineno])
        helpers = [textwrap.indent(self._segment(self.functions[h]), indent) for h in self.helpers_of(name)]
        parts = [header, indent + "### BEGIN SOLUTION"]
        for h in helpers:
            parts += [h, ""]
        parts += [body_text, indent + "### END SOLUTION"]
        text = "\n".join(parts)
        for old, new in self.replacements.get(name, []):
            if text.count(old) != 1:
                raise ValueError(f"mistake replacement {old!r} matches {text.count(old)} times in {name}")
            text = text.replace(old, new)
        return text


def _nbgrader_md(grade_id, grade=False, solution=False, locked=False, points=None):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
          "solution": solution, "task": False}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


def tests_source(check, points, lang="en"):
    if lang == "cs":
        return "\n".join([
            f"# Hodnoceno automaticky ({points:g} b.): {check} se porovná s kompilovanou referencí na mnoha",
            "# vygenerovaných případech, mimo tento notebook. Výstup níže říká, které případy selhaly a proč.",
            "### BEGIN HIDDEN TESTS",
            "from cnncourse.grading import check",
            f"check({check!r}, globals(), points={points!r}, lang='cs')",
            "### END HIDDEN TESTS",
        ])
    return "\n".join([
        f"# Autograded ({points:g} points): {check} against the compiled reference on many generated",
        "# cases, outside this notebook. The output below says which cases failed and how.",
        "### BEGIN HIDDEN TESTS",
        "from cnncourse.grading import check",
        f"check({check!r}, globals(), points={points!r})",
        "### END HIDDEN TESTS",
    ])


class TranslationError(ValueError):
    """A cell a student reads has no text in the edition's language, or a translation no longer matches."""


def _translations(cell, where):
    """The {English: Czech} replacements of a `lang="cs"` code cell."""
    try:
        table = ast.literal_eval(cell.source.strip())
    except (ValueError, SyntaxError) as exc:
        raise TranslationError(f"{where}: a lang=\"cs\" code cell holds a dict literal {{English: Czech}} ({exc})")
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise TranslationError(f"{where}: a lang=\"cs\" code cell holds a dict literal {{English: Czech}}")
    return table


def translate_code(source, table, where):
    """Apply {English: Czech} replacements to a code cell; every one must match."""
    for old, new in table.items():
        if old not in source:
            raise TranslationError(f"{where}: the translation of {old!r} matches nothing in the cell above it")
        source = source.replace(old, new)
    return source


def paired_cells(src, assignment):
    """[(index, cell, {lang: translation cell})]: the source's cells with their translations."""
    out = []
    for cell in src.cells:
        lang = cell.metadata.get("lang")
        if lang is None:
            out.append((len(out), cell, {}))
            continue
        if lang not in LANGUAGES or lang == "en":
            raise TranslationError(f"{assignment}: unknown cell language {lang!r}")
        if not out:
            raise TranslationError(f"{assignment}: a lang={lang!r} cell before any cell it could translate")
        i, original, pairs = out[-1]
        if lang in pairs:
            raise TranslationError(f"{assignment}: cell {i} has two {lang!r} translations")
        if cell.cell_type != original.cell_type:
            raise TranslationError(f"{assignment}: cell {i} is {original.cell_type}, its {lang!r} translation "
                                   f"{cell.cell_type}")
        pairs[lang] = cell
    return out


def build_notebook(assignment, replacements=None, lang=None):
    """The source notebook of an edition: `build_notebook("conv2d_cs")` or `build_notebook("conv2d", lang="cs")`."""
    import jupytext
    import nbformat

    if lang is None:
        assignment, lang = split_edition(assignment)
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; one of {LANGUAGES}")
    src = jupytext.read(os.path.join(SRC, f"{assignment}.py"), fmt="py:percent")
    sol = SolutionModule(os.path.join(SOLUTIONS, f"{assignment}.py"), replacements)
    cells = []
    used_ids = set()
    for i, cell, pairs in paired_cells(src, assignment):
        md = dict(cell.metadata)
        kind = md.pop("kind", None)
        source = cell.source
        where = f"{assignment} ({lang}), cell {i}"
        tr = pairs.get(lang)
        if lang != "en" and kind in (None, "setup", "solution", "visible"):
            if cell.cell_type == "markdown":
                if tr is None:
                    raise TranslationError(f"{where}: no {lang!r} text for the markdown cell "
                                           f"{source.splitlines()[0][:60] if source else ''!r}")
                source = tr.source
            elif tr is not None and kind != "solution":
                source = translate_code(source, _translations(tr, where), where)
        if kind is None:
            if cell.cell_type == "markdown":
                new = nbformat.v4.new_markdown_cell(source)
            else:
                new = nbformat.v4.new_code_cell(source)
            cell_id = f"cell-{i:02d}"
        elif kind == "setup":
            new = nbformat.v4.new_code_cell(source)
            cell_id = md.get("grade_id", "setup")
            new.metadata.update(_nbgrader_md(cell_id, locked=True))
        elif kind == "solution":
            fn = md["function"]
            code = (source + "\n\n" if source else "") + sol.solution_cell(fn)
            if lang != "en" and tr is not None:
                code = translate_code(code, _translations(tr, where), where)
            new = nbformat.v4.new_code_cell(code)
            cell_id = fn
            new.metadata.update(_nbgrader_md(cell_id, solution=True))
        elif kind == "visible":
            new = nbformat.v4.new_code_cell(source)
            cell_id = md["grade_id"]
            new.metadata.update(_nbgrader_md(cell_id, locked=True))
        elif kind == "tests":
            points = md["points"]
            new = nbformat.v4.new_code_cell(tests_source(md["check"], points, lang))
            cell_id = md.get("grade_id", f"test_{md['check']}")
            new.metadata.update(_nbgrader_md(cell_id, grade=True, locked=True, points=points))
        elif kind == "written":
            cell_id = md["grade_id"]
            answer = sol.written_answer(cell_id, lang)
            if answer is None:
                table = "WRITTEN_ANSWERS_CS" if lang == "cs" else "WRITTEN_ANSWERS"
                raise KeyError(f"solutions/{assignment}.py has no {table}[{cell_id!r}]")
            new = nbformat.v4.new_markdown_cell(answer.strip())
            new.metadata.update(_nbgrader_md(cell_id, grade=True, solution=True, points=md["points"]))
        else:
            raise ValueError(f"{assignment}: unknown cell kind {kind!r}")
        if cell_id in used_ids:
            raise ValueError(f"{assignment}: duplicate cell id {cell_id!r}")
        used_ids.add(cell_id)
        new["id"] = cell_id.replace("_", "-")
        cells.append(new)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    if lang != "en":
        nb.metadata["cnncourse"] = {"language": lang}
    return nb


def notebook_text(nb):
    import nbformat
    return nbformat.writes(nb, version=4) + "\n"


def notebook_path(assignment, root=COURSE):
    return os.path.join(root, "source", assignment, f"{assignment}.ipynb")


def available_assignments():
    return [a for a in ASSIGNMENTS if os.path.exists(os.path.join(SRC, f"{a}.py"))]


def available_editions(langs=LANGUAGES):
    """Every edition's assignment name: conv2d, conv2d_cs, batchnorm, ..."""
    return [edition(a, lang) for a in available_assignments() for lang in langs]


def build(root=COURSE):
    for a in available_editions():
        path = notebook_path(a, root)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(notebook_text(build_notebook(a)))
        print(f"wrote {os.path.relpath(path)}")
    return 0


def stale_notebooks():
    stale = []
    for a in available_editions():
        path = notebook_path(a)
        want = notebook_text(build_notebook(a))
        try:
            with open(path, encoding="utf-8") as f:
                have = f.read()
        except FileNotFoundError:
            have = None
        if have != want:
            stale.append(os.path.relpath(path, ROOT))
    return stale
