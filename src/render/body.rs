//! Previews of a captured body for the terminal: syntax-coloured JSON, escaped text, or a
//! hex dump, always escaped and shortened past a limit.

use super::escape;
use super::style::Style;
use serde_json::Value;

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

/// The body as display lines (without indentation), escaped and coloured.
pub fn lines(body: &[u8], style: Style) -> Vec<String> {
    // Parse once: a body that parses is JSON, the rest is classified by `Kind::of`.
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let mut out = vec![String::new()];
        json(&value, 0, style, &mut out);
        return out;
    }
    match Kind::of(body) {
        Kind::Json | Kind::Text => text_lines(body),
        Kind::Binary => hexdump(body),
        Kind::Empty => vec![style.dim("(empty body)").to_string()],
    }
}

fn text_lines(body: &[u8]) -> Vec<String> {
    escape::multiline(&String::from_utf8_lossy(body))
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

fn json_str(s: &str) -> String {
    // serde_json escapes quotes and C0 controls; `escape::line` then catches the rest
    // (DEL, C1, bidi, zero-width), which JSON allows raw.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    escape::line(&quoted).into_owned()
}

fn last(out: &mut [String]) -> &mut String {
    out.last_mut().expect("out starts non-empty")
}

/// Append `value` pretty-printed (2-space indent), continuing the last line of `out`.
fn json(value: &Value, depth: usize, style: Style, out: &mut Vec<String>) {
    let pad = |d: usize| "  ".repeat(d);
    match value {
        Value::Null => last(out).push_str(&style.json_literal("null").to_string()),
        Value::Bool(b) => last(out).push_str(&style.json_literal(&b.to_string()).to_string()),
        Value::Number(n) => last(out).push_str(&style.json_number(&n.to_string()).to_string()),
        Value::String(s) => last(out).push_str(&style.json_string(&json_str(s)).to_string()),
        Value::Array(items) if items.is_empty() => last(out).push_str("[]"),
        Value::Object(map) if map.is_empty() => last(out).push_str("{}"),
        Value::Array(items) => {
            last(out).push('[');
            for (i, item) in items.iter().enumerate() {
                out.push(pad(depth + 1));
                json(item, depth + 1, style, out);
                if i + 1 < items.len() {
                    last(out).push(',');
                }
            }
            out.push(format!("{}]", pad(depth)));
        }
        Value::Object(map) => {
            last(out).push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                out.push(format!(
                    "{}{}: ",
                    pad(depth + 1),
                    style.json_key(&json_str(key))
                ));
                json(item, depth + 1, style, out);
                if i + 1 < map.len() {
                    last(out).push(',');
                }
            }
            out.push(format!("{}}}", pad(depth)));
        }
    }
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
        let out = lines(br#"{"type":"notification_event","app_id":"x","data":{"item":[1,true,null]},"links":{}}"#, Style::new(false));
        assert_eq!(
            out.join("\n"),
            "{\n  \"type\": \"notification_event\",\n  \"app_id\": \"x\",\n  \"data\": {\n    \"item\": [\n      1,\n      true,\n      null\n    ]\n  },\n  \"links\": {}\n}"
        );
    }

    #[test]
    fn escapes_inside_json_strings() {
        let out = lines(
            "{\"m\":\"\\u001b[2J\u{202e}\u{9b}\"}".as_bytes(),
            Style::new(false),
        )
        .join("\n");
        assert!(!out.contains('\x1b') && !out.contains('\u{202e}') && !out.contains('\u{9b}'));
        assert!(out.contains("\\u001b[2J\\u{202e}\\u{009b}"), "{out}");
    }

    #[test]
    fn binary_becomes_a_hexdump() {
        let out = lines(b"\xff\x1b[31m", Style::new(false));
        let hex = format!("{:<47}", "ff 1b 5b 33 31 6d");
        assert_eq!(out, vec![format!("00000000  {hex}  |..[31m|")]);
    }
}
