//! Interchange formats for captures: hookcli's own capture document, HAR 1.2, and curl.
//! Each module writes its format and, where it can be read back, parses it; `splice`
//! edits a JSON body without rewriting it.

pub mod curl;
pub mod document;
pub mod har;
pub mod splice;

use crate::intercom::Notification;
use crate::store::model::{Header, NewCapture};
use serde_json::Value;

/// A capture read from a file: the id it had there, if any, and the request.
pub type Entry = (Option<String>, NewCapture);

/// The captures in a file, as `import` and `replay --file` read it: a hookcli capture
/// document or an Intercom notification body (given Intercom's documented headers), a
/// JSON list or JSON Lines of them, or a HAR log. Anything else is refused with the reason.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    // A byte order mark some editors write is not JSON; what follows it is.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the file is empty".into());
    }
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return from_json(&value, bytes);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "it is not JSON (nor UTF-8 text)".to_string())?;
    // JSON Lines, or values one after another however they are spaced (as `export ID >>
    // file` appends them, pretty-printed), each read like a whole file and numbered by the
    // line it starts on.
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut entries = Vec::new();
    // Counted on from the last value, not from the top, so a long file reads in one pass.
    let (mut counted, mut line) = (0, 1);
    loop {
        let rest = &text[stream.byte_offset()..];
        let start = text.len() - rest.trim_start().len();
        line += text[counted..start].matches('\n').count();
        counted = start;
        let value = match stream.next() {
            None => return Ok(entries),
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                return Err(format!(
                    "it is neither JSON nor JSON Lines of hookcli capture documents ({e})"
                ))
            }
        };
        let raw = &bytes[start..stream.byte_offset()];
        entries.extend(from_json(&value, raw).map_err(|why| format!("line {line}: {why}"))?);
    }
}

/// [`read`] for a file that is one JSON value.
fn from_json(value: &Value, bytes: &[u8]) -> Result<Vec<Entry>, String> {
    if document::is_document(value) {
        return Ok(vec![document::from_value(value)?]);
    }
    if har::is_har(value) {
        let entries = har::from_value(value)?;
        if entries.is_empty() {
            return Err("its HAR log has no entries".into());
        }
        return Ok(entries);
    }
    if value.get("log").is_some() {
        return Err("it has a \"log\" but no \"log.entries\", so it is not a HAR file".into());
    }
    match value {
        Value::Array(items) if items.is_empty() => Err("it is an empty JSON list".into()),
        Value::Array(items) => {
            // A bare body is stored byte-exact, so each item's own bytes are kept beside it.
            let raw: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            items
                .iter()
                .zip(raw)
                .enumerate()
                .map(|(i, (item, raw))| {
                    let raw = raw.get().as_bytes();
                    if document::is_document(item) {
                        document::from_value(item).map_err(|why| format!("item {}: {why}", i + 1))
                    } else if item.is_object() && Notification::parse(raw).is_some() {
                        Ok((None, document::bare_body(raw)))
                    } else {
                        Err(format!(
                            "item {} of the list is neither a hookcli capture document nor an Intercom notification body",
                            i + 1
                        ))
                    }
                })
                .collect()
        }
        // A bare body is stored as if Intercom had sent it, so it must look like its own.
        Value::Object(_) if Notification::parse(bytes).is_some() => {
            Ok(vec![(None, document::bare_body(bytes))])
        }
        _ => Err(
            "it is JSON but not a hookcli capture document, a HAR file or an Intercom notification body (an object with \"type\":\"notification_event\" or a \"topic\"); `hookcli send --file` sends a body of any other kind"
                .into(),
        ),
    }
}

/// The first value of a header, case-insensitively.
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

/// Every value of a header, case-insensitively, in order.
pub fn header_values<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

/// Where a capture was originally sent: `http://` + its Host header, when that is a host
/// and port a URL can hold; a sender's odd Host (with a `/`, `@` or `?`) must not move a
/// URL built from it to another host or path, so then listen's default address.
pub fn origin(headers: &[Header]) -> String {
    match header(headers, "host").filter(|h| is_authority(h)) {
        Some(host) => format!("http://{}", String::from_utf8_lossy(host)),
        None => "http://127.0.0.1:4665".to_string(),
    }
}

/// Whether a Host value is `name[:port]` or `[v6]:port` and nothing more.
fn is_authority(host: &[u8]) -> bool {
    let (name, port) = match host.iter().rposition(|&b| b == b':') {
        Some(at) if !host[at..].contains(&b']') => (&host[..at], &host[at + 1..]),
        _ => (host, &b""[..]),
    };
    let bracketed = name.len() > 2 && name[0] == b'[' && name[name.len() - 1] == b']';
    let name_ok = if bracketed {
        name[1..name.len() - 1]
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    };
    name_ok && port.len() <= 5 && port.iter().all(u8::is_ascii_digit)
}

/// Whether `text` is an HTTP token (RFC 9110 §5.6.2): what a method or a header name must be.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_bodies_get_intercoms_headers() {
        let parsed = read(br#"{"type":"notification_event","topic":"ping"}"#).unwrap();
        let (id, c) = &parsed[0];
        assert!(id.is_none());
        assert_eq!(c.method, "POST");
        assert_eq!(
            c.notification.as_ref().unwrap().topic.as_deref(),
            Some("ping")
        );
        assert!(c
            .headers
            .iter()
            .any(|(n, v)| n == b"user-agent" && v == b"intercom-parrot-service-client/1.0"));
    }

    #[test]
    fn lists_and_lines_of_documents_are_each_read() {
        let doc = r#"{"format":"hookcli.capture/1","id":"x","method":"POST","headers":[],"body":{"text":"{}"}}"#;
        assert_eq!(read(format!("[{doc},{doc}]").as_bytes()).unwrap().len(), 2);
        // Anything a whole file may be, one after another; a byte order mark in front.
        assert_eq!(read(format!("[{doc}]\n{doc}").as_bytes()).unwrap().len(), 2);
        assert_eq!(
            read(format!("\u{feff}{doc}\n{doc}").as_bytes())
                .unwrap()
                .len(),
            2
        );
        let (a, b) = (
            r#"{"type":"notification_event","topic":"ping"}"#,
            r#"{ "topic" : "ticket.created" }"#,
        );
        let bare = read(format!("{a}{b}\n").as_bytes()).unwrap();
        let bodies: Vec<&[u8]> = bare.iter().map(|(_, c)| &c.body[..]).collect();
        assert_eq!(bodies, [a.as_bytes(), b.as_bytes()], "each body byte-exact");
        assert_eq!(
            read(format!("{doc}\n42").as_bytes()).unwrap_err(),
            "line 2: it is JSON but not a hookcli capture document, a HAR file or an Intercom notification body (an object with \"type\":\"notification_event\" or a \"topic\"); `hookcli send --file` sends a body of any other kind"
        );
        assert_eq!(
            read(format!("{doc}\n\n{doc}\n").as_bytes()).unwrap().len(),
            2
        );
        assert_eq!(
            read(format!("[{doc},{{\"a\":1}}]").as_bytes()).unwrap_err(),
            "item 2 of the list is neither a hookcli capture document nor an Intercom notification body"
        );
        // Bare bodies in a list, beside documents, each byte-exact.
        let listed = read(format!("[ {a} ,\n{doc},{b}]").as_bytes()).unwrap();
        let bodies: Vec<&[u8]> = listed.iter().map(|(_, c)| &c.body[..]).collect();
        assert_eq!(bodies, [a.as_bytes(), b"{}", b.as_bytes()]);
        let no_method = doc.replace(r#""method":"POST","#, "");
        assert_eq!(
            read(format!("[{doc},{no_method}]").as_bytes()).unwrap_err(),
            "item 2: the document has no \"method\""
        );
        assert_eq!(
            read(format!("{doc}\n{no_method}").as_bytes()).unwrap_err(),
            "line 2: the document has no \"method\""
        );
        // Pretty documents one after another, as appending exports to a file leaves them.
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(doc).unwrap()).unwrap();
        let lines = pretty.lines().count();
        assert_eq!(
            read(format!("{pretty}\n{pretty}\n").as_bytes())
                .unwrap()
                .len(),
            2
        );
        let pretty_no_method =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&no_method).unwrap())
                .unwrap();
        assert_eq!(
            read(format!("{pretty}\n{pretty_no_method}").as_bytes()).unwrap_err(),
            format!("line {}: the document has no \"method\"", lines + 1)
        );
    }

    #[test]
    fn an_origin_is_built_only_from_a_host_a_url_can_hold() {
        let at = |host: &[u8]| origin(&[(b"Host".to_vec(), host.to_vec())]);
        for host in [
            &b"abc.ngrok-free.app"[..],
            b"127.0.0.1:4665",
            b"[::1]:4665",
            b"[::1]",
            b"my_host:80",
        ] {
            assert_eq!(
                at(host),
                format!("http://{}", String::from_utf8_lossy(host))
            );
        }
        for host in [
            &b"evil.example/x?"[..],
            b"user@evil.example",
            b"a b",
            b"h:80:80",
            b"h:port",
            b"",
            b"[::1",
            b"h\xff",
        ] {
            assert_eq!(at(host), "http://127.0.0.1:4665", "{host:?}");
        }
        assert_eq!(origin(&[]), "http://127.0.0.1:4665");
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let err = |b: &[u8]| read(b).unwrap_err();
        assert_eq!(err(b""), "the file is empty");
        assert_eq!(err(b" \n\n"), "the file is empty");
        assert_eq!(err(b"[]"), "it is an empty JSON list");
        for json in [&b"42"[..], b"null", b"{}", b"\"text\"", br#"{"a":1}"#] {
            assert!(
                err(json).starts_with("it is JSON but not a hookcli capture document"),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        assert!(err(b"not json").contains("neither JSON nor JSON Lines"));
        assert!(err(br#"{"log":{}}"#).contains("not a HAR file"));
        assert_eq!(
            err(br#"{"log":{"entries":[]}}"#),
            "its HAR log has no entries"
        );
        assert!(err(b"\xff\xfe").contains("not JSON"));
    }
}
