//! One escaping policy for every byte a webhook sender controls.
//!
//! Anything from the network (method, path, header names and values, body text) passes
//! through here before it reaches a terminal, so a hostile sender cannot move the cursor,
//! recolour the screen, set the clipboard (OSC 52), plant links (OSC 8), overwrite a line
//! with a carriage return, or reorder text with bidi overrides (Trojan Source). The escape
//! keeps the information: `ESC` becomes `\x1b`, not nothing.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must not reach a terminal as itself: controls, every format
/// character (Unicode category Cf: bidi marks and overrides, zero-width and invisible
/// characters, tags), the other default-ignorable characters a sender can hide text in,
/// line and paragraph separators, and the blank fillers used to hide text. Variation
/// selectors stay: CJK names, Mongolian and emoji need them, though a run of them could
/// hide a few bytes after one visible character. Text is escaped through `marked`, which
/// also keeps the zero-width joiner of an emoji sequence.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080..U+009F)
        || matches!(c,
            '\u{00AD}'                  // soft hyphen
            | '\u{034F}'                // combining grapheme joiner
            | '\u{0600}'..='\u{0605}'   // Arabic number signs
            | '\u{061C}'                // Arabic letter mark (bidi)
            | '\u{06DD}' | '\u{070F}'   // end of ayah, Syriac abbreviation mark
            | '\u{0890}'..='\u{0891}' | '\u{08E2}'
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels (invisible)
            | '\u{180E}'                // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width and LRM/RLM
            | '\u{2028}' | '\u{2029}'   // line and paragraph separators
            | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}'   // word joiner and invisible operators
            | '\u{2066}'..='\u{206F}'   // bidi isolates and deprecated format controls
            | '\u{2800}'                // braille blank, another filler
            | '\u{FEFF}'                // zero-width no-break space / BOM
            | '\u{FFF0}'..='\u{FFF8}'   // reserved, default-ignorable
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
            | '\u{110BD}' | '\u{110CD}' // Kaithi number signs
            | '\u{13430}'..='\u{1343F}' // Egyptian hieroglyph format controls
            | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
            | '\u{1D173}'..='\u{1D17A}' // musical symbol format controls
            | '\u{E0000}'..='\u{E00FF}' // tags
            | '\u{E01F0}'..='\u{E0FFF}' // reserved, default-ignorable
        )
}

/// Each character of `text` with whether it must be escaped ([`is_unsafe`]), but for a
/// zero-width joiner inside an emoji sequence (👩‍💻, ❤️‍🔥): it is how the emoji is written,
/// and escaping it would split one picture in two. One joiner between two emoji carries
/// nothing hidden; any other stays escaped.
fn marked(text: &str) -> impl Iterator<Item = (char, bool)> + '_ {
    let mut chars = text.chars().peekable();
    let mut prev = None;
    std::iter::from_fn(move || {
        let c = chars.next()?;
        let escape = if c == '\u{200D}' {
            !(prev.is_some_and(|p| pictographic(p) || p == '\u{FE0F}')
                && chars.peek().is_some_and(|&n| pictographic(n)))
        } else {
            is_unsafe(c)
        };
        prev = Some(c);
        Some((c, escape))
    })
}

/// The blocks emoji are drawn from (pictographs, symbols, dingbats, skin tones), as far as
/// an emoji sequence's joiner needs to tell.
fn pictographic(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2B00}'..='\u{2BFF}')
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
    if !marked(text).any(|(_, escape)| escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (c, escape) in marked(text) {
        push_escaped_or(&mut out, c, escape);
    }
    Cow::Owned(out)
}

/// A path for one terminal line, escaped like anything else a user or sender named.
pub fn path(p: &std::path::Path) -> String {
    line(&p.display().to_string()).into_owned()
}

/// Escape raw bytes for one terminal line: invalid UTF-8 shows as `\xNN`.
pub fn bytes(raw: &[u8]) -> Cow<'_, str> {
    // The `\xNN` text is plain ASCII, which escaping leaves as it is.
    match invalid_as_hex(raw) {
        Cow::Borrowed(text) => line(text),
        Cow::Owned(text) => Cow::Owned(line(&text).into_owned()),
    }
}

/// Raw bytes as text, for a message that is escaped only when shown: valid UTF-8 as it is,
/// each byte of anything else as `\xNN`, so no byte is lost to U+FFFD.
pub fn invalid_as_hex(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(raw) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Whether raw bytes would change under escaping, beyond the line breaks and tabs a text
/// file has: invalid UTF-8, a `\r` not followed by `\n`, or any character [`line`] escapes
/// other than `\n`, `\r`, `\t`.
pub fn unsafe_for_terminal(raw: &[u8]) -> bool {
    // A carriage return not ending a line would let what follows overwrite it.
    let lone_cr = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && raw.get(i + 1) != Some(&b'\n'));
    lone_cr
        || raw.utf8_chunks().any(|chunk| {
            !chunk.invalid().is_empty()
                || marked(chunk.valid())
                    .any(|(c, escape)| escape && !matches!(c, '\n' | '\r' | '\t'))
        })
}

/// Escape a multi-line text: keeps `\n` as line breaks (and tabs), escapes everything else.
pub fn multiline(text: &str) -> Vec<String> {
    text.split('\n').map(text_line).collect()
}

/// One line of a multi-line text, escaped as [`multiline`] does: a tab becomes four spaces.
pub fn text_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    push_text(&mut out, line);
    out
}

fn push_text(out: &mut String, line: &str) {
    for (c, escape) in marked(line) {
        if c == '\t' {
            out.push_str("    ");
        } else {
            push_escaped_or(out, c, escape);
        }
    }
}

/// What [`within`] keeps whole besides its own escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A line of text, as [`text_line`] escapes it (a tab is four spaces).
    Text,
    /// A JSON string token as sent: its own `\n`, `\u00e9` escapes are kept whole too.
    JsonString,
}

/// `text` escaped as `how` says, in at most `width` characters: a longer result ends in `…`
/// where the next character, or the next escape as a whole, would not fit, so an escape is
/// never cut in half. Also says whether it was cut.
pub fn within(text: &str, width: usize, how: Cut) -> (String, bool) {
    let mut chars = marked(text);
    let pieces = std::iter::from_fn(|| {
        let (c, escape) = chars.next()?;
        let mut piece = String::new();
        match c {
            '\t' if how == Cut::Text => piece.push_str("    "),
            c if escape => push_escaped(&mut piece, c),
            '\\' if how == Cut::JsonString => {
                piece.push(c);
                match chars.next() {
                    Some(('u', _)) => {
                        piece.push('u');
                        piece.extend(chars.by_ref().take(4).map(|(c, _)| c));
                    }
                    Some((next, escape)) => push_escaped_or(&mut piece, next, escape),
                    None => {}
                }
            }
            c => piece.push(c),
        }
        Some(piece)
    });
    fit(pieces, width)
}

/// Join `pieces` (each a character or a whole escape) up to `width` characters, ending in
/// `…` where the next piece would not fit; says whether it cut.
fn fit(pieces: impl Iterator<Item = String>, width: usize) -> (String, bool) {
    let mut pieces = pieces.peekable();
    let (mut out, mut shown) = (String::new(), 0);
    while let Some(piece) = pieces.next() {
        let len = piece.chars().count();
        // Room for the ellipsis is needed only if something follows.
        let room = if pieces.peek().is_some() {
            width.saturating_sub(1)
        } else {
            width
        };
        if shown + len > room {
            out.push('…');
            return (out, true);
        }
        out.push_str(&piece);
        shown += len;
    }
    (out, false)
}

/// `text` escaped as [`line`] does, in exactly `width` terminal columns: cut with `…` when
/// wider (before an escape, never inside one), padded with spaces when narrower. Columns
/// are counted as a terminal shows them: two for CJK and most emoji, none for a combining
/// mark.
pub fn cell(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let shown = line(text);
    let columns = shown.width();
    if columns <= width {
        return format!("{shown}{}", " ".repeat(width - columns));
    }
    // Measured as a whole, as above: an emoji sequence (❤️, 👍🏽) is narrower than its parts.
    let mut out = String::with_capacity(width + 8);
    let mut piece = String::new();
    for (c, escape) in marked(text) {
        piece.clear();
        push_escaped_or(&mut piece, c, escape);
        let before = out.len();
        out.push_str(&piece);
        if out.width() > width.saturating_sub(1) {
            out.truncate(before);
            break;
        }
    }
    let used = out.width();
    out.push('…');
    out + &" ".repeat(width.saturating_sub(used + 1))
}

/// Escaped as [`line`] does, and cut with `…` to `width` columns if it is wider; never
/// padded.
pub fn at_most(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_width::UnicodeWidthStr;
    let shown = line(text);
    if shown.width() <= width {
        return shown;
    }
    // A cut cell ends in `…` and then only padding.
    let mut cut = cell(text, width);
    cut.truncate(cut.trim_end_matches(' ').len());
    Cow::Owned(cut)
}

fn push_escaped_or(out: &mut String, c: char, escape: bool) {
    if escape {
        push_escaped(out, c);
    } else {
        out.push(c);
    }
}

/// The first `max_lines` lines of raw bytes (an app's answer, say), at most `max_bytes` of
/// them, escaped as [`multiline`] does and each cut to `width` characters as [`within`]
/// cuts; invalid UTF-8 shows as `\xNN`, as in [`bytes`].
pub fn first_lines(raw: &[u8], max_bytes: usize, max_lines: usize, width: usize) -> Vec<String> {
    let raw = &raw[..raw.len().min(max_bytes)];
    // A final line break ends the last line; it does not start another. CRLF is one break.
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.split(|&b| b == b'\n')
        .take(max_lines)
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let pieces = line.utf8_chunks().flat_map(|chunk| {
                let text = marked(chunk.valid()).map(|(c, escape)| {
                    let mut piece = String::new();
                    match c {
                        '\t' => piece.push_str("    "),
                        c => push_escaped_or(&mut piece, c, escape),
                    }
                    piece
                });
                let bad = chunk.invalid().iter().map(|b| format!("\\x{b:02x}"));
                text.chain(bad)
            });
            fit(pieces, width).0
        })
        .collect()
}

/// Serialised JSON made safe for a terminal: the characters [`line`] escapes, which JSON
/// allows raw inside strings (DEL, C1, bidi, zero-width), become `\uXXXX` escapes. The JSON
/// means exactly the same; `show --json` in a terminal can no longer be steered by a sender.
pub fn json(serialised: String) -> String {
    // Raw newlines in serialised JSON are only ever the pretty printer's layout.
    let escape = |(c, escape): (char, bool)| escape && c != '\n';
    if !marked(&serialised).any(escape) {
        return serialised;
    }
    let mut out = String::with_capacity(serialised.len() + 16);
    for (c, e) in marked(&serialised) {
        // serde_json has already escaped C0 controls, quotes and backslashes. JSON's \u
        // takes four hex digits: a character past U+FFFF (the tags) is a surrogate pair.
        if escape((c, e)) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let value = serde_json::json!({"m": "\u{9b}31m\u{202e}txt\u{7f}\u{200b}é\u{1b}\u{e0001}1"});
        let safe = json(value.to_string());
        assert!(safe.chars().all(|c| !is_unsafe(c)), "{safe}");
        assert_eq!(
            safe,
            r#"{"m":"\u009b31m\u202etxt\u007f\u200bé\u001b\udb40\udc011"}"#
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(
            json(pretty.clone()),
            pretty
                .replace('\u{9b}', "\\u009b")
                .replace('\u{202e}', "\\u202e")
                .replace('\u{7f}', "\\u007f")
                .replace('\u{200b}', "\\u200b")
                .replace('\u{e0001}', "\\udb40\\udc01")
        );
    }

    #[test]
    fn first_lines_escape_invalid_bytes_and_stop_at_the_limits() {
        assert_eq!(
            first_lines(b"bad \xff\x1b[2J\tx\nsecond\nthird", 1024, 2, 80),
            vec!["bad \\xff\\x1b[2J    x".to_string(), "second".into()]
        );
        assert_eq!(first_lines(b"abcdef", 3, 5, 80), vec!["abc".to_string()]);
        assert_eq!(first_lines(b"denied\r\n", 99, 5, 80), ["denied"]);
        assert_eq!(first_lines(b"a\n\n", 99, 5, 80), ["a", ""]);
        assert_eq!(first_lines(b"a\rb\r\nc\n", 99, 5, 80), ["a\\rb", "c"]);
        // Cut before an escape, never inside one.
        assert_eq!(first_lines(b"ab\xffcd", 99, 1, 4), vec!["ab…".to_string()]);
    }

    #[test]
    fn every_invisible_format_character_is_escaped() {
        for c in [
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{206A}',
            '\u{206F}',
            '\u{3164}',
            '\u{E0041}',
            '\u{E0001}',
            '\u{1D173}',
            '\u{034F}',
            '\u{17B4}',
            '\u{2800}',
            '\u{E007F}',
            '\u{E01F0}',
        ] {
            assert!(is_unsafe(c), "U+{:04X}", c as u32);
            assert_eq!(
                line(&format!("a{c}b")),
                format!("a\\u{{{:04x}}}b", c as u32)
            );
        }
        // Letters, marks and symbols of every script stay as they are.
        assert!(!"é ✓ العربية ᠮᠣᠩᠭᠣᠯ 한국어 🙂".chars().any(is_unsafe));
        // Variation selectors are part of ordinary text: emoji style, a CJK name's variant.
        assert!(!"❤\u{FE0F} ☺\u{FE0E} 葛\u{E0100} ᠠ\u{180B}"
            .chars()
            .any(is_unsafe));
    }

    #[test]
    fn an_emoji_sequence_keeps_its_joiner_and_every_other_joiner_is_escaped() {
        let emoji = "👩\u{200D}💻 ❤\u{FE0F}\u{200D}🔥 🧑🏽\u{200D}🚀 🏳\u{FE0F}\u{200D}🌈";
        assert_eq!(line(emoji), emoji);
        assert_eq!(text_line(emoji), emoji);
        assert_eq!(
            within(emoji, 80, Cut::JsonString),
            (emoji.to_string(), false)
        );
        assert!(cell(emoji, 30).starts_with(emoji));
        assert_eq!(first_lines(emoji.as_bytes(), 100, 1, 80), [emoji]);
        assert_eq!(json(format!("\"{emoji}\"")), format!("\"{emoji}\""));
        assert!(!unsafe_for_terminal(emoji.as_bytes()));
        // Between letters, doubled, at either end or before a non-emoji, it hides something.
        for (text, shown) in [
            ("a\u{200D}b", "a\\u{200d}b"),
            ("👩\u{200D}\u{200D}💻", "👩\\u{200d}\\u{200d}💻"),
            ("\u{200D}💻", "\\u{200d}💻"),
            ("👩\u{200D}", "👩\\u{200d}"),
            ("👩\u{200D}x", "👩\\u{200d}x"),
        ] {
            assert_eq!(line(text), shown);
            assert!(unsafe_for_terminal(text.as_bytes()), "{shown}");
        }
        assert_eq!(json("\"a\u{200D}b\"".into()), "\"a\\u200db\"");
    }

    #[test]
    fn cutting_to_a_width_never_cuts_an_escape_in_half() {
        let cut = |text, width, how| within(text, width, how);
        assert_eq!(cut("abcdef", 6, Cut::Text), ("abcdef".to_string(), false));
        assert_eq!(cut("abcdefg", 6, Cut::Text), ("abcde…".to_string(), true));
        // `\u{202e}` is 8 characters: it goes whole or not at all.
        assert_eq!(
            cut("abc\u{202e}tail", 8, Cut::Text),
            ("abc…".to_string(), true)
        );
        assert_eq!(
            cut("a\u{202e}", 9, Cut::Text),
            ("a\\u{202e}".to_string(), false)
        );
        assert_eq!(cut("a\tb", 6, Cut::Text), ("a    b".to_string(), false));
        // A JSON string's own escapes are kept whole as well.
        assert_eq!(
            cut(r#""ab\u001b[2J""#, 6, Cut::JsonString),
            (r#""ab…"#.to_string(), true)
        );
        assert_eq!(
            cut(r#""ab\"cd""#, 5, Cut::JsonString),
            (r#""ab…"#.to_string(), true)
        );
        assert_eq!(
            cut(r#""a\"b""#, 6, Cut::JsonString),
            (r#""a\"b""#.to_string(), false)
        );
    }

    #[test]
    fn a_cell_fills_its_columns_however_wide_its_characters() {
        use unicode_width::UnicodeWidthStr;
        assert_eq!(cell("ping", 6), "ping  ");
        // Two columns per ideograph: 4 + 2 of 6.
        assert_eq!(cell("会话ab", 6), "会话ab");
        assert_eq!(cell("会话会话", 6), "会话… ");
        // A combining mark takes no column.
        assert_eq!(cell("e\u{301}e", 3), "e\u{301}e ");
        assert_eq!(cell("abcdefgh", 6), "abcde…");
        assert_eq!(cell("ab\u{1b}[2Jx", 6), "ab…   ");
        assert_eq!(cell("ab\u{1b}", 6), "ab\\x1b");
        // Emoji sequences count as the terminal shows them, cut or not.
        let hearts = "\u{2764}\u{fe0f}".repeat(5);
        assert_eq!(cell(&hearts, 10).width(), 10);
        let thumbs = "\u{1f44d}\u{1f3fd}".repeat(19);
        let cut = cell(&thumbs, 12);
        assert_eq!(cut.width(), 12, "{cut}");
        assert!(cut.ends_with('…') || cut.ends_with(' '), "{cut}");
        assert_eq!(cell(&"\u{2764}\u{fe0f}".repeat(19), 42).width(), 42);
    }

    #[test]
    fn invalid_bytes_become_hex_and_the_rest_stays_for_later() {
        assert!(matches!(
            invalid_as_hex(b"ok \xe2\x80\xae"),
            Cow::Borrowed("ok \u{202e}")
        ));
        assert_eq!(
            invalid_as_hex(b"a\x9b31m\xff\xe2\x80\xae"),
            "a\\x9b31m\\xff\u{202e}"
        );
    }

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
    fn raw_bytes_a_terminal_would_act_on() {
        assert!(!unsafe_for_terminal(
            b"{\n\t\"a\": \"caf\xc3\xa9 \xe2\x9c\x93\"\r\n}"
        ));
        for bad in [
            &b"\x1b[31m"[..],
            b"\x1b]52;c;eA==\x07",
            b"ok\xff",
            b"\x00",
            "a\u{202e}b".as_bytes(),
            "\u{9b}31m".as_bytes(),
            b"shown\rhidden",
            b"end\r",
        ] {
            assert!(unsafe_for_terminal(bad), "{bad:?}");
        }
    }

    #[test]
    fn at_most_cuts_only_what_is_wider_and_never_pads() {
        assert_eq!(at_most("2001:db8::1", 64), "2001:db8::1");
        assert_eq!(at_most("abcdefgh", 6), "abcde…");
        assert_eq!(at_most("会话会话", 6), "会话…");
        assert_eq!(at_most("a\u{1b}b", 64), "a\\x1bb");
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
