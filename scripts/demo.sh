#!/usr/bin/env bash
# The course demo, from a fresh clone: install cnncore with the course tools
# (and bubblewrap, the sandbox student code is graded in, when missing), build
# the release of every assignment, grade the bundled sample class (the worked
# solution, the untouched release, typical mistakes and misbehaving students)
# with nbgrader and its SQLite gradebook, print the gradebook, and write the
# feedback HTML.
#
#   bash scripts/demo.sh               # grades in a temporary course copy
#   bash scripts/demo.sh --keep DIR    # ... in DIR, kept for inspection
#   bash scripts/demo.sh --lang cs     # the Czech edition (conv2d_cs, ...): Czech text and feedback
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
bash scripts/install_sandbox.sh
# editable, as scripts/test.sh: the kernels are compiled in place, so this clone is the package
# wherever it is imported from (the grading workers start with the current folder on their path,
# and an uncompiled cnncore/ here would shadow a copy installed elsewhere)
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[course]"
"$PYTHON" -m cnncourse demo "$@"
