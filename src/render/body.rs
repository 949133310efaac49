//! Previews of a captured body for the terminal: syntax-coloured JSON, escaped text, or a
//! hex dump, always escaped and shortened past a limit.

use super::escape;
use super::style::Style;
use crate::formats::splice::{skip_ws, string_end};

/// What a body turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Parses as JSON.
    Json,
    /// UTF-8 text that is not JSON.
    Text,
    /// Not UTF-8.
    Binary,
    /// No bytes at all.
    Empty,
}

impl Kind {
    /// Classify a body.
    pub fn of(body: &[u8]) -> Kind {
        if body.is_empty() {
            Kind::Empty
        } else if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            Kind::Json
        } else if std::str::from_utf8(body).is_ok() {
            Kind::Text
        } else {
            Kind::Binary
        }
    }

    /// Stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Text => "text",
            Kind::Binary => "binary",
            Kind::Empty => "empty",
        }
    }
}

/// Characters of one value or text line in a shortened preview.
pub const WIDTH: usize = 300;

/// A body made ready for the terminal.
pub struct Preview {
    /// Display lines (without indentation), escaped and coloured.
    pub lines: Vec<String>,
    /// Whether some value or line was cut to the width asked for.
    pub cut: bool,
}

/// The body as display lines; with `width`, a JSON value or text line longer than that
/// many characters is cut, ending in `…`, so one huge value cannot flood the terminal.
pub fn lines(body: &[u8], style: Style, width: Option<usize>) -> Preview {
    let mut cut = false;
    let lines = match Kind::of(body) {
        // `Kind::of` validated it, and valid JSON is UTF-8.
        Kind::Json => json(
            std::str::from_utf8(body).unwrap_or_default(),
            style,
            width,
            &mut cut,
        ),
        Kind::Text => escape::multiline(&String::from_utf8_lossy(body))
            .into_iter()
            .map(|l| shorten(&l, width, &mut cut))
            .collect(),
        Kind::Binary => hexdump(body),
        Kind::Empty => vec![style.dim("(empty body)").to_string()],
    };
    Preview { lines, cut }
}

fn shorten(text: &str, width: Option<usize>, cut: &mut bool) -> String {
    match width {
        Some(w) if text.chars().count() > w => {
            *cut = true;
            super::truncate(text, w)
        }
        _ => text.to_string(),
    }
}

/// A classic 16-bytes-per-row hex dump with an ASCII column.
fn hexdump(body: &[u8]) -> Vec<String> {
    body.chunks(16)
        .enumerate()
        .map(|(row, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<47}  |{}|", row * 16, hex.join(" "), ascii)
        })
        .collect()
}

fn last(out: &mut [String]) -> &mut String {
    out.last_mut().expect("out starts non-empty")
}

/// Valid JSON re-indented (2 spaces) token by token. Each token is shown as it was sent,
/// so numbers keep their exact digits (`1.10`, 30-digit ids), string escapes stay visible
/// and repeated keys all show; only the whitespace between tokens changes.
fn json(text: &str, style: Style, width: Option<usize>, cut: &mut bool) -> Vec<String> {
    let b = text.as_bytes();
    let pad = |d: usize| "  ".repeat(d);
    let mut out = vec![String::new()];
    let mut depth = 0;
    let mut i = skip_ws(b, 0);
    while i < b.len() {
        match b[i] {
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&close) {
                    last(&mut out).push_str(if open == b'{' { "{}" } else { "[]" });
                    i = next + 1;
                } else {
                    last(&mut out).push(char::from(open));
                    depth += 1;
                    out.push(pad(depth));
                    i += 1;
                }
            }
            close @ (b'}' | b']') => {
                depth -= 1;
                out.push(format!("{}{}", pad(depth), char::from(close)));
                i += 1;
            }
            b',' => {
                last(&mut out).push(',');
                out.push(pad(depth));
                i += 1;
            }
            b':' => {
                last(&mut out).push_str(": ");
                i += 1;
            }
            b'"' => {
                let end = string_end(b, i);
                // JSON allows DEL, C1, bidi and zero-width characters raw inside strings.
                let token = shorten(&escape::line(&text[i..end]), width, cut);
                let styled = if b.get(skip_ws(b, end)) == Some(&b':') {
                    style.json_key(&token)
                } else {
                    style.json_string(&token)
                };
                last(&mut out).push_str(&styled.to_string());
                i = end;
            }
            _ => {
                let mut end = i;
                while end < b.len() && !matches!(b[end], b',' | b':' | b']' | b'}') {
                    end += 1;
                }
                let token = shorten(text[i..end].trim_end(), width, cut);
                let styled = if matches!(b[i], b'-' | b'0'..=b'9') {
                    style.json_number(&token)
                } else {
                    style.json_literal(&token)
                };
                last(&mut out).push_str(&styled.to_string());
                i = end;
            }
        }
        i = skip_ws(b, i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Kind::of(b""), Kind::Empty);
        assert_eq!(Kind::of(b" {\"a\" : 1 } "), Kind::Json);
        assert_eq!(Kind::of(b"hello"), Kind::Text);
        assert_eq!(Kind::of(b"\xff\x00"), Kind::Binary);
    }

    #[test]
    fn pretty_json_keeps_key_order() {
        let out = lines(br#"{"type":"notification_event","app_id":"x","data":{"item":[1,true,null]},"links":{}}"#, Style::new(false), None);
        assert_eq!(
            out.lines.join("\n"),
            "{\n  \"type\": \"notification_event\",\n  \"app_id\": \"x\",\n  \"data\": {\n    \"item\": [\n      1,\n      true,\n      null\n    ]\n  },\n  \"links\": {}\n}"
        );
    }

    #[test]
    fn escapes_inside_json_strings() {
        let out = lines(
            "{\"m\":\"\\u001b[2J\u{202e}\u{9b}\"}".as_bytes(),
            Style::new(false),
            None,
        )
        .lines
        .join("\n");
        assert!(!out.contains('\x1b') && !out.contains('\u{202e}') && !out.contains('\u{9b}'));
        assert!(out.contains("\\u001b[2J\\u{202e}\\u{009b}"), "{out}");
    }

    #[test]
    fn binary_becomes_a_hexdump() {
        let out = lines(b"\xff\x1b[31m", Style::new(false), None);
        let hex = format!("{:<47}", "ff 1b 5b 33 31 6d");
        assert_eq!(out.lines, vec![format!("00000000  {hex}  |..[31m|")]);
    }

    #[test]
    fn json_tokens_are_shown_as_sent() {
        let body = br#" { "price" : 1.10, "id" :123456789012345678901234567890, "topic":"a.b", "topic":"ticket.created", "e":"caf\u00e9", "n": -0.5e+3 } "#;
        let out = lines(body, Style::new(false), None);
        assert!(!out.cut);
        assert_eq!(
            out.lines.join("\n"),
            "{\n  \"price\": 1.10,\n  \"id\": 123456789012345678901234567890,\n  \"topic\": \"a.b\",\n  \"topic\": \"ticket.created\",\n  \"e\": \"caf\\u00e9\",\n  \"n\": -0.5e+3\n}"
        );
    }

    #[test]
    fn long_values_and_lines_are_cut_only_when_asked() {
        let long = format!("{{\"text\":\"{}\",\"short\":1}}", "x".repeat(1000));
        let cut = lines(long.as_bytes(), Style::new(false), Some(WIDTH));
        assert!(cut.cut);
        // Indent, key, the value cut to WIDTH, and the comma after it.
        assert_eq!(
            cut.lines[1].chars().count(),
            "  \"text\": ".len() + WIDTH + 1
        );
        assert!(cut.lines[1].ends_with("…,"));
        assert_eq!(cut.lines[2], "  \"short\": 1");
        let whole = lines(long.as_bytes(), Style::new(false), None);
        assert!(!whole.cut && whole.lines[1].contains(&"x".repeat(1000)));
        let text = lines("y".repeat(5000).as_bytes(), Style::new(false), Some(WIDTH));
        assert!(text.cut && text.lines[0].chars().count() == WIDTH);
    }
}
