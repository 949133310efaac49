//! hookcli: the local end of an Intercom webhook. The binary is a thin shell around
//! [`run`]; each module owns one concern (see the file names).

/// `eprintln!` that never panics: a stderr that cannot be written (a full disk, a closed
/// terminal) must not change what a sender is answered or end one of listen's tasks.
macro_rules! eprintln_lossy {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // One write: stderr is unbuffered, and a line written piece by piece can be split by
        // stdout's lines when both go to one file.
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod formats;
pub mod forward;
pub mod intercom;
pub mod render;
pub mod server;
pub mod shutdown;
pub mod store;

use std::process::ExitCode;

/// Print an error as `hookcli: error: …` on stderr, escaped: messages quote file names,
/// arguments and stored values, whatever each part did already (escaping leaves escaped
/// text as it is).
pub(crate) fn report_error(e: &dyn std::fmt::Display) {
    eprintln_lossy!("hookcli: error: {}", render::escape::line(&e.to_string()));
}

/// Run a parsed command line and turn the outcome into an exit code, printing any error as
/// one sentence on stderr.
pub fn run(cli: cli::Cli) -> ExitCode {
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
