-- Forwarding to the developer's app (`listen --forward-to`). A delivery row is written in
-- the same transaction as its capture, so an acknowledged capture is never lost to the
-- queue; attempts record every try with the app's answer.
CREATE TABLE deliveries (
    capture_seq     INTEGER PRIMARY KEY,         -- captures.seq
    state           TEXT    NOT NULL,            -- pending | delivered | failed | skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,                     -- Unix ms; null = now
    note            TEXT,                        -- why skipped or failed, in words
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_state ON deliveries (state, capture_seq);
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    capture_seq      INTEGER NOT NULL,
    attempt          INTEGER NOT NULL,
    kind             TEXT    NOT NULL,           -- forward | passthrough | replay
    started_at       INTEGER NOT NULL,           -- Unix ms
    target           TEXT    NOT NULL,
    status           INTEGER,                    -- the app's HTTP status, if it answered
    latency_ms       INTEGER,
    error_kind       TEXT,                       -- connect | timeout | reset | tls | redirect | status | other
    error            TEXT,
    response_headers TEXT,                       -- JSON [[name, value], ...]
    response_body    BLOB                        -- first 64 KiB
);
CREATE INDEX attempts_capture ON attempts (capture_seq);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
