//! `hookcli skip`: take captures out of the delivery queue without deleting them.

use super::Store;
use crate::cli::{Cli, SkipArgs};
use crate::error::Error;
use crate::render::counted;
use crate::store::delivery;
use crate::store::query::{self, Filter};

pub(super) fn run(cli: &Cli, args: &SkipArgs) -> Result<(), Error> {
    let mut store = Store::open_change(cli)?;
    let filter = if args.pending {
        Filter {
            status: Some("pending".into()),
            ..Filter::default()
        }
    } else {
        Filter {
            ids: store.resolve(&args.ids)?,
            ..Filter::default()
        }
    };
    let seqs = query::select_seqs(&store.conn, &filter).map_err(|e| store.err(e))?;
    if seqs.is_empty() && args.pending {
        eprintln_lossy!("hookcli: nothing to skip: no capture is waiting for delivery");
        return Ok(());
    }
    let now = chrono::Utc::now();
    let note = format!(
        "skipped with `hookcli skip` at {}",
        now.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
    );
    let found = delivery::skip(&mut store.conn, &seqs, &note, now.timestamp_millis())
        .map_err(|e| store.err(e))?;
    // Named, but deleted by another hookcli between the lookup and the skip.
    let gone = (seqs.len() - found.len()) as i64;
    let (mut queued, mut failed) = (0, 0);
    let mut problems = Vec::new();
    if gone > 0 && !args.pending {
        problems.push(format!(
            "{} named {} deleted meanwhile, by another hookcli",
            counted(gone, "capture"),
            if gone == 1 { "was" } else { "were" }
        ));
    }
    for (id, was) in found {
        match was.as_deref() {
            Some("pending") => queued += 1,
            Some("failed") => failed += 1,
            Some("skipped") => eprintln_lossy!("hookcli: {id} was skipped already"),
            // Its sender gets the app's answer, whatever becomes of it; no queue holds it.
            Some("waiting") if args.pending => {}
            Some("waiting") => problems.push(format!(
                "{id} is a --passthrough request whose sender is waiting for your app's answer: it is in no queue, so there is nothing to skip"
            )),
            // Delivered by a running listen between the queue's read above and the skip.
            Some(_) if args.pending => {}
            Some(state) => problems.push(format!("{id} is {state} already: nothing to skip")),
            None => problems.push(format!(
                "{id} has no delivery to skip: it was not captured by `listen --forward-to`"
            )),
        }
    }
    let skipped = queued + failed;
    if queued > 0 {
        eprintln_lossy!(
            "hookcli: skipped {}: `listen --forward-to` does not deliver {} (a running one goes on with the next); `hookcli replay` still sends {1}",
            counted(skipped, "capture"),
            crate::render::them(skipped)
        );
    } else if failed > 0 {
        eprintln_lossy!(
            "hookcli: skipped {}: `replay --status failed` leaves {} out; `hookcli replay ID` still sends {1}",
            counted(failed, "capture"),
            crate::render::them(failed)
        );
    } else if args.pending {
        eprintln_lossy!("hookcli: nothing to skip: no capture is waiting for delivery");
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(Error::Failed(problems.remove(0))),
        n => {
            for problem in &problems {
                eprintln_lossy!("hookcli: {problem}");
            }
            Err(Error::Failed(format!(
                "{} could not be skipped, as said above",
                counted(n as i64, "capture")
            )))
        }
    }
}
