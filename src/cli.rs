//! The command-line definition (clap derive only, no I/O). Doc comments are the help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The local end of an Intercom webhook: validate, capture durably, inspect and forward.
#[derive(Debug, Parser)]
#[command(name = "hookcli", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Directory of the capture store [default: the per-user data dir, e.g. ~/.local/share/hookcli]
    #[arg(long, global = true, env = "HOOKCLI_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// When to use colour: auto (only on a terminal, and not when NO_COLOR is set), always, never
    #[arg(long, global = true, env = "HOOKCLI_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  hookcli listen                              receive on http://127.0.0.1:4665/
  HOOKCLI_SECRET=... hookcli listen           also check X-Hub-Signature
  hookcli listen --json | jq .topic           machine-readable records
  hookcli completions bash > ~/.local/share/bash-completion/completions/hookcli";

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive Intercom webhooks: answer HEAD validation, check signatures, store every request durably and print it
    Listen(ListenArgs),
    /// Print a shell completion script
    #[command(after_help = "Example:\n  hookcli completions zsh > ~/.zfunc/_hookcli")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    #[command(after_help = "Example:\n  hookcli man | man -l -")]
    Man,
}

/// `hookcli listen`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hookcli listen
  hookcli listen --port 0 --json
  HOOKCLI_SECRET=$CLIENT_SECRET hookcli listen --reject-invalid
  hookcli listen --path /webhooks/intercom --secret-file ~/.intercom-secret

Intercom needs a public HTTPS URL: expose the port with a tunnel (ngrok http 4665,
cloudflared tunnel --url http://localhost:4665) and paste that URL into Developer Hub.")]
pub struct ListenArgs {
    /// Port to listen on; 0 picks a free one
    #[arg(long, short, env = "HOOKCLI_PORT", default_value_t = 4665)]
    pub port: u16,

    /// Address to bind; anything but loopback is reachable from other machines
    #[arg(long, env = "HOOKCLI_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Path prefix to receive on; requests outside it get 404
    #[arg(long, env = "HOOKCLI_PATH", default_value = "/", value_name = "PREFIX")]
    pub path: String,

    /// Your Intercom app's client secret, to check X-Hub-Signature (never printed or stored)
    #[arg(
        long,
        env = "HOOKCLI_SECRET",
        hide_env_values = true,
        conflicts_with = "secret_file"
    )]
    pub secret: Option<String>,

    /// Read the client secret from this file (trailing newline ignored)
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Answer 401 to invalid or missing signatures, like a strict app (still stored, flagged)
    #[arg(long)]
    pub reject_invalid: bool,

    /// Largest body accepted (e.g. 10MiB, 512KiB, 2000000); larger gets 413 and is not stored
    #[arg(long, env = "HOOKCLI_MAX_BODY", default_value = "10MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_body: u64,

    /// Print one JSON object per line instead of text (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,

    /// Print every body whole, however long
    #[arg(long, conflicts_with = "compact")]
    pub full: bool,

    /// Print only the one-line summary of each request
    #[arg(long)]
    pub compact: bool,

    /// How many body lines to print before shortening
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub lines: usize,
}

/// Parse a size such as `10MiB`, `512KiB`, `1MB`, `2000000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a size; try 10MiB or 500000"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "unknown size unit '{other}'; use B, KiB, MiB or GiB"
            ))
        }
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("'{text}' is not a usable size")),
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("2000"), Ok(2000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }
}
