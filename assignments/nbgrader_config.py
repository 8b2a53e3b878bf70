"""nbgrader configuration of the cnncore course (the seed's "Lekce 4", 25 points).

Run nbgrader commands from this folder (the course root):

    nbgrader generate_assignment conv2d      # source/ -> release/ (solutions and hidden tests removed)
    nbgrader autograde conv2d                # submitted/ -> autograded/, grades into gradebook.db
    nbgrader generate_feedback conv2d        # autograded/ -> feedback/ (HTML, without the hidden tests)
"""
import os

from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from cnncourse.grading.autograde import configure

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "cnncore-lesson4"
c.CourseDirectory.assignment_id = ""
# The embedded SQLite gradebook, next to this file.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Autograding runs each submitted notebook in a bubblewrap sandbox (no course
# files, no gradebook, no network, no cnncore/torch/SciPy, bounded memory, CPU,
# processes and disk) and decides every score outside it: the hidden cases come
# from the course secret (.cnncourse_secret here, or $CNNCOURSE_SECRET), the
# trusted grader calls the student's functions through a data-only channel and
# writes each graded cell's diagnostics and score (cnncourse/grading/).
# Limits: c.SandboxedGrading.memory_limit, case_timeout, ... (see its help).
configure(c)
# For `nbgrader validate` on the source notebooks (the instructor's own code).
c.Execute.timeout = 120
c.ExecutePreprocessor.timeout = 120

# The English edition's placeholders; configure(c) above made generate_assignment use
# cnncourse.release.EditionClearSolutions, which gives the Czech edition (conv2d_cs, ...) the
# catalogue's Czech ones ("# SEM NAPIŠTE SVŮJ KÓD", "SEM NAPIŠTE SVOU ODPOVĚĎ").
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows the students their diagnostics (the test cells' output) but
# not the code of the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Students may not see the gradebook or the source notebooks; release only.
c.GenerateAssignment.create_assignment = True
