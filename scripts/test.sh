#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds botpulse with -Werror and runs the whole test suite: unit tests in parallel, then the
# integration tests (which start their own mosquitto and PostgreSQL) one at a time.
#
#   scripts/test.sh               build/ (RelWithDebInfo)
#   scripts/test.sh --sanitize    build-asan/ with AddressSanitizer + UBSan
#   scripts/test.sh [--sanitize] -- -R store     extra arguments go to every ctest run
#   BOTPULSE_BUILD=build-mine scripts/test.sh     another build directory (and build-mine-asan)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${BP_JOBS:-2}
BUILD=${BOTPULSE_BUILD:-build} # build directory, relative to the repository
CMAKE_ARGS=(-DBP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
CTEST_EXTRA=()

while (($#)); do
    case "$1" in
    --sanitize)
        BUILD=$BUILD-asan
        CMAKE_ARGS+=(-DBP_SANITIZE=ON)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        ;;
    --)
        shift
        CTEST_EXTRA=("$@")
        break
        ;;
    -h | --help)
        sed -n '3,9p' "$0"
        exit 0
        ;;
    *)
        echo "test.sh: unknown option $1 (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done

cd "$ROOT"
echo "==> dependencies"
bash scripts/deps.sh

echo "==> configure $BUILD (${CMAKE_ARGS[*]})"
cmake -S . -B "$BUILD" "${CMAKE_ARGS[@]}"
echo "==> build $BUILD (-j$JOBS)"
cmake --build "$BUILD" -j "$JOBS"

CTEST=(ctest --test-dir "$BUILD" --output-on-failure --timeout 300 --no-tests=ignore)
status=0
echo "==> unit tests ($BUILD, -j$JOBS)"
"${CTEST[@]}" -L unit -j "$JOBS" "${CTEST_EXTRA[@]}" || status=1
# Integration tests start real servers: one at a time on a 2-core machine.
echo "==> integration tests ($BUILD, -j1)"
"${CTEST[@]}" -L integration -j 1 "${CTEST_EXTRA[@]}" || status=1

# Tests with neither label (there should be none) still run.
echo "==> other tests ($BUILD)"
"${CTEST[@]}" -LE 'unit|integration' -j 1 "${CTEST_EXTRA[@]}" || status=1

if ((status)); then
    echo "==> FAILED: see the ctest summaries above ($BUILD)" >&2
else
    echo "==> all tests passed ($BUILD)"
fi
exit "$status"
