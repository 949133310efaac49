//! hookcli's capture document: the `capture` record of `--json` plus a `format` version.
//! `export --format json` writes it, `import` and `replay --file` read it.

use crate::intercom::{
    signature::{Invalid, Scheme, Verdict},
    Notification,
};
use crate::render::escape;
use crate::render::json::capture as capture_record;
use crate::store::model::{Capture, Header, NewCapture, Source};
use base64::Engine as _;
use serde_json::Value;

/// The version tag every document carries.
pub const FORMAT: &str = "hookcli.capture/1";

/// A capture as a document.
pub fn to_value(c: &Capture) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("format".into(), Value::String(FORMAT.into()));
    map.extend(capture_record(c));
    Value::Object(map)
}

/// Whether a JSON value is a capture document.
pub fn is_document(v: &Value) -> bool {
    v.get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("hookcli.capture/"))
}

/// A document back into a capture to store (with its original id), or why it is not one.
pub fn from_value(v: &Value) -> Result<(Option<String>, NewCapture), String> {
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!(
            "unsupported document format {} (this hookcli reads {FORMAT})",
            v["format"]
        ));
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let body = bytes(v.get("body")).ok_or("the document has no readable \"body\"")?;
    let headers: Vec<Header> = v
        .get("headers")
        .and_then(Value::as_array)
        .ok_or("the document has no \"headers\" list")?
        .iter()
        .map(|pair| {
            let name = pair
                .get(0)
                .and_then(Value::as_str)
                .ok_or("a header has no name")?;
            let value = bytes(pair.get(1)).ok_or("a header has no readable value")?;
            header(name, value)
        })
        .collect::<Result<_, String>>()?;
    let notification = Notification::parse(&body);
    let scheme = Scheme::of_headers(notification.is_some(), &body, &headers);
    let verdict = verdict(v.get("signature"), &headers, scheme)?;
    let received_at = match v.get("received_at_ms") {
        None | Some(Value::Null) => now_ms(),
        Some(ms) => ms
            .as_i64()
            .ok_or_else(|| impossible_time(&ms.to_string()))
            .and_then(received_at)?,
    };
    let capture = NewCapture {
        received_at,
        source: Source::Import,
        remote_addr: text("remote_addr").unwrap_or_else(|| "imported".into()),
        client_addr: text("client_addr"),
        method: method(&text("method").ok_or("the document has no \"method\"")?)?,
        target: target(&text("target").unwrap_or_else(|| "/".into()))?,
        headers,
        notification,
        body: body.into(),
        verdict,
    };
    Ok((text("id"), capture))
}

/// A receive time read from a file, if a capture could have been received then: from 1970
/// up to a day from now (room for another machine's clock). Anything else cannot be shown
/// as a date, sorted sensibly, or given an id.
pub fn received_at(ms: i64) -> Result<i64, String> {
    const DAY_MS: i64 = 86_400_000;
    if (0..=now_ms() + DAY_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(impossible_time(&ms.to_string()))
    }
}

fn impossible_time(shown: &str) -> String {
    format!(
        "its receive time {} is impossible: it must be Unix milliseconds from 1970 up to now",
        escape::line(shown)
    )
}

/// A method read from a file, if it is an HTTP token (RFC 9110 §9.1), as anything sent or
/// shown must be.
pub fn method(text: &str) -> Result<String, String> {
    if super::is_token(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "its method '{}' is not an HTTP method (a token such as POST)",
            escape::line(text)
        ))
    }
}

/// A header read from a file, if it could have come over HTTP: a token for a name and no
/// control characters but tab in the value, so nothing stored can split a header when it is
/// replayed, forwarded or exported as a curl script.
pub fn header(name: &str, value: Vec<u8>) -> Result<Header, String> {
    if !super::is_token(name) {
        return Err(format!(
            "its header name '{}' is not an HTTP header name",
            escape::line(name)
        ));
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!(
            "the value of its header {name} holds a control character (a line break, say), which HTTP does not allow"
        ));
    }
    Ok((name.as_bytes().to_vec(), value))
}

/// A verdict from a stored `{"verdict": …, "reason": …}` object (absent means unchecked),
/// if it is one hookcli gives and fits the request, whose signature `scheme` checks: a
/// checked signature needs that header, a missing one needs none, and a reason must be
/// one of that scheme's (`repeated` needs the header more than once).
pub fn verdict(sig: Option<&Value>, headers: &[Header], scheme: Scheme) -> Result<Verdict, String> {
    let code = |k: &str| sig.and_then(|s| s.get(k)).and_then(Value::as_str);
    let verdict = code("verdict").unwrap_or("unchecked");
    let reason = code("reason").map(|r| (r, Invalid::from_code(r)));
    match (verdict, reason) {
        ("valid" | "missing" | "unchecked", _) | ("invalid", None) => {}
        ("invalid", Some((_, Some(_)))) => {}
        ("invalid", Some((r, None))) => {
            let all: Vec<&str> = Invalid::ALL.iter().map(|r| r.code()).collect();
            return Err(format!(
                "its signature reason '{}' is not one hookcli gives ({})",
                escape::line(r),
                all.join(", ")
            ));
        }
        (other, _) => {
            return Err(format!(
                "its signature verdict '{}' is not valid, invalid, missing or unchecked",
                escape::line(other)
            ))
        }
    }
    let carried = super::header_values(headers, scheme.header()).count();
    let signed = carried > 0;
    let name = scheme.name();
    let fits = reason
        .and_then(|(_, r)| r)
        .map_or(true, |r| r.fits(scheme, carried));
    match (verdict, signed) {
        ("valid" | "invalid", false) => Err(format!(
            "its signature verdict is '{verdict}', but it has no {name} header"
        )),
        ("missing", true) => Err(format!(
            "its signature verdict is 'missing', but it has an {name} header"
        )),
        ("invalid", _) if !fits => Err(format!(
            "its signature reason '{}' is not one an {name} can have",
            code("reason").unwrap_or_default()
        )),
        _ => Ok(Verdict::from_codes(verdict, code("reason"))),
    }
}

/// A request target read from a file, if it could have been on a request line: a path
/// (or `*`) with no spaces or control characters, so exports and replays build sane URLs.
pub fn target(text: &str) -> Result<String, String> {
    let on_the_wire = !text.chars().any(|c| c.is_control() || c.is_whitespace());
    if (text.starts_with('/') || text == "*") && on_the_wire {
        Ok(text.to_string())
    } else {
        Err(format!(
            "its target '{}' is not a request path (one that starts with / and holds no spaces or control characters)",
            escape::line(text)
        ))
    }
}

/// A bare JSON body, stored as Intercom would have sent it (its documented headers).
pub fn bare_body(bytes: &[u8]) -> NewCapture {
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("user-agent", "intercom-parrot-service-client/1.0"),
    ];
    NewCapture {
        received_at: now_ms(),
        source: Source::Import,
        remote_addr: "imported".into(),
        client_addr: None,
        method: "POST".into(),
        target: "/".into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
        notification: Notification::parse(bytes),
        body: bytes.to_vec().into(),
        verdict: Verdict::Unchecked,
    }
}

/// Decode `{"text": …}` or `{"bytes": base64}`.
pub fn bytes(v: Option<&Value>) -> Option<Vec<u8>> {
    let v = v?;
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Some(t.as_bytes().to_vec());
    }
    let b64 = v.get("bytes").and_then(Value::as_str)?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
