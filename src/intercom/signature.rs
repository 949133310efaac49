//! `X-Hub-Signature` computation and verification, exactly as Intercom signs notifications:
//! `sha1=` followed by the lowercase hex HMAC-SHA1 of the raw body, keyed with the app's
//! client secret. Intercom's other callbacks (installation health checks, the uninstall
//! webhook, Canvas Kit) carry `X-Body-Signature` instead: the bare hex HMAC-SHA256 of the
//! raw body, same secret (INTERCOM.md §2). Pure functions, no I/O.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The header Intercom puts its signature in.
pub const HEADER: &str = "x-hub-signature";

/// The header of Intercom's other callbacks: bare hex HMAC-SHA256, no prefix.
pub const BODY_HEADER: &str = "x-body-signature";

/// Which of Intercom's two signature headers a request is checked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `X-Hub-Signature: sha1=<hex HMAC-SHA1>`, on every webhook notification.
    Hub,
    /// `X-Body-Signature: <hex HMAC-SHA256>`, on health checks, uninstall and Canvas Kit.
    Body,
}

impl Scheme {
    /// The scheme a request calls for: a notification's is always `X-Hub-Signature`
    /// (Intercom signs no notification otherwise); any other request's is `X-Hub-Signature`
    /// when it has one, else `X-Body-Signature` when it has that one or its `body` is an
    /// installation health check, else `X-Hub-Signature`. `has` says whether a header
    /// (lower-case) is there.
    pub fn of(notification: bool, body: &[u8], has: impl Fn(&str) -> bool) -> Scheme {
        let body_signed = || has(BODY_HEADER) || super::health_check_workspace(body).is_some();
        if !notification && !has(HEADER) && body_signed() {
            Scheme::Body
        } else {
            Scheme::Hub
        }
    }

    /// [`Scheme::of`] for a stored request's headers (names as sent, any case).
    pub fn of_headers(notification: bool, body: &[u8], headers: &[(Vec<u8>, Vec<u8>)]) -> Scheme {
        Scheme::of(notification, body, |name| {
            headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        })
    }

    /// The scheme a signature value given on its own looks like: 64 hex characters and no
    /// prefix is an `X-Body-Signature`; anything else is checked as an `X-Hub-Signature`.
    pub fn guess(value: &[u8]) -> Scheme {
        let value = value.trim_ascii();
        if value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit) {
            Scheme::Body
        } else {
            Scheme::Hub
        }
    }

    /// The header's lower-case name, for lookups.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Hub => HEADER,
            Scheme::Body => BODY_HEADER,
        }
    }

    /// The header's name as Intercom writes it.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Hub => "X-Hub-Signature",
            Scheme::Body => "X-Body-Signature",
        }
    }

    /// The header value Intercom would send for `body`.
    pub fn sign(self, secret: &[u8], body: &[u8]) -> String {
        match self {
            Scheme::Hub => sign(secret, body),
            Scheme::Body => hex::encode(mac256(secret, body).finalize().into_bytes()),
        }
    }

    /// Check `values` (every value of this scheme's header the request carries, in order)
    /// against `body`. More than one is invalid: Intercom sends one, and apps differ on
    /// which they read (the first, the last, or all of them joined with commas).
    ///
    /// The digest is decoded from hex before comparing, so either hex case is accepted, and
    /// the comparison is constant-time (`Mac::verify_slice`).
    pub fn verify(self, secret: Option<&[u8]>, values: &[&[u8]], body: &[u8]) -> Verdict {
        let Some(secret) = secret else {
            return Verdict::Unchecked;
        };
        let header = match values {
            [] => return Verdict::Missing,
            [one] => one,
            _ => return Verdict::Invalid(Invalid::Repeated),
        };
        match self {
            Scheme::Hub => verify_hub(secret, header, body),
            Scheme::Body => verify_body(secret, header, body),
        }
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// The value has no `sha1=` prefix at all.
    PrefixMissing,
    /// The value is a SHA-256 signature (`sha256=`), which Intercom never sends on this header.
    Sha256Given,
    /// Some other algorithm prefix, e.g. `md5=`.
    WrongPrefix,
    /// The part after `sha1=` is not 40 hex characters.
    MalformedHex,
    /// Well-formed, but not the HMAC of this body with this secret.
    Mismatch,
    /// An `X-Body-Signature` that is not 64 hex characters.
    BodyMalformedHex,
    /// The signature header came more than once.
    Repeated,
}

impl Invalid {
    /// Every reason, for reading stored codes back.
    pub const ALL: [Invalid; 7] = [
        Invalid::PrefixMissing,
        Invalid::Sha256Given,
        Invalid::WrongPrefix,
        Invalid::MalformedHex,
        Invalid::Mismatch,
        Invalid::BodyMalformedHex,
        Invalid::Repeated,
    ];

    /// The reason a stored code names, if any.
    pub fn from_code(code: &str) -> Option<Invalid> {
        Invalid::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether a signature checked by `scheme`, whose header came `carried` times, can fail
    /// for this reason.
    pub fn fits(self, scheme: Scheme, carried: usize) -> bool {
        match self {
            Invalid::Mismatch => true,
            Invalid::Repeated => carried > 1,
            Invalid::BodyMalformedHex => scheme == Scheme::Body,
            _ => scheme == Scheme::Hub,
        }
    }

    /// Stable machine name, stored in the capture and used in `--json`.
    pub fn code(self) -> &'static str {
        match self {
            Invalid::PrefixMissing => "prefix_missing",
            Invalid::Sha256Given => "sha256_given",
            Invalid::WrongPrefix => "wrong_prefix",
            Invalid::MalformedHex => "malformed_hex",
            Invalid::Mismatch => "mismatch",
            Invalid::BodyMalformedHex => "body_malformed_hex",
            Invalid::Repeated => "repeated",
        }
    }

    /// One sentence for people, saying what is wrong and what usually causes it.
    pub fn explain(self) -> &'static str {
        match self {
            Invalid::PrefixMissing => "the header has no \"sha1=\" prefix",
            Invalid::Sha256Given => {
                "a sha256= signature was given; Intercom signs X-Hub-Signature with HMAC-SHA1"
            }
            Invalid::WrongPrefix => "the header names an algorithm other than sha1",
            Invalid::MalformedHex => "the digest after \"sha1=\" is not 40 hex characters",
            Invalid::Mismatch => {
                "the digest does not match the body: wrong client secret, or the body was altered"
            }
            Invalid::BodyMalformedHex => {
                "the X-Body-Signature is not 64 hex characters (Intercom sends a bare hex HMAC-SHA256)"
            }
            Invalid::Repeated => {
                "the signature header came more than once; Intercom sends one, and apps differ on which they read"
            }
        }
    }
}

/// The outcome of checking one request's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The signature matches the body under the configured secret.
    Valid,
    /// A signature header was present but does not verify.
    Invalid(Invalid),
    /// A secret is configured but the request carried no `X-Hub-Signature`.
    Missing,
    /// No secret configured, so nothing was checked.
    Unchecked,
}

impl Verdict {
    /// Stable machine name: `valid`, `invalid`, `missing` or `unchecked`.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid(_) => "invalid",
            Verdict::Missing => "missing",
            Verdict::Unchecked => "unchecked",
        }
    }

    /// The reason code for an invalid verdict.
    pub fn reason(self) -> Option<Invalid> {
        match self {
            Verdict::Invalid(why) => Some(why),
            _ => None,
        }
    }

    /// Rebuild a verdict from its stored codes.
    pub fn from_codes(code: &str, reason: Option<&str>) -> Verdict {
        match code {
            "valid" => Verdict::Valid,
            "missing" => Verdict::Missing,
            "invalid" => Verdict::Invalid(
                reason
                    .and_then(Invalid::from_code)
                    .unwrap_or(Invalid::Mismatch),
            ),
            _ => Verdict::Unchecked,
        }
    }
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha1> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

fn mac256(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

/// The header value Intercom would send for `body`: `sha1=` + lowercase hex.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha1={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

/// Check an `X-Hub-Signature` value: `sha1=` and hex HMAC-SHA1.
fn verify_hub(secret: &[u8], header: &[u8], body: &[u8]) -> Verdict {
    let header = header.trim_ascii();
    let Some(eq) = header.iter().position(|&b| b == b'=') else {
        return Verdict::Invalid(Invalid::PrefixMissing);
    };
    let (algo, digest) = (&header[..eq], &header[eq + 1..]);
    if !algo.eq_ignore_ascii_case(b"sha1") {
        return Verdict::Invalid(if algo.eq_ignore_ascii_case(b"sha256") {
            Invalid::Sha256Given
        } else if algo.iter().all(u8::is_ascii_alphanumeric) && !algo.is_empty() {
            Invalid::WrongPrefix
        } else {
            Invalid::PrefixMissing
        });
    }
    check_hex::<20>(mac(secret, body), digest, Invalid::MalformedHex)
}

/// Check an `X-Body-Signature` value: bare hex HMAC-SHA256.
fn verify_body(secret: &[u8], header: &[u8], body: &[u8]) -> Verdict {
    check_hex::<32>(
        mac256(secret, body),
        header.trim_ascii(),
        Invalid::BodyMalformedHex,
    )
}

/// Compare a hex digest of `N` bytes with `mac`'s, in constant time; `malformed` when it is
/// not that much hex.
fn check_hex<const N: usize>(mac: impl Mac, digest: &[u8], malformed: Invalid) -> Verdict {
    let mut raw = [0u8; N];
    if digest.len() != 2 * N || hex::decode_to_slice(digest, &mut raw).is_err() {
        return Verdict::Invalid(malformed);
    }
    match mac.verify_slice(&raw) {
        Ok(()) => Verdict::Valid,
        Err(_) => Verdict::Invalid(Invalid::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector from shared/INTERCOM.md §1 (computed with Python hmac and openssl).
    const VECTOR_BODY: &str = r#"{"type":"notification_event","app_id":"abc123def","data":{"type":"notification_event_data","item":{"type":"ping","message":"This is a ping notification test message."}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1671643827,"created_at":1671643827,"self":null}"#;
    const VECTOR_SIG: &str = "sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0";

    #[test]
    fn signs_the_intercom_md_test_vector() {
        assert_eq!(VECTOR_BODY.len(), 330);
        assert_eq!(sign(b"secret", VECTOR_BODY.as_bytes()), VECTOR_SIG);
    }

    /// A health check body and its X-Body-Signature under "secret" (Python hmac, openssl).
    const HEALTH_BODY: &str = r#"{"workspace_id":"abc123def"}"#;
    const HEALTH_SIG: &str = "7bb3928a5ef8d02959f95559a393f1c3667b68a20984530aac44f5391bbae8f6";

    #[test]
    fn body_signatures_are_bare_hex_hmac_sha256() {
        let body = HEALTH_BODY.as_bytes();
        assert_eq!(Scheme::Body.sign(b"secret", body), HEALTH_SIG);
        let check = |sig: &str| Scheme::Body.verify(Some(b"secret"), &[sig.as_bytes()], body);
        assert_eq!(check(HEALTH_SIG), Verdict::Valid);
        assert_eq!(check(&HEALTH_SIG.to_uppercase()), Verdict::Valid);
        assert_eq!(check(&format!(" {HEALTH_SIG}\n")), Verdict::Valid);
        let other = Scheme::Body.sign(b"other", body);
        assert_eq!(check(&other), Verdict::Invalid(Invalid::Mismatch));
        for bad in [&format!("sha256={HEALTH_SIG}"), &HEALTH_SIG[..63], "zz"] {
            assert_eq!(
                check(bad),
                Verdict::Invalid(Invalid::BodyMalformedHex),
                "{bad}"
            );
        }
        assert_eq!(
            Scheme::Body.verify(None, &[HEALTH_SIG.as_bytes()], body),
            Verdict::Unchecked
        );
    }

    #[test]
    fn the_scheme_follows_the_headers_and_the_value() {
        let headers = |names: &[&str]| -> Vec<(Vec<u8>, Vec<u8>)> {
            names
                .iter()
                .map(|n| (n.as_bytes().to_vec(), b"x".to_vec()))
                .collect()
        };
        let body_only = headers(&["X-Body-Signature"]);
        assert_eq!(Scheme::of_headers(false, b"{}", &body_only), Scheme::Body);
        // A notification is signed with X-Hub-Signature, whatever else it carries.
        assert_eq!(Scheme::of_headers(true, b"{}", &body_only), Scheme::Hub);
        let both = headers(&["x-body-signature", "X-Hub-Signature"]);
        assert_eq!(Scheme::of_headers(false, b"{}", &both), Scheme::Hub);
        assert_eq!(Scheme::of_headers(false, b"{}", &headers(&[])), Scheme::Hub);
        // An unsigned health check is one that lacks its X-Body-Signature.
        let health = HEALTH_BODY.as_bytes();
        assert_eq!(
            Scheme::of_headers(false, health, &headers(&[])),
            Scheme::Body
        );
        let hub = headers(&["X-Hub-Signature"]);
        assert_eq!(Scheme::of_headers(false, health, &hub), Scheme::Hub);
        assert_eq!(Scheme::guess(HEALTH_SIG.as_bytes()), Scheme::Body);
        assert_eq!(Scheme::guess(VECTOR_SIG.as_bytes()), Scheme::Hub);
        assert_eq!(Scheme::guess(&VECTOR_SIG.as_bytes()[5..]), Scheme::Hub);
    }

    #[test]
    fn verifies_the_test_vector() {
        let v = Scheme::Hub.verify(
            Some(b"secret"),
            &[VECTOR_SIG.as_bytes()],
            VECTOR_BODY.as_bytes(),
        );
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn uppercase_hex_is_valid_by_value() {
        let upper = format!("sha1={}", VECTOR_SIG[5..].to_uppercase());
        let v = Scheme::Hub.verify(Some(b"secret"), &[upper.as_bytes()], VECTOR_BODY.as_bytes());
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn each_failure_has_its_own_reason() {
        let body = VECTOR_BODY.as_bytes();
        let check = |h: &str| Scheme::Hub.verify(Some(b"secret"), &[h.as_bytes()], body);
        assert_eq!(
            check(&VECTOR_SIG[5..]),
            Verdict::Invalid(Invalid::PrefixMissing)
        );
        assert_eq!(check("sha256=abcd"), Verdict::Invalid(Invalid::Sha256Given));
        assert_eq!(check("md5=abcd"), Verdict::Invalid(Invalid::WrongPrefix));
        assert_eq!(check("sha1=xyz"), Verdict::Invalid(Invalid::MalformedHex));
        assert_eq!(
            check("sha1=f67a0d05"),
            Verdict::Invalid(Invalid::MalformedHex)
        );
        let wrong = sign(b"other", body);
        assert_eq!(check(&wrong), Verdict::Invalid(Invalid::Mismatch));
        let altered = Scheme::Hub.verify(Some(b"secret"), &[VECTOR_SIG.as_bytes()], b"{}");
        assert_eq!(altered, Verdict::Invalid(Invalid::Mismatch));
    }

    #[test]
    fn a_repeated_header_is_invalid_even_when_each_value_verifies() {
        let (sig, body) = (VECTOR_SIG.as_bytes(), VECTOR_BODY.as_bytes());
        for scheme in [Scheme::Hub, Scheme::Body] {
            assert_eq!(
                scheme.verify(Some(b"secret"), &[sig, sig], body),
                Verdict::Invalid(Invalid::Repeated)
            );
        }
        assert_eq!(
            Scheme::Hub.verify(None, &[sig, sig], body),
            Verdict::Unchecked
        );
        // An imported capture can only have been refused for it with the header twice.
        assert!(Invalid::Repeated.fits(Scheme::Body, 2) && !Invalid::Repeated.fits(Scheme::Hub, 1));
    }

    #[test]
    fn missing_and_unchecked() {
        assert_eq!(Scheme::Hub.verify(Some(b"s"), &[], b"{}"), Verdict::Missing);
        assert_eq!(
            Scheme::Hub.verify(None, &[b"sha1=00"], b"{}"),
            Verdict::Unchecked
        );
    }

    #[test]
    fn codes_round_trip() {
        for v in [
            Verdict::Valid,
            Verdict::Missing,
            Verdict::Unchecked,
            Verdict::Invalid(Invalid::PrefixMissing),
            Verdict::Invalid(Invalid::Sha256Given),
            Verdict::Invalid(Invalid::WrongPrefix),
            Verdict::Invalid(Invalid::MalformedHex),
            Verdict::Invalid(Invalid::Mismatch),
            Verdict::Invalid(Invalid::BodyMalformedHex),
            Verdict::Invalid(Invalid::Repeated),
        ] {
            assert_eq!(
                Verdict::from_codes(v.code(), v.reason().map(Invalid::code)),
                v
            );
        }
    }
}
