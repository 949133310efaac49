//! Delivery state and attempts for forwarding (`listen --forward-to`), replay and passthrough.

use super::model::{headers_from_json, headers_to_json, Capture, Header};
use super::query::{row_to_capture, COLUMNS};
use rusqlite::{params, Connection, OptionalExtension};

/// What to do with a new capture when forwarding is on; written with the capture itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Deliver it.
    Pending,
    /// Do not deliver it, for this reason.
    Skipped(String),
}

/// A capture waiting for delivery.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The capture.
    pub capture: Capture,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, Unix ms (`None`: now).
    pub next_attempt_at: Option<i64>,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// Attempt number for this capture, from 1.
    pub attempt: u32,
    /// `forward`, `passthrough` or `replay`.
    pub kind: String,
    /// Start, Unix ms.
    pub started_at: i64,
    /// Full target URL.
    pub target: String,
    /// The app's status, if it answered.
    pub status: Option<u16>,
    /// Milliseconds until the answer or the failure.
    pub latency_ms: i64,
    /// Failure kind: connect, timeout, reset, tls, path, other (no status), redirect (3xx).
    pub error_kind: Option<String>,
    /// The failure in words.
    pub error: Option<String>,
    /// The app's response headers.
    pub response_headers: Vec<(String, Vec<u8>)>,
    /// The first 64 KiB of the app's response body.
    pub response_body: Vec<u8>,
}

/// Write the delivery row for a capture being inserted (same transaction).
pub(crate) fn insert_plan(
    conn: &Connection,
    seq: i64,
    plan: &Plan,
    now: i64,
    passthrough: bool,
) -> rusqlite::Result<()> {
    let (state, note) = match plan {
        Plan::Pending if passthrough => ("pending", Some(PASSTHROUGH_WAITING)),
        Plan::Pending => ("pending", None),
        Plan::Skipped(why) => ("skipped", Some(why.as_str())),
    };
    conn.prepare_cached(
        "INSERT INTO deliveries (capture_seq, state, note, updated_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![seq, state, note, now])
    .map(drop)
}

/// The note of a pending delivery whose sender waits for the app (`--passthrough`); its
/// attempt's record replaces it. Found on a later start, it means hookcli died meanwhile.
pub const PASSTHROUGH_WAITING: &str = "waiting for the app's answer to pass on (--passthrough)";

/// Mark failed the passthrough deliveries a run that died left waiting: their senders got
/// no answer, so Intercom sends those notifications again, and delivering them as well
/// would give the app each one twice. Returns how many were.
pub fn fail_abandoned_passthrough(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE deliveries SET state = 'failed', note = ?1, updated_at = ?2 \
         WHERE state = 'pending' AND note = ?3",
        params![
            "hookcli stopped during this --passthrough request, before it recorded the outcome; not delivered again, as its sender either got your app's answer or got none and sends it again",
            now,
            PASSTHROUGH_WAITING
        ],
    )
}

/// Pending deliveries with arrival numbers in `after+1..=upto`, in arrival order.
pub fn pending_between(
    conn: &Connection,
    after: i64,
    upto: i64,
    limit: usize,
) -> rusqlite::Result<Vec<Pending>> {
    let sql = format!(
        "SELECT {COLUMNS}, d.attempts, d.next_attempt_at FROM deliveries d JOIN captures ON seq = d.capture_seq \
         WHERE d.state = 'pending' AND d.capture_seq > ?1 AND d.capture_seq <= ?2 \
         ORDER BY d.capture_seq LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![after, upto, limit as i64], |row| {
        let n = COLUMN_COUNT;
        Ok(Pending {
            capture: row_to_capture(row)?,
            attempts: row.get(n)?,
            next_attempt_at: row.get(n + 1)?,
        })
    })?;
    rows.collect()
}

const COLUMN_COUNT: usize = super::query::COLUMN_COUNT;

/// How many deliveries are pending.
pub fn count_pending(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )
}

/// Mark every pending delivery skipped (`--skip-pending`); returns how many.
pub fn skip_pending(conn: &Connection, note: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE deliveries SET state = 'skipped', note = ?1, updated_at = ?2 WHERE state = 'pending'",
        params![note, now],
    )
}

/// Take captures out of the delivery queue (`hookcli skip`): a pending or failed delivery
/// becomes skipped, in one write transaction. Returns each capture's id and the state it
/// had (`None`: it was never forwarded; `waiting`: a `--passthrough` request whose sender
/// waits for the app, which is in no queue and is left alone), in arrival order.
pub fn skip(
    conn: &mut Connection,
    seqs: &[i64],
    note: &str,
    now: i64,
) -> rusqlite::Result<Vec<(String, Option<String>)>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut found = Vec::with_capacity(seqs.len());
    {
        let mut read = tx.prepare(
            "SELECT c.id, CASE WHEN d.state = 'pending' AND d.note IS ?2 THEN 'waiting' ELSE d.state END \
             FROM captures c LEFT JOIN deliveries d ON d.capture_seq = c.seq WHERE c.seq = ?1",
        )?;
        let mut write = tx.prepare(
            "UPDATE deliveries SET state = 'skipped', note = ?2, next_attempt_at = NULL, \
             updated_at = ?3 WHERE capture_seq = ?1",
        )?;
        let mut seqs = seqs.to_vec();
        seqs.sort_unstable();
        for seq in seqs {
            let Some((id, was)) = read
                .query_row(params![seq, PASSTHROUGH_WAITING], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()?
            else {
                continue;
            };
            if matches!(was.as_deref(), Some("pending" | "failed")) {
                write.execute(params![seq, note, now])?;
            }
            found.push((id, was));
        }
    }
    tx.commit()?;
    Ok(found)
}

/// Record an attempt and the delivery's new state; run it inside a transaction (the
/// writer's group, or one the caller opens) so both land together. Only forwarding and
/// passthrough call this: their captures got a delivery row when they were stored.
pub fn record(
    conn: &Connection,
    seq: i64,
    a: &Attempt,
    state: &str,
    next_attempt_at: Option<i64>,
    note: Option<&str>,
) -> rusqlite::Result<()> {
    // A record written late (retried after a full disk) never takes the state back from a
    // later attempt's; its attempt is still kept. A capture `hookcli skip` took out of the
    // queue during its attempt stays out, unless that attempt delivered it.
    let updated = conn
        .prepare_cached(
            "UPDATE deliveries SET \
             state = CASE WHEN state = 'skipped' AND ?2 <> 'delivered' THEN state ELSE ?2 END, \
             note = CASE WHEN state = 'skipped' AND ?2 <> 'delivered' THEN note ELSE ?5 END, \
             next_attempt_at = CASE WHEN state = 'skipped' AND ?2 <> 'delivered' THEN NULL ELSE ?4 END, \
             attempts = MAX(attempts, ?3), updated_at = ?6 \
             WHERE capture_seq = ?1 AND attempts <= ?3",
        )?
        .execute(params![
            seq,
            state,
            a.attempt,
            next_attempt_at,
            note,
            a.started_at + a.latency_ms
        ])?;
    // Nothing to record when `hookcli delete` removed the capture meanwhile.
    let exists = updated > 0
        || conn
            .prepare_cached("SELECT 1 FROM deliveries WHERE capture_seq = ?1")?
            .exists([seq])?;
    if exists {
        record_attempt(conn, seq, a)?;
    }
    Ok(())
}

/// A capture's delivery state as the store has it now; `None` once the capture is deleted.
pub fn queue_state(conn: &Connection, seq: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT state FROM deliveries WHERE capture_seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()
}

/// Record an attempt alone, leaving the delivery state as it is: how a replay is kept, so
/// replaying to some URL never decides whether forwarding delivered the capture.
pub fn record_attempt(conn: &Connection, seq: i64, a: &Attempt) -> rusqlite::Result<()> {
    // As a capture's headers are kept: a value that is not UTF-8 keeps its bytes.
    let headers: Vec<Header> = a
        .response_headers
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.clone()))
        .collect();
    let headers = headers_to_json(&headers);
    conn.prepare_cached(
        "INSERT INTO attempts (capture_seq, attempt, kind, started_at, target, status, latency_ms, \
         error_kind, error, response_headers, response_body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        seq,
        a.attempt,
        a.kind,
        a.started_at,
        a.target,
        a.status,
        a.latency_ms,
        a.error_kind,
        a.error,
        headers,
        a.response_body,
    ])
    .map(drop)
}

/// Every attempt recorded for a capture, oldest first.
pub fn attempts(conn: &Connection, seq: i64) -> rusqlite::Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT attempt, kind, started_at, target, status, latency_ms, error_kind, error, \
         response_headers, response_body FROM attempts WHERE capture_seq = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([seq], |r| {
        let headers: String = r.get(8)?;
        let headers = headers_from_json(&headers)
            .into_iter()
            .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), v))
            .collect();
        Ok(Attempt {
            attempt: r.get(0)?,
            kind: r.get(1)?,
            started_at: r.get(2)?,
            target: r.get(3)?,
            status: r.get(4)?,
            latency_ms: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
            error_kind: r.get(6)?,
            error: r.get(7)?,
            response_headers: headers,
            response_body: r.get::<_, Option<Vec<u8>>>(9)?.unwrap_or_default(),
        })
    })?;
    rows.collect()
}

/// The number the next replay of a capture gets. Replays are numbered on their own, so
/// they never take a number from forwarding, whose count lives in the delivery row.
pub fn next_replay(conn: &Connection, seq: i64) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COALESCE(MAX(attempt), 0) + 1 FROM attempts WHERE capture_seq = ?1 AND kind = 'replay'",
        [seq],
        |r| r.get(0),
    )
}

/// The delivery state of a capture and its note, if it has one.
pub fn state(conn: &Connection, seq: i64) -> rusqlite::Result<Option<(String, Option<String>)>> {
    conn.query_row(
        "SELECT state, note FROM deliveries WHERE capture_seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Remember a value across runs (e.g. the last forward target, for `replay`).
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
        [key, value],
    )
    .map(drop)
}

/// A remembered value.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_record_keeps_its_attempt_but_not_its_older_state() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_write(dir.path()).unwrap();
        conn.execute_batch(
            "INSERT INTO captures (seq, id, received_at, source, remote_addr, method, target, headers, body, signature) \
             VALUES (7, '01a', 5, 'listen', '-', 'POST', '/', '[]', x'', 'unchecked'); \
             INSERT INTO deliveries (capture_seq, state, updated_at) VALUES (7, 'pending', 5);",
        )
        .unwrap();
        let attempt = |n| Attempt {
            attempt: n,
            ..Attempt::default()
        };
        // Attempt 2's record commits first, then attempt 1's, retried after a full disk.
        record(&conn, 7, &attempt(2), "delivered", None, None).unwrap();
        record(&conn, 7, &attempt(1), "pending", Some(99), None).unwrap();
        let (state, attempts): (String, u32) = conn
            .query_row(
                "SELECT state, attempts FROM deliveries WHERE capture_seq = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((state.as_str(), attempts), ("delivered", 2));
        let attempts_of = |seq: i64| -> i64 {
            conn.query_row(
                "SELECT COUNT(*) FROM attempts WHERE capture_seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(attempts_of(7), 2);
        // A capture deleted meanwhile gets nothing.
        record(&conn, 8, &attempt(1), "delivered", None, None).unwrap();
        assert_eq!(attempts_of(8), 0);
    }

    #[test]
    fn a_skip_during_an_attempt_holds_unless_that_attempt_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::open_write(dir.path()).unwrap();
        conn.execute_batch(
            "INSERT INTO captures (seq, id, received_at, source, remote_addr, method, target, headers, body, signature) \
             VALUES (1, '01a', 5, 'listen', '-', 'POST', '/', '[]', x'', 'unchecked'), \
                    (2, '01b', 5, 'listen', '-', 'POST', '/', '[]', x'', 'unchecked'), \
                    (3, '01c', 5, 'listen', '-', 'POST', '/', '[]', x'', 'unchecked'); \
             INSERT INTO deliveries (capture_seq, state, updated_at) VALUES (1, 'pending', 5), (2, 'failed', 5);",
        )
        .unwrap();
        let found = skip(&mut conn, &[3, 2, 1], "by hand", 9).unwrap();
        let states: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|(id, was)| (id.as_str(), was.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                ("01a", Some("pending")),
                ("01b", Some("failed")),
                ("01c", None)
            ]
        );
        let state_of = |conn: &Connection, seq: i64| -> (String, Option<String>) {
            conn.query_row(
                "SELECT state, note FROM deliveries WHERE capture_seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let attempt = |n| Attempt {
            attempt: n,
            ..Attempt::default()
        };
        // The attempt under way when it was skipped fails, and would retry: it stays out.
        record(&conn, 1, &attempt(1), "pending", Some(99), None).unwrap();
        assert_eq!(
            state_of(&conn, 1),
            ("skipped".into(), Some("by hand".into()))
        );
        let next: Option<i64> = conn
            .query_row(
                "SELECT next_attempt_at FROM deliveries WHERE capture_seq = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(next, None, "no retry is due for it");
        record(&conn, 1, &attempt(2), "failed", None, Some("gave up")).unwrap();
        assert_eq!(state_of(&conn, 1).0, "skipped");
        // One that delivered it says so.
        record(&conn, 1, &attempt(3), "delivered", None, None).unwrap();
        assert_eq!(state_of(&conn, 1), ("delivered".into(), None));
    }
}
