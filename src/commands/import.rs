//! `hookcli import`: hookcli capture documents, HAR files and bare bodies into the store.

use super::stdout;
use crate::cli::{Cli, ImportArgs};
use crate::error::Error;
use crate::formats::{document, har};
use crate::render::{escape, json};
use crate::store::model::{new_id, parse_id, NewCapture};
use crate::store::{self, query, StoreError};
use serde_json::Value;
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &ImportArgs) -> Result<(), Error> {
    // Read and parse every file first, so a bad one imports nothing.
    let mut pending = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path).map_err(|e| Error::Import {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let parsed = parse(&bytes).map_err(|reason| Error::Import {
            path: path.clone(),
            reason,
        })?;
        pending.extend(parsed.into_iter().map(|c| (path.clone(), c)));
    }
    let dir = crate::config::store_dir(cli.store.as_deref())?;
    let mut conn = store::open_write(&dir)?;
    let err = |e| Error::from(StoreError::from_sqlite(&dir.join(store::DB_FILE), e));
    let tx = conn.transaction().map_err(err)?;
    let mut imported = Vec::new();
    for (path, (original, capture)) in &pending {
        // Keep the original id unless this store already has it, or it is not a hookcli id
        // (it could not be addressed, or shown safely).
        let valid = original.as_deref().and_then(parse_id);
        let (id, renamed) = match (valid, original) {
            (Some(id), _) if query::get(&tx, &id).map_err(err)?.is_none() => (id, None),
            (None, Some(bad)) => (new_id(capture.received_at), Some(bad)),
            _ => (new_id(capture.received_at), None),
        };
        let row = store::Row::new(capture.clone(), id, None);
        imported.push((store::insert(&tx, row, None).map_err(err)?, path, renamed));
    }
    tx.commit().map_err(err)?;
    while query::index_pending(&conn, 500).map_err(err)? == 500 {}
    let mut out = stdout();
    for (c, path, renamed) in &imported {
        let note = renamed.map(|bad| {
            format!(
                "its id '{}' is not a hookcli id, so it got a new one",
                escape::line(bad)
            )
        });
        if args.json {
            writeln!(out, "{}", Value::Object(json::capture(c)))?;
            if let Some(note) = note {
                eprintln!(
                    "hookcli: note: {} from {}: {note}",
                    c.short_id(),
                    path.display()
                );
            }
        } else {
            let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
            writeln!(
                out,
                "imported {} from {}{note}",
                c.short_id(),
                path.display()
            )?;
        }
    }
    Ok(out.flush()?)
}

type Parsed = (Option<String>, NewCapture);

/// One file's captures: hookcli documents (one, or JSON Lines), a HAR log, or a bare body.
fn parse(bytes: &[u8]) -> Result<Vec<Parsed>, String> {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        if document::is_document(&value) {
            return Ok(vec![document::from_value(&value)?]);
        }
        if har::is_har(&value) {
            return har::from_value(&value);
        }
        if value.get("log").is_some() {
            return Err("it has a \"log\" but no \"log.entries\", so it is not a HAR file".into());
        }
        return Ok(vec![(None, document::bare_body(bytes))]);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "it is not JSON (nor UTF-8 text)".to_string())?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return Err("the file is empty".into());
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let value: Value = serde_json::from_str(line).map_err(|e| {
                format!(
                    "it is not a hookcli capture, a HAR file or a JSON body (line {}: {e})",
                    i + 1
                )
            })?;
            if !document::is_document(&value) {
                return Err(format!("line {} is not a hookcli capture document", i + 1));
            }
            document::from_value(&value).map_err(|why| format!("line {}: {why}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_bodies_get_intercoms_headers() {
        let parsed = parse(br#"{"type":"notification_event","topic":"ping"}"#).unwrap();
        let (id, c) = &parsed[0];
        assert!(id.is_none());
        assert_eq!(c.method, "POST");
        assert_eq!(
            c.notification.as_ref().unwrap().topic.as_deref(),
            Some("ping")
        );
        assert!(c
            .headers
            .iter()
            .any(|(n, v)| n == b"user-agent" && v == b"intercom-parrot-service-client/1.0"));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse(b"").is_err());
        assert!(parse(b"not json")
            .unwrap_err()
            .contains("not a hookcli capture"));
        assert!(parse(br#"{"log":{}}"#)
            .unwrap_err()
            .contains("not a HAR file"));
        assert!(parse(b"\xff\xfe").unwrap_err().contains("not JSON"));
    }
}
