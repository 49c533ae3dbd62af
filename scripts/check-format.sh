#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that every C source and header in git is formatted by .clang-format (Debian's
# clang-format). Prints the files that are not, and how to fix them.
#
#   scripts/check-format.sh          check (exit 1 when a file differs)
#   scripts/check-format.sh --fix    format them in place
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/deps.sh clang-format >/dev/null

mapfile -t files < <(git ls-files '*.c' '*.h')
if [[ ${1:-} == --fix ]]; then
    clang-format -i "${files[@]}"
    echo "format: formatted ${#files[@]} files"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
    echo "format: ${#bad[@]} file(s) differ from .clang-format:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "format: run scripts/check-format.sh --fix" >&2
    exit 1
fi
echo "format: all ${#files[@]} files match .clang-format"
