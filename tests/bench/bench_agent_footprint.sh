#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Agent footprint, side by side with collectd and prometheus-node-exporter doing a like job:
# 10 bots watched at a 1 s interval for DURATION seconds (default 600), publishing to a
# private mosquitto on loopback. Reports each one's peak RSS (VmHWM), proportional set size
# at the end, and CPU time per minute (utime + stime from /proc). A benchmark, not a test.
#
#   tests/bench/bench_agent_footprint.sh [DURATION_S]      (build first: scripts/test.sh)
#
# The like jobs: botpulse-agent (plain and TLS builds): per bot pid, alive, uptime, cpu,
# rss; host cpu, memory, disk, load; heartbeat + stats per bot per second over MQTT.
# collectd: cpu, memory, swap, df, load, and processes with a ProcessMatch per bot, at
# Interval 1, written to the same broker by its mqtt plugin. node_exporter: its default
# collectors, scraped once a second (the scraper's own cost is not counted).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${1:-600}
BUILD=${BOTPULSE_BUILD:-$ROOT/build}
BOTS=10

bash "$ROOT/scripts/deps.sh" collectd-core prometheus-node-exporter >/dev/null
for bin in "$BUILD/agent/botpulse-agent" "$BUILD/agent/botpulse-agent-tls"; do
    [[ -x $bin ]] || { echo "no $bin: build first (scripts/test.sh)" >&2; exit 1; }
done

WORK=$(mktemp -d -t botpulse-footprint-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MQTT_PORT=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT_PORT" >"$WORK/mosquitto.conf"
[[ $EUID -eq 0 ]] && echo "user root" >>"$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)

# The bots: plain sleepers with pid files, named so collectd's ProcessMatch can find each.
for i in $(seq 1 $BOTS); do
    bash -c "exec -a fpbot-$i sleep 100000" &
    PIDS+=($!)
    echo $! >"$WORK/bot-$i.pid"
done
sleep 0.5

agent_ini() { # name
    {
        printf '[agent]\nid = %s\nheartbeat = 1s\nstats = 1s\nstate_dir = %s/%s\n' "$1" "$WORK" "$1"
        printf 'notify_socket = %s/%s.sock\nlog_level = warn\n' "$WORK" "$1"
        printf '[mqtt]\nurl = tcp://127.0.0.1:%s\n' "$MQTT_PORT"
        for i in $(seq 1 $BOTS); do
            printf '[bot bot-%d]\npid_file = %s/bot-%d.pid\n' "$i" "$WORK" "$i"
        done
    } >"$WORK/$1.ini"
    mkdir -p "$WORK/$1"
    echo "$WORK/$1.ini"
}

declare -A PID_OF
"$BUILD/agent/botpulse-agent" -c "$(agent_ini agent)" >"$WORK/agent.log" 2>&1 &
PID_OF[botpulse-agent]=$!
PIDS+=($!)
"$BUILD/agent/botpulse-agent-tls" -c "$(agent_ini agent-tls)" >"$WORK/agent-tls.log" 2>&1 &
PID_OF[botpulse-agent-tls]=$!
PIDS+=($!)

{
    echo "Interval 1"
    echo "FQDNLookup false"
    echo "Hostname footprint"
    for p in cpu memory swap df load processes mqtt; do echo "LoadPlugin $p"; done
    echo "<Plugin processes>"
    for i in $(seq 1 $BOTS); do echo "  ProcessMatch \"bot-$i\" \"fpbot-$i\""; done
    echo "</Plugin>"
    echo "<Plugin mqtt>"
    echo "  <Publish \"local\">"
    echo "    Host \"127.0.0.1\""
    echo "    Port $MQTT_PORT"
    echo "    ClientId \"collectd-footprint\""
    echo "    Prefix \"collectd\""
    echo "  </Publish>"
    echo "</Plugin>"
} >"$WORK/collectd.conf"
/usr/sbin/collectd -f -C "$WORK/collectd.conf" -P "$WORK/collectd.pid" >"$WORK/collectd.log" 2>&1 &
PID_OF[collectd]=$!
PIDS+=($!)

NE_PORT=$(free_port)
/usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" \
    >"$WORK/node_exporter.log" 2>&1 &
PID_OF[node_exporter]=$!
PIDS+=($!)
(while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" || true; done) &
PIDS+=($!)

cpu_ms() { # pid: utime + stime in ms
    awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

sleep 5 # start-up done: measure the steady state
declare -A CPU0
for name in "${!PID_OF[@]}"; do
    kill -0 "${PID_OF[$name]}" 2>/dev/null || { echo "$name exited at start:" >&2; cat "$WORK/${name}.log" >&2 || true; exit 1; }
    CPU0[$name]=$(cpu_ms "${PID_OF[$name]}")
done
echo "measuring $DURATION s: $BOTS bots at 1 s, broker 127.0.0.1:$MQTT_PORT ..."
sleep "$DURATION"

printf '\n%-20s %12s %10s %16s\n' program "VmHWM (KiB)" "PSS (KiB)" "CPU ms / minute"
for name in botpulse-agent botpulse-agent-tls collectd node_exporter; do
    pid=${PID_OF[$name]}
    kill -0 "$pid" 2>/dev/null || { printf '%-20s exited early (see its log)\n' "$name"; continue; }
    hwm=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status")
    pss=$(awk '/^Pss:/{print $2}' "/proc/$pid/smaps_rollup")
    used=$(($(cpu_ms "$pid") - CPU0[$name]))
    printf '%-20s %12s %10s %16s\n' "$name" "$hwm" "$pss" \
        "$(awk -v u="$used" -v d="$DURATION" 'BEGIN{printf "%.1f", u * 60 / d}')"
done
for name in collectd node_exporter agent agent-tls; do # a peer that failed its job says so
    if grep -q -i -E 'error|fail' "$WORK/$name.log" 2>/dev/null; then
        echo "note: $name logged errors:"
        grep -i -E -m3 'error|fail' "$WORK/$name.log"
    fi
done
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/{print int($2/1048576)" GiB"}' /proc/meminfo)," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), $(date -u +%F)"
