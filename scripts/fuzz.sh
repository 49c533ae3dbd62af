#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in their own build directory
# and runs each for a fixed time on its committed corpus (tests/fuzz/corpus/NAME) plus seeds made
# from proto/examples and deploy/*.ini. Fails when any target finds a crash, a leak, a UBSan
# report, a broken property, a timeout or runs out of memory; the input is saved for replay.
#
#   scripts/fuzz.sh                      every target, 25 s each, two at a time (CI)
#   scripts/fuzz.sh --time 600 --jobs 1 fuzz_msg     one target for 10 minutes
#   scripts/fuzz.sh --merge ...          afterwards, add the inputs that found new coverage to
#                                        tests/fuzz/corpus/NAME (commit them)
#   BOTPULSE_BUILD=build-mine scripts/fuzz.sh        build in build-mine-fuzz
# Replay a saved input: build-fuzz/tests/fuzz/fuzz_NAME build-fuzz/fuzz/artifacts/NAME-crash-...
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=25
JOBS=${BP_JOBS:-2}
BUILD=${BOTPULSE_BUILD:-build}-fuzz
MERGE=0
TARGETS=()

while (($#)); do
    case "$1" in
    --time) TIME=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --merge) MERGE=1 ;;
    -h | --help) sed -n '3,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) TARGETS+=("$1") ;;
    esac
    shift
done

cd "$ROOT"
echo "==> dependencies"
bash scripts/deps.sh

echo "==> configure $BUILD (clang, BP_FUZZ=ON)"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DBP_FUZZ=ON -DBP_TESTS=OFF -DBP_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "==> build the fuzz targets (-j$JOBS)"
cmake --build "$BUILD" --target fuzz -j "$JOBS"

BIN=$BUILD/tests/fuzz
WORK=$BUILD/fuzz
if ((${#TARGETS[@]} == 0)); then
    for src in tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        [[ -x $BIN/$name ]] && TARGETS+=("$name")
    done
fi
rm -rf "$WORK/seeds" "$WORK/dict" "$WORK/logs"
mkdir -p "$WORK/seeds" "$WORK/dict" "$WORK/logs" "$WORK/artifacts" "$WORK/corpus"

# ---- seeds and dictionaries made from the tree, so they follow proto/ and deploy/ ---------------

# Dictionary entries: each distinct quoted word of the JSON Schemas (field names, enum values).
schema_words() {
    grep -ohE '"[A-Za-z_][A-Za-z0-9_]*"' proto/schemas/*.json | sort -u |
        sed -e 's/"/\\"/g' -e 's/.*/"&"/'
}
# Dictionary entries: the sections and keys an example config names (commented ones too).
ini_words() {
    grep -ohE '^\[[a-z]+' "$@" | sort -u | sed -e 's/.*/"&"/'
    grep -ohE '^;? ?[a-z_]+ ?=' "$@" | tr -d '; =' | sort -u | sed -e 's/.*/"&"/'
}

make_seeds() { # name
    local name=${1#fuzz_} dir=$WORK/seeds/${1#fuzz_} f i=0
    mkdir -p "$dir"
    case $name in
    msg)
        for f in proto/examples/valid/*.json proto/examples/invalid/*.json; do
            { printf '\n'; cat "$f"; } >"$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
        done
        schema_words >"$WORK/dict/$name.dict"
        ;;
    batch)
        for f in proto/examples/batch/*.json proto/examples/batch/invalid/*.json; do
            cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
        done
        schema_words >"$WORK/dict/$name.dict"
        ;;
    command)
        for f in proto/examples/valid/command*.json; do
            { printf '\001'; cat "$f"; } >"$dir/signed-$(basename "$f")"
            { printf '\000'; cat "$f"; } >"$dir/as-sent-$(basename "$f")"
        done
        schema_words >"$WORK/dict/$name.dict"
        ;;
    agent_config)
        cp deploy/agent.example.ini "$dir/"
        ini_words deploy/agent.example.ini >"$WORK/dict/$name.dict"
        ;;
    collector_config)
        cp deploy/collector.example.ini "$dir/"
        ini_words deploy/collector.example.ini >"$WORK/dict/$name.dict"
        ;;
    esac
    if [[ -f tests/fuzz/dict/$name.dict ]]; then
        cat "tests/fuzz/dict/$name.dict" >>"$WORK/dict/$name.dict"
    fi
}

# Options per target: the message targets take payloads past the 8 KiB limit (a batch's limit,
# 256 KiB, is left to the unit tests: the fuzzer's time is better spent on many small batches).
target_opts() { # name
    case ${1#fuzz_} in
    msg | command) echo "-max_len=9000" ;;
    batch) echo "-max_len=16384" ;; # up to 128 items, each re-encoded
    *) echo "-max_len=4096" ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() { # name
    local bin=$BIN/$1 name=${1#fuzz_} dict=()
    local corpus=$WORK/corpus/$name
    mkdir -p "$corpus" "tests/fuzz/corpus/$name"
    [[ -s $WORK/dict/$name.dict ]] && dict=(-dict="$WORK/dict/$name.dict")
    # -close_fd_mask=3: the daemons' log lines go nowhere; libFuzzer and the sanitizers keep
    # a copy of stderr for their reports. nice: the machine is shared.
    # shellcheck disable=SC2046
    nice "$bin" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2560 -close_fd_mask=3 \
        -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$name-" $(target_opts "$1") \
        "${dict[@]}" "$corpus" "tests/fuzz/corpus/$name" "$WORK/seeds/$name" \
        </dev/null >"$WORK/logs/$name.log" 2>&1
}

summary() { # name rc
    local log=$WORK/logs/${1#fuzz_}.log
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]+' "$log" | tail -1)
    printf '%-24s %s  %10s execs  %s\n' "$1" "$([[ $2 == 0 ]] && echo ok || echo FAILED)" \
        "${execs:-?}" "${cov:-?}"
}

echo "==> fuzz ${#TARGETS[@]} targets, ${TIME} s each, $JOBS at a time (logs in $WORK/logs)"
declare -A pid_of rc_of
for t in "${TARGETS[@]}"; do
    make_seeds "$t"
done
running=0
for t in "${TARGETS[@]}"; do
    if ((running >= JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
    run_one "$t" &
    pid_of[$t]=$!
    running=$((running + 1))
done
status=0
for t in "${TARGETS[@]}"; do
    rc=0
    wait "${pid_of[$t]}" || rc=$?
    rc_of[$t]=$rc
    ((rc == 0)) || status=1
done

echo "==> results"
for t in "${TARGETS[@]}"; do
    summary "$t" "${rc_of[$t]}"
done
for t in "${TARGETS[@]}"; do
    ((${rc_of[$t]} == 0)) && continue
    echo "==> $t failed (exit ${rc_of[$t]}); its log ends:"
    tail -n 60 "$WORK/logs/${t#fuzz_}.log"
    echo "==> replay: $BIN/$t $(ls -t "$WORK"/artifacts/"${t#fuzz_}"-* 2>/dev/null | head -1)"
done

if ((MERGE)); then
    for t in "${TARGETS[@]}"; do
        echo "==> merge new coverage of $t into tests/fuzz/corpus/${t#fuzz_}"
        nice "$BIN/$t" -merge=1 -close_fd_mask=3 $(target_opts "$t") \
            "tests/fuzz/corpus/${t#fuzz_}" "$WORK/corpus/${t#fuzz_}" \
            >"$WORK/logs/${t#fuzz_}.merge.log" 2>&1 || status=1
    done
fi

if ((status)); then
    echo "==> FAILED: see above; add the input to tests/fuzz/corpus/NAME/ once fixed" >&2
else
    echo "==> every fuzz target ran clean"
fi
exit "$status"
