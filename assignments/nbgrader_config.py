"""nbgrader configuration of the cnncore course (the seed's "Lekce 4", 25 points).

Run nbgrader commands from this folder (the course root):

    nbgrader generate_assignment conv2d      # source/ -> release/ (solutions and hidden tests removed)
    nbgrader autograde conv2d                # submitted/ -> autograded/, grades into gradebook.db
    nbgrader generate_feedback conv2d        # autograded/ -> feedback/ (HTML, without the hidden tests)
"""
import os

from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "cnncore-lesson4"
c.CourseDirectory.assignment_id = ""
# The embedded SQLite gradebook, next to this file.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# The hidden tests cut each call of a student's function off after 8 s and
# stop calling it after 30 s in all (cnncore/grading/runner.py), so a test
# cell ends well within this per-cell limit, which is the backstop for the
# other cells (a visible test calling an endless loop): the kernel is
# interrupted and the remaining cells are still run and graded.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.ExecutePreprocessor.timeout = 60

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows the students their diagnostics (the test cells' output) but
# not the code of the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Students may not see the gradebook or the source notebooks; release only.
c.GenerateAssignment.create_assignment = True
