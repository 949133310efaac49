//! `hookcli import`: hookcli capture documents, HAR files and bare bodies into the store.

use super::stdout;
use crate::cli::{Cli, ImportArgs};
use crate::error::Error;
use crate::formats;
use crate::render::{escape, json};
use crate::store::model::{new_id, parse_id};
use crate::store::{self, query, StoreError};
use serde_json::Value;
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &ImportArgs) -> Result<(), Error> {
    // Read and parse every file first, so a bad one imports nothing.
    let mut pending = Vec::new();
    // `-` is stdin, as for most tools; it can be read only once.
    let dash = std::path::Path::new("-");
    if args.files.iter().filter(|p| *p == dash).count() > 1 {
        super::usage_error("import", "- (stdin) can be given only once");
    }
    for path in &args.files {
        let name = if path == dash {
            std::path::PathBuf::from("stdin")
        } else {
            path.clone()
        };
        let bytes = super::read_input(path).map_err(|e| Error::Import {
            path: name.clone(),
            reason: crate::error::io_words(&e),
        })?;
        let parsed = formats::read(&bytes).map_err(|reason| Error::Import {
            path: name.clone(),
            reason,
        })?;
        pending.extend(parsed.into_iter().map(|c| (name.clone(), c)));
    }
    let dir = crate::config::store_dir(cli.store.as_deref())?;
    let mut conn = store::open_write(&dir)?;
    let err = |e| Error::from(StoreError::from_sqlite(&dir.join(store::DB_FILE), e));
    // Immediate: it reads before it writes, and a read snapshot that `listen` commits past
    // could not become a write; SQLite would refuse at once instead of waiting its turn.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let (mut imported, mut skipped) = (Vec::new(), 0usize);
    for (path, (original, capture)) in &pending {
        // Keep the original id unless it is not a hookcli id (it could not be addressed, or
        // shown safely).
        let (id, renamed) = match (original.as_deref().and_then(parse_id), original) {
            // Already here (the same export imported twice, say): a copy under a new id
            // would only be a duplicate, flagged as a redelivery.
            (Some(id), _) if query::get(&tx, &id).map_err(err)?.is_some() => {
                skipped += 1;
                continue;
            }
            (Some(id), _) => (id, None),
            (None, Some(bad)) => (new_id(capture.received_at), Some(bad)),
            (None, None) => (new_id(capture.received_at), None),
        };
        let row = store::Row::new(capture.clone(), id, None);
        imported.push((store::insert(&tx, row, None).map_err(err)?, path, renamed));
    }
    tx.commit().map_err(err)?;
    while query::index_pending(&conn, 500).map_err(err)? > 0 {}
    let mut out = stdout();
    for (c, path, renamed) in &imported {
        // An id other captures share 12 characters with is shown as far as it is unique.
        let id = query::unique_prefix(&conn, &c.id).unwrap_or(c.short_id());
        let note = renamed.map(|bad| {
            format!(
                "its id '{}' is not a hookcli id, so it got a new one",
                escape::line(bad)
            )
        });
        if args.json {
            writeln!(out, "{}", json::line(&Value::Object(json::capture(c))))?;
            if let Some(note) = note {
                let from = escape::path(path);
                eprintln_lossy!("hookcli: note: {id} from {from}: {note}");
            }
        } else {
            let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
            let from = escape::path(path);
            writeln!(out, "imported {id} from {from}{note}")?;
        }
    }
    if skipped > 0 {
        let words = format!(
            "skipped {} this store already has (same id)",
            crate::render::counted(skipped as i64, "capture")
        );
        if args.json {
            eprintln_lossy!("hookcli: note: {words}");
        } else {
            writeln!(out, "{words}")?;
        }
    }
    Ok(out.flush()?)
}
