# Shared helpers for the bench scripts (sourced, not run). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
SECRET=bench-secret
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

need() {
    command -v wrk >/dev/null || { echo "installing wrk (Debian package)" >&2; apt-get install -y -qq wrk >/dev/null; }
    cargo build --release --quiet --bin hookcli --example ceiling --example floor
}

# A realistic ~1 KiB compact Intercom notification and its signature.
make_body() {
    python3 - "$WORK/body.json" <<'PY'
import json, sys
item = {"type": "conversation", "id": "21322009097", "created_at": 1700000000, "updated_at": 1700000300,
        "source": {"type": "conversation", "id": "1402", "delivered_as": "customer_initiated",
                   "body": "<p>Hi, I can\u2019t find last month\u2019s invoice. Could you resend it?</p>",
                   "author": {"type": "user", "id": "5f297f71bce3e055f3afdf6e", "name": "Zoë Martín", "email": "zoe.martin@example.com"}},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "5f297f71bce3e055f3afdf6e"}]},
        "conversation_parts": {"type": "conversation_part.list", "total_count": 1, "conversation_parts": [
            {"type": "conversation_part", "id": "9876543210", "part_type": "comment", "body": "<p>Sure, sending it now.</p>",
             "author": {"type": "admin", "id": "991", "name": "Ana Núñez"}}]}}
body = {"type": "notification_event", "app_id": "a86dr8yl", "data": {"type": "notification_event_data", "item": item},
        "links": {}, "id": "notif_44d1f763-d3ad-4927-8e5c-da6cd6ca78d2", "topic": "conversation.admin.replied",
        "delivery_status": "pending", "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": 1700000300,
        "created_at": 1700000300, "self": None}
text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
text += " " * max(0, 1024 - len(text.encode()))  # pad to 1 KiB (trailing whitespace is valid JSON)
open(sys.argv[1], "w").write(text)
PY
    SIGNATURE="sha1=$(openssl dgst -sha1 -hmac "$SECRET" < "$WORK/body.json" | awk '{print $NF}')"
    python3 - "$WORK/body.json" "$SIGNATURE" > "$WORK/post.lua" <<'PY'
import json, sys
body = open(sys.argv[1]).read()
print('wrk.method = "POST"')
print('wrk.body = [==[' + body + ']==]')  # a Lua long string: the bytes as they are
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["User-Agent"] = "intercom-parrot-service-client/1.0"')
print('wrk.headers["X-Hub-Signature"] = "%s"' % sys.argv[2])
PY
}

# start NAME CMD...: run CMD in the background, wait for its first stdout line, which names
# its URL; sets URL and PID.
start() {
    local name=$1; shift
    "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
    PID=$!; PIDS+=("$PID")
    for _ in $(seq 100); do [ -s "$WORK/$name.out" ] && break; sleep 0.05; done
    URL=$(head -1 "$WORK/$name.out" | grep -o 'http://[^ "]*' | head -1)
    [ -n "$URL" ] || { echo "$name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
}

peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# load NAME URL [CONNECTIONS]: drive URL with wrk (32 connections unless given); prints
# "rps p50_ms p99_ms requests non2xx".
load() {
    local conns=${3:-$CONNECTIONS}
    wrk -t"$((conns < 2 ? 1 : 2))" -c"$conns" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$2" > "$WORK/$1.wrk"
    python3 - "$WORK/$1.wrk" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)" % label, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
reqs = int(re.search(r"(\d+) requests in", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errors = re.search(r"Socket errors: (.*)", t)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {reqs} {int(non2xx.group(1)) if non2xx else 0}{' errors:' + errors.group(1).replace(' ', '') if errors else ''}")
PY
}

captures() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from captures').fetchone()[0])" "$1/hookcli.db"; }
