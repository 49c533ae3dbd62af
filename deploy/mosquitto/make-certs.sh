#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes a private CA (once) and a TLS certificate for the broker signed by it, for the 8883
# listener of deploy/mosquitto/botpulse.conf. Agents trust ca.crt ([mqtt] ca_file).
#
#   deploy/mosquitto/make-certs.sh DIR NAME [NAME_OR_IP ...]
#
#   DIR         where to write: ca.key, ca.crt (kept and reused when they exist), broker.key,
#               broker.crt (always made anew: run it again to renew the broker's certificate)
#   NAME ...    the names and addresses agents use to reach the broker, e.g.
#               broker.example.net 203.0.113.7 (each an IP or a DNS name; the first is the
#               certificate's CN). The agents check the name in their ssl:// URL against them.
#
# Keys are written mode 0600. On the broker host: chown mosquitto DIR/broker.key (mosquitto
# reads it after dropping to its user), keep ca.key offline or at least away from the agents,
# and copy only ca.crt to the agents (deploy/add-agent.sh --ca-file puts it in their config).
# Validity: CA 10 years, broker 825 days (renew before; SIGHUP makes mosquitto re-read it).
set -euo pipefail

if (($# < 2)); then
    sed -n '3,17p' "$0" >&2
    exit 2
fi
dir=$1
shift
command -v openssl >/dev/null || {
    echo "make-certs: openssl not found (package openssl)" >&2
    exit 1
}

san=()
for name in "$@"; do
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
        san+=("IP:$name")
    elif [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
        san+=("DNS:$name")
    else
        echo "make-certs: '$name' is neither a host name nor an IP address" >&2
        exit 2
    fi
done
san_list=$(
    IFS=,
    echo "${san[*]}"
)

umask 077
mkdir -p "$dir"
if [[ ! -s $dir/ca.key || ! -s $dir/ca.crt ]]; then
    openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days 3650 \
        -subj "/CN=botpulse broker CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    echo "make-certs: new CA in $dir/ca.crt (its key: $dir/ca.key)"
else
    echo "make-certs: reusing the CA in $dir/ca.crt"
fi

ext=$(mktemp)
csr=$(mktemp)
trap 'rm -f "$ext" "$csr"' EXIT
printf 'subjectAltName = %s\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n' \
    "$san_list" >"$ext"
openssl req -new -newkey rsa:3072 -nodes -sha256 -subj "/CN=$1" \
    -keyout "$dir/broker.key" -out "$csr" 2>/dev/null
openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$ext" -out "$dir/broker.crt" 2>/dev/null
chmod 0644 "$dir/ca.crt" "$dir/broker.crt"
echo "make-certs: broker certificate $dir/broker.crt for $san_list (key: $dir/broker.key)"
