//! JSON Lines records, the machine contract of `--json` (documented in docs/json.md and
//! checked against docs/schema/listen.schema.json). Fields are only ever added.

use super::{body::Kind, Event};
use crate::intercom::signature::Verdict;
use crate::store::model::{bytes_json, Capture};
use serde_json::{json, Value};

/// A record as one line of `--json` output, safe for a terminal (see [`super::escape::json`]).
pub fn line(record: &Value) -> String {
    super::escape::json(record.to_string())
}

/// RFC 3339 local time with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false))
        .unwrap_or_default()
}

/// The `capture` record fields shared by every command that prints captures.
pub fn capture(c: &Capture) -> serde_json::Map<String, Value> {
    capture_of_kind(c, Kind::of(&c.request.body))
}

/// [`capture`] when the body's kind is already known.
fn capture_of_kind(c: &Capture, kind: Kind) -> serde_json::Map<String, Value> {
    let r = &c.request;
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(n, v)| json!([String::from_utf8_lossy(n), bytes_json(v)]))
        .collect();
    let intercom = r.notification.as_ref().map(|n| {
        json!({
            "topic": n.topic,
            "notification_id": n.id,
            "app_id": n.app_id,
            "created_at": n.created_at,
            "first_sent_at": n.first_sent_at,
            "delivery_attempts": n.delivery_attempts,
            "item_type": n.item_type,
            "item_id": n.item_id,
            "ping": n.is_ping(),
        })
    });
    let value = json!({
        "type": "capture",
        "id": c.id,
        "time": rfc3339(r.received_at),
        "received_at_ms": r.received_at,
        "source": r.source.code(),
        "method": r.method,
        "target": r.target,
        "remote_addr": r.remote_addr,
        "client_addr": r.client_addr,
        "headers": headers,
        "body": bytes_json(&r.body),
        "body_size": r.body.len(),
        "body_kind": kind.code(),
        "signature": {
            "verdict": r.verdict.code(),
            // Which header was checked: health checks and uninstall carry X-Body-Signature.
            "header": matches!(r.verdict, Verdict::Valid | Verdict::Invalid(_))
                .then(|| r.scheme().name()),
            "reason": r.verdict.reason().map(|w| w.code()),
            // For a valid one, how it differs from the way Intercom writes it, if it does.
            "detail": r.verdict.reason().map(|w| w.explain().to_string()).or_else(|| r.signature_written_otherwise()),
        },
        "intercom": intercom,
        "redelivery": c.redelivery,
        "delivery": c.delivery,
        "status": c.answered,
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal"),
    }
}

/// A `validation` or `page` record.
fn visit(kind: &str, method: &str, v: &super::Visit) -> Value {
    json!({
        "type": kind,
        "time": rfc3339(v.at),
        "method": method,
        "target": v.target,
        "remote_addr": v.remote_addr,
        "client_addr": v.client_addr,
        "intercom_region": v.intercom_region,
        "status": 200,
    })
}

/// The record for one event.
pub fn record(event: &Event) -> Value {
    match event {
        Event::Listening(l) => json!({
            "type": "listening",
            "url": l.url,
            "host": l.host,
            "port": l.port,
            "path": l.path,
            "store": l.store,
            "signature_check": l.signature_check,
            "reject_invalid": l.reject_invalid,
            "max_body": l.max_body,
            "forward_to": l.forward,
            "passthrough": l.passthrough,
            "intercom_ips": l.intercom_ips.iter().map(|f| json!({
                "path": f.path,
                "date": f.date,
                "ranges": f.ranges,
            })).collect::<Vec<_>>(),
            "version": env!("CARGO_PKG_VERSION"),
        }),
        Event::Validation(v) => visit("validation", "HEAD", v),
        Event::Page(v) => visit("page", "GET", v),
        Event::Capture(c) => {
            let mut map = capture_of_kind(&c.capture, c.body_kind);
            map.insert("intercom_region".into(), json!(c.intercom_region));
            Value::Object(map)
        }
        Event::Refused(r) | Event::StoreFailed(r) => json!({
            "type": if matches!(event, Event::Refused(_)) { "refused" } else { "store_error" },
            "time": rfc3339(r.at),
            "method": r.method,
            "target": r.target,
            "remote_addr": r.remote_addr,
            "status": r.status,
            "reason": r.reason,
        }),
        Event::Delivery(d) => json!({
            "type": "delivery",
            "capture_id": d.capture_id,
            "kind": d.kind,
            "attempt": d.attempt,
            "max_attempts": d.max_attempts,
            "target": d.target,
            "outcome": d.outcome,
            "status": d.status,
            "latency_ms": d.latency_ms,
            "error_kind": d.error_kind,
            "error": d.error,
            "next_attempt_at": d.next_attempt_at.map(rfc3339),
            "note": d.note,
            "response_preview": bytes_json(&d.response_preview),
            "hints": d.hints,
        }),
        Event::Notice(text) => json!({"type": "notice", "message": text}),
        Event::Summary(s) => json!({
            "type": "summary",
            "received": s.received,
            "stored": s.stored,
            "invalid_signatures": s.invalid_signatures,
            "refused": s.refused,
            "store_errors": s.store_errors,
            "validations": s.validations,
            "pages": s.pages,
        }),
    }
}
