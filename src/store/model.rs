//! The capture record: one HTTP request as hookcli received it, with its verdicts.

use crate::intercom::{signature::Verdict, Notification};
use base64::Engine as _;
use serde_json::{json, Value};

/// An HTTP header exactly as received: name and value bytes.
pub type Header = (Vec<u8>, Vec<u8>);

/// Where a capture came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Received by `hookcli listen`.
    Listen,
    /// Brought in by `hookcli import`.
    Import,
}

impl Source {
    /// Stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            Source::Listen => "listen",
            Source::Import => "import",
        }
    }
}

/// A request about to be stored.
#[derive(Debug, Clone)]
pub struct NewCapture {
    /// Receive time, Unix milliseconds.
    pub received_at: i64,
    /// Where it came from.
    pub source: Source,
    /// The TCP peer.
    pub remote_addr: String,
    /// The client address a proxy or tunnel reported, if any.
    pub client_addr: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Headers in received order, repeats kept.
    pub headers: Vec<Header>,
    /// The body, byte-exact.
    pub body: bytes::Bytes,
    /// Signature verdict.
    pub verdict: Verdict,
    /// Intercom fields, when the body is a notification.
    pub notification: Option<Notification>,
}

impl NewCapture {
    /// The notification's topic, if the body is a notification that has one.
    pub fn topic(&self) -> Option<&str> {
        self.notification.as_ref().and_then(|n| n.topic.as_deref())
    }

    /// The signature header this request is checked by (see
    /// [`Scheme::of`](crate::intercom::signature::Scheme::of)).
    pub fn scheme(&self) -> crate::intercom::signature::Scheme {
        crate::intercom::signature::Scheme::of_headers(
            self.notification.is_some(),
            &self.body,
            &self.headers,
        )
    }

    /// For a valid signature written otherwise than Intercom writes it (uppercase hex,
    /// spaces around it), how it differs, in words: an app that compares strings would
    /// refuse the same request.
    pub fn signature_written_otherwise(&self) -> Option<String> {
        use crate::intercom::diagnose::{exactness, Diagnosis};
        if self.verdict != Verdict::Valid {
            return None;
        }
        let scheme = self.scheme();
        let value = crate::formats::header(&self.headers, scheme.header())?;
        match exactness(scheme, value) {
            Diagnosis::Valid | Diagnosis::BodyValid => None,
            d => Some(d.explain()),
        }
    }
}

/// A stored capture: the request plus what the store assigned.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Arrival order in this store.
    pub seq: i64,
    /// Sortable unique id (a lowercase ULID).
    pub id: String,
    /// Whether a capture with the same notification id was stored before.
    pub redelivery: bool,
    /// Delivery state when forwarding: pending, delivered, failed or skipped.
    pub delivery: Option<String>,
    /// The status hookcli answered the sender, when it was the one that received it.
    pub answered: Option<u16>,
    /// Everything that was received.
    pub request: NewCapture,
}

impl Capture {
    /// The short id people type and see in one-line output.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }

    /// When Intercom created it (its `created_at`, when that is a date), else when it was
    /// received, in Unix milliseconds: what `--order created` sorts by (as the SQL of
    /// `query::Order::CreatedNewestFirst` does).
    pub fn created_or_received_ms(&self) -> i64 {
        let n = self.request.notification.as_ref();
        n.and_then(|n| n.created_at)
            .and_then(crate::intercom::notification_time_ms)
            .unwrap_or(self.request.received_at)
    }
}

/// Put `captures` oldest first by [`Capture::created_or_received_ms`]; ties keep their
/// order (arrival, as selected).
pub fn sort_by_created(captures: &mut [Capture]) {
    captures.sort_by_key(Capture::created_or_received_ms);
}

/// The first 12 characters of an id: unique in practice, and any unique prefix is accepted.
pub fn short_id(id: &str) -> &str {
    // By characters: a store written before imports checked ids may hold any text.
    id.char_indices().nth(12).map_or(id, |(end, _)| &id[..end])
}

/// Encode a byte string for JSON the way ripgrep does: text when UTF-8, base64 otherwise.
pub fn bytes_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "text": text }),
        Err(_) => json!({ "bytes": base64::engine::general_purpose::STANDARD.encode(bytes) }),
    }
}

/// Headers as stored: `[[name, value], ...]`, each a string, or `{"bytes": base64}` when not UTF-8.
pub fn headers_to_json(headers: &[Header]) -> String {
    // Serialised straight from borrowed parts: this runs for every capture.
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Part<'a> {
        Text(&'a str),
        Bytes { bytes: String },
    }
    fn part(b: &[u8]) -> Part<'_> {
        match std::str::from_utf8(b) {
            Ok(s) => Part::Text(s),
            Err(_) => Part::Bytes {
                bytes: base64::engine::general_purpose::STANDARD.encode(b),
            },
        }
    }
    let items: Vec<[Part<'_>; 2]> = headers.iter().map(|(n, v)| [part(n), part(v)]).collect();
    serde_json::to_string(&items).expect("strings always serialise")
}

/// The inverse of [`headers_to_json`]; unreadable entries are skipped.
pub fn headers_from_json(text: &str) -> Vec<Header> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|pair| {
            Some((
                from_plain_or_bytes(pair.get(0)?)?,
                from_plain_or_bytes(pair.get(1)?)?,
            ))
        })
        .collect()
}

fn from_plain_or_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(o) => base64::engine::general_purpose::STANDARD
            .decode(o.get("bytes")?.as_str()?)
            .ok(),
        _ => None,
    }
}

/// Lowercase Crockford base32, the digits of an id.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new sortable unique id: a ULID (48-bit millisecond time, 80 random bits) in lowercase
/// Crockford base32. The first 10 random bits count up across this process's ids (from a
/// random start), so the 12 characters people see (`short_id`) stay unique among up to
/// 1024 ids made in one millisecond, where 10 random bits collided in a burst of 24.
pub fn new_id(millis: i64) -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: std::sync::OnceLock<AtomicU16> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU16::new(rand::random()));
    let count = next.fetch_add(1, Ordering::Relaxed) & 0x3FF;
    let random = rand::random::<u128>() >> 48;
    let random = (u128::from(count) << 70) | (random & ((1 << 70) - 1));
    let value: u128 = ((millis as u128 & 0xFFFF_FFFF_FFFF) << 80) | random;
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// `text` as a hookcli id, lowercased, if it is one: 26 Crockford base32 digits whose
/// value fits a ULID's 128 bits (so the first digit is 0-7). Anything else could not be
/// addressed by prefix, or shown safely.
pub fn parse_id(text: &str) -> Option<String> {
    let id = text.to_ascii_lowercase();
    let fits =
        id.len() == 26 && id.bytes().all(|b| ALPHABET.contains(&b)) && id.as_bytes()[0] <= b'7';
    fits.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_one_millisecond_differ_in_their_first_12_characters() {
        let ids: Vec<String> = (0..1024).map(|_| new_id(1_795_791_647_123)).collect();
        let shown: std::collections::HashSet<&str> = ids.iter().map(|id| short_id(id)).collect();
        assert_eq!(shown.len(), 1024);
        assert!(ids
            .iter()
            .all(|id| parse_id(id).as_deref() == Some(id.as_str())));
        assert!(
            ids.iter().all(|id| id.starts_with(&ids[0][..10])),
            "same time part"
        );
    }

    #[test]
    fn headers_round_trip_including_non_utf8() {
        let headers = vec![
            (b"content-type".to_vec(), b"application/json".to_vec()),
            (b"x-odd".to_vec(), vec![0xff, 0x20, 0x80]),
            (b"x-odd".to_vec(), b"second".to_vec()),
        ];
        assert_eq!(headers_from_json(&headers_to_json(&headers)), headers);
    }

    #[test]
    fn headers_json_format() {
        let headers = vec![
            (b"x-a".to_vec(), b"say \"hi\"".to_vec()),
            (b"x-b".to_vec(), vec![0xff]),
        ];
        assert_eq!(
            headers_to_json(&headers),
            r#"[["x-a","say \"hi\""],["x-b",{"bytes":"/w=="}]]"#
        );
    }

    #[test]
    fn ids_sort_by_time_and_are_unique() {
        let a = new_id(1_700_000_000_000);
        let b = new_id(1_700_000_000_001);
        assert_eq!(a.len(), 26);
        assert!(a < b);
        assert_ne!(new_id(5), new_id(5));
    }

    #[test]
    fn only_real_ids_parse() {
        let id = new_id(1_700_000_000_000);
        assert_eq!(parse_id(&id).as_deref(), Some(id.as_str()));
        assert_eq!(parse_id(&id.to_uppercase()).as_deref(), Some(id.as_str()));
        assert_eq!(
            parse_id("7zzzzzzzzzzzzzzzzzzzzzzzzz").as_deref(),
            Some("7zzzzzzzzzzzzzzzzzzzzzzzzz")
        );
        for bad in [
            "",
            "0",
            "8zzzzzzzzzzzzzzzzzzzzzzzzz",
            "01m8715qk0jq12qrf7a3zp4h9",
            "01m8715qk0jq12qrf7a3zp4h977",
            "01m8715qk0jq12qrf7a3zp4h9u",
            "01m8715qk0jq12qrf7a3zp4h9\u{1b}",
            "\u{1b}]0;PWNED\u{7}\u{1b}[31m01m8715qk0jq12q",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
