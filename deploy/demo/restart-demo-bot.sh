#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The quickstart agent's `restart` action for the demo bot: starts a new demo bot in the
# background (its own session, output appended to LOG) and returns at once; the new bot
# writes its pid file, where the agent finds it. Only the agent runs this, and only because
# its own config names it: nothing from the wire is executed.
#
#   restart-demo-bot.sh AGENT SOCKET PID_FILE BOT LOG
set -euo pipefail
(($# == 5)) || { echo "usage: restart-demo-bot.sh AGENT SOCKET PID_FILE BOT LOG" >&2; exit 2; }
agent=$1 socket=$2 pid_file=$3 bot=$4 log=$5
if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "demo bot $bot already runs (pid $(cat "$pid_file"))"
    exit 0
fi
setsid "$(dirname "${BASH_SOURCE[0]}")/demo-bot.sh" --agent "$agent" --socket "$socket" \
    --pid-file "$pid_file" --bot "$bot" >>"$log" 2>&1 </dev/null &
for _ in $(seq 50); do # until it has written its pid file
    [[ -f $pid_file && $(cat "$pid_file") == "$!" ]] && break
    sleep 0.1
done
echo "demo bot $bot restarted (pid $!)"
