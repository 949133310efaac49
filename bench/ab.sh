#!/usr/bin/env bash
# Compare two hookcli binaries under the same ingest load, alternating them so that the
# VM's drift hits both: bench/ab.sh OLD_BIN NEW_BIN [ROUNDS]. For each run prints req/s,
# p50/p99 and the CPU time the listener spent per capture (from /proc, over the middle of
# the run), which is steadier than throughput on a noisy machine.
source "$(dirname "$0")/common.sh"
need
make_body
OLD=$1 NEW=$2 ROUNDS=${3:-3}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
last_seq() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select coalesce(max(seq),0) from captures').fetchone()[0])" "$1/hookcli.db"; }
run() {
    local name=$1 bin=$2 store="$WORK/store-$1-$RANDOM"
    start "$name" "$bin" --store "$store" listen --port 0 --compact --secret "$SECRET"
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$URL" > "$WORK/$name.wrk" &
    local wrk_pid=$!
    sleep $((DURATION / 4))
    local t0 n0 t1 n1
    t0=$(cpu_ticks "$PID"); n0=$(last_seq "$store")
    sleep $((DURATION / 2))
    t1=$(cpu_ticks "$PID"); n1=$(last_seq "$store")
    wait "$wrk_pid"
    kill -INT "$PID"; wait "$PID" || true
    local tick; tick=$(getconf CLK_TCK)
    python3 - "$WORK/$name.wrk" "$name" "$t0" "$t1" "$n0" "$n1" "$tick" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
name, t0, t1, n0, n1, tick = sys.argv[2], *map(int, sys.argv[3:])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
lat = {k: re.search(r"^\s*%s\s+(\S+)" % k, t, re.M).group(1) for k in ("50%", "99%")}
print(f"{name:4} {rps:10.0f} req/s  p50 {lat['50%']:>8}  p99 {lat['99%']:>8}  {(t1 - t0) / tick * 1e6 / max(n1 - n0, 1):6.1f} us CPU per capture")
PY
}
for _ in $(seq "$ROUNDS"); do run old "$OLD"; run new "$NEW"; done
