#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A pretend trading bot for the quickstart: writes its pid to a pid file (which the agent
# watches), then reports a trade to the agent every 2-8 s through `botpulse-agent notify`.
# Kill it (kill <pid>) and the collector raises an alert: its pid file is deliberately left
# behind, pointing at a dead process, as a crashed bot's would.
#
#   demo-bot.sh --agent PATH --socket PATH --pid-file PATH [--bot ID] [--symbol SYM]
set -euo pipefail

agent=
socket=
pid_file=
bot=demo-1
symbol=BTC-USDT

while (($#)); do
    case "$1" in
    --agent) agent=$2; shift ;;
    --socket) socket=$2; shift ;;
    --pid-file) pid_file=$2; shift ;;
    --bot) bot=$2; shift ;;
    --symbol) symbol=$2; shift ;;
    -h | --help) sed -n '3,8p' "$0"; exit 0 ;;
    *) echo "demo-bot: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [[ -z "$agent" || -z "$socket" || -z "$pid_file" ]]; then
    echo "demo-bot: needs --agent, --socket and --pid-file (try --help)" >&2
    exit 2
fi

echo "$$" >"$pid_file"
echo "demo-bot $bot: pid $$ (in $pid_file); a trade every 2-8 s"
sleeper=
trap 'echo "demo-bot $bot: stopping"; [[ -n "$sleeper" ]] && kill "$sleeper" 2>/dev/null; exit 0' \
    INT TERM

n=0
while :; do
    sleep $((RANDOM % 7 + 2)) &
    sleeper=$!
    wait "$sleeper" || true # returns early on a signal, so the trap runs at once
    sleeper=
    n=$((n + 1))
    if ((RANDOM % 2)); then side=buy; else side=sell; fi
    if out=$("$agent" notify --socket "$socket" --bot "$bot" trade --symbol "$symbol" \
        --side "$side" 2>&1); then
        echo "demo-bot $bot: $(date +%H:%M:%S) trade #$n $side $symbol reported"
    else
        echo "demo-bot $bot: $(date +%H:%M:%S) trade #$n $side $symbol NOT reported: $out"
    fi
done
