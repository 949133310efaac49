//! `hookcli stats`: what the store holds, per topic, verdict and day, and its size on disk.

use super::{stdout, Store};
use crate::cli::{Cli, StatsArgs};
use crate::error::Error;
use crate::render::{escape, size, style::Style};
use serde_json::{json, Map, Value};
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &StatsArgs) -> Result<(), Error> {
    let store = Store::open(cli)?;
    let group = |sql: &str| -> Result<Vec<(String, i64)>, Error> {
        let mut stmt = store.conn.prepare(sql).map_err(|e| store.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| store.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| store.err(e))
    };
    let total: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
        .map_err(|e| store.err(e))?;
    let topics = group("SELECT COALESCE(topic, '(none)'), COUNT(*) AS n FROM captures GROUP BY 1 ORDER BY n DESC, 1")?;
    let verdicts =
        group("SELECT signature, COUNT(*) AS n FROM captures GROUP BY 1 ORDER BY n DESC, 1")?;
    let days = group("SELECT date(received_at / 1000, 'unixepoch', 'localtime'), COUNT(*) FROM captures GROUP BY 1 ORDER BY 1")?;
    let bytes = store.size_on_disk();
    let mut out = stdout();
    if args.json {
        let map = |rows: &[(String, i64)]| {
            Value::Object(
                rows.iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<Map<_, _>>(),
            )
        };
        let record = json!({
            "type": "stats",
            "store": store.dir.display().to_string(),
            "captures": total,
            "size_bytes": bytes,
            "topics": map(&topics),
            "signatures": map(&verdicts),
            "days": map(&days),
        });
        writeln!(out, "{}", crate::render::json::line(&record))?;
        return Ok(out.flush()?);
    }
    let s = Style::new(crate::config::use_color(cli.color));
    writeln!(
        out,
        "{} {} in {} ({} on disk)",
        s.bold(&total.to_string()),
        if total == 1 { "capture" } else { "captures" },
        escape::path(&store.dir),
        size(bytes)
    )?;
    for (title, rows) in [
        ("topics", &topics),
        ("signatures", &verdicts),
        ("days", &days),
    ] {
        writeln!(out, "\n{}", s.bold(title))?;
        for (key, n) in rows.iter() {
            writeln!(out, "  {n:>8}  {}", escape::line(key))?;
        }
    }
    Ok(out.flush()?)
}
