#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that the shipped systemd units stay sandboxed: `systemd-analyze security --offline`
# must score each of deploy/systemd/*.service at most 3.0 (lower is better; 10 is "UNSAFE").
# Skips, with a message, where systemd-analyze is missing.
#
#   scripts/check-units.sh            check (exit 1 when a unit scores above the limit)
#   LIMIT=2.5 scripts/check-units.sh  another limit
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIMIT=${LIMIT:-3.0}
if ! command -v systemd-analyze >/dev/null; then
    echo "units: systemd-analyze not found (package systemd): not checked"
    exit 0
fi
status=0
for unit in deploy/systemd/*.service; do
    # --offline reads the file only; the last line is "→ Overall exposure level for X: 1.5 OK"
    out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
    score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$out" | tail -n 1)
    if [[ -z $score ]]; then
        echo "$out" >&2
        echo "units: $unit: no score from systemd-analyze" >&2
        status=1
    elif awk -v s="$score" -v l="$LIMIT" 'BEGIN { exit !(s > l) }'; then
        grep '✗' <<<"$out" >&2 || true
        echo "units: $unit scores $score, above $LIMIT: harden it again (the ✗ lines above)" >&2
        status=1
    else
        echo "units: $unit scores $score (limit $LIMIT)"
    fi
done
exit "$status"
