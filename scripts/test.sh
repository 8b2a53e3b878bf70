#!/usr/bin/env bash
# Install cnncore with everything its tests need (this compiles the Cython
# kernels), then run the whole test suite: library, models, course pipeline.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_conv.py -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_sandbox.sh
python3 -m pip install --quiet --disable-pip-version-check -e ".[test,course,cluster,docs]"
python3 -m pytest "$@"
