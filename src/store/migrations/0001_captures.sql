-- Append-only: never edit a migration that has shipped; add the next number instead.
CREATE TABLE captures (
    seq               INTEGER PRIMARY KEY,   -- arrival order
    id                TEXT    NOT NULL UNIQUE,
    received_at       INTEGER NOT NULL,      -- Unix milliseconds
    source            TEXT    NOT NULL,      -- 'listen' or 'import'
    remote_addr       TEXT    NOT NULL,
    client_addr       TEXT,                  -- from X-Forwarded-For and the like
    method            TEXT    NOT NULL,
    target            TEXT    NOT NULL,      -- path and query as sent
    headers           TEXT    NOT NULL,      -- JSON: [[name, value], ...] in received order
    body              BLOB    NOT NULL,      -- exact bytes
    signature         TEXT    NOT NULL,      -- valid | invalid | missing | unchecked
    signature_reason  TEXT,
    topic             TEXT,
    notification_id   TEXT,
    app_id            TEXT,
    created_at        INTEGER,
    first_sent_at     INTEGER,
    delivery_attempts INTEGER,
    item_type         TEXT,
    item_id           TEXT,
    redelivery        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX captures_notification_id ON captures (notification_id)
    WHERE notification_id IS NOT NULL;
CREATE INDEX captures_topic ON captures (topic);
