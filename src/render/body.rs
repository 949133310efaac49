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
            return Kind::Empty;
        }
        // JSON is UTF-8, but serde skips the strings it ignores without checking them.
        let Ok(text) = std::str::from_utf8(body) else {
            return Kind::Binary;
        };
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            Kind::Json
        } else {
            Kind::Text
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

/// Indentation stops growing past this depth, so a body nested 100,000 deep (a few hundred
/// KB) costs lines, not gigabytes of spaces.
const MAX_INDENT: usize = 32;

/// A body made ready for the terminal.
pub struct Preview {
    /// Display lines (without indentation), escaped and coloured: at most the number asked.
    pub lines: Vec<String>,
    /// How many more lines the whole body has.
    pub more: usize,
    /// Whether some value or line was cut to the width asked for.
    pub cut: bool,
}

impl Preview {
    /// What the preview left out, in words (`12 more lines, long values shortened`), if
    /// anything.
    pub fn left_out(&self) -> Option<String> {
        match (self.more, self.cut) {
            (0, false) => None,
            (0, true) => Some("long values shortened".to_string()),
            (1, false) => Some("1 more line".to_string()),
            (1, true) => Some("1 more line, long values shortened".to_string()),
            (n, false) => Some(format!("{n} more lines")),
            (n, true) => Some(format!("{n} more lines, long values shortened")),
        }
    }
}

/// The body's first `max` display lines, and how many more there are; with `width`, a JSON
/// value or text line longer than that many characters is cut, ending in `…`, so one huge
/// value cannot flood the terminal. Lines past `max` are counted, never built.
pub fn lines(body: &[u8], style: Style, width: Option<usize>, max: usize) -> Preview {
    let mut cut = false;
    let mut sink = Sink::new(max);
    match Kind::of(body) {
        // `Kind::of` checked that it is UTF-8.
        Kind::Json => json(
            std::str::from_utf8(body).unwrap_or_default(),
            style,
            width,
            &mut cut,
            &mut sink,
        ),
        Kind::Text => {
            let text = String::from_utf8_lossy(body);
            // A final line break ends the last line; it does not start another.
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let mut rows = text.split('\n');
            for row in rows.by_ref().take(max) {
                sink.push(escaped_within(row, width, escape::Cut::Text, &mut cut));
            }
            sink.more = rows.count();
        }
        Kind::Binary => {
            let rows = body.len().div_ceil(16);
            for (at, chunk) in body.chunks(16).enumerate().take(max) {
                sink.push(hex_row(at * 16, chunk));
            }
            sink.more = rows.saturating_sub(max);
        }
        Kind::Empty => sink.push(style.dim("(empty body)").to_string()),
    }
    Preview {
        lines: sink.lines,
        more: sink.more,
        cut,
    }
}

/// Display lines up to a budget; past it, lines are only counted.
struct Sink {
    lines: Vec<String>,
    max: usize,
    more: usize,
    /// The line being written once the budget is spent, thrown away at each new line.
    spare: String,
}

impl Sink {
    fn new(max: usize) -> Sink {
        Sink {
            lines: Vec::new(),
            max,
            more: 0,
            spare: String::new(),
        }
    }

    fn push(&mut self, line: String) {
        if self.lines.len() < self.max {
            self.lines.push(line);
        } else {
            self.more += 1;
            self.spare.clear();
        }
    }

    /// A new line starting with the indentation of `depth`.
    fn indent(&mut self, depth: usize) {
        if self.lines.len() < self.max {
            self.lines.push("  ".repeat(depth.min(MAX_INDENT)));
        } else {
            self.more += 1;
            self.spare.clear();
        }
    }

    /// The line being written.
    fn last(&mut self) -> &mut String {
        if self.more > 0 {
            return &mut self.spare;
        }
        match self.lines.last_mut() {
            Some(line) => line,
            None => &mut self.spare,
        }
    }
}

/// `text` escaped, and cut to `width` without cutting an escape (see [`escape::within`]).
fn escaped_within(text: &str, width: Option<usize>, how: escape::Cut, cut: &mut bool) -> String {
    match width {
        Some(w) => {
            let (shown, was_cut) = escape::within(text, w, how);
            *cut |= was_cut;
            shown
        }
        None if how == escape::Cut::Text => escape::text_line(text),
        None => escape::line(text).into_owned(),
    }
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

/// One row of a classic 16-bytes-per-row hex dump with an ASCII column.
fn hex_row(offset: usize, chunk: &[u8]) -> String {
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
    format!("{offset:08x}  {:<47}  |{ascii}|", hex.join(" "))
}

/// Valid JSON re-indented (2 spaces) token by token. Each token is shown as it was sent,
/// so numbers keep their exact digits (`1.10`, 30-digit ids), string escapes stay visible
/// and repeated keys all show; only the whitespace between tokens changes.
fn json(text: &str, style: Style, width: Option<usize>, cut: &mut bool, out: &mut Sink) {
    let b = text.as_bytes();
    out.indent(0);
    let mut depth = 0;
    let mut i = skip_ws(b, 0);
    while i < b.len() {
        match b[i] {
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&close) {
                    out.last().push_str(if open == b'{' { "{}" } else { "[]" });
                    i = next + 1;
                } else {
                    out.last().push(char::from(open));
                    depth += 1;
                    out.indent(depth);
                    i += 1;
                }
            }
            close @ (b'}' | b']') => {
                depth -= 1;
                out.indent(depth);
                out.last().push(char::from(close));
                i += 1;
            }
            b',' => {
                out.last().push(',');
                out.indent(depth);
                i += 1;
            }
            b':' => {
                out.last().push_str(": ");
                i += 1;
            }
            b'"' => {
                let end = string_end(b, i);
                // JSON allows DEL, C1, bidi and zero-width characters raw inside strings.
                let token = escaped_within(&text[i..end], width, escape::Cut::JsonString, cut);
                let styled = if b.get(skip_ws(b, end)) == Some(&b':') {
                    style.json_key(&token)
                } else {
                    style.json_string(&token)
                };
                out.last().push_str(&styled.to_string());
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
                out.last().push_str(&styled.to_string());
                i = end;
            }
        }
        i = skip_ws(b, i);
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
    fn a_text_body_has_as_many_lines_as_it_has_lines() {
        let preview = |body: &[u8], max| {
            let p = lines(body, Style::new(false), None, max);
            let said = p.left_out();
            (p.lines, p.more, said)
        };
        let (shown, more, said) = preview(b"l1\nl2\n", 0);
        assert_eq!((shown.len(), more), (0, 2));
        assert_eq!(said.as_deref(), Some("2 more lines"));
        let (shown, more, said) = preview(b"1\n2\n3\n4\n5\n", 5);
        assert_eq!(
            (shown, more, said),
            (
                vec!["1", "2", "3", "4", "5"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                0,
                None
            )
        );
        assert_eq!(preview(b"a\nb", 1).2.as_deref(), Some("1 more line"));
        // A line break of its own, or an empty last line, still shows.
        assert_eq!(preview(b"\n", 5).0, [""]);
        assert_eq!(preview(b"a\n\n", 5).0, ["a", ""]);
    }

    #[test]
    fn pretty_json_keeps_key_order() {
        let out = lines(br#"{"type":"notification_event","app_id":"x","data":{"item":[1,true,null]},"links":{}}"#, Style::new(false), None, usize::MAX);
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
            usize::MAX,
        )
        .lines
        .join("\n");
        assert!(!out.contains('\x1b') && !out.contains('\u{202e}') && !out.contains('\u{9b}'));
        assert!(out.contains("\\u001b[2J\\u{202e}\\u{009b}"), "{out}");
    }

    #[test]
    fn json_with_invalid_utf8_in_a_string_is_binary() {
        assert_eq!(Kind::of(b"{\"a\":\"ok\",\"b\":\"\xc3\x28\"}"), Kind::Binary);
        let out = lines(b"{\"b\":\"\xc3\x28\"}", Style::new(false), None, usize::MAX);
        assert!(
            out.lines[0].starts_with("00000000  7b 22 62 22"),
            "{:?}",
            out.lines
        );
    }

    #[test]
    fn deep_nesting_costs_lines_not_indentation() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let preview = lines(deep.as_bytes(), Style::new(false), None, 40);
        assert_eq!(preview.lines.len(), 40);
        // The innermost pair is one line, `[]`.
        assert_eq!(preview.lines.len() + preview.more, 199_999);
        assert_eq!(preview.lines[39], format!("{}[", "  ".repeat(MAX_INDENT)));
        let whole = lines(deep.as_bytes(), Style::new(false), None, usize::MAX);
        assert_eq!((whole.lines.len(), whole.more), (199_999, 0));
        assert!(whole.lines.iter().all(|l| l.len() <= 2 * MAX_INDENT + 2));
    }

    #[test]
    fn lines_past_the_budget_are_counted() {
        let text = lines(b"a\nb\nc\n", Style::new(false), None, 2);
        assert_eq!(
            (text.lines, text.more),
            (vec!["a".to_string(), "b".into()], 1)
        );
        let hex = lines(&[0xff; 50], Style::new(false), None, 1);
        assert_eq!((hex.lines.len(), hex.more), (1, 3));
        let json = lines(br#"{"a":1,"b":2}"#, Style::new(false), None, 2);
        assert_eq!(
            (json.lines, json.more),
            (vec!["{".to_string(), "  \"a\": 1,".into()], 2)
        );
    }

    #[test]
    fn binary_becomes_a_hexdump() {
        let out = lines(b"\xff\x1b[31m", Style::new(false), None, usize::MAX);
        let hex = format!("{:<47}", "ff 1b 5b 33 31 6d");
        assert_eq!(out.lines, vec![format!("00000000  {hex}  |..[31m|")]);
    }

    #[test]
    fn json_tokens_are_shown_as_sent() {
        let body = br#" { "price" : 1.10, "id" :123456789012345678901234567890, "topic":"a.b", "topic":"ticket.created", "e":"caf\u00e9", "n": -0.5e+3 } "#;
        let out = lines(body, Style::new(false), None, usize::MAX);
        assert!(!out.cut);
        assert_eq!(
            out.lines.join("\n"),
            "{\n  \"price\": 1.10,\n  \"id\": 123456789012345678901234567890,\n  \"topic\": \"a.b\",\n  \"topic\": \"ticket.created\",\n  \"e\": \"caf\\u00e9\",\n  \"n\": -0.5e+3\n}"
        );
    }

    #[test]
    fn long_values_and_lines_are_cut_only_when_asked() {
        let long = format!("{{\"text\":\"{}\",\"short\":1}}", "x".repeat(1000));
        let cut = lines(long.as_bytes(), Style::new(false), Some(WIDTH), usize::MAX);
        assert!(cut.cut);
        // Indent, key, the value cut to WIDTH, and the comma after it.
        assert_eq!(
            cut.lines[1].chars().count(),
            "  \"text\": ".len() + WIDTH + 1
        );
        assert!(cut.lines[1].ends_with("…,"));
        assert_eq!(cut.lines[2], "  \"short\": 1");
        let whole = lines(long.as_bytes(), Style::new(false), None, usize::MAX);
        assert!(!whole.cut && whole.lines[1].contains(&"x".repeat(1000)));
        let text = lines(
            "y".repeat(5000).as_bytes(),
            Style::new(false),
            Some(WIDTH),
            usize::MAX,
        );
        assert!(text.cut && text.lines[0].chars().count() == WIDTH);
    }
}
