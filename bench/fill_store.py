"""Fill a hookcli store with N realistic captures made from the shared fixtures, varied.

The store must already exist (hookcli creates and migrates it); rows are written with the
same columns and encodings as hookcli's writer (src/store/writer.rs). The search index is
left to `hookcli vacuum` (this Python's SQLite may be too old for its FTS5 options).
"""
import glob, json, os, random, sqlite3, sys, time, uuid

store, n = sys.argv[1], int(sys.argv[2])
random.seed(42)
root = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "intercom")
fixtures = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(root, "*", "*.json")))]
parsed = [json.loads(f) for f in fixtures]
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

def ulid(ms):
    v = ((ms & 0xFFFFFFFFFFFF) << 80) | random.getrandbits(80)
    return "".join(ALPHABET[(v >> (5 * i)) & 31] for i in reversed(range(26)))

now = int(time.time() * 1000)
workspaces = ["a86dr8yl", "i6wc9ipe", "lkqcyt9t", "zz41wq0e", "qq7ab3cd"]
db = sqlite3.connect(os.path.join(store, "hookcli.db"))
db.execute("PRAGMA synchronous=OFF")
rows = []
for i in range(n):
    k = random.randrange(len(fixtures))
    doc = dict(parsed[k])
    doc["id"] = None if doc.get("topic") == "ping" else f"notif_{uuid.UUID(int=random.getrandbits(128), version=4)}"
    doc["app_id"] = random.choice(workspaces)
    if i % 1000 == 7:  # a rare needle for --search
        doc["links"] = {"note": "contact rare.needle@example.org"}
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    ms = now - int((n - i) * (7 * 86_400_000 / n))  # spread over the last 7 days, in order
    item = (doc.get("data") or {}).get("item") or {}
    sig = random.choice(["valid", "valid", "valid", "invalid", "unchecked"])
    headers = json.dumps([["host", "127.0.0.1:4665"], ["content-type", "application/json"],
                          ["user-agent", "intercom-parrot-service-client/1.0"],
                          ["x-hub-signature", "sha1=" + "%040x" % random.getrandbits(160)]])
    rows.append((ulid(ms), ms, "listen", "127.0.0.1:50000", None, "POST", "/", headers, body, sig,
                 "mismatch" if sig == "invalid" else None, doc.get("topic"), doc["id"], doc["app_id"],
                 doc.get("created_at"), doc.get("first_sent_at"), doc.get("delivery_attempts"),
                 item.get("type"), str(item["id"]) if item.get("id") is not None else None, 0))
db.executemany("INSERT INTO captures (id, received_at, source, remote_addr, client_addr, method, target, headers, "
               "body, signature, signature_reason, topic, notification_id, app_id, created_at, first_sent_at, "
               "delivery_attempts, item_type, item_id, redelivery) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(db.execute("SELECT COUNT(*) FROM captures").fetchone()[0])
