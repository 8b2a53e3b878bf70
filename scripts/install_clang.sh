#!/usr/bin/env bash
# Install clang and its OpenMP runtime (libomp) when missing: the test suite
# builds cnncore with clang once beside gcc (tests/test_build.py).  Without
# libomp, `clang -fopenmp` cannot find omp.h and setup.py would build a
# serial extension, which is not the build worth testing.
set -euo pipefail

clang_openmp_works() {
    command -v clang >/dev/null 2>&1 || return 1
    local tmp status=0
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/cnncore-clang.XXXXXX")"
    printf '#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n' \
        > "$tmp/omp.c"
    clang -fopenmp "$tmp/omp.c" -o "$tmp/omp" >/dev/null 2>&1 && "$tmp/omp" || status=1
    rm -rf "$tmp"
    return $status
}

if clang_openmp_works; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! sudo -n true 2>/dev/null; then
        echo "clang with OpenMP is missing: install it as root (apt-get install clang libomp-dev)" >&2
        exit 1
    fi
    SUDO="sudo -n"
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "clang with OpenMP is missing: install clang and libomp with your package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq clang libomp-dev >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq clang libomp-dev >/dev/null
fi
clang_openmp_works || { echo "clang -fopenmp still fails after apt-get install" >&2; exit 1; }
