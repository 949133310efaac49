//! A runnable curl command that reproduces a captured request: method, the headers the
//! sender set (in order, repeats kept), and the exact body bytes. Every byte a sender chose
//! is written so that `cat script.sh` is safe: nothing a terminal would act on reaches the
//! script as itself.

use super::{header, origin};
use crate::render::escape;
use crate::store::model::Capture;
use std::borrow::Cow;
use std::fmt::Write as _;

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

/// Whether `text` may be shown on a terminal as it is, line breaks and tabs aside.
fn shows_as_itself(text: &str) -> bool {
    text.split(['\n', '\t'])
        .all(|part| matches!(escape::line(part), Cow::Borrowed(_)))
}

/// One shell word that expands to exactly `bytes`, which must not end in a newline (a
/// command substitution would drop it). Single-quoted when the text is safe to show;
/// otherwise `"$(printf '…')"` with octal escapes, which also carries bytes that are not
/// UTF-8 (POSIX printf, so it works in dash as in bash).
fn word(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if shows_as_itself(text) => quote(text),
        _ => {
            let mut format = String::with_capacity(bytes.len() * 2);
            for &b in bytes {
                match b {
                    b'%' => format.push_str("%%"),
                    b' '..=b'~' if !matches!(b, b'\'' | b'\\') => format.push(char::from(b)),
                    _ => {
                        let _ = write!(format, "\\{b:03o}");
                    }
                }
            }
            format!("\"$(printf '{format}')\"")
        }
    }
}

/// How the body reaches curl.
#[derive(Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Inline, in the command.
    Inline(&'a str),
    /// From a file the caller writes next to the command.
    File,
}

/// Whether a body can sit inline in a shell command: UTF-8 that is safe to show (no NUL,
/// no escape sequences), not starting with `@` (which curl would read as a file name), and
/// short enough for one argument (Linux refuses arguments over 128 KiB).
pub fn body_kind(body: &[u8]) -> Body<'_> {
    match std::str::from_utf8(body) {
        Ok(text) if shows_as_itself(text) && !text.starts_with('@') && text.len() <= MAX_INLINE => {
            Body::Inline(text)
        }
        _ => Body::File,
    }
}

/// The longest body written inline, well under the kernel's 128 KiB per argument.
const MAX_INLINE: usize = 64 * 1024;

/// The `-H` argument for one header. An empty value needs `Name;`: curl reads `Name:` as
/// "do not send this header".
fn header_arg(name: &[u8], value: &[u8]) -> String {
    let mut arg = name.to_vec();
    if value.is_empty() {
        arg.push(b';');
    } else {
        arg.extend_from_slice(b": ");
        arg.extend_from_slice(value);
    }
    format!("-H {}", word(&arg))
}

/// The command for one capture. `body_file` is the path the script reads the body from
/// when it cannot be inline.
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
        // -g: `[` and `{` in a query are the sender's, not curl globs; --path-as-is: keep
        // `..` and `.` segments as they were sent.
        "curl -sS -g --path-as-is -X {} {}",
        word(r.method.as_bytes()),
        word(format!("{base}{}", r.target).as_bytes())
    )];
    for (name, value) in &r.headers {
        if DERIVED
            .iter()
            .any(|d| name.eq_ignore_ascii_case(d.as_bytes()))
        {
            continue;
        }
        lines.push(header_arg(name, value));
    }
    for default in CURL_DEFAULTS {
        if header(&r.headers, default).is_none() {
            lines.push(format!("-H {}", quote(&format!("{default}:"))));
        }
    }
    lines.push(match (body_kind(&r.body), body_file) {
        (Body::Inline(text), _) => format!("--data-binary {}", quote(text)),
        (Body::File, Some(path)) => {
            format!("--data-binary {}", word(format!("@{path}").as_bytes()))
        }
        (Body::File, None) => return Err("internal: this body needs a file".into()),
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
        assert_eq!(
            body_kind(b"{\n\t\"a\": 1\n}\n"),
            Body::Inline("{\n\t\"a\": 1\n}\n")
        );
        assert_eq!(body_kind(b"@/etc/passwd"), Body::File);
        assert_eq!(body_kind(b"a\0b"), Body::File);
        assert_eq!(body_kind(b"\xff"), Body::File);
        assert_eq!(body_kind(b"{\"a\":\"\x1b[31mred\"}"), Body::File);
        assert_eq!(body_kind("{\"a\":\"\u{202e}txt\"}".as_bytes()), Body::File);
    }

    #[test]
    fn words_that_are_not_safe_to_show_are_printf_escaped() {
        assert_eq!(word(b"X-A: b"), "'X-A: b'");
        assert_eq!(
            word(b"X-Bin: \xff'%\\\x1b"),
            "\"$(printf 'X-Bin: \\377\\047%%\\134\\033')\""
        );
        assert_eq!(header_arg(b"X-Empty", b""), "-H 'X-Empty;'");
    }
}
