//! One module per subcommand; [`run`] dispatches.

mod listen;

use crate::cli::{Cli, Command};
use crate::error::Error;
use clap::CommandFactory;

/// Run the parsed command line to completion.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Listen(ref args) => listen::run(&cli, args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hookcli",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}
