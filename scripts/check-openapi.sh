#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Validates docs/openapi.yaml with swagger-cli (@apidevtools/swagger-cli, pinned in
# scripts/openapi/package-lock.json, installed from the npm registry by `npm ci` into
# scripts/openapi/node_modules on first use). A standard validator catches what our own route
# test cannot: YAML that parses to something else than meant (a flow map such as
# `{type: string, description: why, in words}` splits at the comma), keywords OpenAPI 3.0 does
# not have. The HTTP integration tests check real responses against the same file
# (tests/support/openapi_check.py).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=scripts/openapi
if ! command -v npm >/dev/null 2>&1; then
    bash scripts/deps.sh npm >/dev/null
fi
stamp=$dir/node_modules/.botpulse-lock # the lock file node_modules was installed from
if ! cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$stamp"
fi
"$dir/node_modules/.bin/swagger-cli" validate docs/openapi.yaml
