//! `hookcli replay`: resend captures to the app, as captured or edited, correctly signed.

use super::{filter, stdout, Store};
use crate::cli::{Cli, ReplayArgs, TimeOrder};
use crate::config;
use crate::error::Error;
use crate::formats::{self, splice};
use crate::forward::{self, is_hop_by_hop, queue, Class, Via};
use crate::intercom::signature::{self, Scheme};
use crate::render::{escape, json::rfc3339, style::Style};
use crate::store::delivery::{self, Attempt};
use crate::store::model::{bytes_json, parse_id, sort_by_created, Capture, Header};
use crate::store::query::{self, Order};
use crate::store::{self, StoreError};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) fn run(cli: &Cli, args: &ReplayArgs) -> Result<(), Error> {
    if args.as_redelivery
        && args
            .sets
            .iter()
            .any(|(path, _)| path == "delivery_attempts")
    {
        super::usage_error(
            "replay",
            "--as-redelivery sets delivery_attempts itself: leave out --set delivery_attempts=N, or --as-redelivery",
        );
    }
    let secret = config::secret(&args.secret)?;
    let overrides = header_overrides(args, secret.is_some())
        .unwrap_or_else(|e| super::usage_error("replay", &e));
    let dir = config::store_dir(cli.store.as_deref())?;
    let (mut captures, store) = select(cli, args)?;
    if args.order == TimeOrder::Created {
        sort_by_created(&mut captures);
    }
    let recorded = store.is_some();
    let conn = store.as_ref().map(|s| &s.conn);
    let targets = targets(args, &dir, conn)?;
    let mut outgoing = Vec::with_capacity(captures.len());
    let mut unrouted = Vec::new();
    for c in captures {
        match targets.of(&c) {
            Ok(url) => outgoing.push((prepare(&c, args, secret.as_ref(), &overrides)?, url)),
            Err(not_routed) => unrouted.push((c, not_routed)),
        }
    }
    // As `send` says: Intercom signs a Developer Hub app's notifications, and an app that checks refuses one
    // without (a bare body read from a file has none, nor has an unsigned capture).
    let unsigned = outgoing
        .iter()
        .filter(|(c, _)| {
            // After `prepare`: a signature given with --header is among the headers.
            let r = &c.request;
            r.notification.is_some()
                && crate::formats::header(&r.headers, r.scheme().header()).is_none()
        })
        .count();
    if unsigned > 0 && secret.is_none() && !args.unsigned {
        let carry = if unsigned == 1 { "carries" } else { "carry" };
        eprintln_lossy!("hookcli: warning: {unsigned} of these notifications {carry} no signature and no --secret, --secret-file or HOOKCLI_SECRET was given to sign them, so they are sent without one, which an app that verifies signatures refuses");
    }
    let style = Style::new(!args.json && config::use_color(cli.color));
    let mut out = stdout();
    for (c, NotRouted { kind, why }) in &unrouted {
        if args.json {
            writeln!(
                out,
                "{}",
                crate::render::json::line(&not_sent(c, kind, why))
            )?;
        } else {
            let what = style.bad(&format!("✗ not sent: {why}"));
            writeln!(
                out,
                "{} {} {what}",
                style.id(c.short_id()),
                escape::line(&c.request.method)
            )?;
        }
    }
    let not_sent_error = |failed: usize, total: usize| {
        let mut why = Vec::new();
        if failed > 0 {
            why.push(format!("{failed} of {total} replays did not get a 2xx"));
        }
        if !unrouted.is_empty() {
            why.push(format!(
                "{} could not be routed by the last listen --forward-to's routes and {} not sent (pass --to to send {} anyway)",
                unrouted.len(),
                if unrouted.len() == 1 { "was" } else { "were" },
                if unrouted.len() == 1 { "it" } else { "them" },
            ));
        }
        (!why.is_empty()).then(|| Error::Failed(why.join("; ")))
    };
    if args.dry_run {
        // The attempt number the real send would carry in X-Hookcli-Attempt.
        for (c, url) in &outgoing {
            let attempt = conn
                .and_then(|conn| delivery::next_replay(conn, c.seq).ok())
                .unwrap_or(1);
            if args.json {
                let record = dry_run_record(c, url, attempt);
                writeln!(out, "{}", crate::render::json::line(&record))?;
            } else {
                dry_run(&mut out, c, url, attempt, style)?;
            }
        }
        out.flush()?;
        return not_sent_error(0, outgoing.len()).map_or(Ok(()), Err);
    }
    let db = match recorded.then(|| open_for_records(&dir)).transpose() {
        Ok(db) => db.map(|conn| Arc::new(Mutex::new(conn))),
        // Replaying only needs to read the store (an archived copy, say); say what is lost.
        Err(Error::Store(StoreError::NotWritable { dir, reason })) => {
            eprintln_lossy!(
                "hookcli: warning: cannot write to the store {} ({reason}), so these replays are sent but not recorded as attempts",
                dir.display()
            );
            None
        }
        Err(Error::Store(StoreError::ReadOnlyFile(path))) => {
            eprintln_lossy!(
                "hookcli: warning: cannot write to the store {} ({} is read-only for this user), so these replays are sent but not recorded as attempts",
                dir.display(),
                path.display()
            );
            None
        }
        Err(e) => return Err(e),
    };
    let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
    let client = forward::client(forward::ClientOptions {
        timeout,
        insecure: args.insecure,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let total = outgoing.len();
    let progress = total > 1 && !args.json && std::io::stderr().is_terminal();
    let results = runtime.block_on(send_all(
        outgoing,
        client,
        db,
        usize::from(args.concurrency),
        progress,
        format!("the replay timeout (--timeout {})", args.timeout).into(),
    ));
    if progress {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    let (mut ok, mut failed) = (0, 0);
    for (c, answer) in &results {
        if answer.class() == Class::Delivered {
            ok += 1;
        } else {
            failed += 1;
        }
        if args.json {
            writeln!(out, "{}", crate::render::json::line(&record(c, answer)))?;
        } else {
            writeln!(out, "{}", line(c, answer, style))?;
        }
    }
    let skipped = unrouted.len();
    if args.json {
        writeln!(
            out,
            "{}",
            crate::render::json::line(&json!({
                "type": "replay_summary",
                "sent": total,
                "ok": ok,
                "failed": failed,
                "not_sent": skipped
            }))
        )?;
    } else if skipped > 0 {
        writeln!(
            out,
            "replayed {total}: {ok} answered 2xx, {failed} failed; {skipped} not sent"
        )?;
    } else {
        writeln!(out, "replayed {total}: {ok} answered 2xx, {failed} failed")?;
    }
    out.flush()?;
    not_sent_error(failed, total).map_or(Ok(()), Err)
}

/// Where replays go: one `--to` URL for all, or the routes the last `listen --forward-to`
/// recorded, which route each capture by its topic as forwarding did.
enum Targets {
    /// `--to`.
    To(String),
    /// The recorded routes, in order (the first match wins), and that run's `--path`
    /// (unknown in stores from before it was recorded: each capture's query is added, as
    /// for `--to`).
    Recorded(Vec<forward::Route>, Option<String>),
}

impl Targets {
    /// The URL a capture goes to (a recorded route's as forwarding built it), or why it is
    /// not sent. A route whose password the store does not keep is a usage error: the user
    /// must pass `--to`.
    fn of(&self, c: &Capture) -> Result<String, NotRouted> {
        let (routes, prefix) = match self {
            Targets::To(to) => return Ok(replay_url(to, &c.request.target)),
            Targets::Recorded(routes, prefix) => (routes, prefix),
        };
        let topic = c.request.topic();
        let Some(route) = forward::route(routes, topic) else {
            let why = match topic {
                Some(topic) => format!(
                    "no route the last listen --forward-to recorded matches topic {}",
                    escape::line(topic)
                ),
                None => "no route the last listen --forward-to recorded takes a request that is not an Intercom notification".into(),
            };
            return Err(NotRouted {
                kind: "no_route",
                why,
            });
        };
        // The store keeps a route URL's password only as the redaction mark.
        if reqwest::Url::parse(&route.url).is_ok_and(|u| u.password() == Some(forward::REDACTED)) {
            // usage_error escapes the message.
            super::usage_error("replay", &format!(
                "the --forward-to route {} had a password, which hookcli does not store: pass --to with the whole URL",
                route.shown()
            ));
        }
        match prefix {
            Some(prefix) => {
                forward::target_url(&route.url, prefix, &c.request.target).map_err(|why| {
                    NotRouted {
                        kind: forward::UNSENDABLE,
                        why,
                    }
                })
            }
            None => Ok(replay_url(&route.url, &c.request.target)),
        }
    }
}

/// Why the recorded routes give a capture no URL: an `error_kind` and a sentence.
struct NotRouted {
    /// `no_route` (no route takes its topic) or `path` (its path leads outside the route's,
    /// as for forwarding).
    kind: &'static str,
    /// The sentence shown.
    why: String,
}

/// `--to`, else the routes the store recorded, else the failure that says to pass `--to`.
fn targets(
    args: &ReplayArgs,
    dir: &Path,
    conn: Option<&rusqlite::Connection>,
) -> Result<Targets, Error> {
    // `--to` was checked as a URL when the arguments were parsed.
    if let Some(to) = &args.to {
        return Ok(Targets::To(to.clone()));
    }
    let (routes, prefix) = recorded_routes(dir, conn)?;
    if routes.is_empty() {
        super::usage_error(
            "replay",
            "no target: pass --to URL (this store has no --forward-to URL recorded yet)",
        );
    }
    Ok(Targets::Recorded(routes, prefix))
}

/// The routes of the last `listen --forward-to` run and its `--path`, read through `conn`
/// (the store's, opened here for `--file`); a store written before routes were recorded
/// has only its one URL, which takes every capture.
fn recorded_routes(
    dir: &Path,
    conn: Option<&rusqlite::Connection>,
) -> Result<(Vec<forward::Route>, Option<String>), Error> {
    let opened;
    let conn = match conn {
        Some(conn) => conn,
        None => match store::open_read(dir) {
            Ok(c) => {
                opened = c;
                &opened
            }
            Err(_) => return Ok((Vec::new(), None)),
        },
    };
    let meta = |key| delivery::meta(conn, key).ok().flatten();
    let prefix = meta(queue::PREFIX_META);
    if let Some(list) = meta(queue::ROUTES_META) {
        // All or none: leaving out one route would send its captures to a later one.
        let unreadable = |why: String| {
            Error::Failed(format!(
                "the routes the last listen --forward-to recorded cannot be read ({why}); pass --to URL"
            ))
        };
        let routes = serde_json::from_str::<Vec<String>>(&list)
            .map_err(|e| unreadable(e.to_string()))?
            .iter()
            .map(|route| forward::Route::parse(route).map_err(unreadable))
            .collect::<Result<_, _>>()?;
        return Ok((routes, prefix));
    }
    let single = meta(queue::LAST_FORWARD_TO_META).map(|url| forward::Route { glob: None, url });
    Ok((single.into_iter().collect(), prefix))
}

/// The captures to replay, and the store they live in (so attempts get recorded); none for
/// `--file`.
fn select(cli: &Cli, args: &ReplayArgs) -> Result<(Vec<Capture>, Option<Store>), Error> {
    if let Some(file) = &args.file {
        return Ok((from_file(file)?, None));
    }
    let f = filter(&args.filter, "replay");
    if args.ids.is_empty() && args.last.is_none() && !args.all && f.is_empty() {
        super::usage_error(
            "replay",
            "name what to replay: capture ids, --last N, filters such as --topic or --status failed, --all, or --file",
        );
    }
    let store = Store::open(cli)?;
    let mut f = f;
    f.ids = store.resolve(&args.ids)?;
    let mut captures = match args.last {
        Some(n) => query::select(&store.conn, &f, Order::NewestFirst, Some(n)).map(|mut v| {
            v.reverse();
            v
        }),
        None => query::select(&store.conn, &f, Order::OldestFirst, None),
    }
    .map_err(|e| store.err(e))?;
    if captures.is_empty() {
        return Err(store.nothing_found(&f));
    }
    captures.retain(|c| c.request.method != "HEAD");
    Ok((captures, Some(store)))
}

/// The captures in a file, read as `import` reads it; each keeps its id when it has a
/// hookcli one (for X-Hookcli-Capture-Id), else it is `file-N`.
fn from_file(path: &Path) -> Result<Vec<Capture>, Error> {
    let shown = escape::path(path);
    let bad = |reason: String| Error::Failed(format!("cannot replay {shown}: {reason}"));
    let bytes = super::read_input(path).map_err(|e| bad(crate::error::io_words(&e)))?;
    let entries = formats::read(&bytes).map_err(bad)?;
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(i, (id, request))| Capture {
            seq: 0,
            id: id
                .as_deref()
                .and_then(parse_id)
                .unwrap_or_else(|| format!("file-{}", i + 1)),
            redelivery: false,
            delivery: None,
            answered: None,
            request,
        })
        .collect())
}

fn open_for_records(dir: &Path) -> Result<rusqlite::Connection, Error> {
    let conn = store::open_write(dir)?;
    conn.execute_batch("PRAGMA synchronous=NORMAL")
        .map_err(|e| StoreError::from_sqlite(&dir.join(store::DB_FILE), e))?;
    Ok(conn)
}

/// Headers hookcli sets on every replay itself (beside the connection's own, which
/// [`is_hop_by_hop`] names), so `--header` cannot set them.
const SET_BY_HOOKCLI: &[&str] = &["x-hookcli-capture-id", "x-hookcli-attempt"];

/// The `--header` values as headers, or the usage error that says what is wrong with one.
fn header_overrides(args: &ReplayArgs, secret: bool) -> Result<Vec<Header>, String> {
    let mut out = Vec::new();
    for h in &args.headers {
        let shown = escape::line(h);
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{shown}': write it as 'Name: value'"))?;
        let (name, value) = (name.trim(), value.trim());
        if !formats::is_token(name) {
            return Err(format!(
                "--header '{shown}': '{}' is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                escape::line(name)
            ));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!(
                "--header '{shown}': the value has a control character, which a header cannot carry"
            ));
        }
        let lower = name.to_ascii_lowercase();
        if is_hop_by_hop(&lower) || SET_BY_HOOKCLI.contains(&lower.as_str()) {
            return Err(format!(
                "--header '{shown}': hookcli sets {name} itself; it sets Host, Content-Length, Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Proxy-*, X-Hookcli-Capture-Id and X-Hookcli-Attempt"
            ));
        }
        if name.eq_ignore_ascii_case(signature::HEADER) && (secret || args.unsigned) {
            return Err(format!(
                "--header '{shown}' sets the signature, and so does {}: pass only one",
                if secret {
                    "a secret (--secret, --secret-file or HOOKCLI_SECRET)"
                } else {
                    "--unsigned (which removes it)"
                }
            ));
        }
        out.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
    }
    if secret && args.unsigned {
        return Err(
            "--unsigned sends no signature, but a secret (--secret, --secret-file or HOOKCLI_SECRET) was given to sign with: pass only one".into(),
        );
    }
    Ok(out)
}

/// The capture as it will be sent: edited body, overridden headers, signature decided.
fn prepare(
    c: &Capture,
    args: &ReplayArgs,
    secret: Option<&config::Secret>,
    overrides: &[Header],
) -> Result<Capture, Error> {
    let original = &c.request.body;
    let mut body: Vec<u8> = original.to_vec();
    let edits = args.as_redelivery || !args.sets.is_empty() || args.edit;
    if edits {
        let mut text = String::from_utf8(body.clone())
            .ok()
            .filter(|t| serde_json::from_str::<Value>(t).is_ok())
            .ok_or_else(|| {
                Error::Failed(format!(
                    "the body of {} is not JSON, so it cannot be edited",
                    c.short_id()
                ))
            })?;
        if args.as_redelivery {
            let now: Value = serde_json::from_str(&text).unwrap_or_default();
            // Absent counts as the first attempt; anything else must be a count to add to.
            let next = match now.get("delivery_attempts") {
                None | Some(Value::Null) => Some(2),
                Some(n) => n.as_u64().and_then(|n| n.checked_add(1)),
            }
            .ok_or_else(|| {
                Error::Failed(format!(
                    "--as-redelivery adds one to delivery_attempts, but in {} it is {}, not a count that can grow: set it with --set delivery_attempts=N instead",
                    c.short_id(),
                    crate::render::escape::line(&now["delivery_attempts"].to_string())
                ))
            })?;
            text = splice::set_path(&text, "delivery_attempts", &next.to_string())
                .map_err(Error::Failed)?;
        }
        text = splice::set_all(&text, &args.sets).map_err(Error::Failed)?;
        if args.edit {
            text = edit(&text)?;
        }
        body = text.into_bytes();
    }
    let changed = body != original[..];
    // Every header of a name given is replaced by all the values given for it, in order.
    let mut headers: Vec<Header> = c.request.headers.clone();
    headers.retain(|(n, _)| !overrides.iter().any(|(o, _)| n.eq_ignore_ascii_case(o)));
    headers.extend(overrides.iter().cloned());
    // A health check or uninstall callback is re-signed as Intercom signs it.
    let scheme = c.request.scheme();
    let is_sig = |(n, _): &Header| n.eq_ignore_ascii_case(scheme.header().as_bytes());
    // A signature given with --header is sent as given, whatever the body.
    let own_signature = overrides.iter().any(is_sig);
    match (secret, changed) {
        _ if own_signature => {}
        (Some(secret), _) => {
            // In place, with the name as it was sent: the scheme's header, and the other
            // one too if the capture carries both, so that neither is left stale.
            let mut resigned = false;
            for s in [Scheme::Hub, Scheme::Body] {
                let is = |(n, _): &Header| n.eq_ignore_ascii_case(s.header().as_bytes());
                if let Some(at) = headers.iter().position(is) {
                    headers[at].1 = s.sign(secret.expose(), &body).into_bytes();
                    let mut first = true;
                    headers.retain(|h| !is(h) || std::mem::take(&mut first));
                    resigned |= s == scheme;
                }
            }
            if !resigned {
                let signed = scheme.sign(secret.expose(), &body).into_bytes();
                headers.push((scheme.name().as_bytes().to_vec(), signed));
            }
        }
        (None, false) => {}
        (None, true) if args.unsigned => headers.retain(|h| !is_sig(h)),
        (None, true) => {
            return Err(Error::Failed(format!(
                "the body of {} was changed, so its {} no longer matches and your app would reject it: pass --secret to re-sign it, or --unsigned to send it without a signature",
                c.short_id(),
                scheme.name()
            )))
        }
    }
    let mut out = c.clone();
    out.request.body = body.into();
    out.request.headers = headers;
    Ok(out)
}

/// Open the editor on the body, indented; the result is sent without whitespace between
/// tokens, every token as the editor left it, so what was not edited keeps its bytes (a
/// parse and re-serialisation would round big numbers and drop repeated keys). An edit
/// that changes nothing (at most whitespace) gives back `text` itself, so its bytes, and
/// signature, are sent untouched.
fn edit(text: &str) -> Result<String, Error> {
    let pretty = splice::pretty(text);
    // The body may hold personal data: a fresh file only this user can read (0600, random
    // name, never an existing file), removed when dropped.
    let cannot = |source| {
        Error::Failed(format!(
            "cannot create a file to edit the body in: {source}"
        ))
    };
    let mut file = tempfile::Builder::new()
        .prefix("hookcli-edit-")
        .suffix(".json")
        .tempfile()
        .map_err(cannot)?;
    file.write_all(format!("{pretty}\n").as_bytes())
        .and_then(|()| file.flush())
        .map_err(cannot)?;
    let path = file.path().to_path_buf();
    // An empty variable counts as unset, as in git and most shells' tools.
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let editor = set("VISUAL")
        .or_else(|| set("EDITOR"))
        .unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("hookcli-editor")
        .arg(&path)
        .status()
        .map_err(|e| Error::Failed(format!("cannot start the editor '{editor}': {e}")))?;
    if !status.success() {
        return Err(Error::Failed(format!(
            "the editor '{editor}' failed ({status}); nothing sent"
        )));
    }
    let edited = std::fs::read_to_string(&path).map_err(|e| Error::Failed(e.to_string()))?;
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&edited) {
        // Kept, so the edit is not lost.
        let kept = file.into_temp_path().keep().unwrap_or(path);
        return Err(Error::Failed(format!(
            "the edited body is not valid JSON ({e}); nothing sent; your edit is kept in {}",
            kept.display()
        )));
    }
    let sent = splice::compact(&edited);
    if sent == splice::compact(text) {
        return Ok(text.to_string());
    }
    for line in diff(&pretty, &splice::pretty(&sent)) {
        eprintln_lossy!("{}", escape::line(&line));
    }
    Ok(sent)
}

/// A minimal line diff (`- old` / `+ new`) of two short texts.
fn diff(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

/// `--to` plus the capture's query string when `--to` has none.
fn replay_url(to: &str, request_target: &str) -> String {
    match request_target.split_once('?') {
        Some((_, query)) if !to.contains('?') && !query.is_empty() => format!("{to}?{query}"),
        _ => to.to_string(),
    }
}

/// What the send would put on the wire, escaped for the terminal: the method, the URL (its
/// password hidden), the headers forwarding builds for it and the exact body bytes.
fn dry_run(
    out: &mut dyn Write,
    c: &Capture,
    url: &str,
    attempt: u32,
    s: Style,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} {}",
        s.id(c.short_id()),
        s.bold(&escape::line(&c.request.method)),
        escape::line(&forward::redact(url))
    )?;
    for (name, value) in wire_headers(c, url, attempt) {
        writeln!(out, "  {}: {}", escape::line(&name), escape::bytes(&value))?;
    }
    writeln!(out)?;
    // Line by line, every other byte escaped, so the body shows exactly as it is sent.
    if !c.request.body.is_empty() {
        for line in c.request.body.split(|&b| b == b'\n') {
            writeln!(out, "  {}", escape::bytes(line))?;
        }
    }
    writeln!(
        out,
        "  {}",
        s.dim(&format!(
            "(dry run: nothing sent; body {} bytes)",
            c.request.body.len()
        ))
    )
}

/// The header lines a replay of `c` to `url` as attempt `attempt` puts on the wire, in
/// order: what forwarding builds, and what the HTTP client adds.
fn wire_headers(c: &Capture, url: &str, attempt: u32) -> Vec<(String, Vec<u8>)> {
    let via = Via {
        capture_id: &c.id,
        attempt,
    };
    let headers = forward::request_headers(c, url, &via);
    forward::on_the_wire(&headers, url, c.request.body.len())
}

/// What `--dry-run --json` says the send would be: the same request as [`dry_run`] shows.
fn dry_run_record(c: &Capture, url: &str, attempt: u32) -> Value {
    let headers: Vec<Value> = wire_headers(c, url, attempt)
        .into_iter()
        .map(|(name, value)| json!([name, bytes_json(&value)]))
        .collect();
    json!({
        "type": "replay_dry_run",
        "capture_id": c.id,
        "method": c.request.method,
        "target": forward::redact(url),
        "attempt": attempt,
        "headers": headers,
        "body": bytes_json(&c.request.body),
    })
}

/// The `replay` record of a capture that was not sent, and why.
fn not_sent(c: &Capture, kind: &str, why: &str) -> Value {
    json!({
        "type": "replay",
        "capture_id": c.id,
        "time": rfc3339(chrono::Utc::now().timestamp_millis()),
        "target": null,
        "outcome": "not_sent",
        "status": null,
        "latency_ms": null,
        "error_kind": kind,
        "error": why,
        "body_sent": null,
        "response_preview": null,
        "hints": [],
    })
}

async fn send_all(
    captures: Vec<(Capture, String)>,
    client: reqwest::Client,
    db: Option<Arc<Mutex<rusqlite::Connection>>>,
    concurrency: usize,
    progress: bool,
    limit: Arc<str>,
) -> Vec<(Capture, forward::Answer)> {
    let total = captures.len();
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (c, url)) in captures.into_iter().enumerate() {
        let permit = slots.clone().acquire_owned().await.expect("never closed");
        let (client, db, done, limit) = (client.clone(), db.clone(), done.clone(), limit.clone());
        tasks.spawn(async move {
            let attempt = match &db {
                Some(db) => {
                    let conn = db.lock().unwrap_or_else(|e| e.into_inner());
                    delivery::next_replay(&conn, c.seq).unwrap_or(1)
                }
                None => 1,
            };
            let answer = forward::send(
                &client,
                &c,
                &url,
                Via {
                    capture_id: &c.id,
                    attempt,
                },
                forward::MAX_KEPT_BODY,
                &limit,
            )
            .await;
            if let Some(db) = &db {
                let conn = db.lock().unwrap_or_else(|e| e.into_inner());
                let record = Attempt {
                    attempt,
                    kind: "replay".into(),
                    started_at: answer.started_at,
                    target: answer.target.clone(),
                    status: answer.status,
                    latency_ms: answer.latency.as_millis() as i64,
                    error_kind: answer.error_kind.map(str::to_string),
                    error: answer.error.clone(),
                    response_headers: answer.headers.clone(),
                    response_body: answer.body.to_vec(),
                };
                // An attempt only: the delivery state is forwarding's, whatever a replay got.
                let saved = delivery::record_attempt(&conn, c.seq, &record);
                if let Err(e) = saved {
                    eprintln_lossy!(
                        "hookcli: warning: the replay of {} was sent but not recorded: {e}",
                        c.short_id()
                    );
                }
            }
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if progress {
                let _ = write!(std::io::stderr(), "\rreplaying {n}/{total}");
            }
            drop(permit);
            (index, c, answer)
        });
    }
    let mut results: Vec<(usize, Capture, forward::Answer)> = Vec::with_capacity(total);
    while let Some(Ok(r)) = tasks.join_next().await {
        results.push(r);
    }
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, c, a)| (c, a)).collect()
}

fn line(c: &Capture, a: &forward::Answer, s: Style) -> String {
    let what = match a.status {
        Some(status) if a.class() == Class::Delivered => {
            s.good(&format!("→ {status} {}", a.reason)).to_string()
        }
        Some(status) => s.bad(&format!("→ {status} {}", a.reason)).to_string(),
        None => s
            .bad(&format!(
                "✗ {}",
                escape::line(a.error.as_deref().unwrap_or("failed"))
            ))
            .to_string(),
    };
    let mut text = format!(
        "{} {} {} {} {}",
        s.id(c.short_id()),
        escape::line(&c.request.method),
        escape::line(&a.target),
        what,
        s.dim(&format!("{} ms", a.latency.as_millis()))
    );
    if a.status.is_some() && a.class() != Class::Delivered && !a.body.is_empty() {
        for l in crate::render::answer_lines(&a.body) {
            text += &format!("\n    {}", s.dim(&format!("│ {l}")));
        }
    }
    // As forwarding shows them: a redirect hookcli did not follow, an answer too slow.
    for hint in a.hints() {
        text += &format!(
            "\n    {}",
            s.warn(&format!("hint: {}", escape::line(&hint)))
        );
    }
    text
}

fn record(c: &Capture, a: &forward::Answer) -> Value {
    let mut record = json!({"type": "replay", "capture_id": c.id});
    if let Some(fields) = record.as_object_mut() {
        fields.extend(a.record(a.class() == Class::Delivered, Some(&c.request.body)));
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines() {
        assert_eq!(
            diff("a\nb\nc", "a\nB\nc"),
            vec!["- b".to_string(), "+ B".to_string()]
        );
        assert!(diff("same", "same").is_empty());
    }

    #[test]
    fn replay_url_keeps_the_capture_query() {
        assert_eq!(replay_url("http://a/h", "/x?y=1"), "http://a/h?y=1");
        assert_eq!(replay_url("http://a/h?z=2", "/x?y=1"), "http://a/h?z=2");
        assert_eq!(replay_url("http://a/h", "/"), "http://a/h");
    }
}
