#!/usr/bin/env bash
# Ingest benchmark (issue: listen). Drives, in one run and with the same load, a bare hyper
# server that only answers 200 (the ceiling), the same server with the least a durable
# store needs (the floor: bench/floor.rs) and `hookcli listen` (durable capture:
# signature check, group-committed SQLite with synchronous=FULL, printing --compact to a
# file). Reports req/s, p50/p99 latency and peak RSS for each, and checks that every
# request that got a 200 is in the store. Run by hand: bench/listen.sh (DURATION=30 for longer).
source "$(dirname "$0")/common.sh"
need
make_body
printf 'body: %s bytes, %s connections, %ss each, wrk -t2, %s cores\n\n' "$(wc -c < "$WORK/body.json")" "$CONNECTIONS" "$DURATION" "$(nproc)"

start ceiling target/release/examples/ceiling
read -r c_rps c_p50 c_p99 c_reqs c_bad <<< "$(load ceiling "$URL")"
c_rss=$(peak_rss_mib "$PID"); kill "$PID"

mkdir "$WORK/floor"
start floor target/release/examples/floor "$WORK/floor"
read -r f_rps f_p50 f_p99 f_reqs f_bad <<< "$(load floor "$URL")"
f_rss=$(peak_rss_mib "$PID"); kill "$PID"
f_stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from c').fetchone()[0])" "$WORK/floor/floor.db")

start listen target/release/hookcli --store "$WORK/store" listen --port 0 --compact --secret "$SECRET"
read -r l_rps l_p50 l_p99 l_reqs l_bad <<< "$(load listen "$URL")"
l_rss=$(peak_rss_mib "$PID"); kill -INT "$PID"; wait "$PID" || true
stored=$(captures "$WORK/store")
valid=$(grep -c '✓ sig' "$WORK/listen.out" || true)

printf '%-22s %10s %9s %9s %10s\n' server req/s p50_ms p99_ms peak_RSS
printf '%-22s %10s %9s %9s %7s MiB\n' "ceiling (bare hyper)" "$c_rps" "$c_p50" "$c_p99" "$c_rss"
printf '%-22s %10s %9s %9s %7s MiB\n' "floor (durable, bare)" "$f_rps" "$f_p50" "$f_p99" "$f_rss"
printf '%-22s %10s %9s %9s %7s MiB\n' "hookcli listen" "$l_rps" "$l_p50" "$l_p99" "$l_rss"
python3 -c "print(f'throughput ratio listen/ceiling: {$l_rps/$c_rps:.2f} (floor/ceiling: {$f_rps/$c_rps:.2f}, listen/floor: {$l_rps/$f_rps:.2f})')"
echo "floor: wrk sent $f_reqs requests ($f_bad non-2xx); its store holds $f_stored rows"
echo "listen: wrk sent $l_reqs requests ($l_bad non-2xx); store holds $stored captures; $valid printed as signature-valid"
[ "$f_bad" = 0 ] && [ "$f_stored" -ge "$f_reqs" ] || { echo "MISMATCH: the floor acknowledged requests it did not store" >&2; exit 1; }
[ "$l_bad" = 0 ] && [ "$stored" -ge "$l_reqs" ] || { echo "MISMATCH: requests acknowledged but not stored" >&2; exit 1; }
