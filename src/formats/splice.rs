//! Setting one field of a JSON body by splicing its text: only the named value's bytes
//! change. Parsing into a `serde_json::Value` and writing it back would rewrite the rest
//! (big numbers rounded, `1.10` becoming `1.1`, escapes decoded, duplicate keys merged,
//! whitespace lost), and with it what a signature or a byte-exact test checks.

/// Apply each `--set PATH=VALUE` in turn; an error names the one that failed.
pub fn set_all(body: &str, sets: &[(String, String)]) -> Result<String, String> {
    sets.iter()
        .try_fold(body.to_string(), |text, (path, value)| {
            set_path(&text, path, value).map_err(|e| format!("--set {path}={value}: {e}"))
        })
}

/// Set a dotted `path` (e.g. `data.item.source.body`; numeric segments index arrays) in a
/// JSON body. `value` is used as JSON when it parses, else as a string. Only that value's
/// bytes are replaced; a missing key is added at the end of its object (`,"key":value`),
/// with any missing objects on the way. With duplicate keys the last one is set, the one
/// JSON parsers read.
pub fn set_path(body: &str, path: &str, value: &str) -> Result<String, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(body)
        .map_err(|e| format!("the body is not JSON: {e}"))?;
    let new = match serde_json::from_str::<serde::de::IgnoredAny>(value) {
        Ok(_) => value.trim().to_string(),
        Err(_) => quoted(value),
    };
    let segments: Vec<&str> = path.split('.').collect();
    if path.is_empty() || segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "'{path}' is not a dotted path such as data.item.id"
        ));
    }
    let b = body.as_bytes();
    let mut at = skip_ws(b, 0);
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let here = segments[..i].join(".");
        let (start, end) = match b[at] {
            b'{' => {
                let (members, close) = members(b, at);
                match members.iter().rev().find(|m| m.key == *seg) {
                    Some(m) => (m.start, m.end),
                    None => {
                        // What is missing: this key, objects for the rest of the path, the value.
                        let mut text = quoted(seg);
                        for rest in &segments[i + 1..] {
                            text += &format!(":{{{}", quoted(rest));
                        }
                        text += &format!(":{new}{}", "}".repeat(segments.len() - i - 1));
                        let (at, text) = match members.last() {
                            Some(m) => (m.end, format!(",{text}")),
                            None => (at + 1, text),
                        };
                        debug_assert!(at <= close);
                        return Ok(format!("{}{text}{}", &body[..at], &body[at..]));
                    }
                }
            }
            b'[' => {
                let index: usize = seg
                    .parse()
                    .map_err(|_| format!("'{here}' is a list, so '{seg}' must be an index"))?;
                let items = items(b, at);
                let len = items.len();
                *items.get(index).ok_or_else(|| {
                    format!("'{here}' has {len} items, so there is no index {index}")
                })?
            }
            first => {
                let kind = match first {
                    b'n' => "null",
                    b't' | b'f' => "a boolean",
                    b'"' => "a string",
                    _ => "a number",
                };
                return Err(format!(
                    "'{}' is {kind}, so it has no field '{seg}'",
                    if here.is_empty() { "the body" } else { &here }
                ));
            }
        };
        if last {
            return Ok(format!("{}{new}{}", &body[..start], &body[end..]));
        }
        at = start;
    }
    unreachable!("the path has at least one segment")
}

/// JSON text without the whitespace between its tokens (as Intercom sends bodies), every
/// token as written: numbers keep their spelling, strings their escapes, repeated keys stay.
pub fn compact(text: &str) -> String {
    tokens(text).concat()
}

/// JSON text indented by two spaces, for editing, every token as written (see [`compact`]).
pub fn pretty(text: &str) -> String {
    let t = tokens(text);
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            open @ ("{" | "[") => {
                out.push_str(open);
                if let Some(close @ ("}" | "]")) = t.get(i + 1).copied() {
                    out.push_str(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            close @ ("}" | "]") => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push_str(close);
            }
            "," => {
                out.push(',');
                newline(&mut out, depth);
            }
            ":" => out.push_str(": "),
            token => out.push_str(token),
        }
        i += 1;
    }
    out
}

/// The tokens of JSON text, each exactly as written, without the whitespace between them.
fn tokens(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let ends_literal = |c: u8| b" \t\n\r{}[]:,\"".contains(&c);
    let mut out = Vec::new();
    let mut i = skip_ws(b, 0);
    while i < b.len() {
        let end = match b[i] {
            b'"' => string_end(b, i),
            b'{' | b'}' | b'[' | b']' | b':' | b',' => i + 1,
            _ => (i + 1..b.len())
                .find(|&j| ends_literal(b[j]))
                .unwrap_or(b.len()),
        };
        out.push(&text[i..end]);
        i = skip_ws(b, end);
    }
    out
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

/// One member of an object: its decoded key and its value's byte span.
struct Member {
    key: String,
    start: usize,
    end: usize,
}

/// The first byte at or after `i` in JSON text that is not whitespace.
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end (exclusive) of the JSON string starting at `i` (its opening quote); the end of
/// the text if it never closes.
pub(crate) fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end (exclusive) of the value starting at `i`. The body was checked to be JSON, so
/// the scan can trust its structure.
fn value_end(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let (mut depth, mut j) = (0usize, i);
            loop {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            j
        }
    }
}

/// The members of the object starting at `i`, and where its closing brace is.
fn members(b: &[u8], i: usize) -> (Vec<Member>, usize) {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b[j] == b'}' {
        return (out, j);
    }
    loop {
        let key_end = string_end(b, j);
        let key = serde_json::from_slice::<String>(&b[j..key_end]).unwrap_or_default();
        let start = skip_ws(b, skip_ws(b, key_end) + 1);
        let end = value_end(b, start);
        out.push(Member { key, start, end });
        j = skip_ws(b, end);
        if b[j] == b'}' {
            return (out, j);
        }
        j = skip_ws(b, j + 1);
    }
}

/// The byte spans of the items of the array starting at `i`.
fn items(b: &[u8], i: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b[j] == b']' {
        return out;
    }
    loop {
        let end = value_end(b, j);
        out.push((j, end));
        j = skip_ws(b, end);
        if b[j] == b']' {
            return out;
        }
        j = skip_ws(b, j + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_and_compact_keep_every_token_as_written() {
        let body = r#"{"big":123456789012345678901234567890,"f":1.10,"neg":-0,"e":"\u00e9\/","d":1,"d":2,"s":"a, b: {c}","x":[],"o":{},"n":[true,null]}"#;
        let pretty = pretty(body);
        assert_eq!(
            pretty,
            "{\n  \"big\": 123456789012345678901234567890,\n  \"f\": 1.10,\n  \"neg\": -0,\n  \"e\": \"\\u00e9\\/\",\n  \"d\": 1,\n  \"d\": 2,\n  \"s\": \"a, b: {c}\",\n  \"x\": [],\n  \"o\": {},\n  \"n\": [\n    true,\n    null\n  ]\n}"
        );
        assert_eq!(compact(&pretty), body);
        // Whitespace a sender put between tokens goes; none inside a string does.
        assert_eq!(compact("{ \"a b\" :\n [ 1 , 2 ]\t}"), r#"{"a b":[1,2]}"#);
        assert_eq!(compact(" 42 "), "42");
    }

    const BODY: &str = r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":2}]}},"z":0}"#;

    #[test]
    fn sets_in_place_keeping_order() {
        assert_eq!(
            set_path(BODY, "data.item.id", "\"42\"").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"42","parts":[{"b":1},{"b":2}]}},"z":0}"#
        );
        assert_eq!(
            set_path(BODY, "data.item.parts.1.b", "true").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":true}]}},"z":0}"#
        );
        assert_eq!(
            set_path(BODY, "data.item.parts.0", "{\"c\": [1, 2]}").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"c": [1, 2]},{"b":2}]}},"z":0}"#
        );
        assert_eq!(
            set_path(BODY, "z", "  7 ").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":2}]}},"z":7}"#
        );
        assert_eq!(set_path("[1,[2,3]]", "1.0", "9").unwrap(), "[1,[9,3]]");
    }

    #[test]
    fn a_value_that_is_not_json_is_a_string() {
        assert_eq!(
            set_path(r#"{"a":1}"#, "a", "hello \"world\"").unwrap(),
            r#"{"a":"hello \"world\""}"#
        );
        assert_eq!(set_path(r#"{"a":1}"#, "a", "").unwrap(), r#"{"a":""}"#);
        assert_eq!(set_path(r#"{"a":1}"#, "a", "{x").unwrap(), r#"{"a":"{x"}"#);
    }

    #[test]
    fn every_other_byte_is_left_as_it_was() {
        let body = r#"{"big":123456789012345678901234567890,"dec":1.10,"exp":1e2,"s":"\u00e9\/x","d":1,"d":2,"n":null}"#;
        assert_eq!(
            set_path(body, "n", "true").unwrap(),
            body.replace("\"n\":null", "\"n\":true")
        );
        // The value itself is kept as written, not reparsed.
        assert_eq!(
            set_path(body, "n", "1.50").unwrap(),
            body.replace("\"n\":null", "\"n\":1.50")
        );
        // Duplicate keys stay; the last one (what parsers read) is set.
        assert_eq!(
            set_path(body, "d", "3").unwrap(),
            body.replace("\"d\":2", "\"d\":3")
        );
    }

    #[test]
    fn whitespace_is_kept() {
        let pretty = "{\n  \"a\" : 1 ,\n  \"b\": {\n    \"c\": [ 1 , 2 ]\n  }\n}\n";
        assert_eq!(
            set_path(pretty, "b.c.1", "5").unwrap(),
            "{\n  \"a\" : 1 ,\n  \"b\": {\n    \"c\": [ 1 , 5 ]\n  }\n}\n"
        );
        assert_eq!(
            set_path(pretty, "a", "\"x\"").unwrap(),
            "{\n  \"a\" : \"x\" ,\n  \"b\": {\n    \"c\": [ 1 , 2 ]\n  }\n}\n"
        );
        assert_eq!(
            set_path(pretty, "b.d", "0").unwrap(),
            "{\n  \"a\" : 1 ,\n  \"b\": {\n    \"c\": [ 1 , 2 ],\"d\":0\n  }\n}\n"
        );
    }

    #[test]
    fn strings_with_quotes_braces_and_escapes_do_not_confuse_it() {
        let body = r#"{"a":"x\"}{,]","b":{"c":"]\\","\u0069d":"[{"},"e":"\\\""}"#;
        assert_eq!(
            set_path(body, "b.id", "1").unwrap(),
            r#"{"a":"x\"}{,]","b":{"c":"]\\","\u0069d":1},"e":"\\\""}"#
        );
        assert_eq!(
            set_path(body, "e", "2").unwrap(),
            r#"{"a":"x\"}{,]","b":{"c":"]\\","\u0069d":"[{"},"e":2}"#
        );
        assert_eq!(
            set_path(body, "b.new", "3").unwrap(),
            r#"{"a":"x\"}{,]","b":{"c":"]\\","\u0069d":"[{","new":3},"e":"\\\""}"#
        );
    }

    #[test]
    fn missing_keys_are_added_at_the_end_of_their_object() {
        assert_eq!(
            set_path(BODY, "data.item.note", "hello world").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":2}],"note":"hello world"}},"z":0}"#
        );
        assert_eq!(
            set_path(BODY, "new.deep", "1").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":2}]}},"z":0,"new":{"deep":1}}"#
        );
        assert_eq!(
            set_path(BODY, "data.x.y.z", "[]").unwrap(),
            r#"{"a":1,"data":{"item":{"id":"1","parts":[{"b":1},{"b":2}]},"x":{"y":{"z":[]}}},"z":0}"#
        );
        assert_eq!(set_path("{}", "a", "1").unwrap(), r#"{"a":1}"#);
        assert_eq!(set_path("{ \n}", "a", "1").unwrap(), "{\"a\":1 \n}");
        assert_eq!(
            set_path(r#"{"links":{}}"#, "links.self", "null").unwrap(),
            r#"{"links":{"self":null}}"#
        );
        assert_eq!(
            set_path(r#"{"a":1}"#, "we\"ird", "1").unwrap(),
            r#"{"a":1,"we\"ird":1}"#
        );
    }

    #[test]
    fn what_cannot_be_set_says_why() {
        let err = |body, path| set_path(body, path, "1").unwrap_err();
        assert_eq!(err(BODY, "a.b"), "'a' is a number, so it has no field 'b'");
        assert_eq!(
            err(BODY, "data.item.id.x"),
            "'data.item.id' is a string, so it has no field 'x'"
        );
        assert_eq!(
            err(r#"{"s":null}"#, "s.x"),
            "'s' is null, so it has no field 'x'"
        );
        assert_eq!(
            err(r#"{"t":false}"#, "t.x"),
            "'t' is a boolean, so it has no field 'x'"
        );
        assert_eq!(
            err("7", "x"),
            "'the body' is a number, so it has no field 'x'"
        );
        assert_eq!(
            err(BODY, "data.item.parts.x"),
            "'data.item.parts' is a list, so 'x' must be an index"
        );
        assert_eq!(
            err(BODY, "data.item.parts.9.b"),
            "'data.item.parts' has 2 items, so there is no index 9"
        );
        assert_eq!(err("[]", "0"), "'' has 0 items, so there is no index 0");
        assert!(err(BODY, "").contains("is not a dotted path"));
        assert!(err(BODY, "data..id").contains("is not a dotted path"));
        assert!(err("{broken", "a").starts_with("the body is not JSON: "));
    }
}
