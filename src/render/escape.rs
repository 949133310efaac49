//! One escaping policy for every byte a webhook sender controls.
//!
//! Anything from the network (method, path, header names and values, body text) passes
//! through here before it reaches a terminal, so a hostile sender cannot move the cursor,
//! recolour the screen, set the clipboard (OSC 52), plant links (OSC 8), overwrite a line
//! with a carriage return, or reorder text with bidi overrides (Trojan Source). The escape
//! keeps the information: `ESC` becomes `\x1b`, not nothing.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must not reach a terminal as itself.
fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080..U+009F)
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width and LRM/RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space / BOM
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// Escape text for a single terminal line: every unsafe character, newlines included.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escape raw bytes for one terminal line: invalid UTF-8 shows as `\xNN`.
pub fn bytes(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(raw) {
        return line(text);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        out.push_str(&line(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Escape a multi-line text: keeps `\n` as line breaks (and tabs), escapes everything else.
pub fn multiline(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| {
            let mut out = String::with_capacity(l.len());
            for c in l.chars() {
                if c == '\t' {
                    out.push_str("    ");
                } else if is_unsafe(c) {
                    push_escaped(&mut out, c);
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            line("conversation.admin.replied é ✓"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn ansi_colour_escape_is_neutralised() {
        assert_eq!(line("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    }

    #[test]
    fn osc_52_clipboard_write_is_neutralised() {
        let attack = "\x1b]52;c;ZWNobyBwd25lZA==\x07";
        let out = line(attack);
        assert!(!out.contains('\x1b') && !out.contains('\x07'));
        assert_eq!(out, "\\x1b]52;c;ZWNobyBwd25lZA==\\x07");
    }

    #[test]
    fn osc_8_hyperlink_is_neutralised() {
        let out = line("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn carriage_return_overwrite_is_visible() {
        assert_eq!(line("ok\rEVIL"), "ok\\rEVIL");
    }

    #[test]
    fn trojan_source_bidi_is_escaped() {
        assert_eq!(line("a\u{202E}b\u{2066}c"), "a\\u{202e}b\\u{2066}c");
    }

    #[test]
    fn c1_controls_and_del_are_escaped() {
        assert_eq!(line("\u{9b}31m\u{7f}"), "\\u{009b}31m\\x7f");
    }

    #[test]
    fn zero_width_characters_are_escaped() {
        assert_eq!(line("a\u{200B}b\u{FEFF}"), "a\\u{200b}b\\u{feff}");
    }

    #[test]
    fn invalid_utf8_shows_as_hex() {
        assert_eq!(bytes(b"ab\xff\xfe\x1b"), "ab\\xff\\xfe\\x1b");
    }

    #[test]
    fn multiline_keeps_newlines_only() {
        assert_eq!(
            multiline("a\nb\x1b\r"),
            vec!["a".to_string(), "b\\x1b\\r".to_string()]
        );
    }
}
