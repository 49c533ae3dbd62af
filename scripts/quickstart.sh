#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs botpulse for real on this machine: a private mosquitto and PostgreSQL, the collector,
# an agent and a demo bot, all under one data folder (./.botpulse, or $BOTPULSE_HOME).
# Stays in the foreground; Ctrl-C stops everything it started, newest first.
# No system service is started, enabled or touched.
#
#   scripts/quickstart.sh                  build, start everything, watch
#   scripts/quickstart.sh --servers-only   only mosquitto and PostgreSQL (to develop against)
#   scripts/quickstart.sh --no-build       use the binaries already built
# Environment: BOTPULSE_HOME (data folder), BOTPULSE_PG_DIR (PostgreSQL's data and socket),
# BOTPULSE_BUILD (build directory, default build/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS_ONLY=0
BUILD=1
for arg in "$@"; do
    case "$arg" in
    --servers-only) SERVERS_ONLY=1 BUILD=0 ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '3,12p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

DATA=${BOTPULSE_HOME:-$ROOT/.botpulse}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
LOGS=$DATA/log
TOPIC_ROOT=botpulse/v1
BOT=demo-1
BUILD_DIR=${BOTPULSE_BUILD:-$ROOT/build}
COLLECTOR=$BUILD_DIR/collector/botpulse-collector
AGENT=$BUILD_DIR/agent/botpulse-agent
CTL=$BUILD_DIR/ctl/botpulse-ctl
mkdir -p "$LOGS" "$DATA/mosquitto/data" "$DATA/agent"

# Bold only on a terminal, and not with NO_COLOR set (https://no-color.org).
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
say() { printf '%squickstart:%s %s\n' "$BOLD" "$PLAIN" "$*"; }
die() {
    printf 'quickstart: error: %s\n' "$*" >&2
    exit 1
}

# ---- stopping what we started, newest first ---------------------------------------------

STOPS=() # commands that undo each start, oldest first

stop_pid() { # name pid: SIGTERM, up to 10 s, then SIGKILL
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for ((i = ${#STOPS[@]} - 1; i >= 0; i--)); do
        eval "${STOPS[i]}" || true
    done
    ((${#STOPS[@]})) && say "everything stopped; data kept in $DATA"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background, output appended to $LOGS/<name>.log; sets LAST_PID.
start_bg() {
    local name=$1
    shift
    echo "---- $(date '+%F %T') starting: $*" >>"$LOGS/$name.log"
    # In its own session: Ctrl-C reaches only this script, which stops things in order.
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    STOPS+=("stop_pid $name $LAST_PID")
}

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP port on 127.0.0.1 that nothing listens on now (the server's bind has the last word).
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        accepts "$port" || { echo "$port"; return 0; }
    done
    die "no free port found"
}

# ---- build ---------------------------------------------------------------------------------

bash "$ROOT/scripts/deps.sh"
if ((BUILD)); then
    say "building into $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$LOGS/build.log" ||
        { tail -n 30 "$LOGS/build.log"; die "cmake configure failed (log: $LOGS/build.log)"; }
    cmake --build "$BUILD_DIR" -j 2 --target botpulse-collector botpulse-agent botpulse-ctl \
        >>"$LOGS/build.log" 2>&1 ||
        { tail -n 30 "$LOGS/build.log"; die "build failed (log: $LOGS/build.log)"; }
fi
if ((!SERVERS_ONLY)); then
    [[ -x $COLLECTOR && -x $AGENT ]] || die "no $COLLECTOR or $AGENT: build first"
fi

# ---- mosquitto -------------------------------------------------------------------------------

# Logins as in a fleet (deploy/mosquitto/botpulse.acl): the collector, the demo agent (its id)
# and an observer for mosquitto_sub, each with a new random password on every start. The
# password file is written in plain text (0600) and hashed in place by mosquitto_passwd -U:
# no password is ever on a command line. mosquitto_sub reads the observer's login from
# $DATA/mqtt/mosquitto_sub (its per-user options file, found through XDG_CONFIG_HOME).
AGENT_ID=demo-host
write_logins() {
    pw() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
    COLLECTOR_PW=$(pw) AGENT_PW=$(pw) OBSERVER_PW=$(pw)
    (
        umask 077
        printf '%s:%s\n' collector@botpulse "$COLLECTOR_PW" "$AGENT_ID" "$AGENT_PW" \
            observer@botpulse "$OBSERVER_PW" >"$DATA/mosquitto/botpulse.passwd"
        mkdir -p "$DATA/mqtt"
        printf -- '-u observer@botpulse\n-P %s\n' "$OBSERVER_PW" >"$DATA/mqtt/mosquitto_sub"
    )
    mosquitto_passwd -U "$DATA/mosquitto/botpulse.passwd" ||
        die "mosquitto_passwd could not hash $DATA/mosquitto/botpulse.passwd"
}

start_mosquitto() {
    local conf=$DATA/mosquitto/mosquitto.conf
    write_logins
    for _ in 1 2 3; do
        MQTT_PORT=$(free_port)
        {
            echo "# written by scripts/quickstart.sh on each start (the port changes)"
            echo "listener $MQTT_PORT 127.0.0.1"
            # As deploy/mosquitto/botpulse.conf, but for use_username_as_clientid: on this
            # loopback demo, several mosquitto_sub may share the observer's login.
            echo "allow_anonymous false"
            echo "password_file $DATA/mosquitto/botpulse.passwd"
            echo "acl_file $ROOT/deploy/mosquitto/botpulse.acl"
            echo "persistence true"
            echo "persistence_location $DATA/mosquitto/data/"
            echo "log_dest file $LOGS/mosquitto.log"
            printf 'log_type %s\n' error warning notice information
            echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
            echo "max_queued_messages 100000"
            # As root, mosquitto would switch to user "mosquitto", who may not be able to
            # write the data folder (under /root, say): stay root, on loopback only.
            if ((EUID == 0)); then echo "user root"; fi
        } >"$conf"
        start_bg mosquitto /usr/sbin/mosquitto -c "$conf"
        for _ in $(seq 100); do
            accepts "$MQTT_PORT" && return 0
            kill -0 "$LAST_PID" 2>/dev/null || break
            sleep 0.1
        done
        eval "${STOPS[-1]}"
        unset 'STOPS[-1]'
        say "mosquitto did not start on port $MQTT_PORT; trying another port"
    done
    tail -n 20 "$LOGS/mosquitto.log" >&2
    die "mosquitto did not start (log: $LOGS/mosquitto.log)"
}

# ---- PostgreSQL ------------------------------------------------------------------------------

PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -x $PGBIN/initdb ]] || die "PostgreSQL's initdb not found under /usr/lib/postgresql"
PSQL=$(command -v psql || echo "$PGBIN/psql")

# PostgreSQL refuses to run as root. As root we run it as "nobody" (via runuser), and its
# files must be owned by nobody in a directory nobody can reach. The data folder usually sits
# in the repository, often under /root (mode 0700), which nobody cannot traverse: then the
# cluster lives in /tmp/botpulse-<uid>-<hash of the data folder>-pg instead (kept across
# runs until /tmp is cleared), or wherever BOTPULSE_PG_DIR says. As a normal user it simply
# lives in the data folder. $DATA/postgres links to it either way.
if ((EUID == 0)); then
    PGUSER=nobody
    PG_AS=(runuser -u nobody --)
    if [[ -n ${BOTPULSE_PG_DIR:-} ]]; then
        PGDIR=$BOTPULSE_PG_DIR
    elif runuser -u nobody -- test -x "$DATA"; then
        PGDIR=$DATA/postgres
    else
        PGDIR=/tmp/botpulse-$EUID-$(cksum <<<"$DATA" | cut -d' ' -f1)-pg # one per data folder
    fi
    if [[ ! -d $PGDIR ]]; then
        mkdir -p "$(dirname "$PGDIR")" && mkdir -m 0700 "$PGDIR" && chown nobody: "$PGDIR"
    fi
    # /tmp is shared: use the directory only if it is really ours (made by us above).
    [[ ! -L $PGDIR && $(stat -c %U "$PGDIR") == nobody ]] ||
        die "$PGDIR is not a directory owned by nobody; remove it or set BOTPULSE_PG_DIR"
    runuser -u nobody -- test -w "$PGDIR" ||
        die "user nobody cannot write $PGDIR (a parent not traversable?); set BOTPULSE_PG_DIR"
else
    PGUSER=$(id -un)
    PG_AS=()
    PGDIR=${BOTPULSE_PG_DIR:-$DATA/postgres}
    mkdir -p "$PGDIR" && chmod 0700 "$PGDIR"
fi
PGDATA=$PGDIR/data
PGSOCK=$PGDIR/sock
((${#PGSOCK} < 90)) || die "socket dir $PGSOCK is too long for a Unix socket; set BOTPULSE_PG_DIR"
[[ $PGDIR == "$DATA/postgres" ]] || ln -sfn "$PGDIR" "$DATA/postgres" # to find it again

pg() { "${PG_AS[@]}" "$@"; }

start_postgres() {
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
        say "creating a PostgreSQL cluster in $PGDATA (once)"
        pg "$PGBIN/initdb" -D "$PGDATA" -U "$PGUSER" -A trust -E UTF8 --locale=C \
            >>"$LOGS/postgresql.log" 2>&1 || die "initdb failed (log: $LOGS/postgresql.log)"
    fi
    pg mkdir -p -m 0700 "$PGSOCK"
    if pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        die "a PostgreSQL already runs on $PGDATA (another quickstart?); stop it with:" \
            "${PG_AS[*]} $PGBIN/pg_ctl -D $PGDATA -m fast stop"
    fi
    for _ in 1 2 3; do
        PG_PORT=$(free_port)
        # Unix socket (owner-only: we connect as that user, or as root) plus loopback TCP.
        # No -l: the server inherits our redirection, so the log lands in our log folder
        # even where user nobody could not create a file.
        local opts="-p $PG_PORT -k '$PGSOCK' -c listen_addresses=127.0.0.1"
        opts+=" -c unix_socket_permissions=0700"
        if pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -t 60 -o "$opts" start \
            >>"$LOGS/postgresql.log" 2>&1 </dev/null; then
            STOPS+=("stop_postgres")
            return 0
        fi
        say "PostgreSQL did not start on port $PG_PORT; trying another port"
    done
    tail -n 20 "$LOGS/postgresql.log" >&2
    die "PostgreSQL did not start (log: $LOGS/postgresql.log)"
}

stop_postgres() {
    say "stopping PostgreSQL"
    pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >>"$LOGS/postgresql.log" 2>&1 ||
        say "pg_ctl stop failed (log: $LOGS/postgresql.log)"
}

create_database() {
    PG_CONNINFO="host=$PGSOCK port=$PG_PORT dbname=botpulse user=$PGUSER"
    local base="host=$PGSOCK port=$PG_PORT dbname=postgres user=$PGUSER"
    if [[ $("$PSQL" "$base" -tAc "SELECT 1 FROM pg_database WHERE datname = 'botpulse'") != 1 ]]
    then
        "$PSQL" "$base" -qc "CREATE DATABASE botpulse" >/dev/null ||
            die "could not create database botpulse"
        say "created database botpulse"
    fi
}

# ---- botpulse --------------------------------------------------------------------------------

# A demo bot the agent restarted (recovery) is not our child: find it by its pid file.
stop_restarted_bot() {
    local pid
    pid=$(cat "$DATA/demo-bot.pid" 2>/dev/null) || return 0
    [[ -n $pid && $pid != "$BOT_PID" ]] && kill -0 "$pid" 2>/dev/null || return 0
    say "stopping the restarted demo bot (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
}

# An agent the user started again from the hint in watch() is not our child either: find it by
# its exact command line (the data folder makes it ours).
stop_restarted_agent() {
    local want cmd d pid
    want=$(printf '%s\n' "$AGENT" -c "$DATA/agent.ini")
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid != "$AGENT_PID" ]] || continue
        cmd=$(tr '\0' '\n' 2>/dev/null <"$d/cmdline") || continue
        [[ $cmd == "$want" ]] && stop_pid "agent (started again)" "$pid"
    done
    return 0
}

write_configs() {
    HTTP_PORT=$(free_port)
    HTTP_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    # Recovery: the collector signs restart commands; the agent holds only the public key.
    if [[ ! -s $DATA/signing.key ]]; then
        "$COLLECTOR" keygen "$DATA/signing.key" >"$DATA/signing.pub" ||
            die "botpulse-collector keygen failed"
    fi
    PUBLIC_KEY=$(tr -d ' \n' <"$DATA/signing.pub")
    cat >"$DATA/collector.ini" <<EOF
; written by scripts/quickstart.sh on each start (ports change)
[collector]
id = collector-1
log_level = info
stats_interval = 5s

[mqtt]
url = tcp://127.0.0.1:$MQTT_PORT
topic_root = $TOPIC_ROOT
username = collector@botpulse
password = $COLLECTOR_PW

[database]
conninfo = $PG_CONNINFO

[http]
listen = 127.0.0.1:$HTTP_PORT
token = $HTTP_TOKEN

[rules]
heartbeat_misses = 3
trade_stale = 30m
trade_stopped = 2h

[recovery]
signing_key_file = $DATA/signing.key
min_interval = 10s         ; demo pace: production wants minutes
recovery_deadline = 30s

[bot $BOT]
account = demo
trade_stale = 60s
trade_stopped = 180s
recovery_ladder = restart
EOF
    cat >"$DATA/agent.ini" <<EOF
; written by scripts/quickstart.sh on each start (ports change)
[agent]
id = $AGENT_ID
heartbeat = 2s
stats = 10s
state_dir = $DATA/agent
notify_socket = $DATA/agent/notify.sock
command_public_key = $PUBLIC_KEY

[mqtt]
url = tcp://127.0.0.1:$MQTT_PORT
topic_root = $TOPIC_ROOT
username = $AGENT_ID
password = $AGENT_PW

[bot $BOT]
pid_file = $DATA/demo-bot.pid
account = demo
exchange = demo-exchange
restart = $DATA/restart-demo-bot
EOF
    chmod 0600 "$DATA/collector.ini" "$DATA/agent.ini" # they hold the broker passwords
    # curl reads the token from this header file (-H @FILE): not on its command line, where
    # every user of the host could read it
    (umask 077 && printf 'Authorization: Bearer %s\n' "$HTTP_TOKEN" >"$DATA/curl-auth")
    { # the agent splits its command lines on blanks, without a shell: a wrapper holds the args
        echo '#!/bin/sh'
        printf 'exec %q %q %q %q %q %q\n' "$ROOT/deploy/demo/restart-demo-bot.sh" "$AGENT" \
            "$DATA/agent/notify.sock" "$DATA/demo-bot.pid" "$BOT" "$LOGS/demo-bot.log"
    } >"$DATA/restart-demo-bot"
    chmod 0755 "$DATA/restart-demo-bot"
}

start_daemons() {
    start_bg collector "$COLLECTOR" -c "$DATA/collector.ini"
    COLLECTOR_PID=$LAST_PID
    start_bg agent "$AGENT" -c "$DATA/agent.ini"
    AGENT_PID=$LAST_PID
    STOPS+=("stop_restarted_agent")
    for _ in $(seq 100); do # the demo bot needs the agent's notify socket
        [[ -S $DATA/agent/notify.sock ]] && break
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    for d in collector:$COLLECTOR_PID agent:$AGENT_PID; do
        kill -0 "${d#*:}" 2>/dev/null || {
            tail -n 20 "$LOGS/${d%%:*}.log" >&2
            die "${d%%:*} exited at start (log: $LOGS/${d%%:*}.log)"
        }
    done
    # The demo bot writes to this terminal: a line per trade.
    setsid "$ROOT/deploy/demo/demo-bot.sh" --agent "$AGENT" --socket "$DATA/agent/notify.sock" \
        --pid-file "$DATA/demo-bot.pid" --bot "$BOT" &
    BOT_PID=$!
    STOPS+=("stop_pid demo-bot $BOT_PID" "stop_restarted_bot")
}

print_box() {
    local sub="XDG_CONFIG_HOME=$DATA/mqtt mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -v -t"
    local sql="SELECT ts, bot_id, from_status, to_status, reason FROM status_transitions"
    cat <<EOF

+-- where to look -------------------------------------------------------------
| dashboard:     http://127.0.0.1:$HTTP_PORT/   (token for its buttons: $HTTP_TOKEN)
| CLI:           $CTL --url http://127.0.0.1:$HTTP_PORT status
| bot status:    $sub '$TOPIC_ROOT/status/#'
| alerts:        $sub '$TOPIC_ROOT/alerts/#'
| fleet summary: $sub '$TOPIC_ROOT/fleet/summary'
| everything:    $sub '$TOPIC_ROOT/#'
| transitions:   $PSQL '$PG_CONNINFO' -c "$sql ORDER BY id DESC LIMIT 20"
| HTTP API:      curl -s http://127.0.0.1:$HTTP_PORT/bots  (also /health, /fleet/summary)
| metrics:       curl -s http://127.0.0.1:$HTTP_PORT/metrics
| re-check:      curl -s -X POST -H @$DATA/curl-auth \\
|                  http://127.0.0.1:$HTTP_PORT/bots/$BOT/health/check
| logs:          $LOGS/{mosquitto,postgresql,collector,agent}.log
| configs:       $DATA/collector.ini  $DATA/agent.ini
EOF
    if ((!SERVERS_ONLY)); then
        echo "| see a recovery: kill the demo bot: kill $BOT_PID  (stopped, alert, then the"
        echo "|                collector restarts it through a signed command; its output: $LOGS/demo-bot.log)"
        echo "| see a Last Will: kill the agent: kill -9 $AGENT_PID  (the broker says at once that"
        echo "|                it is offline; its bot turns down)"
    fi
    cat <<EOF
| stop:          Ctrl-C (stops everything started here; data stays in $DATA)
+------------------------------------------------------------------------------

EOF
}

# Returns when a server or daemon dies; notes once when the demo bot is gone.
watch() {
    local bot_noted=0 agent_noted=0
    while :; do
        sleep 1 &
        wait $! || true
        kill -0 "$MQTT_PID" 2>/dev/null || die "mosquitto exited (log: $LOGS/mosquitto.log)"
        pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 ||
            die "PostgreSQL stopped (log: $LOGS/postgresql.log)"
        ((SERVERS_ONLY)) && continue
        kill -0 "$COLLECTOR_PID" 2>/dev/null || die "collector exited (log: $LOGS/collector.log)"
        if ((!agent_noted)) && ! kill -0 "$AGENT_PID" 2>/dev/null; then
            agent_noted=1
            say "the agent (pid $AGENT_PID) is gone: the broker publishes its Last Will and" \
                "the collector marks its bots down (watch $TOPIC_ROOT/status/#)." \
                "Start it again with: $AGENT -c $DATA/agent.ini &" \
                "(Ctrl-C here stops that one too)"
        fi
        if ((!bot_noted)) && ! kill -0 "$BOT_PID" 2>/dev/null; then
            bot_noted=1
            say "the demo bot (pid $BOT_PID) is gone: the collector marks it stopped, raises" \
                "an alert, and restarts it through a signed command to the agent" \
                "(watch $TOPIC_ROOT/# and $LOGS/demo-bot.log)"
        fi
    done
}

start_mosquitto
MQTT_PID=$LAST_PID
say "mosquitto on 127.0.0.1:$MQTT_PORT (pid $MQTT_PID)"
start_postgres
create_database
say "PostgreSQL on $PGSOCK and 127.0.0.1:$PG_PORT, data in $PGDATA"
write_configs
if ((!SERVERS_ONLY)); then
    start_daemons
    say "collector (pid $COLLECTOR_PID), agent (pid $AGENT_PID), demo bot (pid $BOT_PID)"
fi
print_box
watch
