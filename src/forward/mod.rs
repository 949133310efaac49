//! Forwarding captures to the developer's app: routes, the request as it is sent (bytes and
//! signature untouched), and how an answer or a failure is classified.

pub mod queue;

use crate::store::model::Capture;
use std::time::{Duration, Instant};

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), plus `Host`,
/// which is set for the target, and `Content-Length`, recomputed for the same bytes.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
];

/// Whether a header must not be copied from one hop to the next: the fixed list, and every
/// `Proxy-*` header (they are for a proxy on the way, never for the app or the sender).
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("proxy-"))
}

/// The header names a message's `Connection` headers list (`Connection: keep-alive, X-Foo`),
/// lower-cased: they belong to that connection too (RFC 9110 §7.6.1).
pub fn connection_options<'a>(
    headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<String> {
    headers
        .into_iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(b"connection"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .filter(|token| !token.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The answer without the headers its `Connection` header names, for relaying to the sender
/// (the fixed hop-by-hop ones are left to the relay, which drops them anyway).
pub fn without_connection_options(mut answer: Answer) -> Answer {
    let named = connection_options(
        answer
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_slice())),
    );
    answer
        .headers
        .retain(|(name, _)| !named.iter().any(|n| n.eq_ignore_ascii_case(name)));
    answer
}

/// One `--forward-to` value: an optional topic glob and a target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Topic glob; `None` matches every capture, notification or not.
    pub glob: Option<String>,
    /// Base URL of the app.
    pub url: String,
}

impl Route {
    /// Parse `URL` or `GLOB=URL`.
    pub fn parse(text: &str) -> Result<Route, String> {
        let (glob, url) = match text.split_once('=') {
            // A glob has no ':' or '/', so `http://x/?a=b` stays a URL.
            Some((glob, url)) if !glob.contains([':', '/']) => (Some(glob.to_string()), url),
            _ => (None, text),
        };
        if glob.is_some() && url.is_empty() {
            return Err(format!(
                "'{text}' has no URL after '=': write it as GLOB=URL, e.g. '{text}http://localhost:3000/webhooks'"
            ));
        }
        if glob.as_deref() == Some("") {
            return Err(format!(
                "'{text}' has nothing before '=': give a topic glob such as 'ticket.*={url}', or just the URL"
            ));
        }
        // No topic holds spaces or control characters, and a glob is shown and stored.
        let odd = |c: char| c.is_whitespace() || crate::render::escape::is_unsafe(c);
        if let Some(glob) = glob.as_deref().filter(|g| g.chars().any(odd)) {
            return Err(format!(
                "the topic glob '{}' holds spaces or control characters, which no topic has",
                crate::render::escape::line(glob)
            ));
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("'{url}' must start with http:// or https://"));
        }
        // The URL parser reads `http:///x` and `http:x` as host `x`; say what was meant.
        let has_host = url.split_once(':').is_some_and(|(_, rest)| {
            rest.strip_prefix("//")
                .is_some_and(|host| !host.starts_with(['/', '\\']))
        });
        if !has_host {
            return Err(format!(
                "'{url}' has no host; write it as {}://HOST:PORT/PATH",
                parsed.scheme()
            ));
        }
        // A fragment would replace the request's path and query, and is never sent anyway.
        if parsed.fragment().is_some() {
            return Err(format!(
                "'{url}' has a #fragment, which an app never receives; remove it"
            ));
        }
        Ok(Route {
            glob,
            url: url.to_string(),
        })
    }

    /// The route as it may be shown or stored: `GLOB=URL` with the URL's password hidden.
    pub fn shown(&self) -> String {
        match &self.glob {
            Some(glob) => format!("{glob}={}", redact(&self.url)),
            None => redact(&self.url),
        }
    }

    fn matches(&self, topic: Option<&str>) -> bool {
        match (&self.glob, topic) {
            (None, _) => true,
            (Some(glob), Some(topic)) => glob_match(glob, topic),
            (Some(_), None) => false,
        }
    }
}

/// What a URL's password is shown and stored as.
pub const REDACTED: &str = "***";

/// `url` with its password, if it has one, replaced by [`REDACTED`] (`http://u:***@host/`),
/// for everything shown or stored; only the request itself carries the real one.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(REDACTED));
            parsed.into()
        }
        _ => url.to_string(),
    }
}

/// Parse a URL to send to (`send --to`): the checks of [`Route::parse`], without a glob.
pub fn parse_url(text: &str) -> Result<String, String> {
    // Say it plainly rather than with the URL parser's words ("relative URL without a base").
    if reqwest::Url::parse(text).is_err() {
        return Err("not a URL: write it as http://HOST:PORT/PATH".into());
    }
    Route::parse(text).map(|route| route.url)
}

/// The first route matching a topic.
pub fn route<'a>(routes: &'a [Route], topic: Option<&str>) -> Option<&'a Route> {
    route_index(routes, topic).map(|at| &routes[at])
}

/// Where in `routes` the first one matching a topic is.
pub fn route_index(routes: &[Route], topic: Option<&str>) -> Option<usize> {
    routes.iter().position(|r| r.matches(topic))
}

/// `*` any run, `?` one character; everything else literal.
pub fn glob_match(glob: &str, text: &str) -> bool {
    fn go(g: &[char], t: &[char]) -> bool {
        match (g.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&g[1..], t) || (!t.is_empty() && go(g, &t[1..])),
            (Some('?'), Some(_)) => go(&g[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &t[1..]),
            _ => false,
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&g, &t)
}

/// The URL a capture goes to: the route's path, plus what followed the listen prefix in
/// the request's path, plus the request's query. `Err` (a sentence) when the request's path
/// would lead outside the route's path, e.g. with `..` or `%2e%2e` segments.
pub fn target_url(base: &str, prefix: &str, request_target: &str) -> Result<String, String> {
    let (path, query) = request_target
        .split_once('?')
        .map_or((request_target, None), |(p, q)| (p, Some(q)));
    let rest = crate::server::after_prefix(path, prefix).unwrap_or(path);
    let mut url = reqwest::Url::parse(base).map_err(|e| format!("'{base}' is not a URL: {e}"))?;
    let root = url.path().to_string();
    // Under `--path /`, a request to `/` has nothing after the prefix; under `--path /hooks`,
    // `/hooks/` ends in a slash of its own, which the app may route on.
    let nothing_after = rest.is_empty() || (rest == "/" && prefix == "/");
    if !nothing_after {
        // For http(s) the URL parser turns '\' into '/'; sent as %5C it stays one segment.
        let rest = rest.replace('\\', "%5C");
        let slash = if rest.starts_with('/') { "" } else { "/" };
        url.set_path(&format!("{}{slash}{rest}", root.trim_end_matches('/')));
    }
    let within = root.trim_end_matches('/');
    let resolved = url.path();
    if !(resolved == within || resolved.starts_with(&format!("{within}/"))) {
        return Err(format!(
            "the request's path {path} leads outside the route's path {root} (to {resolved})"
        ));
    }
    let queries: Vec<&str> = [url.query(), query]
        .into_iter()
        .flatten()
        .filter(|q| !q.is_empty())
        .collect();
    let joined = queries.join("&");
    url.set_query((!joined.is_empty()).then_some(joined.as_str()));
    Ok(url.into())
}

/// Settings for the HTTP client that talks to the app.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Give up on one attempt after this long; `None` waits for ever (breakpoints).
    pub timeout: Option<Duration>,
    /// Accept self-signed certificates (a local HTTPS app).
    pub insecure: bool,
}

/// The client: rustls, no redirects followed (they are reported), no default headers that
/// would change what the app sees beyond what a proxy must add.
pub fn client(opts: ClientOptions) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(opts.insecure)
        .connect_timeout(Duration::from_secs(10));
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    builder
        .build()
        .expect("the HTTP client has a valid static configuration")
}

/// What the app answered, or why it did not.
#[derive(Debug, Clone)]
pub struct Answer {
    /// When the attempt started, Unix ms.
    pub started_at: i64,
    /// The full target URL, its password hidden ([`redact`]).
    pub target: String,
    /// How long it took.
    pub latency: Duration,
    /// HTTP status, if the app answered.
    pub status: Option<u16>,
    /// Reason phrase for the status.
    pub reason: String,
    /// Response headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Response body: as much of it as was asked to be kept.
    pub body: bytes::Bytes,
    /// The body was longer than what was kept.
    pub truncated: bool,
    /// For failures: the kind. Without a status: `connect`, `timeout`, `reset`, `tls`, `path`,
    /// `stopped`, `other`; with a 3xx status and a Location: `redirect`.
    pub error_kind: Option<&'static str>,
    /// For failures: the cause in plain words.
    pub error: Option<String>,
}

/// The error kind of a capture that was not sent because its path would leave the route's.
pub(crate) const UNSENDABLE: &str = "path";
/// The error kind of an attempt cut short because hookcli stopped.
pub(crate) const STOPPED: &str = "stopped";
/// The error kind of an attempt abandoned because `hookcli skip` or `delete` took its capture
/// out of the queue before the app answered.
pub(crate) const ABANDONED: &str = "skipped";

/// How a capture left the delivery queue while it was in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenOut {
    /// `hookcli skip` took it out; it stays in the store.
    Skipped,
    /// `hookcli delete` deleted it.
    Deleted,
}

impl TakenOut {
    /// What happened to the capture, as the start of a sentence.
    fn done(self) -> &'static str {
        match self {
            TakenOut::Skipped => "skipped with `hookcli skip`",
            TakenOut::Deleted => "deleted with `hookcli delete`",
        }
    }
}
/// The error kind of an answer that is not HTTP as RFC 9110 has it (a status past 599, two
/// Content-Lengths, a garbled head): the app's bug, which retrying does not mend.
pub(crate) const PROTOCOL: &str = "protocol";

/// How an answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 2xx.
    Delivered,
    /// Worth trying again: no answer, 5xx, 408, 429.
    Retryable,
    /// The app's verdict (other 4xx) or a redirect; not retried.
    Permanent,
}

impl Answer {
    /// How this answer counts.
    pub fn class(&self) -> Class {
        match self.status {
            Some(s) if (200..300).contains(&s) => Class::Delivered,
            Some(408 | 429) => Class::Retryable,
            Some(500..=599) => Class::Retryable,
            Some(_) => Class::Permanent,
            None if self.error_kind == Some(UNSENDABLE) => Class::Permanent,
            None => Class::Retryable,
        }
    }

    /// A capture that cannot be sent at all (its path would leave the route's); `why` says so.
    pub fn unsendable(target: &str, why: String) -> Answer {
        let now = chrono::Utc::now().timestamp_millis();
        Answer::failed(target, now, Duration::ZERO, UNSENDABLE, why)
    }

    /// An attempt to `target`, started at `started_at`, that hookcli cut short to stop;
    /// `then` says what becomes of the capture.
    pub fn stopped(target: &str, started_at: i64, then: &str) -> Answer {
        let now = chrono::Utc::now().timestamp_millis();
        let latency = Duration::from_millis(u64::try_from(now - started_at).unwrap_or(0));
        let why = format!("hookcli stopped before your app answered; {then}");
        Answer::failed(target, started_at, latency, STOPPED, why)
    }

    /// An attempt to `target`, started at `started_at`, given up when its capture left the
    /// queue (`how`) before the app answered.
    pub fn abandoned(target: &str, started_at: i64, how: TakenOut) -> Answer {
        let now = chrono::Utc::now().timestamp_millis();
        let latency = Duration::from_millis(u64::try_from(now - started_at).unwrap_or(0));
        let why = format!("abandoned before your app answered: {}", how.done());
        Answer::failed(target, started_at, latency, ABANDONED, why)
    }

    /// No answer: the attempt to `target`, started at `started_at`, failed with `kind`.
    fn failed(
        target: &str,
        started_at: i64,
        latency: Duration,
        kind: &'static str,
        error: String,
    ) -> Answer {
        Answer {
            started_at,
            target: redact(target),
            latency,
            status: None,
            reason: String::new(),
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            truncated: false,
            error_kind: Some(kind),
            error: Some(error),
        }
    }

    /// The start of the app's answer that a record carries.
    pub fn preview(&self) -> &[u8] {
        &self.body[..self.body.len().min(PREVIEW_BYTES)]
    }

    /// The fields a one-off send's record (`send --to`, `replay`) shares, in their order;
    /// `body_sent` (or nothing) goes before the preview.
    pub fn record(
        &self,
        delivered: bool,
        body_sent: Option<&[u8]>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| fields.insert(k.to_string(), v);
        put("time", crate::render::json::rfc3339(self.started_at).into());
        put("target", self.target.clone().into());
        put(
            "outcome",
            if delivered { "delivered" } else { "failed" }.into(),
        );
        put("status", self.status.into());
        put("latency_ms", (self.latency.as_millis() as u64).into());
        put("error_kind", self.error_kind.into());
        put("error", self.error.clone().into());
        if let Some(body) = body_sent {
            put("body_sent", crate::store::model::bytes_json(body));
        }
        // No answer is not an empty one.
        let answered = self.status.is_some() || !self.preview().is_empty();
        put(
            "response_preview",
            if answered {
                crate::store::model::bytes_json(self.preview())
            } else {
                serde_json::Value::Null
            },
        );
        put("hints", self.hints().into());
        fields
    }

    /// The status `--passthrough` gives the sender: the app's, or the 502 hookcli answers
    /// when it has none to pass on.
    pub fn relayed_status(&self) -> u16 {
        self.status.unwrap_or(502)
    }

    /// The hints a one-off send (`send --to`, `replay`) shows under its line: a redirect not
    /// followed, an answer too slow for Intercom. Not escaped.
    pub fn hints(&self) -> Vec<String> {
        self.redirect_hint("--to")
            .into_iter()
            .chain(self.slow_hint())
            .chain(self.subscription_hint())
            .collect()
    }

    /// What Intercom does to the whole subscription when its endpoint answers 410 or 429,
    /// which a retry policy for one notification does not show. Not escaped.
    pub fn subscription_hint(&self) -> Option<String> {
        let status = self.status?;
        let rule = crate::intercom::subscription_rule(status)?;
        let said = if status == 410 { "410 Gone" } else { "429" };
        Some(format!("your app answered {said}: {rule}"))
    }

    /// What an attempt slower than Intercom waits would have meant for a real delivery: a
    /// timeout, and a retry. Not escaped.
    pub fn slow_hint(&self) -> Option<String> {
        // Without an answer there is no slowness to report, only the failure itself.
        (self.status.is_some() && self.latency > crate::intercom::RESPONSE_TIMEOUT).then(|| {
            format!(
                "your app took {:.2} s: Intercom waits 5 s, so it would have timed out and retried it",
                self.latency.as_secs_f64()
            )
        })
    }

    /// What to do about a redirect, which hookcli never follows (whether Intercom does is
    /// not documented): `flag` is the option that names the URL, e.g. `--forward-to`. Not
    /// escaped.
    pub fn redirect_hint(&self, flag: &str) -> Option<String> {
        self.location()
            .map(|to| format!("redirect to {to} not followed: point {flag} at the final URL"))
    }

    /// How long the app asked to be left alone with `Retry-After` on a 429 or 503: seconds,
    /// or an HTTP date.
    pub fn retry_after(&self) -> Option<Duration> {
        if !matches!(self.status, Some(429 | 503)) {
            return None;
        }
        let (_, value) = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))?;
        let value = std::str::from_utf8(value).ok()?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
        Some(Duration::from_millis(ms.max(0) as u64))
    }

    /// The redirect target, when the app answered 3xx (a `201 Created` has a Location too).
    pub fn location(&self) -> Option<String> {
        if !self.status.is_some_and(|s| (300..400).contains(&s)) {
            return None;
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            // Bytes that are not UTF-8 stay visible as `\xNN`, not lost to U+FFFD; the
            // rest is escaped where it is shown, like every message.
            .map(|(_, v)| crate::render::escape::invalid_as_hex(v).into_owned())
    }
}

/// How forwarding's timeout is named in messages.
pub const FORWARD_LIMIT: &str = "the forward timeout (--forward-timeout)";

/// How much of the app's answer a delivery record (and its line) carries.
pub const PREVIEW_BYTES: usize = 2048;

/// Keep this much of the app's response body in the store.
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// The largest answer body `--passthrough` relays to the sender (a larger one gets a 502);
/// also how far a forwarded answer is read to make sure it arrived whole. An answer to a
/// webhook is normally a few bytes, and the limit does not follow `--max-body`, which is
/// about what senders may send.
pub const MAX_RELAYED_BODY: usize = 8 * 1024 * 1024;

/// Extra headers hookcli adds for the app.
pub struct Via<'a> {
    /// The capture's id.
    pub capture_id: &'a str,
    /// Attempt number, from 1.
    pub attempt: u32,
}

/// Send a capture to `target`: same method and body bytes, the headers of
/// [`request_headers`]. The first `keep` bytes of the answer's body are kept; an answer cut
/// off before its body is complete counts as no answer (`reset` or `timeout`), so it is
/// retried. `limit` names the client's timeout in messages, e.g. `the forward timeout
/// (--forward-timeout)`.
pub async fn send(
    client: &reqwest::Client,
    capture: &Capture,
    target: &str,
    via: Via<'_>,
    keep: usize,
    limit: &str,
) -> Answer {
    let r = &capture.request;
    let started_at = chrono::Utc::now().timestamp_millis();
    let start = Instant::now();
    let Ok(method) = reqwest::Method::from_bytes(r.method.as_bytes()) else {
        let error = format!("the method {} cannot be sent", r.method);
        return Answer::failed(target, started_at, start.elapsed(), "other", error);
    };
    let result = client
        .request(method, target)
        .headers(request_headers(capture, target, &via))
        .body(r.body.clone())
        .send()
        .await;
    answer_of(result, target, started_at, start, keep, limit).await
}

/// The headers a capture is sent to `target` with: its own in order with repeats, minus
/// hop-by-hop ones and those its `Connection` header names, plus X-Forwarded-* and
/// X-Hookcli-* for correlation. The client adds only what [`on_the_wire`] lists.
pub fn request_headers(
    capture: &Capture,
    target: &str,
    via: &Via<'_>,
) -> reqwest::header::HeaderMap {
    let r = &capture.request;
    let mut headers = reqwest::header::HeaderMap::new();
    let mut original_host = None;
    // Every X-Forwarded-For line, in order: together they are one list.
    let mut forwarded_for = Vec::new();
    let mut forwarded_proto = None;
    let connection_named =
        connection_options(r.headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
    // A route URL's credentials are sent as Authorization, and they are the user's choice
    // for this app: the sender's own header must not replace them.
    let route_authorizes = url_credentials(target);
    for (name, value) in &r.headers {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        match lower.as_str() {
            "host" => original_host = Some(value.clone()),
            "x-forwarded-for" => forwarded_for.push(value.clone()),
            "x-forwarded-proto" => forwarded_proto = Some(value.clone()),
            _ => {}
        }
        if is_hop_by_hop(&lower)
            || lower == "x-forwarded-for"
            || connection_named.contains(&lower)
            || (route_authorizes && lower == "authorization")
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name),
            reqwest::header::HeaderValue::from_bytes(value),
        ) {
            headers.append(n, v);
        }
    }
    // An imported or fabricated capture has no peer address, only a placeholder.
    let peer_ip = r
        .remote_addr
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| r.remote_addr.parse::<std::net::IpAddr>());
    if let Ok(ip) = peer_ip {
        forwarded_for.push(ip.to_string().into_bytes());
    }
    // Joined as bytes: a value that is not UTF-8 goes on as it came.
    let xff = forwarded_for.join(&b", "[..]);
    let mut add = |name: &'static str, value: &[u8]| {
        if let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) {
            headers.insert(name, v);
        }
    };
    if !xff.is_empty() {
        add("x-forwarded-for", &xff);
    }
    if forwarded_proto.is_none() {
        add("x-forwarded-proto", b"http");
    }
    if let Some(host) = &original_host {
        if !r
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"x-forwarded-host"))
        {
            add("x-forwarded-host", host);
        }
    }
    add("x-hookcli-capture-id", via.capture_id.as_bytes());
    add("x-hookcli-attempt", via.attempt.to_string().as_bytes());
    // The client states a length only for a body with bytes in it; an empty one the sender
    // gave a length to (or that a POST, PUT or PATCH carries) keeps its `Content-Length: 0`,
    // which many apps need in order to read a body at all.
    let had_length = r
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(b"content-length"));
    if r.body.is_empty() && (had_length || matches!(r.method.as_str(), "POST" | "PUT" | "PATCH")) {
        add("content-length", b"0");
    }
    headers
}

/// Whether a URL has a user, which the client sends as `Authorization: Basic`.
fn url_credentials(target: &str) -> bool {
    reqwest::Url::parse(target).is_ok_and(|u| !u.username().is_empty())
}

/// The header lines a send puts on the wire, in order, for showing a request without
/// sending it: [`request_headers`] with what the client adds, which is `Authorization` for
/// a URL's user first (its value not shown), then reqwest's default `Accept: */*` when the
/// capture has no Accept, `Host` from the URL, and `Content-Length` unless the body is empty
/// (hyper sends none for an empty body, whatever the method).
pub fn on_the_wire(
    headers: &reqwest::header::HeaderMap,
    target: &str,
    body_len: usize,
) -> Vec<(String, Vec<u8>)> {
    let mut lines = Vec::with_capacity(headers.len() + 4);
    if url_credentials(target) {
        let hidden = "Basic … (the URL's user and password)";
        lines.push(("authorization".into(), hidden.into()));
    }
    lines.extend(
        headers
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec())),
    );
    if !headers.contains_key(reqwest::header::ACCEPT) {
        lines.push(("accept".into(), b"*/*".to_vec()));
    }
    if let Ok(url) = reqwest::Url::parse(target) {
        let host = url.host_str().unwrap_or_default();
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        lines.push(("host".into(), host.into_bytes()));
    }
    if body_len > 0 {
        lines.push(("content-length".into(), body_len.to_string().into_bytes()));
    }
    lines
}

/// The answer to a request sent to `target` at `started_at` (`start` for its latency),
/// keeping the first `keep` bytes of its body: a failure in plain words, or the app's
/// status, headers and body, read to its end (a cut-off body is a `reset` or `timeout`).
/// `limit` names the client's timeout in messages, as for [`send`].
pub async fn answer_of(
    result: reqwest::Result<reqwest::Response>,
    target: &str,
    started_at: i64,
    start: Instant,
    keep: usize,
    limit: &str,
) -> Answer {
    let shown = redact(target);
    let response = match result {
        Ok(resp) => resp,
        Err(e) => {
            let (kind, words) = describe(e, target, limit);
            return Answer::failed(target, started_at, start.elapsed(), kind, words);
        }
    };
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("").to_string();
    let resp_headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let body = read_body(response, keep).await;
    let mut answer = Answer {
        started_at,
        target: shown,
        latency: start.elapsed(),
        status: Some(status.as_u16()),
        reason,
        headers: resp_headers,
        body: body.kept,
        truncated: body.longer,
        error_kind: None,
        error: None,
    };
    // Said the same way in the delivery record, the store and replay's records.
    if status.as_u16() > 599 {
        answer.error_kind = Some(PROTOCOL);
        answer.error = Some(format!(
            "the app answered status {}, which is not an HTTP status (100 to 599)",
            status.as_u16()
        ));
    } else if let Some(location) = answer.location() {
        answer.error_kind = Some("redirect");
        answer.error = Some(format!("redirect to {location} not followed"));
    } else if status.is_redirection() {
        // A 3xx with nowhere to go (a 304, say) is not followed either.
        answer.error_kind = Some("redirect");
        answer.error = Some(format!(
            "the app answered {} {} with no Location: a 3xx is not followed",
            status.as_u16(),
            answer.reason
        ));
    }
    if let Some(e) = body.error {
        let answered = format!("the app answered {} {}", status.as_u16(), answer.reason);
        let (kind, words) = if e.is_timeout() {
            (
                "timeout",
                format!("{answered}, but the rest of its answer did not arrive within {limit}"),
            )
        } else if cut_off(&e) {
            (
                "reset",
                format!("{answered}, but closed the connection before the whole body arrived"),
            )
        } else {
            (
                "other",
                format!(
                    "{answered}, but its body could not be read: {}",
                    error_chain(&e.without_url())
                ),
            )
        };
        // Half an answer is no answer: the status alone must not count as delivered.
        answer.status = None;
        answer.error_kind = Some(kind);
        answer.error = Some(words);
    }
    answer
}

/// An answer's body as read.
struct Body {
    /// Its first bytes, as many as were asked to be kept.
    kept: bytes::Bytes,
    /// There was more than that.
    longer: bool,
    /// What cut it short before its end, if anything did.
    error: Option<reqwest::Error>,
}

/// Read the body to its end, keeping the first `keep` bytes; reading stops after
/// `MAX_RELAYED_BODY` (or `keep`, if larger), so an endless body cannot hold a delivery.
async fn read_body(mut response: reqwest::Response, keep: usize) -> Body {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let error = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len();
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if total > keep.max(MAX_RELAYED_BODY) {
                    break None;
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Body {
        kept: kept.into(),
        longer: total > keep,
        error,
    }
}

/// The answer as `--passthrough` can give it to the sender: a 1xx (the sender's request
/// would be left without a final answer) or a body over `MAX_RELAYED_BODY` (it would be
/// cut) becomes a failure, which the sender gets as a 502 saying why.
pub fn relayable(answer: Answer) -> Answer {
    let why = match answer.status {
        Some(s) if s < 200 => format!(
            "the app answered {s} {}, which is not a final answer to pass on",
            answer.reason
        ),
        Some(_) if answer.error_kind == Some(PROTOCOL) => answer.error.clone().unwrap_or_default(),
        Some(s) if answer.truncated => format!(
            "the app answered {s} {} with a body over {} MiB, more than --passthrough relays",
            answer.reason,
            MAX_RELAYED_BODY / (1024 * 1024)
        ),
        _ => return answer,
    };
    Answer {
        status: None,
        error_kind: Some("other"),
        error: Some(why),
        ..answer
    }
}

/// A failure in plain words, with the likely fix, and its kind (see [`Answer::error_kind`]).
/// Classified from the error's structure; the URL is left out of the words (its path could
/// say anything, "tls-certificate" say). `limit` names the timeout, as for [`answer_of`].
pub fn describe(e: reqwest::Error, target: &str, limit: &str) -> (&'static str, String) {
    let host = reqwest::Url::parse(target)
        .ok()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0)
            )
        })
        .unwrap_or_else(|| target.to_string());
    let e = e.without_url();
    if e.is_timeout() {
        let words = if e.is_connect() {
            format!("could not connect to {host} within 10 s")
        } else {
            format!("no answer from {host} within {limit}")
        };
        return ("timeout", words);
    }
    if let Some(tls) = find_in_chain::<rustls::Error>(&e) {
        return (
            "tls",
            format!("TLS error talking to {host}: {}", tls_words(tls, &host)),
        );
    }
    // A plain-HTTP server often just hangs up on a TLS ClientHello ("tls handshake eof").
    let https = reqwest::Url::parse(target).is_ok_and(|u| u.scheme() == "https");
    if https
        && e.is_connect()
        && has_io_kind(
            &e,
            &[
                std::io::ErrorKind::UnexpectedEof,
                std::io::ErrorKind::ConnectionReset,
            ],
        )
    {
        return (
            "tls",
            format!("TLS error talking to {host}: it hung up during the TLS handshake, so it probably does not speak TLS (is it a plain http:// server?)"),
        );
    }
    if has_io_kind(&e, &[std::io::ErrorKind::ConnectionRefused]) {
        return (
            "connect",
            format!("connection refused: is your app running on {host}?"),
        );
    }
    if has_io_kind(&e, &[std::io::ErrorKind::TimedOut]) {
        return (
            "timeout",
            format!("{host} did not answer: the connection timed out"),
        );
    }
    if e.is_connect() {
        return (
            "connect",
            format!("cannot connect to {host}: {}", error_chain(&e)),
        );
    }
    if cut_off(&e) {
        return (
            "reset",
            format!("{host} closed the connection without a complete answer"),
        );
    }
    if let Some(parse) = find_in_chain::<hyper::Error>(&e).filter(|h| h.is_parse()) {
        return (
            PROTOCOL,
            format!("{host} answered, but not in valid HTTP ({parse}): a bug in the app or whatever answers on that port"),
        );
    }
    ("other", error_chain(&e))
}

/// Whether the error is the connection ending early: a reset, or hyper's "incomplete".
fn cut_off(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind::*;
    causes(e).any(|err| {
        err.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            )
        }) || err
            .downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_closed() || h.is_canceled())
    })
}

/// The first error of type `T` among `e`'s causes.
fn find_in_chain<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    causes(e).find_map(|err| err.downcast_ref::<T>())
}

/// Whether an I/O error of one of these kinds is among `e`'s causes.
pub(crate) fn has_io_kind(
    e: &(dyn std::error::Error + 'static),
    kinds: &[std::io::ErrorKind],
) -> bool {
    causes(e).any(|err| {
        err.downcast_ref::<std::io::Error>()
            .is_some_and(|io| kinds.contains(&io.kind()))
    })
}

/// `e` and its causes, including the errors I/O errors wrap: an io::Error's source() skips
/// the error it wraps (reqwest's TLS failures are a rustls error inside two io::Errors).
fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |err| {
        match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        }
    })
}

/// A TLS failure in words a developer can act on, instead of rustls' debug names.
fn tls_words(e: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let untrusted = "its certificate is not trusted: it is self-signed or issued by an authority this machine does not know (for a self-signed local certificate pass --insecure)";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "its certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "its certificate is not valid yet (is this machine's clock right?)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "its certificate is not valid for {} (pass --insecure for a local test certificate)",
                host.rsplit_once(':').map_or(host, |(h, _)| h)
            ),
            C::Revoked => "its certificate has been revoked".into(),
            _ => untrusted.into(),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "it does not speak TLS (is it a plain http:// server?)".into()
        }
        rustls::Error::AlertReceived(alert) => {
            format!("it refused the TLS handshake (alert {alert:?})")
        }
        rustls::Error::PeerIncompatible(_) => {
            "its TLS settings (versions or ciphers) are not compatible with hookcli's".into()
        }
        other => other.to_string(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        words += ": ";
        words += &s.to_string();
        source = s.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_globs_and_urls() {
        assert_eq!(
            Route::parse("http://localhost:3000/h").unwrap(),
            Route {
                glob: None,
                url: "http://localhost:3000/h".into()
            }
        );
        let r = Route::parse("conversation.*=http://localhost:3000/conv").unwrap();
        assert_eq!(r.glob.as_deref(), Some("conversation.*"));
        assert_eq!(Route::parse("http://x/?a=b").unwrap().glob, None);
        assert!(Route::parse("localhost:3000").is_err());
        assert!(Route::parse("ftp://x").is_err());
    }

    #[test]
    fn routes_refuse_fragments_empty_globs_and_missing_hosts() {
        let err = |text| Route::parse(text).unwrap_err();
        assert!(err("http://127.0.0.1:3000/wh#frag").contains("#fragment"));
        assert!(err("http://127.0.0.1:3000/wh#").contains("#fragment"));
        assert!(err("ticket.*=http://a/#x").contains("#fragment"));
        assert!(err("=http://127.0.0.1:3000/").contains("nothing before '='"));
        assert!(err("http:///x").contains("no host"));
        assert!(err("http:/x").contains("no host"));
        assert!(err("http:x").contains("no host"));
        assert!(err("https:\\\\x/").contains("no host"));
        assert!(Route::parse("HTTP://x:1/a").is_ok());
    }

    #[test]
    fn passwords_are_hidden_in_what_is_shown() {
        assert_eq!(
            redact("http://u:pw@127.0.0.1:3000/wh?x=1"),
            "http://u:***@127.0.0.1:3000/wh?x=1"
        );
        assert_eq!(redact("http://u@localhost:3000"), "http://u@localhost:3000");
        assert_eq!(redact("http://localhost:3000"), "http://localhost:3000");
        let route = Route::parse("ticket.*=https://u:p%40ss@x/t").unwrap();
        assert_eq!(route.shown(), "ticket.*=https://u:***@x/t");
        assert_eq!(
            route.url, "https://u:p%40ss@x/t",
            "the real URL is kept for sending"
        );
    }

    #[test]
    fn first_matching_route_wins() {
        let routes = vec![
            Route::parse("ticket.*=http://a/").unwrap(),
            Route::parse("http://b/").unwrap(),
        ];
        assert_eq!(
            route(&routes, Some("ticket.created")).unwrap().url,
            "http://a/"
        );
        assert_eq!(route(&routes, Some("ping")).unwrap().url, "http://b/");
        assert_eq!(route(&routes, None).unwrap().url, "http://b/");
        let only = vec![Route::parse("conversation.*=http://a/").unwrap()];
        assert!(route(&only, Some("contact.user.created")).is_none());
        assert!(route(&only, None).is_none());
    }

    #[test]
    fn hop_by_hop_headers() {
        for name in [
            "Connection",
            "keep-alive",
            "Proxy-Authorization",
            "proxy-foo",
            "HOST",
        ] {
            assert!(is_hop_by_hop(name), "{name}");
        }
        for name in ["x-proxy-id", "proxy", "content-type", "Forwarded"] {
            assert!(!is_hop_by_hop(name), "{name}");
        }
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b"Connection", b"keep-alive, X-Foo"),
            (b"X-Foo", b"1"),
            (b"connection", b" close ,,X-Bar"),
        ];
        assert_eq!(
            connection_options(headers),
            vec!["keep-alive", "x-foo", "close", "x-bar"]
        );
    }

    #[test]
    fn the_wire_has_what_the_client_adds_in_its_order() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let names = |headers: &reqwest::header::HeaderMap, target, len| -> Vec<String> {
            on_the_wire(headers, target, len)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(
            names(&headers, "http://u:p@127.0.0.1:3000/x", 3),
            ["authorization", "x-a", "accept", "host", "content-length"]
        );
        // An empty body goes without a Content-Length; a default port is not written.
        assert_eq!(
            names(&headers, "http://localhost/x", 0),
            ["x-a", "accept", "host"]
        );
        assert_eq!(
            on_the_wire(&headers, "http://localhost/x", 0)[2].1,
            b"localhost"
        );
        headers.insert("accept", "application/json".parse().unwrap());
        assert_eq!(
            names(&headers, "http://a/", 1),
            ["x-a", "accept", "host", "content-length"]
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("conversation.*", "conversation.admin.replied"));
        assert!(glob_match("*.created", "ticket.created"));
        assert!(glob_match("ticket.?losed", "ticket.closed"));
        assert!(!glob_match("ticket.*", "conversation.read"));
    }

    #[test]
    fn a_prefix_is_stripped_however_the_request_encodes_it() {
        for path in [
            "/caf%c3%a9%20hooks/sub",
            "/caf%C3%A9%20hooks/sub",
            "/café%20hooks/sub",
        ] {
            assert_eq!(
                target_url(
                    "http://a/base",
                    "/caf%C3%A9%20hooks",
                    &format!("{path}?x=1")
                )
                .unwrap(),
                "http://a/base/sub?x=1",
                "{path}"
            );
        }
    }

    #[test]
    fn target_urls_join_path_and_query() {
        let t = |base, prefix, target| target_url(base, prefix, target).unwrap();
        assert_eq!(
            t("http://localhost:3000/webhooks/intercom", "/", "/"),
            "http://localhost:3000/webhooks/intercom"
        );
        assert_eq!(
            t("http://localhost:3000", "/", "/"),
            "http://localhost:3000/"
        );
        assert_eq!(
            t("http://localhost:3000/wh", "/hooks", "/hooks/intercom?x=1"),
            "http://localhost:3000/wh/intercom?x=1"
        );
        assert_eq!(
            t("http://localhost:3000/wh", "/hooks", "/hooks"),
            "http://localhost:3000/wh"
        );
        assert_eq!(
            t("http://localhost:3000/wh", "/hooks", "/hooks/?x=1"),
            "http://localhost:3000/wh/?x=1"
        );
        assert_eq!(
            t("http://localhost:3000/wh/", "/hooks", "/hooks/"),
            "http://localhost:3000/wh/"
        );
        assert_eq!(
            t("http://localhost:3000/wh?k=v", "/", "/a?x=1"),
            "http://localhost:3000/wh/a?k=v&x=1"
        );
        assert_eq!(
            t("http://localhost:3000/wh/", "/", "/"),
            "http://localhost:3000/wh/"
        );
        assert_eq!(
            t("http://localhost:3000/wh/", "/hooks", "/hooks/a/b"),
            "http://localhost:3000/wh/a/b"
        );
        assert_eq!(
            t("http://localhost:3000/wh?fields=a,b", "/", "/"),
            "http://localhost:3000/wh?fields=a,b"
        );
    }

    #[test]
    fn target_urls_never_leave_the_routes_path() {
        let base = "http://127.0.0.1:3000/wh/";
        for target in [
            "/hooks/../admin",
            "/hooks/%2e%2e/admin",
            "/hooks/.%2e/admin",
            "/hooks/%2E%2E/admin",
            "/hooks/..",
            "/hooks/a/../../admin?x=1",
            "/hooks/../whx",
        ] {
            let err = target_url(base, "/hooks", target).unwrap_err();
            assert!(
                err.contains("leads outside the route's path /wh/"),
                "{target}: {err}"
            );
        }
        let err = target_url("http://127.0.0.1:3000/wh", "/", "/../whx").unwrap_err();
        assert!(err.contains("(to /whx)"), "{err}");
        // Dot segments that stay inside the route are resolved, as any HTTP client would.
        assert_eq!(
            target_url(base, "/hooks", "/hooks/a/../b").unwrap(),
            "http://127.0.0.1:3000/wh/b"
        );
        assert_eq!(
            target_url(base, "/hooks", "/hooks/a\\b").unwrap(),
            "http://127.0.0.1:3000/wh/a%5Cb"
        );
        assert_eq!(
            target_url(base, "/hooks", "/hooks/\\..\\admin").unwrap(),
            "http://127.0.0.1:3000/wh/%5C..%5Cadmin"
        );
        // A route at the root can be reached whole, but not left.
        assert_eq!(
            target_url("http://127.0.0.1:3000", "/", "/../a").unwrap(),
            "http://127.0.0.1:3000/a"
        );
    }

    #[test]
    fn retry_after_is_read_on_429_and_503_as_seconds_or_a_date() {
        let a = |status, value: &str| Answer {
            started_at: 0,
            target: String::new(),
            latency: Duration::ZERO,
            status: Some(status),
            reason: String::new(),
            headers: vec![("Retry-After".into(), value.as_bytes().to_vec())],
            body: bytes::Bytes::new(),
            truncated: false,
            error_kind: None,
            error: None,
        };
        assert_eq!(a(429, " 7 ").retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(a(500, "7").retry_after(), None);
        assert_eq!(a(503, "soon").retry_after(), None);
        let later = (chrono::Utc::now() + chrono::Duration::seconds(20)).to_rfc2822();
        let wait = a(503, &later.replace("+0000", "GMT"))
            .retry_after()
            .unwrap();
        assert!((18..=20).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(
            a(503, "Sun, 06 Nov 1994 08:49:37 GMT").retry_after(),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn classification() {
        let a = |status| Answer {
            started_at: 0,
            target: String::new(),
            latency: Duration::ZERO,
            status,
            reason: String::new(),
            headers: vec![],
            body: bytes::Bytes::new(),
            truncated: false,
            error_kind: None,
            error: None,
        };
        assert_eq!(a(Some(204)).class(), Class::Delivered);
        // Slowness is only said of an answer; a timeout says what happened itself.
        let slow = |status| Answer {
            latency: Duration::from_secs(6),
            ..a(status)
        };
        assert!(slow(Some(200)).slow_hint().is_some() && slow(None).slow_hint().is_none());
        assert!(a(Some(410)).hints()[0].contains("disables a webhook subscription"));
        assert!(a(Some(429)).hints()[0].contains("throttles the whole webhook subscription"));
        assert!(a(Some(404)).hints().is_empty() && a(Some(503)).hints().is_empty());
        assert_eq!(a(Some(500)).class(), Class::Retryable);
        assert_eq!(a(Some(429)).class(), Class::Retryable);
        assert_eq!(a(Some(408)).class(), Class::Retryable);
        assert_eq!(a(Some(404)).class(), Class::Permanent);
        assert_eq!(a(Some(302)).class(), Class::Permanent);
        assert_eq!(a(None).class(), Class::Retryable);
        assert_eq!(
            Answer::unsendable("http://a/", "why".into()).class(),
            Class::Permanent
        );
    }
}
