#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Adds an agent to the broker and writes its config: a password in the mosquitto password
# file (mosquitto_passwd), the ACL stanza (none is needed: the `pattern` lines of
# deploy/mosquitto/botpulse.acl cover every agent whose username is its id), and an agent.ini
# holding the collector's *public* key only.
#
#   deploy/add-agent.sh AGENT_ID BROKER_URL PUBLIC_KEY [PASSWORD_FILE] [OUT_INI]
#
#   AGENT_ID       1..64 of [A-Za-z0-9_.-]; also its MQTT username
#   BROKER_URL     e.g. ssl://broker.example.net:8883
#   PUBLIC_KEY     the collector's public key: the line `botpulse-collector keygen` printed
#   PASSWORD_FILE  default /etc/mosquitto/botpulse.passwd (created if missing)
#   OUT_INI        default ./AGENT_ID.ini (mode 0600: it holds the MQTT password)
#
# Then: copy OUT_INI to the host as /etc/botpulse/agent.ini, add its [bot NAME] sections
# (with restart = ... lines), and reload mosquitto (systemctl reload mosquitto) so it reads
# the new password.
set -euo pipefail

if (($# < 3)); then
    sed -n '3,19p' "$0" >&2
    exit 2
fi
id=$1 url=$2 pubkey=$3
passwd_file=${4:-/etc/mosquitto/botpulse.passwd}
out=${5:-./$id.ini}

if ! [[ $id =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
    echo "add-agent: '$id' is not a valid agent id ([A-Za-z0-9_.-], 1..64)" >&2
    exit 2
fi
if ! [[ $pubkey =~ ^[0-9a-fA-F]{64}$ || $pubkey =~ ^[A-Za-z0-9+/]{43}=$ ]]; then
    echo "add-agent: the public key must be 64 hex digits or 44 base64 characters" >&2
    exit 2
fi
if [[ -e $out ]]; then
    echo "add-agent: $out exists; not overwriting" >&2
    exit 1
fi
command -v mosquitto_passwd >/dev/null || {
    echo "add-agent: mosquitto_passwd not found (package mosquitto)" >&2
    exit 1
}

password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
if [[ -e $passwd_file ]]; then
    mosquitto_passwd -b "$passwd_file" "$id" "$password"
else
    mosquitto_passwd -c -b "$passwd_file" "$id" "$password"
fi
chmod 0640 "$passwd_file" 2>/dev/null || true

umask 077
cat >"$out" <<INI
; botpulse-agent for $id, written by deploy/add-agent.sh. Every key: deploy/agent.example.ini.
[agent]
id = $id
heartbeat = 10s
state_dir = /var/lib/botpulse-agent
; The collector's Ed25519 public key: commands signed with its secret key are accepted.
command_public_key = $pubkey

[mqtt]
url = $url
username = $id
password = $password

; One section per bot on this host, e.g.:
;[bot grid-btc-1]
;pid_file = /run/grid-btc-1.pid
;restart = /usr/bin/sudo -n /usr/bin/systemctl restart grid-btc-1
INI

echo "add-agent: $id added to $passwd_file; config written to $out (mode 0600)"
echo "add-agent: ACL: nothing to add; deploy/mosquitto/botpulse.acl's patterns already give"
echo "           user $id exactly:"
echo "             write botpulse/v1/agents/$id/{state,results,bots/#}"
echo "             read  botpulse/v1/agents/$id/commands"
echo "add-agent: reload mosquitto to pick up the password: systemctl reload mosquitto"
