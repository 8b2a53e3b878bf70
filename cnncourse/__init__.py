"""cnncourse: the nbgrader course built on cnncore, for instructors.

* :mod:`cnncourse.build`: the notebooks, written from ``assignments/src`` and ``solutions/``;
* :mod:`cnncourse.grading`: the trusted grader (sandboxed student code, hidden cases from the
  course secret, scores decided outside the notebook) and its nbgrader preprocessor;
* :mod:`cnncourse.sample_class`: typical mistakes and attacks, as submissions;
* :mod:`cnncourse.demo`: the instructor's nbgrader workflow on the sample class;
* :mod:`cnncourse.cli`: the ``cnncourse`` command.

Students never need this package: they install ``cnncore`` alone.
"""
