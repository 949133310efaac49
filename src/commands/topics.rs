//! `hookcli topics`: the topic catalog.

use super::stdout;
use crate::cli::{Cli, TopicsArgs};
use crate::error::Error;
use crate::intercom::topics::{matching, TOPICS};
use crate::render::style::Style;
use serde_json::json;
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &TopicsArgs) -> Result<(), Error> {
    let topics = match &args.glob {
        Some(glob) => matching(glob),
        None => TOPICS.iter().collect(),
    };
    if topics.is_empty() {
        return Err(Error::Failed(format!(
            "no topic matches '{}'",
            args.glob.as_deref().unwrap_or("")
        )));
    }
    let s = Style::new(!args.json && crate::config::use_color(cli.color));
    let mut out = stdout();
    for t in topics {
        if args.json {
            let record = json!({"type": "topic", "name": t.name, "object": t.object, "permission": t.permission, "description": t.description, "legacy": t.legacy});
            writeln!(out, "{record}")?;
        } else {
            let legacy = if t.legacy { " (legacy)" } else { "" };
            writeln!(
                out,
                "{}  {:<28} {}{}",
                s.topic(t.name, &format!("{:<40}", t.name)),
                t.object,
                t.description,
                s.dim(legacy)
            )?;
            writeln!(
                out,
                "{:42}{}",
                "",
                s.dim(&format!("permission: {}", t.permission))
            )?;
        }
    }
    Ok(out.flush()?)
}
