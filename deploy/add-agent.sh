#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Adds an agent to the broker and writes its config: a login in the mosquitto password file
# (mosquitto_passwd, the password fed on its stdin, never on a command line), the ACL stanza
# (none is needed: the `pattern` lines of deploy/mosquitto/botpulse.acl cover every agent whose
# username is its id), and an agent.ini holding the collector's *public* key only.
#
#   deploy/add-agent.sh [--ca-file PATH] AGENT_ID BROKER_URL PUBLIC_KEY [PASSWORD_FILE] [OUT_INI]
#
#   AGENT_ID       1..64 of [A-Za-z0-9_.-]; also its MQTT username (and, with the shipped
#                  use_username_as_clientid, its client id)
#   BROKER_URL     e.g. ssl://broker.example.net:8883
#   PUBLIC_KEY     the collector's public key: the line `botpulse-collector keygen` printed
#   PASSWORD_FILE  default /etc/mosquitto/botpulse.passwd (created if missing)
#   OUT_INI        default ./AGENT_ID.ini (mode 0600: it holds the MQTT password)
#   --ca-file PATH where the agent host keeps the broker's CA certificate (the ca.crt of
#                  deploy/mosquitto/make-certs.sh); default: the system trust store
#
# Then: copy OUT_INI to the host as /etc/botpulse/agent.ini (root:botpulse, mode 0640), add
# its [bot NAME] sections (with restart = ... lines), and reload mosquitto (systemctl reload
# mosquitto) so it reads the new password. Running it again for an existing id sets a new
# password (the old OUT_INI must be moved away first).
set -euo pipefail

ca_file=
if [[ ${1:-} == --ca-file ]]; then
    ca_file=${2:?--ca-file needs a path}
    shift 2
fi
if (($# < 3)); then
    sed -n '3,23p' "$0" >&2
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

umask 077
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
# mosquitto_passwd asks twice for the password; it reads the answers from stdin (printf is a
# shell builtin: the password appears in no process's argv). -c creates the file.
create=()
[[ -e $passwd_file ]] || create=(-c)
printf '%s\n%s\n' "$password" "$password" |
    mosquitto_passwd "${create[@]}" "$passwd_file" "$id" >/dev/null ||
    {
        echo "add-agent: mosquitto_passwd failed for $passwd_file" >&2
        exit 1
    }
# mosquitto re-reads it on reload after dropping to its own user.
if getent group mosquitto >/dev/null && [[ $(id -u) -eq 0 ]]; then
    chgrp mosquitto "$passwd_file"
fi
chmod 0640 "$passwd_file" 2>/dev/null || true

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
${ca_file:+ca_file = $ca_file}

; One section per bot on this host, e.g.:
;[bot grid-btc-1]
;systemd_unit = bot-grid-btc-1.service
;restart = /usr/bin/systemctl --no-ask-password restart bot-grid-btc-1.service
;hard_restart = /usr/bin/systemctl --no-ask-password kill -s KILL bot-grid-btc-1.service
; (the polkit rule /etc/polkit-1/rules.d/50-botpulse-agent.rules lets user botpulse do that
; to units named bot-*.service, without sudo)
INI

echo "add-agent: $id added to $passwd_file; config written to $out (mode 0600)"
echo "add-agent: ACL: nothing to add; deploy/mosquitto/botpulse.acl's patterns already give"
echo "           user $id exactly:"
echo "             write botpulse/v1/agents/$id/{state,results,bots/#}"
echo "             read  botpulse/v1/agents/$id/commands"
echo "add-agent: reload mosquitto to pick up the password: systemctl reload mosquitto"
