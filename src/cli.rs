//! The command-line definition (clap derive), and how its messages reach the terminal.
//! Doc comments are the help text.

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

impl Cli {
    /// Parse the command line. clap's own output (usage errors, `--help`) is coloured as
    /// `--color` or `HOOKCLI_COLOR` say; left alone, clap only looks at the terminal.
    pub fn parse_with_color() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        // An empty HOOKCLI_* variable means "not set", as an empty NO_COLOR does; clap
        // would take it for an option given without its value. Still single-threaded here.
        for (name, value) in std::env::vars_os() {
            if value.is_empty() && name.to_str().is_some_and(|n| n.starts_with("HOOKCLI_")) {
                std::env::remove_var(name);
            }
        }
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let mut cmd = Cli::command().color(clap_color(&args));
        let matches = cmd
            .try_get_matches_from_mut(&args)
            .unwrap_or_else(|e| exit(e));
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| exit(e.format(&mut cmd)))
    }
}

/// Print a clap message and exit with its code: as clap would, unless the message quotes
/// something that could steer the terminal (an escape sequence pasted into an argument,
/// say); then without colour, every line escaped.
pub(crate) fn exit(e: clap::Error) -> ! {
    use crate::render::escape;
    use std::io::Write as _;
    // Plain text: clap's styling left out, and with it any escape sequence an argument
    // held, so the arguments themselves say whether clap's own printing is safe.
    let text = e.render().to_string();
    let unsafe_arg =
        std::env::args_os().any(|a| a.to_string_lossy().chars().any(escape::is_unsafe));
    if !unsafe_arg && !text.chars().any(|c| c != '\n' && escape::is_unsafe(c)) {
        e.exit()
    }
    let shown: Vec<String> = escape::multiline(&text);
    if e.use_stderr() {
        eprintln_lossy!("{}", shown.join("\n"));
    } else {
        let _ = writeln!(std::io::stdout(), "{}", shown.join("\n"));
    }
    std::process::exit(e.exit_code())
}

/// The colour asked for before clap has parsed anything: the last `--color`, else
/// `HOOKCLI_COLOR`, else auto.
pub(crate) fn clap_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut value = std::env::var("HOOKCLI_COLOR").ok();
    let mut args = args.iter().filter_map(|a| a.to_str());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--color=") {
            value = Some(v.to_string());
        } else if arg == "--color" {
            value = args.next().map(str::to_string);
        }
    }
    match value.as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    }
}

const EXAMPLES: &str = "\
Examples:
  hookcli listen                              receive on http://127.0.0.1:4665/
  HOOKCLI_SECRET=... hookcli listen           also check X-Hub-Signature
  hookcli listen --json | jq 'select(.type == \"capture\") | .intercom.topic'
                                              machine-readable records
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
    /// List captures, newest first (by receive time, or --order created), with filters
    #[command(after_help = "\
Examples:
  hookcli list
  hookcli list --topic 'conversation.*' --since 2h
  hookcli list --search jane@example.com --signature invalid
  hookcli list --json --all | jq -r .id
  hookcli list --follow                      # keep printing new captures (from another terminal)")]
    List(ListArgs),
    /// Show one capture in full: request, headers, signature verdict, Intercom fields, body
    #[command(after_help = "\
Examples:
  hookcli show 01m87                 # any unique prefix of the id
  hookcli show --last
  hookcli show 01m87 --raw > body.json   # the exact bytes received
  hookcli show 01m87 --json | jq .headers")]
    Show(ShowArgs),
    /// Export captures as hookcli JSON, HAR, curl commands or raw bodies
    #[command(after_help = "\
Examples:
  hookcli export 01m87 > capture.json
  hookcli export --topic 'ticket.*' --format har -o tickets.har
  hookcli export 01m87 --format curl --base-url http://localhost:3000
  hookcli export 01m87 --format raw -o body.json")]
    Export(ExportArgs),
    /// Import hookcli JSON captures, HAR files, or bare notification bodies into the store
    #[command(after_help = "\
Examples:
  hookcli import capture.json
  hookcli import session.har
  hookcli import payload.json        # a bare body: stored as an Intercom POST with its documented headers")]
    Import(ImportArgs),
    /// Delete captures by id, by age, or all of them
    #[command(after_help = "\
Examples:
  hookcli delete 01m87 01m88
  hookcli delete --older-than 7d --yes
  hookcli delete --all --yes")]
    Delete(DeleteArgs),
    /// Take captures out of the delivery queue, so forwarding goes on without them; they stay in the store
    #[command(after_help = "\
Examples:
  hookcli skip 01m87                 # the capture your app keeps failing on: the ones behind it go on
  hookcli skip --pending             # the whole queue, also while listen --forward-to runs
  hookcli skip 01m87 01m88           # failed ones too, so `replay --status failed` leaves them out")]
    Skip(SkipArgs),
    /// Counts per topic, signature verdict and day, and the store's size on disk
    #[command(after_help = "Examples:\n  hookcli stats\n  hookcli stats --json")]
    Stats(StatsArgs),
    /// Finish the search index and compact the store file (delete compacts already)
    #[command(after_help = "Example:\n  hookcli vacuum")]
    Vacuum,
    /// Resend captured notifications to your app, as captured or edited, correctly re-signed
    #[command(after_help = "\
Examples:
  hookcli replay 01m87                               # routed as the last --forward-to run did
  hookcli replay --last 5 --to http://localhost:3000/webhooks/intercom
  hookcli replay --status failed                      # everything forwarding gave up on
  hookcli replay 01m87 --secret \"$CLIENT_SECRET\" --set data.item.source.body='\"hello\"'
  hookcli replay 01m87 --edit --secret \"$CLIENT_SECRET\"
  hookcli replay 01m87 --as-redelivery --secret \"$CLIENT_SECRET\" --dry-run
  hookcli replay --file capture.json --to http://localhost:3000/hook")]
    Replay(ReplayArgs),
    /// Fabricate a realistic Intercom notification for any topic, signed with --secret, and send or print it
    #[command(after_help = "\
Examples:
  hookcli send ping --to http://localhost:3000/webhooks/intercom --secret \"$CLIENT_SECRET\"
  hookcli send conversation.user.replied --print | jq .data.item.source
  hookcli send ticket.created --set data.item.ticket_state.category=resolved --to http://localhost:4665/
  hookcli send contact.user.created --count 100 --rate 20 --to http://localhost:3000/hook
  hookcli send --file body.json --to http://localhost:3000/hook --secret \"$CLIENT_SECRET\"")]
    Send(SendArgs),
    /// Check whether a signature is valid for a body, and if not, why
    #[command(after_help = "\
Examples:
  hookcli verify 01m87 --secret \"$CLIENT_SECRET\"
  hookcli verify --body body.json --signature 'sha1=f67a0d05...' --secret \"$CLIENT_SECRET\"
  cat body.json | hookcli verify --body - --signature \"$SIG\" --secret-file ~/.intercom-secret")]
    Verify(VerifyArgs),
    /// List every webhook topic with its object type, the permission it needs, and what it means
    #[command(
        after_help = "Examples:\n  hookcli topics\n  hookcli topics 'ticket.*'\n  hookcli topics --json"
    )]
    Topics(TopicsArgs),
    /// Check an endpoint the way Intercom validates it: HEAD, then a signed ping within 5 s
    #[command(after_help = "\
Examples:
  hookcli check https://abc123.ngrok.app/webhooks/intercom --secret \"$CLIENT_SECRET\"
  hookcli check http://localhost:3000/webhooks/intercom --allow-http   # your app, before the tunnel")]
    Check(CheckArgs),
    /// Print a shell completion script
    #[command(after_help = "Example:\n  hookcli completions zsh > ~/.zfunc/_hookcli")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): hookcli's, or one command's
    #[command(
        after_help = "Examples:\n  hookcli man | man -l -\n  hookcli man listen > ~/.local/share/man/man1/hookcli-listen.1"
    )]
    Man {
        /// A command, for its own page (hookcli-COMMAND(1))
        command: Option<String>,
    },
}

/// `hookcli listen`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hookcli listen
  hookcli listen --port 0 --json
  HOOKCLI_SECRET=$CLIENT_SECRET hookcli listen --reject-invalid
  hookcli listen --path /webhooks/intercom --secret-file ~/.intercom-secret
  hookcli listen --forward-to http://localhost:3000/webhooks/intercom
  hookcli listen --forward-to 'ticket.*=http://localhost:3000/tickets' --forward-to http://localhost:3000/other
  hookcli listen --forward-to http://localhost:3000/hook --passthrough

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

    /// The app's client secret.
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Answer 401 to invalid or missing signatures, like a strict app (still stored, flagged)
    #[arg(long)]
    pub reject_invalid: bool,

    /// Largest body accepted (e.g. 10MiB, 512KiB, 2000000; at most 512MiB); larger gets 413 and is not stored
    #[arg(long, env = "HOOKCLI_MAX_BODY", default_value = "10MiB", value_name = "SIZE", value_parser = parse_max_body)]
    pub max_body: u64,

    /// Print one JSON object per line instead of text (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,

    /// Print every body whole, however long
    #[arg(long, conflicts_with = "compact")]
    pub full: bool,

    /// Print one line per request: its summary, ending in what needs your attention (a redelivery, a bad signature), without the body
    #[arg(long)]
    pub compact: bool,

    /// How many body lines to print before shortening (a value or line past 300 characters is cut too)
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub lines: usize,

    /// Forward each capture to your app: URL, or GLOB=URL to route by topic (repeatable; first match wins; HOOKCLI_FORWARD_TO takes several separated by spaces)
    // Spaces, not commas: a URL's query may hold commas, but never a bare space.
    #[arg(
        long,
        value_name = "[GLOB=]URL",
        env = "HOOKCLI_FORWARD_TO",
        value_delimiter = ' '
    )]
    pub forward_to: Vec<String>,

    /// Wait for the app and give the sender its answer, like a reverse proxy (default: acknowledge first, then deliver)
    #[arg(long, requires = "forward_to")]
    pub passthrough: bool,

    /// Deliveries under way at once for each target URL; above 1, arrival order is no longer kept
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256), requires = "forward_to")]
    pub concurrency: u16,

    /// Attempts per capture before it is marked failed (retryable: no answer, 5xx, 408, 429)
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100), requires = "forward_to")]
    pub max_attempts: u32,

    /// Seconds to wait for the app per attempt; 0 waits for ever (for breakpoints)
    #[arg(
        long,
        default_value_t = 30,
        value_name = "SECS",
        requires = "forward_to"
    )]
    pub forward_timeout: u64,

    /// Mark captures left undelivered by an earlier run as skipped instead of delivering them
    #[arg(long, requires = "forward_to")]
    pub skip_pending: bool,

    /// Accept a self-signed certificate from an https:// app
    #[arg(long, requires = "forward_to")]
    pub insecure: bool,

    /// Where Intercom sends from.
    #[command(flatten)]
    pub intercom_ips: IntercomIpsArgs,
}

/// Filters shared by `list` and `export`; all given filters must match.
#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Topic glob: * any run, ? one character, anything else literal; e.g. 'conversation.*' or 'ticket.admin.?eplied'
    #[arg(long, value_name = "GLOB")]
    pub topic: Option<String>,

    /// Text anywhere in the body (an email address, a conversation id, ...)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Received at or after: 15m, 2h, 3d, 1w ago, or a date/time (2026-11-24, 2026-11-24T10:00:00Z)
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<i64>,

    /// Received before: same forms as --since
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<i64>,

    /// HTTP method, e.g. POST
    #[arg(long)]
    pub method: Option<String>,

    /// Intercom workspace: the notification's app_id (or an installation health check's workspace_id)
    #[arg(long, value_name = "WORKSPACE")]
    pub app_id: Option<String>,

    /// Signature verdict recorded on arrival
    #[arg(long, value_enum)]
    pub signature: Option<SignatureFilter>,

    /// Delivery state when forwarding (listen --forward-to)
    #[arg(long, value_enum)]
    pub status: Option<DeliveryState>,
}

/// `--status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeliveryState {
    /// Waiting to be delivered (or for its next retry).
    Pending,
    /// The app answered 2xx.
    Delivered,
    /// Gave up: the app refused it, or retries ran out.
    Failed,
    /// Not delivered on purpose (no route, --skip-pending, rejected, hookcli skip).
    Skipped,
}

/// `--signature` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignatureFilter {
    /// The signature matched.
    Valid,
    /// A signature was present but wrong.
    Invalid,
    /// A secret was set but the request had no signature.
    Missing,
    /// No secret was set, so nothing was checked.
    Unchecked,
}

/// The app's client secret, for commands that check or make signatures.
#[derive(Debug, Args, Default)]
pub struct SecretArgs {
    /// Your Intercom app's client secret (never printed or stored; a trailing line break is ignored); prefer a file or HOOKCLI_SECRET, which either flag overrides
    // Not clap's `env`: clap would count HOOKCLI_SECRET as this flag, so it would conflict
    // with --secret-file instead of giving way to it. config::secret reads it.
    #[arg(long, conflicts_with = "secret_file")]
    pub secret: Option<String>,

    /// Read the client secret from this file (trailing newline ignored); overrides HOOKCLI_SECRET
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
}

/// Intercom's published IP-range feeds, for commands that mark a request from Intercom.
#[derive(Debug, Args, Default)]
pub struct IntercomIpsArgs {
    /// Intercom's IP-range feed (intercom-ip-ranges.json, downloaded), to mark requests from its INTERCOM-OUTBOUND ranges instead of the 12 addresses its docs list (repeatable; HOOKCLI_INTERCOM_IPS takes several separated by commas)
    #[arg(
        long,
        value_name = "FILE",
        env = "HOOKCLI_INTERCOM_IPS",
        value_delimiter = ','
    )]
    pub intercom_ips: Vec<PathBuf>,
}

/// `hookcli list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which captures.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Show at most N captures; without --json, stderr then says how many more match
    #[arg(
        long,
        short = 'n',
        default_value_t = 20,
        value_name = "N",
        value_parser = at_least_one,
        conflicts_with = "all"
    )]
    pub limit: usize,

    /// Show every matching capture
    #[arg(long)]
    pub all: bool,

    /// One JSON capture record per line (schema: docs/json.md)
    #[arg(long)]
    pub json: bool,

    /// Keep printing new captures as they arrive, oldest first, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Newest first by when hookcli received them, or by when Intercom created the notification (created_at: Intercom does not deliver in order), whose time the rows then show (--since and --until still go by receive time)
    #[arg(long, value_enum, default_value_t = TimeOrder::Received, conflicts_with = "follow")]
    pub order: TimeOrder,
}

/// `--order` values: by which time captures are put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeOrder {
    /// By receive time
    Received,
    /// By the notification's created_at (a capture without one: by receive time)
    Created,
}

/// `hookcli show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Capture id, or any unique prefix of it
    #[arg(required_unless_present = "last", conflicts_with = "last")]
    pub id: Option<String>,

    /// Show the newest capture
    #[arg(long)]
    pub last: bool,

    /// Write the exact body bytes and nothing else (to a terminal only if it holds no control bytes)
    #[arg(long, conflicts_with_all = ["headers", "json"])]
    pub raw: bool,

    /// Print only the headers
    #[arg(long, conflicts_with = "json")]
    pub headers: bool,

    /// The whole capture as one JSON document
    #[arg(long)]
    pub json: bool,

    /// Where Intercom sends from.
    #[command(flatten)]
    pub intercom_ips: IntercomIpsArgs,
}

/// `--format` values for `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// hookcli's capture document (what import and replay read); several: JSON Lines
    Json,
    /// An HTTP Archive 1.2 file for browser dev tools and HAR viewers
    Har,
    /// A runnable curl command per capture that reproduces the request
    Curl,
    /// The exact body bytes of one capture (to a terminal only if it holds no control bytes)
    Raw,
}

/// `hookcli export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Capture ids or unique prefixes (none: every capture the filters match)
    pub ids: Vec<String>,

    /// Which captures, when no ids are given.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,

    /// Oldest first by when hookcli received them, or by when Intercom created the notification (created_at)
    #[arg(long, value_enum, default_value_t = TimeOrder::Received)]
    pub order: TimeOrder,

    /// JSON Lines: one capture document per line, even for one capture (which --format json prints indented)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Write to FILE instead of stdout (missing directories are created; `-` is stdout)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Where the curl commands and HAR URLs point: http(s)://HOST[:PORT][/PATH], with each request's path and query appended [default: http://<the request's Host>, if a plain host[:port]]
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    pub base_url: Option<String>,
}

/// `hookcli import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// hookcli JSON capture documents or bare Intercom notification bodies (one, a JSON list or JSON Lines of them), or HAR files; `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print the imported capture records as JSON Lines
    #[arg(long)]
    pub json: bool,
}

/// `hookcli delete`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["ids", "older_than", "all"]))]
pub struct DeleteArgs {
    /// Capture ids or unique prefixes
    pub ids: Vec<String>,

    /// Delete captures received longer ago than this (e.g. 7d, 12h)
    #[arg(long, value_name = "AGE", value_parser = parse_duration_ms)]
    pub older_than: Option<i64>,

    /// Delete every capture
    #[arg(long)]
    pub all: bool,

    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

/// `hookcli skip`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["ids", "pending"]))]
pub struct SkipArgs {
    /// Capture ids or unique prefixes, pending or failed
    pub ids: Vec<String>,

    /// Every capture waiting for delivery
    #[arg(long)]
    pub pending: bool,
}

/// `hookcli replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture ids or unique prefixes
    pub ids: Vec<String>,

    /// The N newest captures (with the filters below, the N newest that match)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub last: Option<usize>,

    /// Which captures, when no ids are given.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Every capture the filters match (required when no other selection is given)
    #[arg(long)]
    pub all: bool,

    /// Replay the captures in a file instead of stored ones: whatever `hookcli import` reads (- for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ids", "last", "all"])]
    pub file: Option<PathBuf>,

    /// Send every capture here [default: route each by topic with the routes of the last listen --forward-to run; one that no route matches is not sent]
    #[arg(long, value_name = "URL", value_parser = crate::forward::parse_url)]
    pub to: Option<String>,

    /// The app's client secret.
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Send a changed body without a valid signature (X-Hub-Signature removed)
    #[arg(long)]
    pub unsigned: bool,

    /// Edit the body in $VISUAL/$EDITOR before sending
    #[arg(long)]
    pub edit: bool,

    /// Set a field before sending: dotted JSON path = JSON value or string (repeatable)
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,

    /// Add or override a header (repeatable), e.g. 'X-Debug: 1'
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Increment delivery_attempts, like an Intercom retry of the same notification
    #[arg(long)]
    pub as_redelivery: bool,

    /// Send oldest first by when hookcli received them, or by when Intercom created the notification (created_at), as it meant them to be read (it does not deliver in order)
    #[arg(long, value_enum, default_value_t = TimeOrder::Received)]
    pub order: TimeOrder,

    /// Replays under way at once; above 1, order is not kept
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Seconds to wait for each answer; 0 waits for ever
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,

    /// Print the method, URL, headers and body bytes each send would put on the wire, and send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Accept a self-signed certificate from an https:// target
    #[arg(long)]
    pub insecure: bool,

    /// One JSON record per replay, then a summary record (with --dry-run: one record per capture that would be sent, no summary)
    #[arg(long)]
    pub json: bool,
}

/// `hookcli send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The topic to fabricate (see `hookcli topics`)
    #[arg(required_unless_present = "file")]
    pub topic: Option<String>,

    /// Send your own body (with Intercom's headers and signature) instead of a fabricated one (- for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "topic")]
    pub file: Option<PathBuf>,

    /// POST it here (one of --to and --print is needed; checked after the topic, so a
    /// mistyped topic is named first)
    #[arg(long, value_name = "URL", value_parser = crate::forward::parse_url)]
    pub to: Option<String>,

    /// Write the body to stdout (with --json: the whole request as a capture document); with --to, also send it
    #[arg(long)]
    pub print: bool,

    /// With --print: the whole request as a hookcli capture document; with --to only: a
    /// JSON record of each send and a summary
    #[arg(long)]
    pub json: bool,

    /// The app's client secret.
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Set a field: dotted JSON path = JSON value or string (repeatable)
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,

    /// The workspace id (app_id) to put in the notification
    #[arg(long, value_name = "WORKSPACE")]
    pub app_id: Option<String>,

    /// The delivery_attempts to put in the body (a fabricated notification still gets a new id)
    ///
    /// A receiver sees no redelivery then: to retry an earlier notification, keep its id with
    /// `hookcli replay --as-redelivery` or --set id=…
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = crate::intercom::fabricate::parse_attempt)]
    pub attempt: i64,

    /// Send N notifications: fabricated ones each with its own id, a --file body as it is
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
    pub count: usize,

    /// At most this many per second, e.g. 20 or 20/s
    #[arg(long, value_name = "R/s", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Seconds to wait for each answer; 0 waits for ever
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,

    /// Accept a self-signed certificate
    #[arg(long)]
    pub insecure: bool,
}

/// `hookcli verify`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["id", "last", "body"]))]
pub struct VerifyArgs {
    /// A capture id (or unique prefix): its stored body and X-Hub-Signature
    pub id: Option<String>,

    /// The newest capture, as `show --last`
    #[arg(long)]
    pub last: bool,

    /// A body file, or - for stdin
    #[arg(long, value_name = "FILE", requires = "signature")]
    pub body: Option<PathBuf>,

    /// The X-Hub-Signature value to check, e.g. 'sha1=…'
    #[arg(long, value_name = "VALUE")]
    pub signature: Option<String>,

    /// The app's client secret.
    #[command(flatten)]
    pub secret: SecretArgs,

    /// One JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// `hookcli topics`.
#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// Only topics matching this glob (* any run, ? one character, anything else literal), e.g. 'ticket.*'
    pub glob: Option<String>,

    /// One JSON object per topic
    #[arg(long)]
    pub json: bool,
}

/// Parse `--rate`: `20`, `20/s` or `0.5`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .trim()
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| format!("'{text}' is not a rate; try 20/s"))?;
    if n.is_finite() && n > 0.0 {
        Ok(n)
    } else {
        Err(format!("'{text}' must be more than 0 per second"))
    }
}

/// Parse `--set PATH=VALUE` into the dotted path and the value; whether the path fits the
/// body is only known once there is a body.
pub fn parse_set(text: &str) -> Result<(String, String), String> {
    let (path, value) = text
        .split_once('=')
        .ok_or_else(|| "write it as PATH=VALUE, e.g. data.item.id='\"42\"'".to_string())?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(format!(
            "'{path}' is not a dotted path such as data.item.id"
        ));
    }
    // Meant as JSON but not valid: sent as a string, the typo would go unnoticed.
    let meant_as_json = value.trim_start().starts_with(['{', '[', '"']);
    if meant_as_json && serde_json::from_str::<serde::de::IgnoredAny>(value).is_err() {
        return Err(format!(
            "'{value}' starts like JSON but is not valid JSON; to send it as a string, write it as a JSON string (e.g. '\"{{\"')"
        ));
    }
    Ok((path.to_string(), value.to_string()))
}

/// Parse `export --base-url`: an http(s) URL with a host and no query or fragment, since
/// each request's own path and query are appended to it; returned without a final `/`.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let url = crate::forward::parse_url(text)?;
    if reqwest::Url::parse(&url).is_ok_and(|u| u.query().is_some()) {
        return Err(format!(
            "'{text}' has a ?query, but each request's own path and query are appended to it; remove it"
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `hookcli check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The endpoint URL you would paste into Developer Hub
    #[arg(value_parser = crate::forward::parse_url)]
    pub url: String,

    /// The app's client secret.
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Accept http:// (to check your app locally before the HTTPS tunnel); Intercom itself requires HTTPS
    #[arg(long)]
    pub allow_http: bool,

    /// Talk to an endpoint with a self-signed certificate; the certificate is then unverified, so the verdict fails (Intercom needs a publicly trusted one)
    #[arg(long)]
    pub insecure: bool,

    /// One JSON record per step, then a verdict record
    #[arg(long)]
    pub json: bool,
}

/// `hookcli stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// One JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Parse a duration such as `15m`, `2h`, `3d`, `1w`, `30s` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; try 15m, 2h or 7d"))?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => {
            return Err(format!(
                "'{text}' is not a duration; use s, m, h, d or w, e.g. 15m"
            ))
        }
    };
    n.checked_mul(unit_ms)
        .ok_or_else(|| format!("'{text}' is too long a duration"))
}

/// Parse `--since`/`--until`: a duration ago, or a date or date-time; Unix milliseconds.
pub fn parse_when(text: &str) -> Result<i64, String> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    if let Ok(ago) = parse_duration_ms(text) {
        return Ok(Local::now().timestamp_millis() - ago);
    }
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.timestamp_millis())
    };
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return local(naive).ok_or_else(|| {
                format!("'{text}' does not exist in your time zone (the clocks skipped it); give the time after the change, or a UTC time such as 2026-03-08T10:30:00Z")
            });
        }
    }
    if let Some(ms) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(local)
    {
        return Ok(ms);
    }
    Err(format!("'{text}' is neither a duration (15m, 2h, 7d) nor a date (2026-11-24, 2026-11-24T10:00:00Z)"))
}

/// A count, 1 or more (0 captures would only ever say that nothing matched; 0 sends, that
/// nothing was sent).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("'{text}' is too large (at most {})", usize::MAX))
        }
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// The largest `--max-body`: SQLite holds a value of at most 1 GB, and a body is one value
/// (base64 in an export makes it a third larger again).
const MAX_BODY_CAP: u64 = 512 * 1024 * 1024;

/// `--max-body`: a [`parse_size`] the store can hold.
pub fn parse_max_body(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes > MAX_BODY_CAP {
        return Err(format!(
            "'{text}' is more than the store can keep in one capture; the largest --max-body is 512MiB"
        ));
    }
    Ok(bytes)
}

/// A size such as 10MiB, 512 KiB, 1.5MB or 2000 (bytes), in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    // Decimals are fine (1.5MiB) as long as the result is a whole number of bytes.
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| format!("'{text}' is not a size; try 10MiB or 500000"))?;
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
    let bytes = (n * mult as f64).round();
    if bytes < 1.0 || bytes >= u64::MAX as f64 {
        return Err(format!("'{text}' is not a usable size"));
    }
    Ok(bytes as u64)
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
    fn durations_and_times() {
        assert_eq!(parse_duration_ms("15m"), Ok(900_000));
        assert_eq!(parse_duration_ms("7d"), Ok(604_800_000));
        assert!(parse_duration_ms("7 days").is_err());
        let now = chrono::Local::now().timestamp_millis();
        let two_hours_ago = parse_when("2h").unwrap();
        assert!((now - 7_200_000 - two_hours_ago).abs() < 5_000);
        assert_eq!(parse_when("2026-11-24T10:00:00Z"), Ok(1_795_514_400_000));
        assert!(parse_when("2026-11-24").is_ok());
        assert!(parse_when("yesterday").is_err());
    }

    #[test]
    fn set_fields() {
        assert_eq!(
            parse_set(" data.item.id =a=b"),
            Ok(("data.item.id".into(), "a=b".into()))
        );
        assert!(parse_set("nokey").unwrap_err().contains("PATH=VALUE"));
        assert!(parse_set("=v").unwrap_err().contains("not a dotted path"));
        assert!(parse_set("data..id=v").is_err());
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("http://h:3000/x/"),
            Ok("http://h:3000/x".into())
        );
        assert!(parse_base_url("notaurl").unwrap_err().contains("not a URL"));
        assert!(parse_base_url("ftp://h/").is_err());
        assert!(parse_base_url("http://h/x?y=1")
            .unwrap_err()
            .contains("?query"));
        assert!(parse_base_url("http://h/x#top")
            .unwrap_err()
            .contains("#fragment"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("2000"), Ok(2000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("2.5MB"), Ok(2_500_000));
        assert!(parse_size("-1").is_err());
        assert_eq!(parse_max_body("512MiB"), Ok(MAX_BODY_CAP));
        assert!(parse_max_body("513MiB")
            .unwrap_err()
            .contains("the largest --max-body is 512MiB"));
        assert!(parse_size("1.2.3KiB").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }
}
