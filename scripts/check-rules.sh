#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks deploy/prometheus/botpulse-rules.yml with promtool (package prometheus): its syntax
# and expressions (check rules), then its unit tests (test rules botpulse-rules.test.yml), and
# that every botpulse_* metric it uses is one the collector exports (collector/http/metrics.c).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/deps.sh prometheus >/dev/null
dir=deploy/prometheus
promtool check rules "$dir/botpulse-rules.yml"
(cd "$dir" && promtool test rules botpulse-rules.test.yml)

exported=$(grep -o '"botpulse_[a-z_]*' collector/http/metrics.c | tr -d '"' | sort -u)
used=$(grep -o 'botpulse_[a-z_]*' "$dir/botpulse-rules.yml" | sort -u)
missing=$(comm -13 <(echo "$exported") <(echo "$used"))
if [[ -n $missing ]]; then
    echo "rules: $dir/botpulse-rules.yml uses metrics /metrics does not export:" >&2
    echo "$missing" | sed 's/^/  /' >&2
    exit 1
fi
echo "rules: $(wc -l <<<"$used") metric families used, all exported"
