//! `hookcli delete`: remove captures by id, by age, or all, then shrink the file.

use super::Store;
use crate::cli::{Cli, DeleteArgs};
use crate::error::Error;
use crate::store::query::{self, Filter};
use std::io::{BufRead, IsTerminal, Write};

pub(super) fn run(cli: &Cli, args: &DeleteArgs) -> Result<(), Error> {
    let mut store = Store::open_change(cli)?;
    let mut filter = Filter {
        ids: store.resolve(&args.ids)?,
        ..Filter::default()
    };
    if let Some(age) = args.older_than {
        filter.until = Some(chrono::Utc::now().timestamp_millis() - age);
    }
    let seqs = query::select_seqs(&store.conn, &filter).map_err(|e| store.err(e))?;
    if seqs.is_empty() {
        return Err(store.nothing_found(&filter));
    }
    let what = format!(
        "{} capture{}",
        seqs.len(),
        if seqs.len() == 1 { "" } else { "s" }
    );
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::NotConfirmed(format!(
                "refusing to delete {what} without --yes, because there is no terminal to confirm on"
            )));
        }
        let _ = write!(
            std::io::stderr(),
            "Delete {what} from {}? [y/N] ",
            store.dir.display()
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::NotConfirmed("nothing deleted".into()));
        }
    }
    let deleted = query::delete(&mut store.conn, &seqs).map_err(|e| store.err(e))?;
    // Give the space back; if a reader holds the file open right now, say how to do it later.
    let shrunk = store.vacuum().is_ok();
    eprintln_lossy!(
        "hookcli: deleted {deleted} capture{}{}",
        if deleted == 1 { "" } else { "s" },
        if shrunk {
            ""
        } else {
            "; the file will shrink on `hookcli vacuum` once the store is idle"
        }
    );
    Ok(())
}
