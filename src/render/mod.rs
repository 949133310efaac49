//! Everything `listen` prints. One thread owns stdout and turns [`Event`]s into either
//! human lines or JSON Lines records; request handlers never write to the terminal.

pub mod body;
pub mod escape;
pub mod json;
pub mod row;
pub mod style;

use crate::intercom::signature::{Scheme, Verdict};
use crate::store::model::Capture;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use style::Style;

/// How much of each capture the human view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Summary lines only.
    Compact,
    /// Summary plus the body, cut after this many lines.
    Body(usize),
    /// Summary plus the whole body.
    Full,
}

/// Where the printer writes and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    /// JSON Lines instead of human text.
    pub json: bool,
    /// Human view detail.
    pub detail: Detail,
    /// Colours.
    pub style: Style,
}

/// The first thing `listen` prints.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The URL to send notifications to, with the real port.
    pub url: String,
    /// Bound address.
    pub host: String,
    /// Bound port.
    pub port: u16,
    /// The path prefix served.
    pub path: String,
    /// The store directory.
    pub store: String,
    /// Whether signatures are checked (a secret is configured).
    pub signature_check: bool,
    /// Whether invalid or missing signatures get a 401.
    pub reject_invalid: bool,
    /// Largest accepted body.
    pub max_body: u64,
    /// `--forward-to` routes as given, and the mode.
    pub forward: Vec<String>,
    /// Whether forwarding is synchronous (`--passthrough`).
    pub passthrough: bool,
    /// The `--intercom-ips` feeds loaded; empty when the documented addresses are used.
    pub intercom_ips: Vec<crate::intercom::outbound::Feed>,
}

/// A stored capture as the listener answered it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The stored record (shared with forwarding, not copied).
    pub capture: Arc<Capture>,
    /// What the body turned out to be.
    pub body_kind: body::Kind,
    /// Intercom region when the sender is one of Intercom's documented addresses.
    pub intercom_region: Option<&'static str>,
}

/// A request answered without storing it.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Unix milliseconds.
    pub at: i64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// TCP peer.
    pub remote_addr: String,
    /// What was answered.
    pub status: u16,
    /// Why, in one sentence.
    pub reason: String,
}

/// One delivery attempt to the developer's app (or a decision not to deliver).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The capture's id.
    pub capture_id: String,
    /// `forward` or `passthrough`.
    pub kind: &'static str,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The full target URL.
    pub target: String,
    /// The app's status, if it answered.
    pub status: Option<u16>,
    /// Its reason phrase.
    pub reason: String,
    /// Time to the answer or failure.
    pub latency_ms: u64,
    /// `delivered`, `retrying`, `failed` or `skipped`.
    pub outcome: &'static str,
    /// Failure kind when there was no answer.
    pub error_kind: Option<&'static str>,
    /// The failure in words.
    pub error: Option<String>,
    /// When the next attempt is due, Unix ms.
    pub next_attempt_at: Option<i64>,
    /// Why it failed or was skipped.
    pub note: Option<String>,
    /// The start of the app's response body.
    pub response_preview: Vec<u8>,
    /// Advice: what the answer probably means.
    pub hints: Vec<String>,
}

/// Totals printed when `listen` stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Requests that reached a handler (validations, pages, captures, refusals).
    pub received: u64,
    /// Captures committed to the store.
    pub stored: u64,
    /// Stored captures whose signature was invalid or missing.
    pub invalid_signatures: u64,
    /// Requests refused without storing (too large, timed out, store failure).
    pub refused: u64,
    /// Of those, the ones the store failed to save (answered 503).
    pub store_errors: u64,
    /// HEAD validations answered.
    pub validations: u64,
    /// GETs answered with hookcli's page.
    pub pages: u64,
}

/// A request hookcli answered itself, storing nothing: a HEAD validation or a GET of its
/// page.
#[derive(Debug, Clone)]
pub struct Visit {
    /// Unix milliseconds.
    pub at: i64,
    /// Path and query.
    pub target: String,
    /// TCP peer.
    pub remote_addr: String,
    /// The client a tunnel reported, if any.
    pub client_addr: Option<String>,
    /// Intercom's region, when the sender is one of its outbound addresses.
    pub intercom_region: Option<&'static str>,
}

/// One thing that happened, for the printer.
#[derive(Debug, Clone)]
pub enum Event {
    /// The server is up.
    Listening(Listening),
    /// A HEAD validation was answered.
    Validation(Visit),
    /// A GET was answered with hookcli's page (someone checking the URL in a browser).
    Page(Visit),
    /// A request was stored.
    Capture(Box<Captured>),
    /// A capture was delivered to the app, or not.
    Delivery(Box<Delivery>),
    /// A line of information from hookcli itself.
    Notice(String),
    /// A request was answered without storing it.
    Refused(Refused),
    /// The store failed to save a request (answered 503).
    StoreFailed(Refused),
    /// The server stopped.
    Summary(Summary),
}

/// The sending side: cheap to clone, never blocks a request handler.
#[derive(Clone)]
pub struct Output {
    tx: mpsc::SyncSender<Event>,
    dropped: Arc<AtomicU64>,
    /// Bytes of capture bodies waiting in the queue.
    queued: Arc<AtomicU64>,
}

/// The most bytes of capture bodies the print queue holds; past it a capture waits only
/// when it is the first: a stalled terminal must not keep every large body in memory.
const QUEUED_BODIES: u64 = 64 * 1024 * 1024;

impl Event {
    /// The bytes of body this event keeps in memory while it waits to be printed.
    fn body_bytes(&self) -> u64 {
        match self {
            Event::Capture(c) => c.capture.request.body.len() as u64,
            _ => 0,
        }
    }
}

impl Output {
    /// An output and the receiving end of its queue of `capacity` events.
    fn queue(capacity: usize) -> (Output, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let output = Output {
            tx,
            dropped: Arc::default(),
            queued: Arc::default(),
        };
        (output, rx)
    }

    /// Queue an event for printing. If the terminal is so slow that the queue is full (of
    /// events, or of bodies' bytes), the event is counted and skipped: captures are safe in
    /// the store either way.
    pub fn emit(&self, event: Event) {
        let bytes = event.body_bytes();
        let before = self.queued.fetch_add(bytes, Ordering::Relaxed);
        let full = before > 0 && before + bytes > QUEUED_BODIES;
        if full || self.tx.try_send(event).is_err() {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queue an event that must be printed (start and end lines), waiting for room.
    pub fn emit_blocking(&self, event: Event) {
        let _ = self.tx.send(event);
    }
}

/// Start the printer thread. Dropping every [`Output`] ends it; join the handle to flush.
pub fn spawn(mode: Mode) -> (Output, std::thread::JoinHandle<()>) {
    let (output, rx) = Output::queue(4096);
    let counter = output.dropped.clone();
    let waiting = output.queued.clone();
    let handle = std::thread::Builder::new()
        .name("hookcli-printer".into())
        .spawn(move || {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut broken = false;
            while let Ok(first) = rx.recv() {
                // Print everything already queued, then flush once; under load, pause a moment
                // so events gather instead of waking this thread once each.
                let mut printed = 0;
                for event in std::iter::once(first).chain(rx.try_iter()) {
                    if broken {
                        // Keep draining so senders never see a closed channel.
                        waiting.fetch_sub(event.body_bytes(), Ordering::Relaxed);
                        continue;
                    }
                    let text = render(&event, mode, &counter);
                    waiting.fetch_sub(event.body_bytes(), Ordering::Relaxed);
                    drop(event);
                    // A closed pipe (e.g. `| head`) only stops printing, never the capture.
                    broken = out.write_all(text.as_bytes()).is_err();
                    printed += 1;
                }
                broken = broken || out.flush().is_err();
                if printed > 1 {
                    std::thread::sleep(BATCH_PAUSE);
                }
            }
        })
        .expect("spawning the printer thread");
    (output, handle)
}

/// How long the printer waits after printing a batch, so a burst is printed in few writes.
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// One event as text, preceded by a note when events had to be skipped before it.
fn render(event: &Event, mode: Mode, skipped: &AtomicU64) -> String {
    let mut text = if mode.json {
        json::line(&json::record(event)) + "\n"
    } else {
        human(event, mode)
    };
    let skipped = skipped.swap(0, Ordering::Relaxed);
    if skipped > 0 && !mode.json {
        text.insert_str(
            0,
            &format!(
                "{}\n",
                mode.style.warn(&format!(
                    "… {skipped} events not shown (the terminal was too slow); all captures are stored"
                ))
            ),
        );
    }
    text
}

/// Local wall-clock time of a Unix-milliseconds instant.
pub fn local_time(ms: i64, fmt: &str) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format(fmt).to_string()
        }
        chrono::LocalResult::None => ms.to_string(),
    }
}

/// `n` and a noun that takes an `s` in the plural: `1 capture`, `2 captures`.
pub fn counted(n: i64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `it` for one thing, `them` for several.
pub fn them(n: i64) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
    }
}

/// The start of an app's answer as `send` and `replay` show it under their line: its first
/// 5 lines (of its first KiB), escaped, and a last one saying how much more there was.
pub fn answer_lines(body: &[u8]) -> Vec<String> {
    const BYTES: usize = 1024;
    const LINES: usize = 5;
    // A final line break ends the last line; it does not start another.
    let text = body.strip_suffix(b"\n").unwrap_or(body);
    let mut lines = escape::first_lines(body, BYTES, LINES, usize::MAX);
    if text.split(|&b| b == b'\n').count() > LINES || body.len() > BYTES {
        lines.push(format!(
            "… the answer goes on ({} in all)",
            size(body.len() as u64)
        ));
    }
    lines
}

/// A byte count in human units.
pub fn size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

fn human(event: &Event, mode: Mode) -> String {
    let s = mode.style;
    match event {
        Event::Listening(l) => listening(l, s),
        Event::Validation(v) => visit(v, "HEAD", s, |t| {
            s.good(&format!(
                "Intercom endpoint validation (HEAD) answered 200 · {t}"
            ))
        }),
        Event::Page(v) => visit(v, "GET", s, |t| {
            s.dim(&format!(
                "answered 200 with hookcli's page, not stored (Intercom sends HEAD and POST) · {t}"
            ))
        }),
        Event::Capture(c) => capture(c, mode),
        Event::Delivery(d) => delivery(d, s),
        Event::Notice(text) => format!("{}\n", s.warn(text)),
        Event::Refused(r) => format!(
            "{} {} {}\n",
            s.dim(&local_time(r.at, "%H:%M:%S")),
            // Empty when the request could not even be parsed.
            if r.method.is_empty() {
                s.dim(&format!("(request from {})", escape::line(&r.remote_addr)))
                    .to_string()
            } else {
                format!(
                    "{} {}",
                    s.bold(&method_cell(&r.method)),
                    target_cell(&r.target)
                )
            },
            s.warn(&format!("answered {}, not stored: {}", r.status, r.reason)),
        ),
        Event::StoreFailed(r) => format!(
            "{} {} {} {}\n",
            s.dim(&local_time(r.at, "%H:%M:%S")),
            s.bold(&method_cell(&r.method)),
            target_cell(&r.target),
            s.bad(&format!(
                "STORE FAILED, answered 503 so the sender retries: {}",
                r.reason
            )),
        ),
        Event::Summary(sum) => {
            let store_failed = match sum.store_errors {
                0 => String::new(),
                n => s
                    .bad(&format!(
                        " ({n} of them because the store could not save them)"
                    ))
                    .to_string(),
            };
            // Said only when there were any: a browser's visit is rare, and no capture.
            let pages = match sum.pages {
                0 => String::new(),
                n => format!(", {}", counted(n as i64, "page view")),
            };
            format!(
                "Stopped. {} received, {} stored, {} with invalid or missing signatures, {} refused{store_failed}, {}{pages}.\n",
                sum.received, sum.stored, sum.invalid_signatures, sum.refused, counted(sum.validations as i64, "validation")
            )
        }
    }
}

fn delivery(d: &Delivery, s: Style) -> String {
    let id = s.id(crate::store::model::short_id(&d.capture_id));
    let mut out = match (d.outcome, d.status) {
        ("skipped", _) => format!(
            "    ↳ {id} {}\n",
            s.dim(&format!(
                "{}: {}",
                // One skipped during an attempt was sent, only not delivered.
                if d.attempt > 0 {
                    "not delivered"
                } else {
                    "not forwarded"
                },
                escape::line(d.note.as_deref().unwrap_or("no route"))
            ))
        ),
        ("delivered", Some(status)) => format!(
            "    ↳ {id} {} {}\n",
            s.good(&format!("→ {status} {}", escape::line(&d.reason))),
            s.dim(&format!("{} ms{}", d.latency_ms, attempt_of(d)))
        ),
        (_, status) => {
            let what = match status {
                Some(status) => format!("→ {status} {}", escape::line(&d.reason)),
                None => format!("✗ {}", escape::line(d.error.as_deref().unwrap_or("failed"))),
            };
            let then = match (d.outcome, d.next_attempt_at) {
                ("retrying", Some(at)) => format!(
                    "; attempt {} of {} at {}",
                    d.attempt + 1,
                    d.max_attempts,
                    local_time(at, "%H:%M:%S")
                ),
                ("failed", _) if d.kind == "forward" => format!(
                    "; {}, kept in the store (hookcli list --status failed)",
                    escape::line(d.note.as_deref().unwrap_or("failed"))
                ),
                _ => String::new(),
            };
            format!(
                "    ↳ {id} {} {}{}\n",
                s.bad(&what),
                s.dim(&format!("{} ms{}", d.latency_ms, attempt_of(d))),
                s.warn(&then)
            )
        }
    };
    if d.status.is_some_and(|st| !(200..300).contains(&st)) && !d.response_preview.is_empty() {
        for line in escape::first_lines(&d.response_preview, usize::MAX, PREVIEW_LINES, body::WIDTH)
        {
            out += &format!("      {}\n", s.dim(&format!("│ {line}")));
        }
        // The record holds the first 2 KiB; the store keeps more of it for `show`.
        let text = d
            .response_preview
            .strip_suffix(b"\n")
            .unwrap_or(&d.response_preview);
        let lines = text.split(|&b| b == b'\n').count();
        if lines > PREVIEW_LINES || d.response_preview.len() >= crate::forward::PREVIEW_BYTES {
            let more = format!(
                "│ … the rest: hookcli show {}",
                escape::line(crate::store::model::short_id(&d.capture_id))
            );
            out += &format!("      {}\n", s.dim(&more));
        }
    }
    // Hints quote the app's answer (a redirect's Location, say): escaped like the rest.
    for hint in &d.hints {
        out += &format!(
            "      {}\n",
            s.warn(&format!("hint: {}", escape::line(hint)))
        );
    }
    out
}

/// Lines of a failed answer's body shown under its delivery line.
const PREVIEW_LINES: usize = 5;

/// `from PEER`, or `from CLIENT via PEER` behind a tunnel; escaped.
/// A visit's line: time, method, target, then `says` of where it came from, styled.
fn visit<D: std::fmt::Display>(
    v: &Visit,
    method: &str,
    s: Style,
    says: impl FnOnce(String) -> D,
) -> String {
    format!(
        "{} {} {} {}{}\n",
        s.dim(&local_time(v.at, "%H:%M:%S")),
        s.bold(method),
        target_cell(&v.target),
        says(origin(&v.remote_addr, v.client_addr.as_deref())),
        region_mark(v.intercom_region, s),
    )
}

fn origin(remote_addr: &str, client_addr: Option<&str>) -> String {
    match client_addr {
        // A tunnel's header is the sender's to fill: cut, so it cannot flood the line
        // (show prints it whole). An IPv6 address takes at most 45 columns.
        Some(client) => format!(
            "from {} via {}",
            escape::at_most(client, CLIENT_COLUMNS),
            escape::line(remote_addr)
        ),
        None => format!("from {}", escape::line(remote_addr)),
    }
}

/// The most columns of a reported client address a request's line shows.
const CLIENT_COLUMNS: usize = 64;

/// ` (Intercom EU outbound address)`, or nothing.
fn region_mark(region: Option<&str>, s: Style) -> String {
    region.map_or_else(String::new, |r| {
        s.good(&format!(" (Intercom {r} outbound address)"))
            .to_string()
    })
}

/// Characters of a method shown on one line (the longest standard one has 7).
const METHOD_WIDTH: usize = 24;
/// Characters of a request's path and query on a one-line summary (`show` has it whole).
const TARGET_WIDTH: usize = 200;

/// A request target for a summary line: escaped, and cut when it is very long.
/// A method as the one-line views show it: escaped, and cut, since any token is one.
fn method_cell(method: &str) -> String {
    // A method holds no tab (it would be malformed HTTP).
    escape::within(method, METHOD_WIDTH, escape::Cut::Text).0
}

fn target_cell(target: &str) -> String {
    // A target holds no tab (it would be malformed HTTP), so Text cuts it as a line.
    escape::within(target, TARGET_WIDTH, escape::Cut::Text).0
}

/// `text` cut to `width` characters, ending in `…` when it was longer.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width - 1).collect();
    cut + "…"
}

fn attempt_of(d: &Delivery) -> String {
    if d.max_attempts > 1 && d.attempt > 1 || d.outcome == "retrying" {
        format!(", attempt {}/{}", d.attempt, d.max_attempts)
    } else {
        String::new()
    }
}

fn listening(l: &Listening, s: Style) -> String {
    let mut out = format!("hookcli listening on {}\n", s.bold(&l.url));
    let sig = if l.signature_check {
        if l.reject_invalid {
            s.good("checked; invalid or missing answered 401 (--reject-invalid)")
                .to_string()
        } else {
            s.good("checked with your client secret").to_string()
        }
    } else {
        s.warn("not checked (pass --secret or set HOOKCLI_SECRET to your app's client secret)")
            .to_string()
    };
    out += &format!(
        "  store:      {}\n  signatures: {sig}\n",
        escape::line(&l.store)
    );
    if !l.forward.is_empty() {
        let mode = if l.passthrough {
            "passthrough: Intercom waits for your app"
        } else {
            "acknowledged first, then delivered in order"
        };
        match l.forward.as_slice() {
            [one] => out += &format!("  forwarding: {one} ({mode})\n"),
            // One route a line, in the order they are tried: a URL may hold commas.
            routes => {
                out += &format!("  forwarding: {mode}, first matching route wins:\n");
                for route in routes {
                    out += &format!("      {route}\n");
                }
            }
        }
    }
    if !l.intercom_ips.is_empty() {
        let feeds: Vec<String> = l
            .intercom_ips
            .iter()
            .map(|f| {
                let date = f
                    .date
                    .as_deref()
                    .map(|d| format!(", dated {d}"))
                    .unwrap_or_default();
                format!(
                    "{} ({}{date})",
                    escape::line(&f.path),
                    counted(f.ranges as i64, "range")
                )
            })
            .collect();
        out += &format!(
            "  intercom:   marking requests from the outbound ranges in {}\n",
            feeds.join(", ")
        );
    }
    out += &format!(
        "  Intercom needs a public HTTPS URL. Expose this port with a tunnel, e.g.\n      ngrok http {port}      or      cloudflared tunnel --url http://localhost:{port}\n  then paste the tunnel's https URL{path} into Developer Hub > your app > Webhooks > Endpoint URL.\n  Waiting for notifications (Ctrl-C to stop)...\n",
        port = l.port,
        path = if l.path == "/" { String::new() } else { format!(" + {}", l.path) },
    );
    out
}

/// Said under a request checked by `X-Body-Signature`, which notifications never carry.
const BODY_SIGNATURE_NOTE: &str = "checked X-Body-Signature (HMAC-SHA256), as Intercom signs health checks, uninstall and Canvas Kit requests; notifications carry X-Hub-Signature";

fn capture(c: &Captured, mode: Mode) -> String {
    let s = mode.style;
    let cap = &c.capture;
    let req = &cap.request;
    let n = req.notification.as_ref();
    let kind = c.body_kind;
    let mut parts: Vec<String> = vec![
        s.dim(&local_time(req.received_at, "%H:%M:%S")).to_string(),
        s.bold(&method_cell(&req.method)).to_string(),
        target_cell(&req.target),
    ];
    match (n, n.and_then(|n| n.topic.as_deref())) {
        (_, Some(topic)) => parts.push(s.topic(topic, &escape::line(topic)).to_string()),
        (Some(_), None) => parts.push(s.warn("(a notification without a topic)").to_string()),
        (None, None) if kind == body::Kind::Json => {
            match crate::intercom::health_check_workspace(&req.body) {
                Some(ws) => {
                    parts.push(s.bold("Intercom health check").to_string());
                    parts.push(format!("ws {}", escape::line(&ws)));
                }
                None => parts.push(s.dim("(not an Intercom notification)").to_string()),
            }
        }
        (None, None) => {}
    }
    if let Some(app) = n.and_then(|n| n.app_id.as_deref()) {
        parts.push(format!("ws {}", escape::line(app)));
    }
    if let Some(id) = n.and_then(|n| n.id.as_deref()) {
        parts.push(escape::line(id).into_owned());
    }
    if let Some(attempt) = n.and_then(|n| n.delivery_attempts) {
        parts.push(format!("attempt {attempt}"));
    }
    parts.push(s.verdict(req.verdict).to_string());
    parts.push(s.dim(&size(req.body.len() as u64)).to_string());
    if kind != body::Kind::Json {
        parts.push(s.warn(&format!("[{}]", kind.code())).to_string());
    }
    if let Some(status) = cap.answered.filter(|&s| s != 200) {
        parts.push(s.bad(&format!("answered {status}")).to_string());
    }
    parts.push(s.id(cap.short_id()).to_string());
    // What the summary line cannot say goes under it; with --compact, a short form of
    // what matters most goes at its end instead, so each request stays one line.
    let compact = mode.detail == Detail::Compact;
    let mut notes: Vec<String> = Vec::new();
    let from = origin(&req.remote_addr, req.client_addr.as_deref());
    match c.intercom_region {
        Some(region) if compact => {
            parts.push(s.good(&format!("Intercom {region}")).to_string());
        }
        Some(_) => notes.push(format!(
            "{}{}",
            s.dim(&from),
            region_mark(c.intercom_region, s)
        )),
        None if !compact => notes.push(s.dim(&from).to_string()),
        None => {}
    }
    // Intercom only saves the webhook when its ping gets a 2xx. With --passthrough the
    // answer is the app's, not known yet: its delivery line says it instead.
    if let (Some(status), true) = (cap.answered, n.is_some_and(|n| n.is_ping())) {
        let (good, says) = crate::intercom::ping_setup(
            Some(status),
            Duration::ZERO,
            req.verdict,
            crate::intercom::Answerer::Hookcli,
        );
        let line = if good {
            s.good(&format!("✓ {says}"))
        } else {
            s.bad(&format!("✗ {says}"))
        };
        // Said once, when the webhook is set up: worth its full sentence even then.
        notes.push(line.to_string());
    }
    // A ping has no id to have seen before.
    let retry = n
        .filter(|n| n.id.is_some())
        .and_then(|n| n.delivery_attempts)
        .filter(|&a| a > 1);
    if let (Some(attempt), false) = (retry, cap.redelivery) {
        // Intercom's own count says retry; what hookcli saw does not.
        if compact {
            parts.push(s.warn("↻ retry").to_string());
        } else {
            notes.push(s.warn(&format!("↻ retry: delivery_attempts is {attempt}, but this notification id was not captured before (an earlier attempt went to another endpoint, or came while hookcli was not listening)")).to_string());
        }
    }
    if cap.redelivery {
        if compact {
            parts.push(s.warn("↻ redelivery").to_string());
        } else {
            notes.push(s.warn("↻ redelivery: this notification id was captured before (Intercom sends a notification again after a timeout of 5 s, a 4xx or a 5xx, except 410 and 429)").to_string());
        }
    }
    // Valid by value, but written otherwise than Intercom writes it: an app whose check
    // compares strings would refuse the same request.
    if let Some(how) = req.signature_written_otherwise() {
        if compact {
            parts.push(
                s.warn("! signature not written as Intercom writes it")
                    .to_string(),
            );
        } else {
            notes.push(s.warn(&format!("! signature {how}")).to_string());
        }
    }
    match req.verdict {
        Verdict::Invalid(why) if compact => parts.push(s.bad(why.explain()).to_string()),
        Verdict::Invalid(why) => notes.push(
            s.bad(&format!("✗ invalid signature: {}", why.explain()))
                .to_string(),
        ),
        Verdict::Missing if !compact => notes.push(
            s.bad(&format!(
                "✗ no {} header, but a secret is set",
                req.scheme().name()
            ))
            .to_string(),
        ),
        _ => {}
    }
    if !compact && req.verdict != Verdict::Unchecked && req.scheme() == Scheme::Body {
        notes.push(s.dim(BODY_SIGNATURE_NOTE).to_string());
    }
    let mut out = parts.join(" ");
    if compact {
        for note in notes {
            out += " — ";
            out += &note;
        }
        out += "\n";
    } else {
        out += "\n";
        for note in notes {
            out += "    ";
            out += &note;
            out += "\n";
        }
    }
    let limit = match mode.detail {
        Detail::Compact => return out,
        Detail::Body(limit) => limit,
        Detail::Full => usize::MAX,
    };
    let width = (mode.detail != Detail::Full).then_some(body::WIDTH);
    let preview = body::lines(&req.body, s, width, limit);
    for line in &preview.lines {
        out += "    ";
        out += line;
        out += "\n";
    }
    if let Some(what) = preview.left_out() {
        out += &format!(
            "    {}\n",
            s.dim(&format!("… {what} — hookcli show {}", cap.short_id()))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intercom::signature::Verdict;
    use crate::store::model::{Capture, NewCapture, Source};

    #[test]
    fn an_answer_says_when_it_goes_on() {
        assert_eq!(answer_lines(b"short\n"), vec!["short".to_string()]);
        let long = answer_lines(b"1\n2\n3\n4\n5\n6\n");
        assert_eq!(long.len(), 6);
        assert_eq!(long[5], "… the answer goes on (12 B in all)");
        let wide = answer_lines(&[b'x'; 2000]);
        assert_eq!(
            wide.last().unwrap(),
            "… the answer goes on (2.0 KiB in all)"
        );
    }

    fn captured(body_len: usize) -> Event {
        let request = NewCapture {
            received_at: 0,
            source: Source::Listen,
            remote_addr: "127.0.0.1:1".into(),
            client_addr: None,
            method: "POST".into(),
            target: "/".into(),
            headers: vec![],
            body: bytes::Bytes::from(vec![b' '; body_len]),
            verdict: Verdict::Unchecked,
            notification: None,
        };
        let capture = Capture {
            seq: 1,
            id: "01m8".into(),
            redelivery: false,
            delivery: None,
            answered: None,
            request,
        };
        Event::Capture(Box::new(Captured {
            capture: Arc::new(capture),
            body_kind: body::Kind::Json,
            intercom_region: None,
        }))
    }

    #[test]
    fn a_stalled_terminal_keeps_at_most_64_mib_of_bodies_waiting() {
        let (output, queue) = Output::queue(16);
        let big = 40 * 1024 * 1024;
        // Nobody prints: the first large body waits, a second would pass the bound.
        output.emit(captured(big));
        output.emit(captured(big));
        assert_eq!(output.dropped.load(Ordering::Relaxed), 1);
        // Small ones still fit, and so does the first event whatever its size.
        output.emit(captured(1024));
        assert_eq!(queue.try_iter().count(), 2);
        assert_eq!(output.queued.load(Ordering::Relaxed), big as u64 + 1024);
        let (alone, queue) = Output::queue(16);
        alone.emit(captured(100 * 1024 * 1024));
        assert_eq!(queue.try_iter().count(), 1);
        // A full queue of events skips the event and gives its bytes back.
        let (tiny, _queue) = Output::queue(1);
        tiny.emit(captured(10));
        tiny.emit(captured(20));
        assert_eq!(tiny.queued.load(Ordering::Relaxed), 10);
        assert_eq!(tiny.dropped.load(Ordering::Relaxed), 1);
    }
}
