//! The `hookcli` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    hookcli::run(hookcli::cli::Cli::parse())
}
