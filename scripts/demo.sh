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
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
bash scripts/install_sandbox.sh
"$PYTHON" -m pip install --quiet --disable-pip-version-check ".[course]"
"$PYTHON" -m cnncourse demo "$@"
