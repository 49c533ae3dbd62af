#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages botpulse-agent, botpulse-collector and botpulse-ctl (CPack DEB,
# deploy/debian/packaging.cmake) from their own build (RelWithDebInfo, stripped in the
# packages), into dist/.
#
#   scripts/package.sh              build-deb/ and dist/
#   OUT=/tmp/debs scripts/package.sh
# Install them with: sudo apt install ./dist/botpulse-agent_*.deb  (apt pulls the Depends)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BOTPULSE_BUILD:-$ROOT/build-deb}
OUT=${OUT:-$ROOT/dist}
JOBS=${BP_JOBS:-2}

cd "$ROOT"
bash scripts/deps.sh dpkg-dev file >/dev/null
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBP_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD" -j "$JOBS"
mkdir -p "$OUT"
(cd "$BUILD" && cpack -B "$OUT" >/dev/null)
rm -rf "$OUT/_CPack_Packages"
for deb in "$OUT"/botpulse-*.deb; do
    echo "package: $deb"
    dpkg-deb -f "$deb" Package Version Depends | sed 's/^/    /'
done
