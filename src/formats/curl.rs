//! A runnable curl command that reproduces a captured request: method, the headers the
//! sender set (in order, repeats kept), and the exact body bytes.

use super::{header, origin};
use crate::store::model::Capture;

/// Headers curl must not be told: it derives them from the URL and the body, or they belong
/// to the connection rather than the request.
const DERIVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
];

/// Headers curl adds by itself; an empty `-H 'Name:'` stops it when the original had none.
const CURL_DEFAULTS: &[&str] = &["Accept", "User-Agent", "Content-Type", "Expect"];

/// Quote for a POSIX shell: single quotes, with embedded ones closed and escaped.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// How the body reaches curl.
#[derive(Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Inline, in the command.
    Inline(&'a str),
    /// From a file the caller writes next to the command.
    File,
}

/// Whether a body can sit inline in a shell command: UTF-8, no NUL, and not starting with
/// `@` (which curl would read as a file name).
pub fn body_kind(body: &[u8]) -> Body<'_> {
    match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') && !text.starts_with('@') => Body::Inline(text),
        _ => Body::File,
    }
}

/// The command for one capture. `body_file` is where the body was written when it cannot
/// be inline.
pub fn command(
    c: &Capture,
    base_url: Option<&str>,
    body_file: Option<&str>,
) -> Result<String, String> {
    let r = &c.request;
    let base = base_url.map_or_else(
        || origin(&r.headers),
        |b| b.trim_end_matches('/').to_string(),
    );
    let mut lines = vec![format!(
        "curl -sS -X {} {}",
        quote(&r.method),
        quote(&format!("{base}{}", r.target))
    )];
    for (name, value) in &r.headers {
        let name = String::from_utf8_lossy(name);
        if DERIVED.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            continue;
        }
        let value = std::str::from_utf8(value).map_err(|_| {
            format!(
                "capture {} has a header ({name}) that is not UTF-8, which curl cannot send",
                c.short_id()
            )
        })?;
        lines.push(format!("-H {}", quote(&format!("{name}: {value}"))));
    }
    for default in CURL_DEFAULTS {
        if header(&r.headers, default).is_none() {
            lines.push(format!("-H {}", quote(&format!("{default}:"))));
        }
    }
    lines.push(match (body_kind(&r.body), body_file) {
        (Body::Inline(text), _) => format!("--data-binary {}", quote(text)),
        (Body::File, Some(path)) => format!("--data-binary {}", quote(&format!("@{path}"))),
        (Body::File, None) => return Err("internal: a binary body needs a file".into()),
    });
    Ok(lines.join(" \\\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes_and_dollars() {
        assert_eq!(quote("it's $HOME"), "'it'\\''s $HOME'");
    }

    #[test]
    fn bodies_that_cannot_be_inline() {
        assert_eq!(body_kind(b"{\"a\":1}"), Body::Inline("{\"a\":1}"));
        assert_eq!(body_kind(b"@/etc/passwd"), Body::File);
        assert_eq!(body_kind(b"a\0b"), Body::File);
        assert_eq!(body_kind(b"\xff"), Body::File);
    }
}
