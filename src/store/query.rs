//! Reading captures back: filters shared by `list`, `export` and `delete`, id-prefix
//! resolution, and keeping the search index up to date.

use super::model::{headers_from_json, Capture, NewCapture, Source};
use crate::intercom::{signature::Verdict, Notification};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

/// The columns [`row_to_capture`] reads, in its order, with `$body` in the body's place.
/// The last is the delivery state, for captures that are forwarded.
macro_rules! columns {
    ($body:literal) => {
        concat!(
            "seq, id, received_at, source, remote_addr, client_addr, method, \
             target, headers, ",
            $body,
            ", signature, signature_reason, topic, notification_id, app_id, \
             created_at, first_sent_at, delivery_attempts, item_type, item_id, redelivery, \
             (SELECT state FROM deliveries WHERE capture_seq = seq), answered"
        )
    };
}

/// The columns [`row_to_capture`] reads.
pub(crate) const COLUMNS: &str = columns!("body");

/// [`COLUMNS`] with an empty body in its place and the body's size after the rest; only a
/// small body that is no notification is kept, for a row to tell a health check by it.
const COLUMNS_SIZED: &str = concat!(
    columns!(
        "CASE WHEN app_id IS NULL AND topic IS NULL AND length(body) <= 4096 THEN body ELSE x'' END"
    ),
    ", length(body)"
);

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 23;

/// Which captures to select. Empty fields match everything; set fields all have to match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact capture ids (already resolved from prefixes).
    pub ids: Vec<String>,
    /// Topic glob (`*` any run, `?` one character, the rest literal), e.g. `conversation.*`.
    pub topic: Option<String>,
    /// Text that must occur in the body.
    pub search: Option<String>,
    /// Received at or after, Unix milliseconds.
    pub since: Option<i64>,
    /// Received before, Unix milliseconds.
    pub until: Option<i64>,
    /// HTTP method (case-insensitive).
    pub method: Option<String>,
    /// Intercom workspace (`app_id`).
    pub app_id: Option<String>,
    /// Signature verdict: valid, invalid, missing or unchecked.
    pub signature: Option<String>,
    /// Only captures after this arrival number (for `--follow`).
    pub after_seq: Option<i64>,
    /// Delivery state: pending, delivered, failed or skipped.
    pub status: Option<String>,
}

impl Filter {
    /// Whether nothing narrows the selection.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.topic.is_none()
            && self.search.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.method.is_none()
            && self.app_id.is_none()
            && self.signature.is_none()
            && self.status.is_none()
    }

    /// The SQL condition and its parameters.
    fn condition(&self) -> (String, Vec<Sql>) {
        let mut parts = vec!["1".to_string()];
        let mut params: Vec<Sql> = Vec::new();
        let mut add = |sql: &str, values: Vec<Sql>| {
            parts.push(sql.to_string());
            params.extend(values);
        };
        if !self.ids.is_empty() {
            let marks = vec!["?"; self.ids.len()].join(", ");
            add(
                &format!("id IN ({marks})"),
                self.ids.iter().cloned().map(Sql::Text).collect(),
            );
        }
        if let Some(topic) = &self.topic {
            add("topic GLOB ?", vec![Sql::Text(sqlite_glob(topic))]);
        }
        if let Some(text) = &self.search {
            // Scanned rows are folded like the trigram index folds, so a capture matches the
            // same whether or not it has been indexed yet.
            let folded = Sql::Text(fold(text));
            if text.chars().count() >= 3 {
                // Indexed rows through the trigram index; the not-yet-indexed tail and the
                // bodies too large to index directly.
                let phrase = format!("\"{}\"", text.replace('"', "\"\""));
                // Three ORed terms, each a lookup by arrival number: nested, the planner
                // scans every row instead (list --search took 100 ms, not 25, on 100k).
                add(
                    "(seq IN (SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?) \
                     OR (seq > (SELECT upto FROM fts_progress) \
                         AND instr(hookcli_fold(body), ?) > 0) \
                     OR (seq IN (SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?) \
                         AND instr(hookcli_fold(body), ?) > 0))",
                    vec![
                        Sql::Text(phrase),
                        folded.clone(),
                        Sql::Text(format!("\"{UNINDEXED}\"")),
                        folded,
                    ],
                );
            } else {
                // Too short for trigrams: every row is scanned.
                add("instr(hookcli_fold(body), ?) > 0", vec![folded]);
            }
        }
        if let Some(since) = self.since {
            add("received_at >= ?", vec![Sql::Integer(since)]);
        }
        if let Some(until) = self.until {
            add("received_at < ?", vec![Sql::Integer(until)]);
        }
        if let Some(method) = &self.method {
            add(
                "upper(method) = ?",
                vec![Sql::Text(method.to_ascii_uppercase())],
            );
        }
        if let Some(app) = &self.app_id {
            // Or an installation health check's workspace_id, which listen and show call its
            // workspace (the function applies their rule; a health check is at most 4 KiB,
            // so the length spares it most bodies).
            add(
                "(app_id = ? OR (app_id IS NULL AND length(body) <= 4096 \
                 AND hookcli_health_workspace(body) = ?))",
                vec![Sql::Text(app.clone()), Sql::Text(app.clone())],
            );
        }
        if let Some(sig) = &self.signature {
            add("signature = ?", vec![Sql::Text(sig.clone())]);
        }
        if let Some(state) = &self.status {
            add(
                "seq IN (SELECT capture_seq FROM deliveries WHERE state = ?)",
                vec![Sql::Text(state.clone())],
            );
        }
        if let Some(seq) = self.after_seq {
            add("seq > ?", vec![Sql::Integer(seq)]);
        }
        (parts.join(" AND "), params)
    }
}

/// A topic glob in hookcli's one rule (`*` any run, `?` one character, everything else
/// literal, as `topics` and `--forward-to` match) written for SQLite's GLOB, where `[`
/// would open a character class. `[[]` is a class holding only `[`.
fn sqlite_glob(glob: &str) -> String {
    glob.replace('[', "[[]")
}

/// Sort order of a selection: by receive time, then arrival. An import keeps each
/// capture's own time, so arrival alone would put last week's captures above today's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Latest received first (`list`, `--last`).
    NewestFirst,
    /// In the order received (`export`, `replay`).
    OldestFirst,
    /// Latest created first by the notification's own `created_at` (`list --order created`),
    /// as Intercom says to order them; a capture without one (or with one that is no date)
    /// by when it was received.
    CreatedNewestFirst,
}

/// Captures matching `filter`, at most `limit`.
pub fn select(
    conn: &Connection,
    filter: &Filter,
    order: Order,
    limit: Option<usize>,
) -> rusqlite::Result<Vec<Capture>> {
    select_columns(conn, COLUMNS, filter, order, limit, row_to_capture)
}

/// [`select`] for one-line views: each capture with an empty body (but a small one that
/// may be a health check) and, beside it, the body's size, so listing a 900 MB capture does
/// not read 900 MB.
pub fn select_sizes(
    conn: &Connection,
    filter: &Filter,
    order: Order,
    limit: Option<usize>,
) -> rusqlite::Result<Vec<(Capture, u64)>> {
    select_columns(conn, COLUMNS_SIZED, filter, order, limit, |row| {
        Ok((row_to_capture(row)?, row.get(COLUMN_COUNT)?))
    })
}

fn select_columns<T>(
    conn: &Connection,
    columns: &str,
    filter: &Filter,
    order: Order,
    limit: Option<usize>,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let (condition, params) = filter.condition();
    let by = match order {
        Order::NewestFirst => "received_at DESC, seq DESC".to_string(),
        Order::OldestFirst => "received_at ASC, seq ASC".to_string(),
        // created_at is Unix seconds, received_at milliseconds; ties go by arrival. A
        // created_at that is no date (intercom::notification_time_ms) counts as none.
        Order::CreatedNewestFirst => format!(
            "CASE WHEN created_at BETWEEN 0 AND {} THEN created_at * 1000 ELSE received_at END DESC, \
             received_at DESC, seq DESC",
            crate::intercom::LATEST_TIME,
        ),
    };
    let limit = limit.map_or(-1, |l| l as i64);
    let sql =
        format!("SELECT {columns} FROM captures WHERE {condition} ORDER BY {by} LIMIT {limit}");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params), read)?;
    rows.collect()
}

/// Arrival numbers of the captures matching `filter`.
pub fn select_seqs(conn: &Connection, filter: &Filter) -> rusqlite::Result<Vec<i64>> {
    let (condition, params) = filter.condition();
    let mut stmt = conn.prepare(&format!("SELECT seq FROM captures WHERE {condition}"))?;
    let rows = stmt.query_map(params_from_iter(params), |r| r.get(0))?;
    rows.collect()
}

/// How many captures match `filter`.
pub fn count_matching(conn: &Connection, filter: &Filter) -> rusqlite::Result<i64> {
    let (condition, params) = filter.condition();
    conn.query_row(
        &format!("SELECT COUNT(*) FROM captures WHERE {condition}"),
        params_from_iter(params),
        |r| r.get(0),
    )
}

/// The newest capture's arrival number, 0 for an empty store.
pub fn newest_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM captures", [], |r| {
        r.get(0)
    })
}

/// How many captures the store holds.
pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
}

/// The result of looking up an id prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Exactly one capture: its full id.
    Found(String),
    /// No capture id starts with the prefix.
    Unknown,
    /// Several do: up to ten of them.
    Ambiguous(Vec<String>),
}

/// Resolve a (case-insensitive) id prefix, like git does for commits.
pub fn resolve(conn: &Connection, prefix: &str) -> rusqlite::Result<Lookup> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.is_empty() {
        return Ok(Lookup::Unknown);
    }
    // Ids are lowercase base32, so every id with this prefix sorts in [prefix, prefix + '~').
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM captures WHERE id >= ?1 AND id < ?1 || '~' ORDER BY id LIMIT 11",
    )?;
    let ids: Vec<String> = stmt
        .query_map([&prefix], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(match ids.len() {
        0 => Lookup::Unknown,
        1 => Lookup::Found(ids.into_iter().next().unwrap_or_default()),
        _ => Lookup::Ambiguous(ids),
    })
}

/// The shortest prefix of `id` (12 characters at least, as `short_id` shows) that no other
/// capture's id starts with, so that a row copied from `list` always names one capture.
pub fn unique_prefix<'a>(conn: &Connection, id: &'a str) -> rusqlite::Result<&'a str> {
    let neighbour = |sql: &str| -> rusqlite::Result<Option<String>> {
        conn.prepare_cached(sql)?.query_row([id], |r| r.get(0))
    };
    let before = neighbour("SELECT MAX(id) FROM captures WHERE id < ?1")?;
    let after = neighbour("SELECT MIN(id) FROM captures WHERE id > ?1")?;
    let shared = |other: &Option<String>| {
        other.as_deref().map_or(0, |o| {
            o.chars()
                .zip(id.chars())
                .take_while(|(a, b)| a == b)
                .count()
        })
    };
    let chars = (shared(&before).max(shared(&after)) + 1).max(12);
    Ok(id
        .char_indices()
        .nth(chars)
        .map_or(id, |(end, _)| &id[..end]))
}

/// One capture by exact id.
pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Capture>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM captures WHERE id = ?1"),
        [id],
        row_to_capture,
    )
    .optional()
}

/// Lower case character by character, as the trigram index folds: `str::to_lowercase` would
/// turn a word-final Σ into ς, which the index (and so an indexed capture) never has.
fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Register hookcli's SQL functions on `conn`. `hookcli_fold(x)`: the text (bytes read as
/// UTF-8) in lower case, the way the trigram index folds case, for searching rows it does
/// not hold yet. `hookcli_health_workspace(body)`: the workspace of an installation health
/// check, by the very rule listen and show use, so `--app-id` finds what they call one.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("hookcli_fold", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(b) | ValueRef::Blob(b) => Some(fold(&String::from_utf8_lossy(b))),
            _ => None,
        })
    })?;
    conn.create_scalar_function("hookcli_health_workspace", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(b) | ValueRef::Blob(b) => crate::intercom::health_check_workspace(b),
            _ => None,
        })
    })
}

/// Bodies larger than this are not put into the trigram index: indexing one of a few MB
/// took seconds, holding the write lock while listen's senders waited. The index holds
/// [`UNINDEXED`] for them instead, and searches read them directly.
const MAX_INDEXED_BODY: i64 = 64 * 1024;

/// How many bytes of bodies one indexing step takes at most (at least one capture), so a
/// step holds the write lock for tens of milliseconds, not seconds.
const STEP_BYTES: i64 = 256 * 1024;

/// What the index holds for a body it does not index: three private-use characters, one
/// trigram no search for real text can match.
const UNINDEXED: &str = "\u{F8FF}\u{F8FE}\u{F8FD}";

/// Add up to `max` not-yet-indexed captures (and at most [`STEP_BYTES`] of bodies) to the
/// search index; returns how many. 0 means the index is complete.
pub fn index_pending(conn: &Connection, max: usize) -> rusqlite::Result<usize> {
    // That there is nothing to do is found without the write lock (listen asks when idle).
    let behind =
        "SELECT EXISTS (SELECT 1 FROM captures WHERE seq > (SELECT upto FROM fts_progress))";
    if !conn.query_row(behind, [], |r| r.get::<_, bool>(0))? {
        return Ok(0);
    }
    // Immediate, as it reads before it writes: a deferred read snapshot that another
    // process commits past cannot become a write, and SQLite refuses without waiting.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let conn = &tx;
    let upto: i64 = conn.query_row("SELECT upto FROM fts_progress", [], |r| r.get(0))?;
    let mut next = conn.prepare_cached(
        "SELECT seq, length(body) FROM captures WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = next.query(rusqlite::params![upto, max as i64])?;
    let (mut last, mut bytes) = (None, 0);
    while let Some(row) = rows.next()? {
        let len: i64 = row.get(1)?;
        let cost = if len > MAX_INDEXED_BODY { 0 } else { len };
        if last.is_some() && bytes + cost > STEP_BYTES {
            break;
        }
        (last, bytes) = (Some(row.get::<_, i64>(0)?), bytes + cost);
    }
    drop(rows);
    drop(next);
    let Some(last) = last else { return Ok(0) };
    let n = conn.execute(
        "INSERT INTO captures_fts (rowid, body) \
         SELECT seq, CASE WHEN length(body) > ?3 THEN ?4 ELSE CAST(body AS TEXT) END \
         FROM captures WHERE seq > ?1 AND seq <= ?2",
        rusqlite::params![upto, last, MAX_INDEXED_BODY, UNINDEXED],
    )?;
    conn.execute("UPDATE fts_progress SET upto = ?1", [last])?;
    tx.commit()?;
    Ok(n)
}

/// Delete captures by arrival number, with their search index entries.
pub fn delete(conn: &mut Connection, seqs: &[i64]) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let upto: i64 = tx.query_row("SELECT upto FROM fts_progress", [], |r| r.get(0))?;
    // New captures are numbered above this, so a number is never reused: the search
    // index's progress mark, `list --follow` and the delivery queue all count on it.
    tx.execute(
        concat!(
            "INSERT INTO meta (key, value) SELECT 'seq_floor', ",
            highest_seq_sql!(),
            " WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        [],
    )?;
    let mut deleted = 0;
    {
        let mut capture = tx.prepare("DELETE FROM captures WHERE seq = ?1")?;
        let mut fts = tx.prepare("DELETE FROM captures_fts WHERE rowid = ?1")?;
        let mut delivery = tx.prepare("DELETE FROM deliveries WHERE capture_seq = ?1")?;
        let mut attempts = tx.prepare("DELETE FROM attempts WHERE capture_seq = ?1")?;
        for &seq in seqs {
            if seq <= upto {
                fts.execute([seq])?;
            }
            delivery.execute([seq])?;
            attempts.execute([seq])?;
            deleted += capture.execute([seq])?;
        }
    }
    // Deletes leave tombstones in the index's segments; merging them gives the space back.
    tx.execute(
        "INSERT INTO captures_fts (captures_fts) VALUES ('optimize')",
        [],
    )?;
    tx.commit()?;
    Ok(deleted)
}

/// Build a [`Capture`] from a row selected with [`COLUMNS`].
pub(crate) fn row_to_capture(row: &rusqlite::Row<'_>) -> rusqlite::Result<Capture> {
    let headers: String = row.get(8)?;
    let body: Vec<u8> = row.get(9)?;
    let signature: String = row.get(10)?;
    let reason: Option<String> = row.get(11)?;
    let topic: Option<String> = row.get(12)?;
    let id: Option<String> = row.get(13)?;
    let app_id: Option<String> = row.get(14)?;
    let item_type: Option<String> = row.get(18)?;
    let notification = (topic.is_some() || id.is_some() || app_id.is_some() || item_type.is_some())
        .then(|| -> rusqlite::Result<Notification> {
            Ok(Notification {
                topic,
                id,
                app_id,
                created_at: row.get(15)?,
                first_sent_at: row.get(16)?,
                delivery_attempts: row.get(17)?,
                item_type,
                item_id: row.get(19)?,
            })
        })
        .transpose()?;
    let source: String = row.get(3)?;
    Ok(Capture {
        seq: row.get(0)?,
        id: row.get(1)?,
        redelivery: row.get(20)?,
        delivery: row.get(21)?,
        answered: row.get(22)?,
        request: NewCapture {
            received_at: row.get(2)?,
            source: if source == "import" {
                Source::Import
            } else {
                Source::Listen
            },
            remote_addr: row.get(4)?,
            client_addr: row.get(5)?,
            method: row.get(6)?,
            target: row.get(7)?,
            headers: headers_from_json(&headers),
            body: body.into(),
            verdict: Verdict::from_codes(&signature, reason.as_deref()),
            notification,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_without_the_bodies_and_the_rest_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_write(dir.path()).unwrap();
        conn.execute_batch(
            "INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature, topic) \
             VALUES ('01a', 5, 'listen', '-', 'POST', '/x', '[[\"Host\",\"h\"]]', zeroblob(70000), 'unchecked', 'ping')",
        )
        .unwrap();
        let f = Filter::default();
        let whole = select(&conn, &f, Order::NewestFirst, None).unwrap();
        let sized = select_sizes(&conn, &f, Order::NewestFirst, None).unwrap();
        let (light, size) = &sized[0];
        assert_eq!(*size, 70_000);
        assert!(light.request.body.is_empty());
        assert_eq!(whole[0].request.body.len(), 70_000);
        assert_eq!(
            format!(
                "{:?}",
                Capture {
                    request: NewCapture {
                        body: whole[0].request.body.slice(0..0),
                        ..whole[0].request.clone()
                    },
                    ..whole[0].clone()
                }
            ),
            format!("{light:?}")
        );
    }
}
