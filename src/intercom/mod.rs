//! The Intercom wire model (see shared/INTERCOM.md): which fields of a notification hookcli
//! reads, how topics group into families, and where Intercom sends from.

pub mod diagnose;
pub mod fabricate;
pub mod outbound;
mod scan;
pub mod signature;
pub mod topics;

use serde::Serialize;
use signature::{Invalid, Verdict};
use std::time::Duration;

/// How long Intercom waits for an answer before it counts the delivery as failed and
/// retries it (INTERCOM.md §5).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The last second of the year 9999: the latest notification time taken for a date.
pub const LATEST_TIME: i64 = 253_402_300_799;

/// A notification time (`created_at`, `first_sent_at`: Unix seconds) in milliseconds, when
/// it is one: from 1970 to [`LATEST_TIME`]. A sender's value outside that (milliseconds by
/// mistake, a made-up number) is shown as sent, never as a far-off date, and sorts as none.
pub fn notification_time_ms(secs: i64) -> Option<i64> {
    (0..=LATEST_TIME).contains(&secs).then(|| secs * 1000)
}

/// What Intercom does to the whole webhook subscription when its endpoint answers `status`
/// (INTERCOM.md §5): 410 disables it, 429 throttles it. A retry policy for one notification
/// does not show this, so every place that reports such an answer says it.
pub fn subscription_rule(status: u16) -> Option<&'static str> {
    match status {
        410 => Some("Intercom disables a webhook subscription whose endpoint answers 410, and sends it nothing more"),
        429 => Some("Intercom throttles the whole webhook subscription for 1 min to 2 h when its endpoint answers 429, and drops notifications delayed past 2 h"),
        _ => None,
    }
}

/// The fields hookcli reads out of an Intercom notification body. Every field is optional:
/// anything that is not a notification (or a partial one) still gets captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// `topic`, e.g. `conversation.admin.replied`.
    pub topic: Option<String>,
    /// `id` (`notif_<uuid>`); null for `ping`.
    pub id: Option<String>,
    /// `app_id`: the workspace the notification comes from.
    pub app_id: Option<String>,
    /// `created_at`, Unix seconds.
    pub created_at: Option<i64>,
    /// `first_sent_at`, Unix seconds.
    pub first_sent_at: Option<i64>,
    /// `delivery_attempts`.
    pub delivery_attempts: Option<i64>,
    /// `data.item.type`.
    pub item_type: Option<String>,
    /// `data.item.id` (a string or a number in the wild; kept as text).
    pub item_id: Option<String>,
}

impl Notification {
    /// Read the notification fields from a raw body. `None` when the body is not a JSON
    /// object with `"type":"notification_event"` or a `topic`.
    pub fn parse(body: &[u8]) -> Option<Notification> {
        let f = scan::fields(body)?;
        let is_event = f.kind.as_ref().is_some_and(|k| k.is("notification_event"));
        if !is_event && !f.has_topic {
            return None;
        }
        let (item_type, item_id) = f.item.map_or((None, None), |i| (i.kind, i.id));
        Some(Notification {
            topic: f.topic.and_then(scan::Scalar::text),
            id: f.id.and_then(scan::Scalar::text),
            app_id: f.app_id.and_then(scan::Scalar::text),
            created_at: f.created_at.as_ref().and_then(scan::Scalar::int),
            first_sent_at: f.first_sent_at.as_ref().and_then(scan::Scalar::int),
            delivery_attempts: f.delivery_attempts.as_ref().and_then(scan::Scalar::int),
            item_type: item_type.and_then(scan::Scalar::text),
            item_id: item_id.and_then(scan::Scalar::text),
        })
    }

    /// Whether this is Intercom's `ping` (sent on set-up and by "Send a test request").
    pub fn is_ping(&self) -> bool {
        self.topic.as_deref() == Some("ping")
    }
}

/// The workspace an Intercom installation health check is for, if `body` is one: a JSON
/// object with a string `workspace_id` (INTERCOM.md §2), answered `{"state": "OK"}`, that
/// is no notification (which the stored fields alone cannot tell of `{"topic": null}`).
pub fn health_check_workspace(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct HealthCheck {
        workspace_id: String,
    }
    // A health check is a few bytes; a large body is something else.
    if body.len() > 4096 || !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    serde_json::from_slice::<HealthCheck>(body)
        .ok()
        .filter(|_| Notification::parse(body).is_none())
        .map(|c| c.workspace_id)
}

/// Who answered a ping, for [`ping_setup`]'s sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answerer {
    /// hookcli itself (acknowledge mode).
    Hookcli,
    /// The app behind `--passthrough`.
    App,
}

/// What an answered ping says about the endpoint's set-up, and whether that is all right.
/// Intercom may send a ping at any time and expects a 2xx within 5 s; a signature that does
/// not verify (or is missing) says the secret is not this app's client secret, or the ping
/// did not come from Intercom. `status` is `None` when the app never answered (a 502).
pub fn ping_setup(
    status: Option<u16>,
    latency: Duration,
    verdict: Verdict,
    by: Answerer,
) -> (bool, String) {
    let got = match (by, status) {
        (Answerer::Hookcli, Some(200..=299)) => "Intercom ping received".to_string(),
        (Answerer::Hookcli, Some(s)) => format!("Intercom ping answered {s}"),
        (Answerer::App, Some(s)) => format!("Intercom's ping got your app's {s}"),
        (Answerer::App, None) => "Intercom's ping got a 502 (your app did not answer)".into(),
        (Answerer::Hookcli, None) => "Intercom ping not answered".into(),
    };
    let not_yet = "so this endpoint is not set up correctly yet";
    if !matches!(status, Some(200..=299)) {
        return (false, format!("{got}: Intercom expects a 2xx, {not_yet}"));
    }
    if latency > RESPONSE_TIMEOUT {
        let secs = latency.as_secs_f64();
        return (
            false,
            format!("{got} after {secs:.1} s: Intercom waits 5 s, {not_yet}"),
        );
    }
    match verdict {
        Verdict::Valid => (true, format!("{got}: this endpoint is set up correctly, and its signature verifies with --secret.")),
        Verdict::Unchecked => (true, format!("{got}: this endpoint is set up correctly (pass --secret to check signatures too).")),
        Verdict::Invalid(Invalid::Repeated) => (false, format!("{got}, but with its X-Hub-Signature sent more than once: Intercom sends one, so something between Intercom and hookcli (a proxy or tunnel) added one, or this ping did not come from Intercom")),
        Verdict::Invalid(_) => (false, format!("{got}, but its signature does not verify with --secret: Intercom signs with this app's client secret (Developer Hub → your app → Basic information), so check the secret")),
        Verdict::Missing => (false, format!("{got}, but without an X-Hub-Signature: Intercom always signs a Developer Hub app's notifications (only subscriptions made with the old REST API could be unsigned), so this ping did not come from your app's webhooks")),
    }
}

/// A topic family, used to colour topics consistently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `conversation.*`, `conversation_part.*`.
    Conversation,
    /// `contact.*`, `user.*`, `visitor.*`, `granular.*`.
    Contact,
    /// `ticket.*`.
    Ticket,
    /// `company.*`.
    Company,
    /// `admin.*`.
    Admin,
    /// `article.*`, `content_*`.
    Content,
    /// `ping`.
    Ping,
    /// Everything else.
    Other,
}

/// The family a topic belongs to.
pub fn family(topic: &str) -> Family {
    let head = topic.split('.').next().unwrap_or("");
    match head {
        "conversation" | "conversation_part" => Family::Conversation,
        "contact" | "user" | "visitor" | "granular" => Family::Contact,
        "ticket" => Family::Ticket,
        "company" => Family::Company,
        "admin" => Family::Admin,
        "article" | "content_snippet" | "content_stat" | "content_import_source" => Family::Content,
        "ping" => Family::Ping,
        _ => Family::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_notification() {
        let body = br#"{"type":"notification_event","app_id":"i6wc9ipe","data":{"type":"notification_event_data","item":{"type":"conversation","id":"21322009097"}},"links":{},"id":"notif_44d1","topic":"conversation.admin.replied","delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1553291112,"created_at":1553291110,"self":null}"#;
        let n = Notification::parse(body).unwrap();
        assert_eq!(n.topic.as_deref(), Some("conversation.admin.replied"));
        assert_eq!(n.id.as_deref(), Some("notif_44d1"));
        assert_eq!(n.app_id.as_deref(), Some("i6wc9ipe"));
        assert_eq!(n.created_at, Some(1553291110));
        assert_eq!(n.first_sent_at, Some(1553291112));
        assert_eq!(n.delivery_attempts, Some(1));
        assert_eq!(n.item_type.as_deref(), Some("conversation"));
        assert_eq!(n.item_id.as_deref(), Some("21322009097"));
    }

    #[test]
    fn a_ping_sets_up_the_endpoint_only_with_a_timely_2xx_and_a_signature_that_verifies() {
        let fast = Duration::from_millis(3);
        let setup = |status, latency, verdict, by| ping_setup(status, latency, verdict, by);
        let (ok, says) = setup(Some(200), fast, Verdict::Valid, Answerer::Hookcli);
        assert!(
            ok && says.contains("set up correctly, and its signature verifies"),
            "{says}"
        );
        let (ok, says) = setup(Some(204), fast, Verdict::Unchecked, Answerer::App);
        assert!(ok, "{says}");
        assert_eq!(says, "Intercom's ping got your app's 204: this endpoint is set up correctly (pass --secret to check signatures too).");
        let bad = Verdict::Invalid(Invalid::Mismatch);
        for (status, latency, verdict, by, says) in [
            (
                Some(401),
                fast,
                Verdict::Valid,
                Answerer::Hookcli,
                "Intercom ping answered 401: Intercom expects a 2xx",
            ),
            (
                None,
                fast,
                Verdict::Valid,
                Answerer::App,
                "got a 502 (your app did not answer): Intercom expects a 2xx",
            ),
            (
                Some(200),
                Duration::from_millis(6_000),
                Verdict::Valid,
                Answerer::App,
                "got your app's 200 after 6.0 s: Intercom waits 5 s",
            ),
            (
                Some(200),
                fast,
                bad,
                Answerer::Hookcli,
                "received, but its signature does not verify with --secret",
            ),
            (
                Some(200),
                fast,
                Verdict::Missing,
                Answerer::Hookcli,
                "received, but without an X-Hub-Signature: Intercom always signs a Developer Hub app's notifications (only subscriptions made with the old REST API could be unsigned)",
            ),
            (
                Some(200),
                fast,
                Verdict::Invalid(Invalid::Repeated),
                Answerer::Hookcli,
                "received, but with its X-Hub-Signature sent more than once",
            ),
        ] {
            let (ok, got) = setup(status, latency, verdict, by);
            assert!(!ok && got.contains(says), "{got}");
        }
    }

    #[test]
    fn a_health_check_is_an_object_with_a_workspace_id() {
        assert_eq!(
            health_check_workspace(br#"{"workspace_id": "abc123def"}"#).as_deref(),
            Some("abc123def")
        );
        for other in [
            &br#"{"workspace_id": 1}"#[..],
            br#"{"app_id":"a"}"#,
            br#"{"topic":null,"workspace_id":"abc123def"}"#,
            br#"{"type":"notification_event","workspace_id":"abc123def"}"#,
            b"[]",
            b"workspace_id",
            b"",
        ] {
            assert_eq!(health_check_workspace(other), None);
        }
    }

    #[test]
    fn ping_has_a_null_id() {
        let body = br#"{"type":"notification_event","app_id":"a","data":{"type":"notification_event_data","item":{"type":"ping","message":"m"}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1,"created_at":1,"self":null}"#;
        let n = Notification::parse(body).unwrap();
        assert!(n.is_ping());
        assert_eq!(n.id, None);
        assert_eq!(n.item_id, None);
    }

    #[test]
    fn other_bodies_are_not_notifications() {
        assert_eq!(Notification::parse(b"not json"), None);
        assert_eq!(Notification::parse(b"[1,2]"), None);
        assert_eq!(Notification::parse(br#"{"workspace_id":"x"}"#), None);
        assert_eq!(Notification::parse(b""), None);
    }

    #[test]
    fn families() {
        assert_eq!(family("conversation.admin.replied"), Family::Conversation);
        assert_eq!(family("conversation_part.redacted"), Family::Conversation);
        assert_eq!(family("contact.user.created"), Family::Contact);
        assert_eq!(family("ticket.closed"), Family::Ticket);
        assert_eq!(family("ping"), Family::Ping);
        assert_eq!(family("job.completed"), Family::Other);
    }
}
