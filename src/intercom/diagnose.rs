//! Why a signature does or does not verify, for `hookcli verify`: the reasons developers
//! actually trip over (INTERCOM.md §7), each with what to do.

use super::signature::{Invalid, Scheme, Verdict};
use serde_json::Value;
use std::fmt::Write as _;

/// The diagnosis of one body/signature/secret triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    /// The signature matches the bytes.
    Valid,
    /// Matches by value, but the hex has uppercase letters: strict string compares fail.
    ValidUppercase,
    /// Matches by value, but is not written exactly as Intercom writes it (`sha1=` and 40
    /// lowercase hex, nothing around it), so strict string compares fail.
    ValidNotExact {
        /// The prefix is not lowercase `sha1=` (e.g. `SHA1=`).
        prefix: bool,
        /// There is whitespace around the value.
        spaces: bool,
        /// The hex is uppercase.
        upper_hex: bool,
    },
    /// No signature was given.
    HeaderMissing,
    /// No `X-Body-Signature` was given where one was due (a health check, say).
    BodyHeaderMissing,
    /// The value has no `sha1=` prefix.
    PrefixMissing,
    /// The value is empty.
    Empty,
    /// The value starts with the header's own name (`X-Hub-Signature: sha1=…`).
    NameIncluded,
    /// A `sha256=` signature was given.
    Sha256Given,
    /// Bare hex HMAC-SHA256, X-Body-Signature's form, given for a notification.
    Sha256Bare {
        /// Whether it is the HMAC-SHA256 of these bytes under this secret.
        matches: bool,
    },
    /// A 64-hex HMAC-SHA256 written after `sha1=`.
    Sha256UnderSha1 {
        /// Whether it is the HMAC-SHA256 of these bytes under this secret.
        matches: bool,
    },
    /// Another algorithm prefix.
    WrongPrefix,
    /// The digest is not 40 hex characters.
    MalformedHex,
    /// It matches these bytes without their final newline: the copy gained one.
    NewlineAdded,
    /// It matches these bytes plus a final newline: the copy lost one.
    NewlineMissing,
    /// It matches a compact or pretty re-serialisation of the same JSON, not these bytes.
    Reserialised(&'static str),
    /// Wrong secret, or the body was altered.
    Mismatch,
    /// An `X-Body-Signature` that matches the bytes.
    BodyValid,
    /// An `X-Body-Signature` that matches by value, but not written as Intercom writes it
    /// (64 lowercase hex characters, nothing around them).
    BodyValidNotExact {
        /// There is whitespace around the value.
        spaces: bool,
        /// The hex is uppercase.
        upper_hex: bool,
    },
    /// An `X-Body-Signature` that is not 64 hex characters.
    BodyMalformedHex,
    /// The signature header came more than once.
    Repeated {
        /// How many times.
        count: usize,
        /// Whether the first value verifies.
        first_valid: bool,
    },
}

/// Diagnose `values` (every value of `scheme`'s header, in order) against `body` under
/// `secret`.
pub fn diagnose(scheme: Scheme, secret: &[u8], values: &[&[u8]], body: &[u8]) -> Diagnosis {
    let header = match values {
        [] if scheme == Scheme::Body => return Diagnosis::BodyHeaderMissing,
        [] => return Diagnosis::HeaderMissing,
        [one] => *one,
        [first, ..] => {
            return Diagnosis::Repeated {
                count: values.len(),
                first_valid: scheme.verify(Some(secret), &[first], body) == Verdict::Valid,
            }
        }
    };
    let verify = |bytes: &[u8]| scheme.verify(Some(secret), &[header], bytes);
    let signs = |bytes: &[u8]| verify(bytes) == Verdict::Valid;
    match verify(body) {
        Verdict::Valid => exactness(scheme, header),
        Verdict::Invalid(Invalid::BodyMalformedHex) => Diagnosis::BodyMalformedHex,
        Verdict::Invalid(Invalid::PrefixMissing) => without_prefix(secret, header, body),
        Verdict::Invalid(Invalid::Sha256Given) => Diagnosis::Sha256Given,
        Verdict::Invalid(Invalid::WrongPrefix) => Diagnosis::WrongPrefix,
        Verdict::Invalid(Invalid::MalformedHex) => malformed(secret, header, body),
        // One value was checked, so never `Repeated`.
        Verdict::Invalid(Invalid::Mismatch | Invalid::Repeated)
        | Verdict::Missing
        | Verdict::Unchecked => {
            // Checked before re-serialisations: a compact body plus `echo`'s newline would
            // otherwise read as "something parsed the body".
            let trimmed = body
                .strip_suffix(b"\r\n")
                .or_else(|| body.strip_suffix(b"\n"));
            if trimmed.is_some_and(&signs) {
                return Diagnosis::NewlineAdded;
            }
            if [&b"\n"[..], b"\r\n"]
                .iter()
                .any(|end| signs(&[body, end].concat()))
            {
                return Diagnosis::NewlineMissing;
            }
            reserialisations(body)
                .into_iter()
                .find(|(_, bytes)| signs(bytes))
                .map_or(Diagnosis::Mismatch, |(form, _)| {
                    Diagnosis::Reserialised(form)
                })
        }
    }
}

/// A `sha1=` value whose digest is not 40 hex: an HMAC-SHA256 under SHA-1's name, when it is
/// 64 hex (a verifier ported from a SHA-256 provider signs so).
fn malformed(secret: &[u8], header: &[u8], body: &[u8]) -> Diagnosis {
    // The prefix is `sha1=` in some case, or the signature would not be malformed hex.
    let digest = &header.trim_ascii()[5..];
    if digest.len() == 64 && digest.iter().all(u8::is_ascii_hexdigit) {
        let sha256 = Scheme::Body.verify(Some(secret), &[digest], body);
        Diagnosis::Sha256UnderSha1 {
            matches: sha256 == Verdict::Valid,
        }
    } else {
        Diagnosis::MalformedHex
    }
}

/// An X-Hub-Signature without `sha1=`: what it is instead, when that can be told.
fn without_prefix(secret: &[u8], header: &[u8], body: &[u8]) -> Diagnosis {
    let value = header.trim_ascii();
    let name = b"x-hub-signature:";
    if value.is_empty() {
        Diagnosis::Empty
    } else if value.len() > name.len() && value[..name.len()].eq_ignore_ascii_case(name) {
        Diagnosis::NameIncluded
    } else if value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit) {
        let sha256 = Scheme::Body.verify(Some(secret), &[value], body);
        Diagnosis::Sha256Bare {
            matches: sha256 == Verdict::Valid,
        }
    } else {
        Diagnosis::PrefixMissing
    }
}

/// A header that verifies: exactly as Intercom writes it, or how it differs.
pub fn exactness(scheme: Scheme, header: &[u8]) -> Diagnosis {
    let trimmed = header.trim_ascii();
    let spaces = trimmed.len() != header.len();
    // An X-Body-Signature is bare hex; an X-Hub-Signature starts `sha1=`.
    let start = if scheme == Scheme::Body {
        0
    } else {
        b"sha1=".len()
    };
    let upper_hex = trimmed.iter().skip(start).any(u8::is_ascii_uppercase);
    if scheme == Scheme::Body {
        return if spaces || upper_hex {
            Diagnosis::BodyValidNotExact { spaces, upper_hex }
        } else {
            Diagnosis::BodyValid
        };
    }
    let prefix = !trimmed.starts_with(b"sha1=");
    match (prefix, spaces, upper_hex) {
        (false, false, false) => Diagnosis::Valid,
        (false, false, true) => Diagnosis::ValidUppercase,
        _ => Diagnosis::ValidNotExact {
            prefix,
            spaces,
            upper_hex,
        },
    }
}

/// The same JSON written the ways frameworks commonly re-encode it.
fn reserialisations(body: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut forms = Vec::new();
    if let Ok(compact) = serde_json::to_vec(&value) {
        forms.push(("compact", compact));
    }
    if let Ok(pretty) = serde_json::to_vec_pretty(&value) {
        forms.push(("pretty", pretty.clone()));
        let mut with_newline = pretty;
        with_newline.push(b'\n');
        forms.push(("pretty", with_newline));
    }
    if let Ok(compact) = serde_json::to_string(&value) {
        // Python's json.dumps default: ", " and ": " separators, and ensure_ascii=True, which
        // writes every non-ASCII character as \uXXXX; with separators=(',', ':') it is
        // compact but still escaped.
        // The plain forms come first: for an ASCII body the escaped ones are the same bytes.
        let spaced = spaced(&compact);
        forms.push(("spaced", spaced.clone().into_bytes()));
        forms.push(("ASCII-escaped spaced", ascii_escaped(&spaced).into_bytes()));
        forms.push((
            "ASCII-escaped compact",
            ascii_escaped(&compact).into_bytes(),
        ));
    }
    forms.retain(|(_, bytes)| bytes != body);
    forms
}

/// Compact JSON with a space after each `,` and `:` outside strings.
fn spaced(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 11 / 10);
    let (mut in_string, mut escaped) = (false, false);
    for c in compact.chars() {
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' || c == ':' {
            out.push(' ');
        }
    }
    out
}

/// Serialised JSON with every character past `~` written as `\uXXXX` (lowercase hex, a
/// surrogate pair above U+FFFF), as Python's `ensure_ascii` writes it. Such characters
/// only occur inside strings, and serde_json has already escaped the C0 controls, so no
/// string boundary needs tracking.
fn ascii_escaped(serialised: &str) -> String {
    let mut out = String::with_capacity(serialised.len());
    for c in serialised.chars() {
        if c > '~' {
            for unit in c.encode_utf16(&mut [0u16; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Diagnosis {
    /// Whether the signature is valid (by value).
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            Diagnosis::Valid
                | Diagnosis::ValidUppercase
                | Diagnosis::ValidNotExact { .. }
                | Diagnosis::BodyValid
                | Diagnosis::BodyValidNotExact { .. }
        )
    }

    /// Stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            Diagnosis::Valid => "valid",
            Diagnosis::ValidUppercase => "valid_uppercase",
            Diagnosis::ValidNotExact { .. } => "valid_not_exact",
            Diagnosis::HeaderMissing | Diagnosis::BodyHeaderMissing => "header_missing",
            Diagnosis::PrefixMissing => "prefix_missing",
            Diagnosis::Empty => "empty",
            Diagnosis::NameIncluded => "header_name_included",
            Diagnosis::Sha256Given
            | Diagnosis::Sha256Bare { .. }
            | Diagnosis::Sha256UnderSha1 { .. } => "sha256_given",
            Diagnosis::WrongPrefix => "wrong_prefix",
            Diagnosis::MalformedHex => "malformed_hex",
            Diagnosis::NewlineAdded => "trailing_newline_added",
            Diagnosis::NewlineMissing => "trailing_newline_missing",
            Diagnosis::Reserialised(_) => "reserialised",
            Diagnosis::Mismatch => "mismatch",
            Diagnosis::BodyValid => "valid",
            Diagnosis::BodyValidNotExact { .. } => "valid_not_exact",
            Diagnosis::BodyMalformedHex => "body_malformed_hex",
            Diagnosis::Repeated { .. } => "repeated",
        }
    }

    /// What it means and what to do.
    pub fn explain(self) -> String {
        match self {
            Diagnosis::Valid => "valid: the signature is the HMAC-SHA1 of these exact bytes under this secret".into(),
            Diagnosis::ValidUppercase => "valid by value, but the hex has uppercase letters; Intercom sends lowercase, and verifiers that compare strings (most samples do) will reject it: compare the decoded bytes in constant time, or lowercase first".into(),
            Diagnosis::ValidNotExact { prefix, spaces, upper_hex } => {
                format!("valid by value, but not as Intercom writes it (exactly sha1= and 40 lowercase hex characters): {}; verifiers that compare the whole string (most samples do) will reject it: compare the decoded digest in constant time", differences(prefix, spaces, upper_hex))
            }
            Diagnosis::BodyHeaderMissing => "there is no X-Body-Signature: Intercom signs installation health checks, uninstall and Canvas Kit requests with it (bare hex HMAC-SHA256 of the body), so check the header name reaches your code".into(),
            Diagnosis::HeaderMissing => "there is no X-Hub-Signature: Developer Hub webhooks are always signed, so check the header name reaches your code (some proxies drop or rename headers)".into(),
            Diagnosis::PrefixMissing => "the value has no \"sha1=\" prefix: Intercom sends X-Hub-Signature: sha1=<40 hex>; compare the whole value, or strip the prefix on both sides".into(),
            Diagnosis::Empty => "the X-Hub-Signature value is empty: Intercom sends sha1=<40 hex>, so something in between lost it".into(),
            Diagnosis::NameIncluded => "the value starts with the header's name: pass only what follows \"X-Hub-Signature: \" (sha1=<40 hex>)".into(),
            Diagnosis::Sha256Bare { matches } => {
                let fits = if matches { "it is the HMAC-SHA256 of these bytes under this secret" } else { "it is not the HMAC-SHA256 of these bytes under this secret either" };
                format!("a bare 64-hex signature was given, X-Body-Signature's form (HMAC-SHA256, for health checks, uninstall and Canvas Kit), and {fits}; notifications carry X-Hub-Signature: sha1=<40 hex HMAC-SHA1>")
            }
            Diagnosis::Sha256Given => "a sha256= signature was given: Intercom signs X-Hub-Signature with HMAC-SHA1 (X-Body-Signature, used by health checks and uninstall, is SHA-256 and has no prefix)".into(),
            Diagnosis::Sha256UnderSha1 { matches } => {
                let fits = if matches { "it is the HMAC-SHA256 of these bytes under this secret" } else { "it is not the HMAC-SHA256 of these bytes under this secret either" };
                format!("the digest after \"sha1=\" is 64 hex characters, the length of an HMAC-SHA256, and {fits}: Intercom signs X-Hub-Signature with HMAC-SHA1 (40 hex characters), so compute it with SHA-1")
            }
            Diagnosis::WrongPrefix => "the value names an algorithm other than sha1: Intercom uses HMAC-SHA1".into(),
            Diagnosis::MalformedHex => "the digest after \"sha1=\" is not 40 hex characters: it is hex, not base64, and must not be truncated".into(),
            Diagnosis::NewlineAdded => "the signature matches these bytes without their final newline: the copy gained one (echo and most editors add it); write the body with printf '%s', or save the exact bytes with `hookcli show --raw ID > body.json`".into(),
            Diagnosis::NewlineMissing => "the signature matches these bytes plus a final newline: the signed body ended with one that this copy lacks (a shell $(...) strips it); verify the exact bytes, e.g. from `hookcli show --raw ID > body.json`".into(),
            Diagnosis::Reserialised(form) => format!("the signature matches a {form} re-serialisation of this JSON, not these bytes: something parsed the body and wrote it out again; verify the raw request bytes before any JSON parsing"),
            Diagnosis::Mismatch => "the signature does not match: either the secret is wrong (use the app's client secret from Developer Hub > Basic information, not an access token; watch for stray whitespace or a rotated secret) or the body was altered".into(),
            Diagnosis::BodyValid => "valid: the X-Body-Signature is the HMAC-SHA256 of these exact bytes under this secret, as Intercom signs health checks, uninstall and Canvas Kit requests".into(),
            Diagnosis::BodyValidNotExact { spaces, upper_hex } => {
                format!("valid by value, but not as Intercom writes X-Body-Signature (64 lowercase hex characters, nothing around them): {}; verifiers that compare the whole string reject it: compare the decoded digest in constant time", differences(false, spaces, upper_hex))
            }
            Diagnosis::BodyMalformedHex => "the X-Body-Signature is not 64 hex characters: Intercom sends the bare hex HMAC-SHA256 of the body, with no prefix".into(),
            Diagnosis::Repeated { count, first_valid } => {
                let first = if first_valid { "verifies" } else { "does not verify" };
                format!("the signature header came {count} times: Intercom sends it once, and apps differ on which they read (the first, the last, or all of them joined with commas, which never verifies); the first one {first}: check each with --signature")
            }
        }
    }
}

/// How a valid signature differs from the way Intercom writes it, in words.
fn differences(prefix: bool, spaces: bool, upper_hex: bool) -> String {
    let words: Vec<&str> = [
        (prefix, "the prefix is not lowercase \"sha1=\""),
        (spaces, "there is whitespace around the value"),
        (upper_hex, "the hex has uppercase letters"),
    ]
    .into_iter()
    .filter_map(|(differs, what)| differs.then_some(what))
    .collect();
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::signature::sign;
    use super::*;

    const BODY: &str = r#"{"type":"notification_event","app_id":"abc123def","data":{"type":"notification_event_data","item":{"type":"ping","message":"This is a ping notification test message."}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1671643827,"created_at":1671643827,"self":null}"#;
    const SIG: &str = "sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0";

    fn d(header: Option<&str>, body: &[u8]) -> Diagnosis {
        diagnose(
            Scheme::Hub,
            b"secret",
            header.map(str::as_bytes).as_slice(),
            body,
        )
    }

    #[test]
    fn a_repeated_header_is_not_valid_and_says_whether_the_first_verifies() {
        let body = BODY.as_bytes();
        let wrong = sign(b"other", body);
        let twice = |a: &str, b: &str| {
            diagnose(Scheme::Hub, b"secret", &[a.as_bytes(), b.as_bytes()], body)
        };
        let first_good = twice(SIG, &wrong);
        assert_eq!(
            first_good,
            Diagnosis::Repeated {
                count: 2,
                first_valid: true
            }
        );
        assert!(!first_good.is_valid() && first_good.explain().contains("the first one verifies"));
        assert!(twice(&wrong, SIG)
            .explain()
            .contains("the first one does not verify"));
        assert_eq!(twice(SIG, SIG).code(), "repeated");
    }

    #[test]
    fn an_x_body_signature_is_valid_exactly_or_with_a_caution() {
        let body = br#"{"workspace_id":"abc123def"}"#;
        let sig = Scheme::Body.sign(b"secret", body);
        let d = |h: &str| diagnose(Scheme::Body, b"secret", &[h.as_bytes()], body);
        assert_eq!(d(&sig), Diagnosis::BodyValid);
        let upper = d(&sig.to_uppercase());
        assert_eq!(
            upper,
            Diagnosis::BodyValidNotExact {
                spaces: false,
                upper_hex: true
            }
        );
        assert!(upper.is_valid() && upper.explain().contains("the hex has uppercase letters"));
        assert_eq!(
            d(&format!(" {sig}")),
            Diagnosis::BodyValidNotExact {
                spaces: true,
                upper_hex: false
            }
        );
        assert_eq!(d(&sig[1..]), Diagnosis::BodyMalformedHex);
    }

    #[test]
    fn each_diagnosis() {
        let body = BODY.as_bytes();
        assert_eq!(d(Some(SIG), body), Diagnosis::Valid);
        assert_eq!(
            d(Some(&SIG.to_uppercase().replace("SHA1=", "sha1=")), body),
            Diagnosis::ValidUppercase
        );
        assert_eq!(d(None, body), Diagnosis::HeaderMissing);
        let unsigned_health = diagnose(Scheme::Body, b"secret", &[], br#"{"workspace_id":"w"}"#);
        assert_eq!(unsigned_health, Diagnosis::BodyHeaderMissing);
        assert!(unsigned_health.explain().contains("no X-Body-Signature"));
        assert_eq!(d(Some(&SIG[5..]), body), Diagnosis::PrefixMissing);
        assert_eq!(d(Some(" "), body), Diagnosis::Empty);
        assert_eq!(
            d(Some(&format!("X-Hub-Signature: {SIG}")), body),
            Diagnosis::NameIncluded
        );
        let sha256 = Scheme::Body.sign(b"secret", body);
        assert_eq!(
            d(Some(&sha256), body),
            Diagnosis::Sha256Bare { matches: true }
        );
        assert_eq!(
            d(Some(&"ab".repeat(32)), body),
            Diagnosis::Sha256Bare { matches: false }
        );
        assert_eq!(d(Some("sha256=00"), body), Diagnosis::Sha256Given);
        assert_eq!(d(Some("md5=00"), body), Diagnosis::WrongPrefix);
        assert_eq!(d(Some("sha1=zz"), body), Diagnosis::MalformedHex);
        assert_eq!(
            d(Some(&format!("sha1={sha256}")), body),
            Diagnosis::Sha256UnderSha1 { matches: true }
        );
        assert_eq!(
            d(Some(&format!(" SHA1={} ", "ab".repeat(32))), body),
            Diagnosis::Sha256UnderSha1 { matches: false }
        );
        assert_eq!(
            d(Some(&format!("sha1={}", "ab".repeat(31))), body),
            Diagnosis::MalformedHex
        );
        assert_eq!(d(Some(&sign(b"other", body)), body), Diagnosis::Mismatch);
        assert!(d(Some(SIG), body).is_valid() && !Diagnosis::Mismatch.is_valid());
    }

    #[test]
    fn spots_a_reserialised_body() {
        // The app received the compact bytes Intercom signed, but hands a pretty copy to the check.
        let pretty =
            serde_json::to_vec_pretty(&serde_json::from_str::<Value>(BODY).unwrap()).unwrap();
        assert_eq!(d(Some(SIG), &pretty), Diagnosis::Reserialised("compact"));
        // And the other way round: signed pretty, checked compact.
        let signed_pretty = sign(b"secret", &pretty);
        assert_eq!(
            d(Some(&signed_pretty), BODY.as_bytes()),
            Diagnosis::Reserialised("pretty")
        );
        // Python's json.dumps default separators.
        let spaced_body = spaced(BODY);
        assert_eq!(
            d(
                Some(&sign(b"secret", spaced_body.as_bytes())),
                BODY.as_bytes()
            ),
            Diagnosis::Reserialised("spaced")
        );
    }

    #[test]
    fn spots_pythons_ascii_escaped_body() {
        // What Intercom sends: raw UTF-8, here an accent, an emoji (a surrogate pair) and DEL.
        let body = "{\"type\":\"notification_event\",\"data\":{\"item\":{\"body\":\"caf\u{e9} \u{1f600}\u{7f}\"}},\"n\":1}";
        // Python 3's json.dumps(json.loads(body)).
        let dumps = r#"{"type": "notification_event", "data": {"item": {"body": "caf\u00e9 \ud83d\ude00\u007f"}}, "n": 1}"#;
        // json.dumps(json.loads(body), separators=(",", ":")).
        let dumps_compact = r#"{"type":"notification_event","data":{"item":{"body":"caf\u00e9 \ud83d\ude00\u007f"}},"n":1}"#;
        let signed = |bytes: &str| sign(b"secret", bytes.as_bytes());
        assert_eq!(
            d(Some(&signed(dumps)), body.as_bytes()),
            Diagnosis::Reserialised("ASCII-escaped spaced")
        );
        assert_eq!(
            d(Some(&signed(dumps_compact)), body.as_bytes()),
            Diagnosis::Reserialised("ASCII-escaped compact")
        );
        // And the other way round: the app checks Python's copy against Intercom's signature.
        assert_eq!(
            d(Some(&signed(body)), dumps.as_bytes()),
            Diagnosis::Reserialised("compact")
        );
        assert_eq!(ascii_escaped("\"\u{10ffff}\""), r#""\udbff\udfff""#);
    }

    #[test]
    fn spacing_leaves_strings_alone() {
        assert_eq!(
            spaced(r#"{"a":"x,y:z","b":[1,2]}"#),
            r#"{"a": "x,y:z", "b": [1, 2]}"#
        );
    }

    #[test]
    fn a_final_newline_gained_or_lost_is_named() {
        let body = BODY.as_bytes();
        let echoed = [body, b"\n"].concat();
        assert_eq!(d(Some(SIG), &echoed), Diagnosis::NewlineAdded);
        assert_eq!(
            d(Some(SIG), &[body, b"\r\n"].concat()),
            Diagnosis::NewlineAdded
        );
        assert_eq!(
            d(Some(&sign(b"secret", &echoed)), body),
            Diagnosis::NewlineMissing
        );
        assert!(Diagnosis::NewlineAdded.explain().contains("printf '%s'"));
    }

    #[test]
    fn valid_but_not_written_as_intercom_writes_it() {
        let body = BODY.as_bytes();
        let hex = &SIG[5..];
        let not_exact = |prefix, spaces, upper_hex| Diagnosis::ValidNotExact {
            prefix,
            spaces,
            upper_hex,
        };
        assert_eq!(
            d(Some(&format!("SHA1={hex}")), body),
            not_exact(true, false, false)
        );
        assert_eq!(
            d(Some(&format!(" {SIG} ")), body),
            not_exact(false, true, false)
        );
        assert_eq!(
            d(Some(&SIG.to_uppercase()), body),
            not_exact(true, false, true)
        );
        let caution = not_exact(true, true, false);
        assert!(caution.is_valid());
        assert!(
            caution.explain().contains("not lowercase \"sha1=\"")
                && caution.explain().contains("whitespace")
                && caution.explain().contains("compare the whole string"),
            "{}",
            caution.explain()
        );
    }
}
