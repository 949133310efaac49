//! HTTP Archive 1.2 (http://www.softwareishard.com/blog/har-12-spec/): what browser dev
//! tools and HAR viewers open. hookcli-only details ride in `_hookcli`, which HAR allows.

use super::{document, origin};
use crate::intercom::{signature::Scheme, Notification};
use crate::render::json::rfc3339;
use crate::store::model::{Capture, Header, NewCapture, Source};
use base64::Engine as _;
use serde_json::{json, Value};

/// A HAR log holding one entry per capture.
pub fn to_value(captures: &[Capture], base_url: Option<&str>) -> Value {
    let entries: Vec<Value> = captures.iter().map(|c| entry(c, base_url)).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "hookcli", "version": env!("CARGO_PKG_VERSION") },
            "entries": entries,
        }
    })
}

/// What a URL may not hold as itself (RFC 3986), whatever the sender put in its request
/// line: controls, non-ASCII (always encoded), space and the characters no URL component
/// allows. `%` stays: the target's own escapes are kept as sent.
const NOT_IN_URL: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']');

fn entry(c: &Capture, base_url: Option<&str>) -> Value {
    let r = &c.request;
    let base = base_url.map_or_else(
        || origin(&r.headers),
        |b| b.trim_end_matches('/').to_string(),
    );
    let target = percent_encoding::utf8_percent_encode(&r.target, NOT_IN_URL);
    let url = format!("{base}{target}");
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(n, v)| {
            let mut h =
                json!({"name": String::from_utf8_lossy(n), "value": String::from_utf8_lossy(v)});
            // HAR values are text; a value that is not UTF-8 rides along exactly as well.
            if std::str::from_utf8(v).is_err() {
                h["_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(v));
            }
            h
        })
        .collect();
    let query: Vec<Value> = r
        .target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    // Decoded, as browsers write them (`+` is a space in a query).
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    let decode = |s: &str| {
                        let s = s.replace('+', " ");
                        percent_encoding::percent_decode_str(&s)
                            .decode_utf8_lossy()
                            .into_owned()
                    };
                    json!({"name": decode(k), "value": decode(v)})
                })
                .collect()
        })
        .unwrap_or_default();
    let mime = super::header(&r.headers, "content-type")
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let (text, encoding) = match std::str::from_utf8(&r.body) {
        Ok(t) => (t.to_string(), Value::Null),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&r.body),
            json!("base64"),
        ),
    };
    json!({
        "startedDateTime": rfc3339(r.received_at),
        "time": 0,
        "request": {
            "method": r.method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": headers,
            "queryString": query,
            "postData": { "mimeType": mime, "text": text },
            "headersSize": -1,
            "bodySize": r.body.len(),
        },
        "response": {
            // What hookcli answered, when it received the request itself (0: not known).
            "status": c.answered.unwrap_or(0), "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
            "content": { "size": 0, "mimeType": "" }, "redirectURL": "", "headersSize": -1, "bodySize": -1,
            "comment": "hookcli records what it received; see _hookcli for its verdicts",
        },
        "cache": {},
        "timings": { "send": 0, "wait": 0, "receive": 0 },
        "_hookcli": {
            "id": c.id,
            // As received: the URL above has it percent-encoded where a URL must.
            "target": r.target,
            "body_encoding": encoding,
            "remote_addr": r.remote_addr,
            "client_addr": r.client_addr,
            "signature": { "verdict": r.verdict.code(), "reason": r.verdict.reason().map(|w| w.code()) },
        },
    })
}

/// Whether a JSON value looks like a HAR log.
pub fn is_har(v: &Value) -> bool {
    v.get("log").and_then(|l| l.get("entries")).is_some()
}

/// Every entry of a HAR log as a capture to store (with the original id when hookcli made it).
pub fn from_value(v: &Value) -> Result<Vec<(Option<String>, NewCapture)>, String> {
    let entries = v["log"]["entries"]
        .as_array()
        .ok_or("log.entries is not a list, so this is not a HAR file")?;
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| parse_entry(e).map_err(|why| format!("HAR entry {}: {why}", i + 1)))
        .collect()
}

fn parse_entry(e: &Value) -> Result<(Option<String>, NewCapture), String> {
    let req = e.get("request").ok_or("it has no request")?;
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .ok_or("its request has no method")?;
    let url = req
        .get("url")
        .and_then(Value::as_str)
        .ok_or("its request has no url")?;
    let hook = e.get("_hookcli");
    // hookcli's own HAR keeps the target exactly as received; others have only the URL.
    let target = match hook.and_then(|h| h.get("target")).and_then(Value::as_str) {
        Some(target) => target,
        None => url
            .split_once("://")
            .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..])),
    }
    .to_string();
    let headers: Vec<Header> = req
        .get("headers")
        .and_then(Value::as_array)
        .ok_or("its request has no headers list")?
        .iter()
        .filter_map(|h| Some((h.get("name")?.as_str()?, h)))
        // HTTP/2 pseudo-headers (:authority, :path) are the request line, not headers.
        .filter(|(name, _)| !name.starts_with(':'))
        .filter_map(|(name, h)| {
            let value = match h.get("_base64").and_then(Value::as_str) {
                Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(value) => value,
                    Err(_) => {
                        return Some(Err(format!(
                            "the _base64 value of its header {} does not decode",
                            crate::render::escape::line(name)
                        )))
                    }
                },
                None => h.get("value")?.as_str()?.as_bytes().to_vec(),
            };
            Some(document::header(name, value))
        })
        .collect::<Result<_, String>>()?;
    let post = req.get("postData");
    let text = post
        .and_then(|p| p.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("");
    // A form given only as params has no bytes to store, and guessing them would not be exact.
    let params = post.and_then(|p| p.get("params")).and_then(Value::as_array);
    if text.is_empty() && params.is_some_and(|p| !p.is_empty()) {
        return Err(
            "its postData gives params but no text: hookcli needs the body's bytes as text".into(),
        );
    }
    let base64_body = hook
        .and_then(|h| h.get("body_encoding"))
        .and_then(Value::as_str)
        == Some("base64")
        || req
            .get("postData")
            .and_then(|p| p.get("encoding"))
            .and_then(Value::as_str)
            == Some("base64");
    let body = if base64_body {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| "its base64 body does not decode")?
    } else {
        text.as_bytes().to_vec()
    };
    let received_at = match e.get("startedDateTime") {
        None | Some(Value::Null) => document::now_ms(),
        Some(t) => document::received_at(started(t)?)?,
    };
    let notification = Notification::parse(&body);
    let scheme = Scheme::of_headers(notification.is_some(), &body, &headers);
    let verdict = document::verdict(hook.and_then(|h| h.get("signature")), &headers, scheme)?;
    let text_field = |k: &str| {
        hook.and_then(|h| h.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok((
        text_field("id"),
        NewCapture {
            received_at,
            source: Source::Import,
            remote_addr: text_field("remote_addr").unwrap_or_else(|| "imported".into()),
            client_addr: text_field("client_addr"),
            method: document::method(method)?,
            target: document::target(&target)?,
            headers,
            notification,
            body: body.into(),
            verdict,
        },
    ))
}

/// An entry's `startedDateTime` in Unix milliseconds: ISO 8601 with a zone, as browsers
/// write it (`2024-05-01T10:00:00.123Z`, `+01:00` or `+0100`). Another date is refused
/// rather than imported as a wrong one.
fn started(t: &Value) -> Result<i64, String> {
    let text = t.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            format!(
                "its startedDateTime {} is not an ISO 8601 date with a zone, such as 2024-05-01T10:00:00.000Z",
                crate::render::escape::line(&t.to_string())
            )
        })
}

#[cfg(test)]
mod tests {
    use super::{started, NOT_IN_URL};
    use serde_json::json;

    #[test]
    fn a_url_holds_only_what_urls_allow_and_keeps_the_targets_own_escapes() {
        let target = "/a\"\\|{b}[1]^`x y<>?q=%20\u{e9}&r=1";
        let url = percent_encoding::utf8_percent_encode(target, NOT_IN_URL).to_string();
        assert_eq!(
            url,
            "/a%22%5C%7C%7Bb%7D%5B1%5D%5E%60x%20y%3C%3E?q=%20%C3%A9&r=1"
        );
    }

    #[test]
    fn reads_the_dates_browsers_write_and_refuses_others() {
        let at = 1_714_557_600_123; // 2024-05-01T10:00:00.123Z
        for t in [
            "2024-05-01T10:00:00.123Z",
            "2024-05-01T11:00:00.123+01:00",
            "2024-05-01T11:00:00.123+0100",
        ] {
            assert_eq!(started(&json!(t)), Ok(at), "{t}");
        }
        for t in [
            json!("01/05/2024 10:00"),
            json!("2024-05-01T10:00:00"),
            json!(1),
        ] {
            assert!(started(&t).is_err(), "{t}");
        }
    }
}
