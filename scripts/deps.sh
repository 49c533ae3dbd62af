#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages botpulse needs to build, test and run, if any are missing,
# without starting or enabling any system service (the tests and the quickstart run their own
# private mosquitto and PostgreSQL). Arguments name extra packages to install the same way.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libpaho-mqtt-dev libcjson-dev libinih-dev libpq-dev libcmocka-dev libsodium-dev
    libsystemd-dev libssl-dev libmicrohttpd-dev libcurl4-openssl-dev
    prometheus
    chromium chromium-driver fonts-dejavu-core
    mosquitto mosquitto-clients postgresql postgresql-client
    rabbitmq-server # the clustered-broker test (test_e2e_rabbitmq) runs its own private node
    util-linux procps
    curl # test_e2e_seeds drives the HTTP API with the curl binary, as the seeds' users do
    iproute2 nftables # test_e2e_netcut: network namespaces, veth links, silent cuts
    clang libclang-rt-dev llvm # scripts/fuzz.sh: libFuzzer, and llvm-symbolizer for its reports
    python3 python3-yaml python3-jsonschema # tests/support/openapi_check.py
    dpkg-dev file openssl polkitd dbus-daemon systemd # packages, TLS, the polkit rule, units
)

PACKAGES+=("$@") # extra packages a caller needs (e.g. a benchmark's peers)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi
echo "deps: installing ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "deps: missing packages (${missing[*]}) and not root, and sudo is not available." >&2
    echo "deps: run this script as root, or install them: apt-get install ${missing[*]}" >&2
    exit 1
fi

# Debian's maintainer scripts start (and enable) the mosquitto and postgresql services on
# install; invoke-rc.d asks /usr/sbin/policy-rc.d first, and exit code 101 means "action
# forbidden". We add one only if there is none, and remove only our own.
POLICY=/usr/sbin/policy-rc.d
policy_created=0
cleanup() {
    if ((policy_created)); then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\n# temporary, from botpulse scripts/deps.sh: start no services\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 0755 "$POLICY"
    policy_created=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_get=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
"${apt_get[@]}" update
"${apt_get[@]}" -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
