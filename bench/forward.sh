#!/usr/bin/env bash
# Forwarding benchmark (issue: forward). In one run, with the same load and a minimal app
# that answers 200 (the ceiling server): load straight to the app; `listen` without
# forwarding (the ingest baseline); `listen --forward-to` (ack mode: what the sender sees,
# and the rate the app receives, from the attempt records); and `--passthrough`.
# Run by hand: bench/forward.sh (DURATION=30 for longer).
source "$(dirname "$0")/common.sh"
need
make_body
printf 'body: %s bytes, %s connections, %ss each, wrk -t2, %s cores\n\n' "$(wc -c < "$WORK/body.json")" "$CONNECTIONS" "$DURATION" "$(nproc)"

start app target/release/examples/ceiling; APP=$URL; APP_PID=$PID
read -r d_rps d_p50 d_p99 _ _ <<< "$(load direct "$APP")"

# run_listen NAME ARGS...: start listen, load it; sets RESULT and LISTEN_PID (no subshell).
run_listen() {
    local name=$1; shift
    start "$name" target/release/hookcli --store "$WORK/$name" listen --port 0 --compact --secret "$SECRET" "$@"
    LISTEN_PID=$PID
    RESULT=$(load "$name" "$URL")
}
run_listen baseline; read -r b_rps b_p50 b_p99 _ _ <<< "$RESULT"; kill -INT "$LISTEN_PID"; wait "$LISTEN_PID" || true
run_listen ack --forward-to "$APP"; read -r a_rps a_p50 a_p99 a_reqs _ <<< "$RESULT"
# Let the queue drain, then read the app's received rate from the attempt records.
for _ in $(seq 600); do
    pending=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from deliveries where state='pending'\").fetchone()[0])" "$WORK/ack/hookcli.db")
    [ "$pending" = 0 ] && break; sleep 0.5
done
kill -INT "$LISTEN_PID"; wait "$LISTEN_PID" || true
read -r delivered app_rps <<< "$(python3 - "$WORK/ack/hookcli.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, first, last = c.execute("select count(*), min(started_at), max(started_at + latency_ms) from attempts where status between 200 and 299").fetchone()
print(n, round(n / max((last - first) / 1000, 0.001)))
PY
)"
run_listen passthrough --forward-to "$APP" --passthrough; read -r p_rps p_p50 p_p99 _ _ <<< "$RESULT"
# The latency passthrough adds when it is not flooded: one request at a time, as Intercom
# mostly sends. Under 32 connections the figure above is mostly queueing.
read -r p1_rps p1_p50 p1_p99 _ _ <<< "$(load passthrough1 "$URL" 1)"
kill -INT "$LISTEN_PID"; wait "$LISTEN_PID" || true
read -r d1_rps d1_p50 d1_p99 _ _ <<< "$(load direct1 "$APP" 1)"
kill "$APP_PID"

printf '%-34s %10s %9s %9s\n' path req/s p50_ms p99_ms
printf '%-34s %10s %9s %9s\n' "direct to the app (ceiling)" "$d_rps" "$d_p50" "$d_p99"
printf '%-34s %10s %9s %9s\n' "listen, no forwarding (baseline)" "$b_rps" "$b_p50" "$b_p99"
printf '%-34s %10s %9s %9s\n' "listen --forward-to (ack mode)" "$a_rps" "$a_p50" "$a_p99"
printf '%-34s %10s %9s %9s\n' "listen --forward-to --passthrough" "$p_rps" "$p_p50" "$p_p99"
printf '%-34s %10s %9s %9s\n' "direct, 1 connection" "$d1_rps" "$d1_p50" "$d1_p99"
printf '%-34s %10s %9s %9s\n' "passthrough, 1 connection" "$p1_rps" "$p1_p50" "$p1_p99"
python3 - <<PY
print(f"ack mode: sender throughput {$a_rps/$b_rps:.2f}x the baseline; the app received {$delivered} of {$a_reqs}+ captures at {$app_rps} req/s (ordered, one at a time)")
print(f"passthrough: {$p_rps/$d_rps:.2f}x the direct throughput; p50 adds {$p_p50-$d_p50:.2f} ms over direct at $CONNECTIONS connections, {$p1_p50-$d1_p50:.2f} ms at 1")
PY
