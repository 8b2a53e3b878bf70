#!/usr/bin/env bash
# Build and run the standalone C test of the convolution micro-kernels
# (tests/c/test_kernels.c against cnncore/_direct.h and _ukernel.h).
#
#   bash scripts/test_c_kernels.sh [native|aarch64|all]     (default: all)
#
# native:  gcc (and clang, when installed) on this machine, every instance its CPU runs.
# aarch64: cross-compiled with aarch64-linux-gnu-gcc (static) and run under
#          qemu-aarch64: the portable instance on NEON.  Missing tools are
#          installed with apt-get when running as root.
# Build outputs go to a temporary directory, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-all}"
case "$MODE" in
    native|aarch64|all) ;;
    *) echo "usage: $0 [native|aarch64|all]" >&2; exit 2 ;;
esac

SRC=tests/c/test_kernels.c
CFLAGS=(-std=gnu99 -O2 -ffp-contract=fast -Wall -Wextra -I cnncore)
BUILD="$(mktemp -d "${TMPDIR:-/tmp}/cnncore-ctest.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

run_native() {
    local t0; t0="$(now)"
    echo "== native ($(uname -m)): gcc"
    gcc "${CFLAGS[@]}" "$SRC" -o "$BUILD/test_kernels_native" -lm || return 1
    "$BUILD/test_kernels_native" || { echo "== native: FAILED"; return 1; }
    if command -v clang >/dev/null; then    # the vector extensions as Clang reads them too
        echo "== native ($(uname -m)): clang"
        clang "${CFLAGS[@]}" "$SRC" -o "$BUILD/test_kernels_clang" -lm || return 1
        "$BUILD/test_kernels_clang" || { echo "== native clang: FAILED"; return 1; }
    fi
    echo "== native: done in $(elapsed "$t0") s"
}

qemu_bin() { command -v qemu-aarch64 || command -v qemu-aarch64-static || true; }

ensure_aarch64_tools() {
    if command -v aarch64-linux-gnu-gcc >/dev/null && [ -n "$(qemu_bin)" ]; then
        return 0
    fi
    local pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: aarch64 mode needs aarch64-linux-gnu-gcc and qemu-aarch64;" \
             "install them as root: apt-get install -y ${pkgs[*]}" >&2
        exit 3
    fi
    echo "== installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y "${pkgs[@]}"; then
        apt-get update
        apt-get install -y "${pkgs[@]}"
    fi
    if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ -z "$(qemu_bin)" ]; then
        echo "error: aarch64-linux-gnu-gcc or qemu-aarch64 still missing after apt-get" >&2
        exit 3
    fi
}

run_aarch64() {
    ensure_aarch64_tools
    local t0; t0="$(now)"
    echo "== aarch64: aarch64-linux-gnu-gcc -static, run under $(basename "$(qemu_bin)")"
    aarch64-linux-gnu-gcc "${CFLAGS[@]}" -static "$SRC" -o "$BUILD/test_kernels_aarch64" -lm \
        || return 1
    "$(qemu_bin)" "$BUILD/test_kernels_aarch64" || { echo "== aarch64: FAILED"; return 1; }
    echo "== aarch64: done in $(elapsed "$t0") s"
}

# `|| status=1` disables errexit inside the functions: they return on failure themselves
status=0
if [ "$MODE" = native ] || [ "$MODE" = all ]; then
    run_native || status=1
fi
if [ "$MODE" = aarch64 ] || [ "$MODE" = all ]; then
    run_aarch64 || status=1
fi
exit $status
