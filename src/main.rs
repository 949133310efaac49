//! The `hookcli` binary: parse the command line and hand over to the library.

fn main() -> std::process::ExitCode {
    hookcli::run(hookcli::cli::Cli::parse_with_color())
}
