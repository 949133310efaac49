//! The per-request pipeline, top to bottom: HEAD validation, path check, limits, read the
//! exact bytes, verify the signature, commit to the store, and only then answer 2xx.

use super::bodies::Bodies;
use super::detach::Detached;
use super::slots::Conn;
use super::throttle::Throttle;
use crate::config::Secret;
use crate::forward::{is_hop_by_hop, queue::Forwarder};
use crate::intercom::{outbound::Outbound, signature, Notification};
use crate::render::{body::Kind, Captured, Event, Output, Refused, Visit};
use crate::store::delivery::Plan;
use crate::store::model::{Header, NewCapture};
use crate::store::{model::Source, Writer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING,
};
use hyper::{Method, Request, Response, StatusCode, Version};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a client may take to send its whole body once the head has arrived.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the handler needs to know from the command line.
#[derive(Debug)]
pub struct Settings {
    /// Path prefix, always starting with `/`; `/` serves everything.
    pub prefix: String,
    /// The client secret, when signatures are checked.
    pub secret: Option<Secret>,
    /// Answer 401 to invalid or missing signatures.
    pub reject_invalid: bool,
    /// Largest accepted body in bytes.
    pub max_body: u64,
    /// Intercom's outbound addresses, to mark a request from one.
    pub outbound: Outbound,
}

/// Running totals, for the summary printed at shutdown.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests handled.
    pub received: AtomicU64,
    /// Captures committed.
    pub stored: AtomicU64,
    /// Stored with an invalid or missing signature.
    pub invalid_signatures: AtomicU64,
    /// Answered without storing (limits, timeouts, store failures, 404).
    pub refused: AtomicU64,
    /// Of those, the ones the store failed to save.
    pub store_errors: AtomicU64,
    /// HEAD validations.
    pub validations: AtomicU64,
    /// GETs answered with the page.
    pub pages: AtomicU64,
}

/// Forwarding, when `--forward-to` is given.
pub struct Forwarding {
    /// The queue (and passthrough sender).
    pub forwarder: Arc<Forwarder>,
    /// Wait for the app and relay its answer (`--passthrough`).
    pub passthrough: bool,
}

/// Everything a request handler uses.
pub struct Context {
    /// What the command line asked for.
    pub settings: Settings,
    /// The store's writer.
    pub store: Arc<Writer>,
    /// The printer.
    pub output: Output,
    /// Running totals.
    pub stats: Arc<Stats>,
    /// Forwarding, if `--forward-to` was given.
    pub forwarding: Option<Forwarding>,
    /// The memory large request bodies may take at once.
    pub bodies: Bodies,
    /// Clients cut off mid-head, counted so that a flood of them is said once in a while.
    pub stalls: Throttle,
}

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Handle one request; `sent` is its headers as sent (names' case, exact order), when the
/// connection's tap could follow it.
pub(super) async fn handle(
    state: Arc<Context>,
    peer: SocketAddr,
    sent: Option<Vec<Header>>,
    conn: &Arc<Conn>,
    req: Request<Incoming>,
) -> Resp {
    let stats = &state.stats;
    stats.received.fetch_add(1, Ordering::Relaxed);
    let _receiving = state.forwarding.as_ref().map(|f| f.forwarder.receiving());
    let at = now_ms();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().to_string(), |pq| pq.to_string());
    let remote_addr = peer.to_string();
    let version = req.version();
    let refuse = |status: StatusCode, reason: String, method: &Method| {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        state.output.emit(Event::Refused(Refused {
            at,
            method: method.to_string(),
            target: target.clone(),
            remote_addr: remote_addr.clone(),
            status: status.as_u16(),
            reason: reason.clone(),
        }));
        let mut resp = respond(
            status,
            "text/plain; charset=utf-8",
            format!("hookcli: {reason}\n"),
        );
        // The rest of such a request is not read, so the connection cannot carry another.
        if matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::LENGTH_REQUIRED
        ) {
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            // hyper appends `keep-alive` to a 1.1 answer for a 1.0 client that asked for it,
            // which would read `close, keep-alive`; a 1.0 answer it leaves alone and closes.
            if version == Version::HTTP_10 {
                *resp.version_mut() = Version::HTTP_10;
            }
        }
        resp
    };

    let head_size = req.method().as_str().len()
        + target.len()
        + req
            .headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head_size > super::MAX_HEAD_BYTES {
        let reason = format!(
            "request headers larger than {} bytes",
            super::MAX_HEAD_BYTES
        );
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            reason,
            req.method(),
        );
    }
    // Before the path check: a CONNECT target is host:port, under no prefix.
    if req.method() == Method::CONNECT {
        // A 2xx would turn the connection into a tunnel; nothing here is a proxy.
        let reason = "CONNECT is a proxy request, and hookcli is not a proxy".to_string();
        return refuse(StatusCode::METHOD_NOT_ALLOWED, reason, req.method());
    }
    // `*` (asterisk-form, for OPTIONS about the whole server) names no path: stored, it
    // could be exported or replayed to no URL.
    if !target.starts_with('/') {
        let reason = "the request target must be a path such as /".to_string();
        return refuse(StatusCode::BAD_REQUEST, reason, req.method());
    }
    // RFC 9112 §3.2: never more than one Host, and in HTTP/1.1 always one (it may be empty).
    let hosts = req.headers().get_all(HOST).iter().count();
    if hosts > 1 || (hosts == 0 && req.version() == Version::HTTP_11) {
        let reason = if hosts > 1 {
            "a request may carry only one Host header"
        } else {
            "an HTTP/1.1 request needs exactly one Host header"
        };
        return refuse(StatusCode::BAD_REQUEST, reason.to_string(), req.method());
    }
    if !under_prefix(req.uri().path(), &state.settings.prefix) {
        let reason = format!(
            "path is outside the listen prefix {}",
            state.settings.prefix
        );
        return refuse(StatusCode::NOT_FOUND, reason, req.method());
    }
    let client_addr = forwarded_client(req.headers());
    let region = client_addr
        .as_deref()
        .and_then(client_ip)
        .or(Some(peer.ip()))
        .and_then(|ip| state.settings.outbound.region(ip));
    if matches!(*req.method(), Method::HEAD | Method::GET) {
        let visit = Visit {
            at,
            target,
            remote_addr,
            client_addr,
            intercom_region: region,
        };
        // Intercom validates the URL with HEAD when it is saved: answer at once, no secret
        // needed.
        if req.method() == Method::HEAD {
            stats.validations.fetch_add(1, Ordering::Relaxed);
            state.output.emit(Event::Validation(visit));
            return respond(StatusCode::OK, "text/plain; charset=utf-8", Bytes::new());
        }
        stats.pages.fetch_add(1, Ordering::Relaxed);
        state.output.emit(Event::Page(visit));
        return respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "hookcli is listening here for Intercom webhooks.\n\
             POST notifications to this URL; inspect captures with `hookcli list` and `hookcli show ID`.\n",
        );
    }

    let (parts, body) = req.into_parts();
    // HTTP/1.0 has no chunked bodies: without a Content-Length, hyper reads none, and the
    // bytes sent would be lost behind a 200 for an empty capture (RFC 1945 §7.2.2).
    if parts.version == Version::HTTP_10
        && !parts.headers.contains_key(CONTENT_LENGTH)
        && !parts.headers.contains_key(TRANSFER_ENCODING)
    {
        let reason =
            "an HTTP/1.0 request must give its body's length in Content-Length".to_string();
        return refuse(StatusCode::LENGTH_REQUIRED, reason, &parts.method);
    }
    let max = state.settings.max_body;
    let too_large = || format!("body larger than --max-body ({} bytes)", max);
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large(), &parts.method);
    }
    // A large body waits for room in memory before any of it is read (none declared, as
    // with chunked, counts as --max-body); the body's time limit covers the wait.
    let deadline = tokio::time::Instant::now() + BODY_READ_TIMEOUT;
    let upper = hyper::body::Body::size_hint(&body).upper();
    let Some(_room) = state.bodies.room_for(upper, max, deadline).await else {
        let reason = format!(
            "large bodies already fill the {} of memory hookcli keeps for them (waited {} s); send it again shortly",
            crate::render::size(state.bodies.total()),
            super::bodies::WAIT.as_secs()
        );
        return refuse(StatusCode::SERVICE_UNAVAILABLE, reason, &parts.method);
    };
    let limited = Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX));
    let expected = usize::try_from(declared.unwrap_or(0)).unwrap_or(usize::MAX);
    let body = match tokio::time::timeout_at(deadline, gather(limited, expected)).await {
        Err(_) => {
            let reason = format!(
                "the body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            );
            return refuse(StatusCode::REQUEST_TIMEOUT, reason, &parts.method);
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large(), &parts.method);
        }
        Ok(Err(e)) => {
            // hyper says so with an end-of-file (or reset) I/O error under its body error.
            let cut_short = crate::forward::has_io_kind(
                e.as_ref(),
                &[
                    std::io::ErrorKind::UnexpectedEof,
                    std::io::ErrorKind::ConnectionReset,
                ],
            );
            let reason = match declared {
                Some(len) if cut_short => format!(
                    "the sender closed the connection before its {len}-byte body had arrived"
                ),
                _ if cut_short => {
                    "the sender closed the connection before its body had arrived".to_string()
                }
                _ => format!("the body could not be read: {e}"),
            };
            return refuse(StatusCode::BAD_REQUEST, reason, &parts.method);
        }
        Ok(Ok(Some(body))) => body,
        Ok(Ok(None)) => {
            let reason =
                "there is not enough memory to hold this body right now; send it again shortly"
                    .to_string();
            return refuse(StatusCode::SERVICE_UNAVAILABLE, reason, &parts.method);
        }
    };
    // From here on the sender waits for us, not we for it: never closed to make room.
    let _answering = conn.answering();

    // Notifications carry X-Hub-Signature; health checks and uninstall X-Body-Signature.
    let notification = Notification::parse(&body);
    let scheme = signature::Scheme::of(notification.is_some(), &body, |name| {
        parts.headers.contains_key(name)
    });
    // The first two values are enough to tell one from several.
    let given: Vec<&[u8]> = parts
        .headers
        .get_all(scheme.header())
        .iter()
        .take(2)
        .map(HeaderValue::as_bytes)
        .collect();
    let secret = state.settings.secret.as_ref().map(Secret::expose);
    let verdict = scheme.verify(secret, &given, &body);
    let capture = NewCapture {
        received_at: at,
        source: Source::Listen,
        remote_addr,
        client_addr,
        method: parts.method.to_string(),
        target,
        headers: sent.unwrap_or_else(|| {
            parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect()
        }),
        notification,
        body,
        verdict,
    };
    // A body that holds a notification is JSON (if it is UTF-8: serde does not check the
    // strings it skips); only the others need a closer look.
    let body_kind = if capture.notification.is_some() && std::str::from_utf8(&capture.body).is_ok()
    {
        Kind::Json
    } else {
        Kind::of(&capture.body)
    };

    // From here on the request is committed to: if the sender hangs up while the store is
    // busy, the rest still runs (in a task), so no capture is stored but never shown or,
    // with forwarding, never delivered.
    Detached::new(store_and_answer(state, capture, body_kind, region)).await
}

/// Commit the capture, print it, hand it to forwarding, and build the sender's answer.
async fn store_and_answer(
    state: Arc<Context>,
    capture: NewCapture,
    body_kind: Kind,
    region: Option<&'static str>,
) -> Resp {
    let stats = &state.stats;
    let verdict = capture.verdict;
    // Kept for the message if the store fails.
    let (at, method, target, remote_addr) = (
        capture.received_at,
        capture.method.clone(),
        capture.target.clone(),
        capture.remote_addr.clone(),
    );
    let bad_signature = matches!(
        verdict,
        signature::Verdict::Invalid(_) | signature::Verdict::Missing
    );
    let reject = bad_signature && state.settings.reject_invalid;
    let plan = state.forwarding.as_ref().map(|f| {
        if reject {
            Plan::Skipped("the signature was not valid and --reject-invalid is set".into())
        } else {
            f.forwarder.plan(capture.topic())
        }
    });
    let answered = match &state.forwarding {
        // The app's answer, known only once it has answered.
        Some(f) if f.passthrough && matches!(plan, Some(Plan::Pending)) => None,
        _ if reject => Some(401),
        _ => Some(200),
    };
    let stored = match state.store.insert(capture, plan.clone(), answered).await {
        Ok(stored) => stored,
        Err(e) => {
            // Never a 2xx for something that is not on disk: a 503 makes Intercom retry.
            crate::report_error(&e);
            stats.refused.fetch_add(1, Ordering::Relaxed);
            stats.store_errors.fetch_add(1, Ordering::Relaxed);
            state.output.emit(Event::StoreFailed(Refused {
                at,
                method,
                target,
                remote_addr,
                status: 503,
                reason: e.to_string(),
            }));
            return respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                serde_json::json!({"ok": false, "error": "hookcli could not store this request"})
                    .to_string(),
            );
        }
    };
    stats.stored.fetch_add(1, Ordering::Relaxed);
    if bad_signature {
        stats.invalid_signatures.fetch_add(1, Ordering::Relaxed);
    }
    let (status, body) = if reject {
        let why = verdict.reason().map_or_else(
            || format!("no {} header", stored.request.scheme().name()),
            |w| w.explain().to_string(),
        );
        (
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"ok": false, "id": stored.id, "error": format!("invalid signature: {why}")}),
        )
    } else if stored.request.notification.is_none()
        && crate::intercom::health_check_workspace(&stored.request.body).is_some()
    {
        // What Intercom's installation health check expects, when hookcli is the endpoint.
        (
            StatusCode::OK,
            serde_json::json!({"ok": true, "id": stored.id, "state": "OK"}),
        )
    } else {
        (
            StatusCode::OK,
            serde_json::json!({"ok": true, "id": stored.id}),
        )
    };
    let stored = Arc::new(stored);
    state.output.emit(Event::Capture(Box::new(Captured {
        capture: stored.clone(),
        body_kind,
        intercom_region: region,
    })));
    if let (Some(f), Some(plan)) = (&state.forwarding, &plan) {
        match plan {
            Plan::Skipped(note) => f.forwarder.announce_skip(&stored, note, f.passthrough),
            Plan::Pending if f.passthrough => {
                // The passthrough attempt's record says what the sender got.
                if let Some(answer) = f.forwarder.passthrough(&stored).await {
                    return relay(&answer, &stored.id);
                }
                state.store.record_answer(stored.seq, status.as_u16()).await;
                return ours(status, body, &stored.id);
            }
            Plan::Pending => f.forwarder.wake(&stored),
        }
    }
    ours(status, body, &stored.id)
}

/// hookcli's own answer to a stored capture: `{"ok":…,"id":…}` and the id as a header.
fn ours(status: StatusCode, body: serde_json::Value, id: &str) -> Resp {
    let mut resp = respond(status, "application/json", body.to_string());
    if let Ok(id) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-hookcli-capture-id", id);
    }
    resp
}

/// Read a body into one buffer, sized up front from its declared length: collecting its
/// frames and then joining them held a large body twice. `None` when the memory for it
/// could not be had, which a request can be told, where running out would abort hookcli.
async fn gather<B>(mut body: B, expected: usize) -> Result<Option<Bytes>, B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut buf = Vec::new();
    if buf.try_reserve_exact(expected).is_err() {
        return Ok(None);
    }
    while let Some(frame) = body.frame().await {
        // Trailers are not kept (see storage.md).
        if let Ok(data) = frame?.into_data() {
            if buf.try_reserve(data.len()).is_err() {
                return Ok(None);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Some(Bytes::from(buf)))
}

/// Report a request that hyper answered itself because it could not parse it (400, or
/// 431 for a head past its buffer): the handler never saw it, but the user should. `tls`:
/// the connection opened with a TLS handshake; `mid_head`: part of a request head had come.
pub(super) fn refused_by_hyper(
    state: &Context,
    peer: SocketAddr,
    e: &hyper::Error,
    tls: bool,
    mid_head: bool,
) {
    if e.is_timeout() && mid_head {
        // hyper closes such a connection without an answer; the user should still know,
        // once in a while however many there are.
        let secs = super::HEADER_READ_TIMEOUT.as_secs();
        let quiet = super::throttle::EVERY.as_secs();
        match state.stalls.count() {
            Some(1) => state.output.emit(Event::Notice(format!(
                "a client at {peer} sent part of a request head, then not the rest within {secs} s: connection closed without an answer (more such clients are told of at most every {quiet} s)"
            ))),
            Some(n) => state.output.emit(Event::Notice(format!(
                "{n} clients, the latest at {peer}, sent part of a request head, then not the rest within {secs} s, since the last such notice: connections closed without an answer"
            ))),
            None => {}
        }
        return;
    }
    if !e.is_parse() {
        return; // a client that went away, or an idle one timed out: nothing was answered
    }
    state.stats.received.fetch_add(1, Ordering::Relaxed);
    state.stats.refused.fetch_add(1, Ordering::Relaxed);
    if e.is_parse_version_h2() {
        // hyper answers nothing to it, so there is no status to report.
        state.output.emit(Event::Notice(format!(
            "a client at {peer} spoke HTTP/2 without TLS (h2c), which hookcli does not serve: connection closed (Intercom and tunnels send HTTP/1.1)"
        )));
        return;
    }
    let (status, reason) = if e.is_parse_too_large() {
        // hyper folds a request target past its own limit into "too large", answered 414.
        if e.to_string().contains("URI too long") {
            (414, "request target too long".to_string())
        } else {
            let limit = super::MAX_HEAD_BYTES / 1024;
            let why = format!(
                "request head over {limit} KiB or more than {} headers",
                super::MAX_HEADERS
            );
            (431, why)
        }
    } else if tls {
        (400, "a TLS handshake: this listen speaks plain HTTP, so use an http:// URL (a tunnel gives Intercom the https:// one)".to_string())
    } else {
        (400, format!("malformed HTTP request ({e})"))
    };
    state.output.emit(Event::Refused(Refused {
        at: now_ms(),
        method: String::new(),
        target: String::new(),
        remote_addr: peer.to_string(),
        status,
        reason,
    }));
}

/// The app's answer, relayed to the sender (`--passthrough`); 502 when there was none.
fn relay(answer: &crate::forward::Answer, capture_id: &str) -> Resp {
    let Some(status) = answer.status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        let why = answer.error.as_deref().unwrap_or("no answer");
        return respond(
            StatusCode::BAD_GATEWAY,
            "text/plain; charset=utf-8",
            format!("hookcli captured this request ({capture_id}) but could not pass it to your app: {why}\n"),
        );
    };
    let mut resp = Response::new(Full::new(answer.body.clone()));
    *resp.status_mut() = status;
    for (name, value) in &answer.headers {
        if is_hop_by_hop(name) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

fn under_prefix(path: &str, prefix: &str) -> bool {
    super::after_prefix(path, prefix).is_some()
}

/// The address in a tunnel's report, which may carry a port (`54.216.9.3:4711`, `[::1]:80`)
/// or brackets (`[::1]`).
fn client_ip(reported: &str) -> Option<IpAddr> {
    let bare = reported
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(reported);
    bare.parse::<IpAddr>()
        .or_else(|_| reported.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
}

/// The original client as reported by a tunnel or proxy in front of hookcli: its address
/// alone, whichever header and form reported it; what is no address (`unknown`, an
/// obfuscated `_id`) as reported.
fn forwarded_client(headers: &hyper::HeaderMap) -> Option<String> {
    reported_client(headers).map(|r| client_ip(&r).map_or(r, |ip| ip.to_string()))
}

/// [`forwarded_client`] as the headers give it; bytes that are not UTF-8 as `\xNN`.
fn reported_client(headers: &hyper::HeaderMap) -> Option<String> {
    let text = |v: &hyper::header::HeaderValue| {
        crate::render::escape::invalid_as_hex(v.as_bytes()).into_owned()
    };
    let get = |name: &str| headers.get(name).map(|v| text(v).trim().to_string());
    // The last entry: the one the tunnel itself added. Earlier ones are whatever the sender
    // claimed, and must not make it look like one of Intercom's addresses.
    let last_line = |name: &str| headers.get_all(name).iter().next_back().map(text);
    if let Some(xff) = last_line("x-forwarded-for").as_deref() {
        let last = xff.rsplit(',').next().unwrap_or("").trim();
        if !last.is_empty() {
            return Some(last.to_string());
        }
    }
    // Likewise the last element of `Forwarded` (elements are comma-separated, parameters
    // within one by semicolons).
    if let Some(fwd) = last_line("forwarded").as_deref() {
        let element = fwd.rsplit(',').next().unwrap_or("");
        for param in element.split(';') {
            let Some((key, v)) = param.trim().split_once('=') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("for") {
                return Some(v.trim().trim_matches('"').to_string());
            }
        }
    }
    ["cf-connecting-ip", "true-client-ip", "x-real-ip"]
        .into_iter()
        .find_map(|name| get(name).filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching() {
        assert!(under_prefix("/anything", "/"));
        assert!(under_prefix("/hooks", "/hooks"));
        assert!(under_prefix("/hooks/intercom", "/hooks"));
        assert!(!under_prefix("/hooksx", "/hooks"));
        assert!(!under_prefix("/other", "/hooks"));
        assert!(under_prefix("/caf%c3%a9/x", "/caf%C3%A9"));
        assert!(under_prefix("/caf%C3%A9", "/caf%C3%A9"));
        assert!(!under_prefix("/cafe", "/caf%C3%A9"));
    }

    #[test]
    fn forwarded_client_headers() {
        let mut h = hyper::HeaderMap::new();
        assert_eq!(forwarded_client(&h), None);
        h.insert("x-real-ip", HeaderValue::from_static("10.0.0.9"));
        assert_eq!(forwarded_client(&h).as_deref(), Some("10.0.0.9"));
        h.insert(
            "forwarded",
            HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https"),
        );
        assert_eq!(forwarded_client(&h).as_deref(), Some("2001:db8::1"));
        // The sender's own claim comes first; the tunnel appends the real client last.
        h.insert(
            "forwarded",
            HeaderValue::from_static("for=54.216.9.3, proto=https;FOR=10.0.0.1"),
        );
        assert_eq!(forwarded_client(&h).as_deref(), Some("10.0.0.1"));
        h.append("forwarded", HeaderValue::from_static("for=10.0.0.2"));
        assert_eq!(forwarded_client(&h).as_deref(), Some("10.0.0.2"));
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("54.216.9.3, 10.0.0.1"),
        );
        assert_eq!(forwarded_client(&h).as_deref(), Some("10.0.0.1"));
        // Recorded as the address alone, in whatever form it came.
        for (name, value, client) in [
            ("x-forwarded-for", "34.231.68.152:1234", "34.231.68.152"),
            ("x-forwarded-for", "[2001:db8::1]:443", "2001:db8::1"),
            ("x-forwarded-for", "unknown", "unknown"),
            ("forwarded", "for=\"34.231.68.152:443\"", "34.231.68.152"),
            ("forwarded", "for=\"[2001:db8::1]\"", "2001:db8::1"),
            ("forwarded", "for=_hidden", "_hidden"),
        ] {
            let mut h = hyper::HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(forwarded_client(&h).as_deref(), Some(client), "{value}");
        }
        // What is not ASCII is reported as sent, with bytes that are not UTF-8 as \xNN.
        let mut h = hyper::HeaderMap::new();
        let odd = HeaderValue::from_bytes(b"10.0.0.1, \xff\xfeevil \xe2\x80\xae").unwrap();
        h.insert("x-forwarded-for", odd);
        assert_eq!(
            forwarded_client(&h).as_deref(),
            Some("\\xff\\xfeevil \u{202e}")
        );
    }

    #[test]
    fn a_reported_client_may_carry_a_port() {
        let ip = |s: &str| client_ip(s).map(|ip| ip.to_string());
        assert_eq!(ip("54.216.9.3").as_deref(), Some("54.216.9.3"));
        assert_eq!(ip("54.216.9.3:4711").as_deref(), Some("54.216.9.3"));
        assert_eq!(ip("[2001:db8::1]:80").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(
            ip("[::ffff:34.231.68.152]").as_deref(),
            Some("::ffff:34.231.68.152")
        );
        assert_eq!(ip("unknown"), None);
    }
}
