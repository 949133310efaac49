//! One module per subcommand; [`run`] dispatches.

mod check;
mod delete;
mod export;
mod import;
mod list;
mod listen;
mod replay;
mod send;
mod show;
mod skip;
mod stats;
mod topics;
mod verify;

use crate::cli::{Cli, Command, FilterArgs};
use crate::error::Error;
use crate::store::{self, query, StoreError};
use clap::CommandFactory;
use rusqlite::Connection;
use std::path::PathBuf;

/// Run the parsed command line to completion.
pub fn run(mut cli: Cli) -> Result<(), Error> {
    if let Command::Listen(args) = &mut cli.command {
        // HOOKCLI_FORWARD_TO is split at every space, so "a  b " yields empty items. Only
        // blanks (`--forward-to ''`) stay, to be refused as not a URL.
        if args.forward_to.iter().any(|route| !route.is_empty()) {
            args.forward_to.retain(|route| !route.is_empty());
        }
    }
    match cli.command {
        Command::Listen(ref args) => listen::run(&cli, args),
        Command::List(ref args) => list::run(&cli, args),
        Command::Show(ref args) => show::run(&cli, args),
        Command::Export(ref args) => export::run(&cli, args),
        Command::Import(ref args) => import::run(&cli, args),
        Command::Delete(ref args) => delete::run(&cli, args),
        Command::Skip(ref args) => skip::run(&cli, args),
        Command::Stats(ref args) => stats::run(&cli, args),
        Command::Replay(ref args) => replay::run(&cli, args),
        Command::Check(ref args) => check::run(&cli, args),
        Command::Send(ref args) => send::run(&cli, args),
        Command::Verify(ref args) => verify::run(&cli, args),
        Command::Topics(ref args) => topics::run(&cli, args),
        Command::Vacuum => {
            let store = Store::open_change(&cli)?;
            store.finish_index().map_err(|e| store.err(e))?;
            let before = store.size_on_disk();
            store.vacuum().map_err(|e| store.err(e))?;
            let mut out = stdout();
            use std::io::Write as _;
            writeln!(
                out,
                "{}: {} on disk, {} before",
                crate::render::escape::path(&store.dir),
                crate::render::size(store.size_on_disk()),
                crate::render::size(before)
            )?;
            Ok(out.flush()?)
        }
        Command::Completions { shell } => {
            // clap_complete panics on a failed write (`| head`); write it out ourselves.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hookcli", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(())
        }
        Command::Man { ref command } => {
            let mut cli = Cli::command();
            // Built, so each command's usage reads `hookcli listen`, not `listen`.
            cli.build();
            let page = match command {
                None => cli,
                Some(name) => {
                    let Some(sub) = cli.find_subcommand(name) else {
                        let names: Vec<&str> = cli
                            .get_subcommands()
                            .map(clap::Command::get_name)
                            .filter(|n| *n != "help")
                            .collect();
                        usage_error(
                            "man",
                            &format!("there is no command '{name}'; one of: {}", names.join(", ")),
                        );
                    };
                    // Building named it `hookcli-NAME`, its page's title.
                    sub.clone()
                }
            };
            let mut roff = Vec::new();
            // Every page's footer names the program and its version, a command's page too.
            clap_mangen::Man::new(page)
                .source(format!("hookcli {}", env!("CARGO_PKG_VERSION")))
                .render(&mut roff)?;
            std::io::Write::write_all(&mut std::io::stdout(), &roff)?;
            Ok(())
        }
    }
}

/// A file's bytes, or stdin's for `-`, as most tools take it.
fn read_input(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if path == std::path::Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

/// Exit with a usage error (2) that shows `command`'s own usage, for mistakes clap cannot
/// see (flags that only conflict in their values, a path with a query, ...).
fn usage_error(command: &str, message: &str) -> ! {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cli = Cli::command().color(crate::cli::clap_color(&args));
    // Built, so the usage line reads `hookcli listen`, not `listen`.
    cli.build();
    let mut sub = cli
        .find_subcommand_mut(command)
        .expect("a subcommand of hookcli")
        .clone();
    // Messages quote arguments: escaped here, so an escape sequence shows as `\x1b`.
    let message = crate::render::escape::line(message);
    crate::cli::exit(sub.error(clap::error::ErrorKind::ArgumentConflict, message))
}

/// An open store for the read-side commands.
struct Store {
    conn: Connection,
    dir: PathBuf,
}

impl Store {
    /// The newest capture (`show --last`, `verify --last`).
    fn newest(&self) -> Result<crate::store::model::Capture, Error> {
        let all = store::query::Filter::default();
        store::query::select(&self.conn, &all, store::query::Order::NewestFirst, Some(1))
            .map_err(|e| self.err(e))?
            .pop()
            .ok_or_else(|| self.nothing_found(&all))
    }

    fn open(cli: &Cli) -> Result<Store, Error> {
        let dir = crate::config::store_dir(cli.store.as_deref())?;
        Ok(Store {
            conn: store::open_read(&dir)?,
            dir,
        })
    }

    /// Open the store to change it (`delete`, `skip`, `vacuum`): one this user may only
    /// read says so at once.
    fn open_change(cli: &Cli) -> Result<Store, Error> {
        let dir = crate::config::store_dir(cli.store.as_deref())?;
        Ok(Store {
            conn: store::open_change(&dir)?,
            dir,
        })
    }

    /// The bytes the store's files take: the database, its log and its shared memory.
    fn size_on_disk(&self) -> u64 {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                std::fs::metadata(self.dir.join(format!("{}{suffix}", store::DB_FILE))).ok()
            })
            .map(|m| m.len())
            .sum()
    }

    /// Rewrite the file without free pages. In WAL mode the rewrite lands in the WAL, so
    /// a checkpoint afterwards is what actually shrinks the database file.
    fn vacuum(&self) -> rusqlite::Result<()> {
        self.conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
    }

    /// Bring the search index up to date (listen only indexes when idle).
    fn finish_index(&self) -> rusqlite::Result<()> {
        while query::index_pending(&self.conn, 1000)? > 0 {}
        Ok(())
    }

    /// Turn a SQLite error into the store's one-sentence error.
    fn err(&self, e: rusqlite::Error) -> Error {
        StoreError::from_sqlite(&self.dir.join(store::DB_FILE), e).into()
    }

    /// Resolve id prefixes to full ids, failing on unknown or ambiguous ones.
    fn resolve(&self, prefixes: &[String]) -> Result<Vec<String>, Error> {
        prefixes
            .iter()
            .map(
                |p| match query::resolve(&self.conn, p).map_err(|e| self.err(e))? {
                    query::Lookup::Found(id) => Ok(id),
                    query::Lookup::Unknown => Err(Error::UnknownId(p.clone())),
                    query::Lookup::Ambiguous(ids) => Err(Error::AmbiguousId {
                        prefix: p.clone(),
                        candidates: ids
                            .iter()
                            .take(10)
                            // As far as each differs from the others, as git shows them.
                            .map(|i| query::unique_prefix(&self.conn, i).unwrap_or(i))
                            .collect::<Vec<_>>()
                            .join(", ")
                            + if ids.len() > 10 { ", ..." } else { "" },
                    }),
                },
            )
            .collect()
    }

    /// The "nothing found" error for a selection by `filter` that came back empty: an empty
    /// store says so, otherwise the filters matched nothing. Without filters the selection
    /// itself saw an empty store; counting again could see a capture that arrived since.
    fn nothing_found(&self, filter: &query::Filter) -> Error {
        if filter.is_empty() {
            return Error::EmptyStore(self.dir.clone());
        }
        match query::count(&self.conn) {
            Ok(0) => Error::EmptyStore(self.dir.clone()),
            _ => Error::NoMatch,
        }
    }
}

/// The store filter for a set of `command`'s filter flags; a time range that holds no
/// moment is a usage error, not "no captures match".
fn filter(args: &FilterArgs, command: &str) -> query::Filter {
    if let (Some(since), Some(until)) = (args.since, args.until) {
        if until <= since {
            usage_error(
                command,
                "--until is not after --since, so no capture could match: swap them, or widen the range",
            );
        }
    }
    query::Filter {
        topic: args.topic.clone(),
        search: args.search.clone(),
        since: args.since,
        until: args.until,
        method: args.method.clone(),
        app_id: args.app_id.clone(),
        signature: args
            .signature
            .map(|s| format!("{s:?}").to_ascii_lowercase()),
        status: args.status.map(|s| format!("{s:?}").to_ascii_lowercase()),
        ..query::Filter::default()
    }
}

/// Buffered stdout; a closed pipe surfaces as `BrokenPipe`, which exits quietly.
fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

/// Refuse to write a body's exact bytes to a terminal when they hold what the terminal
/// would act on (escape sequences, other controls, invalid UTF-8, bidi controls): `what`
/// names the option, e.g. `show --raw`. A file or a pipe gets the bytes as they are.
fn raw_to_terminal(body: &[u8], what: &str) -> Result<(), Error> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && crate::render::escape::unsafe_for_terminal(body) {
        return Err(Error::Failed(format!(
            "{what} would write control bytes that can mess up your terminal: redirect it to a file (> body.bin) or pipe it (| xxd)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfiltered_selection_that_found_nothing_saw_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            conn: store::open_write(dir.path()).unwrap(),
            dir: dir.path().to_path_buf(),
        };
        // The first capture lands between the selection and the error: a reader racing the
        // first listen used to say "no captures match these filters" to a bare `list`.
        store
            .conn
            .execute_batch(
                "INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature, topic) \
                 VALUES ('01a', 5, 'listen', '-', 'POST', '/x', '[]', x'', 'unchecked', 'ping')",
            )
            .unwrap();
        let all = query::Filter::default();
        assert!(matches!(store.nothing_found(&all), Error::EmptyStore(_)));
        let pings = query::Filter {
            topic: Some("ping".into()),
            ..all
        };
        assert!(matches!(store.nothing_found(&pings), Error::NoMatch));
    }
}
