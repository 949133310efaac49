//! `hookcli list`: captures newest first (received or created), filtered; `--follow` keeps
//! printing new ones.

use super::{filter, stdout, Store};
use crate::cli::{Cli, ListArgs, TimeOrder};
use crate::error::Error;
use crate::render::{json, row::row, style::Style};
use crate::store::model::Capture;
use crate::store::query::{self, Order};
use std::io::Write;
use std::time::Duration;

/// How often `--follow` looks for new captures.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Whether stdout is a pipe nobody reads any more. A write would say so too, but `--follow`
/// may have nothing to write for a long time.
#[cfg(unix)]
fn reader_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

#[cfg(not(unix))]
fn reader_gone() -> bool {
    false
}

pub(super) fn run(cli: &Cli, args: &ListArgs) -> Result<(), Error> {
    let store = Store::open(cli)?;
    let style = Style::new(!args.json && crate::config::use_color(cli.color));
    let mut f = filter(&args.filter, "list");
    let limit = (!args.all).then_some(args.limit);
    let created = args.order == TimeOrder::Created;
    let order = if created {
        Order::CreatedNewestFirst
    } else {
        Order::NewestFirst
    };
    let mut out = stdout();
    let print = |out: &mut dyn Write, (c, body_size): &(Capture, u64)| -> std::io::Result<()> {
        if args.json {
            writeln!(
                out,
                "{}",
                json::line(&serde_json::Value::Object(json::capture(c)))
            )
        } else {
            // An id other captures share 12 characters with is shown as far as it is unique.
            let id = query::unique_prefix(&store.conn, &c.id).unwrap_or(c.short_id());
            writeln!(out, "{}", row(c, id, *body_size, created, style))
        }
    };
    let (mut captures, mut last_seq) =
        snapshot(&store.conn, &f, order, limit, args.json).map_err(|e| store.err(e))?;
    if !args.follow {
        if captures.is_empty() {
            return Err(store.nothing_found(&f));
        }
        for c in &captures {
            print(&mut out, c)?;
        }
        out.flush()?;
        // Only in text: a script reading --json asked for what it got, and a line on
        // stderr there is one more thing to filter out.
        if !args.json && limit == Some(captures.len()) {
            let total = query::count_matching(&store.conn, &f).map_err(|e| store.err(e))?;
            let more = total - captures.len() as i64;
            if more > 0 {
                let (noun, verb) = if more == 1 {
                    ("capture", "matches")
                } else {
                    ("captures", "match")
                };
                eprintln_lossy!(
                    "hookcli: {more} more {noun} {verb}; pass --all or --limit N to see them"
                );
            }
        }
        return Ok(());
    }
    // Following reads like `tail -f`: the latest matches in arrival order, then new ones.
    captures.reverse();
    loop {
        for c in &captures {
            print(&mut out, c)?;
        }
        out.flush()?;
        std::thread::sleep(FOLLOW_POLL);
        if reader_gone() {
            return Ok(()); // `list --follow | head` is done: quietly, like a closed pipe
        }
        f.after_seq = Some(last_seq);
        let newest;
        (captures, newest) = snapshot(&store.conn, &f, Order::OldestFirst, None, args.json)
            .map_err(|e| store.err(e))?;
        // Past non-matching arrivals too, so they are not scanned again.
        last_seq = last_seq.max(newest);
    }
}

/// The captures `f` selects, each with its body's size, and the newest arrival number, read
/// in one snapshot: a capture committed between two separate reads would be counted as
/// seen but never printed. Only JSON lines need the bodies themselves.
fn snapshot(
    conn: &rusqlite::Connection,
    f: &query::Filter,
    order: Order,
    limit: Option<usize>,
    bodies: bool,
) -> rusqlite::Result<(Vec<(Capture, u64)>, i64)> {
    let tx = conn.unchecked_transaction()?;
    let captures = if bodies {
        let all = query::select(&tx, f, order, limit)?;
        all.into_iter()
            .map(|c| {
                let size = c.request.body.len() as u64;
                (c, size)
            })
            .collect()
    } else {
        query::select_sizes(&tx, f, order, limit)?
    };
    let newest = query::newest_seq(&tx)?;
    tx.commit()?;
    Ok((captures, newest))
}
