//! Interchange formats for captures: hookcli's own capture document, HAR 1.2, and curl.
//! Each module writes its format and, where it can be read back, parses it; `splice`
//! edits a JSON body without rewriting it.

pub mod curl;
pub mod document;
pub mod har;
pub mod splice;

use crate::store::model::Header;

/// The first value of a header, case-insensitively.
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

/// Where a capture was originally sent: `http://` + its Host header.
pub fn origin(headers: &[Header]) -> String {
    match header(headers, "host").and_then(|h| std::str::from_utf8(h).ok()) {
        Some(host) => format!("http://{host}"),
        None => "http://127.0.0.1:4665".to_string(),
    }
}

/// Whether `text` is an HTTP token (RFC 9110 §5.6.2): what a method or a header name must be.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
