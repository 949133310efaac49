//! The one-line view of a stored capture, as `list` prints it.

use super::{escape, local_time, size, style, style::Style};
use crate::store::model::Capture;

/// `id  time  METHOD target  topic  notification-id  verdict  size`, escaped and aligned;
/// `id` is the prefix of the capture's id to show, `body_size` its body's size in bytes.
/// `created` shows the notification's `created_at` as its time (when it has one) instead of
/// when it was received.
pub fn row(c: &Capture, id: &str, body_size: u64, created: bool, s: Style) -> String {
    let r = &c.request;
    let n = r.notification.as_ref();
    let at = if created {
        c.created_or_received_ms()
    } else {
        r.received_at
    };
    let topic = n.and_then(|n| n.topic.as_deref());
    // Wide enough for every documented topic (conversation.admin.replied.translated).
    // As listen and show call it (the body is there for that: see query::select_sizes).
    let health_check = crate::intercom::health_check_workspace(&r.body).is_some();
    let other = if health_check { "(health check)" } else { "-" };
    let topic_cell = escape::cell(topic.unwrap_or(other), 37);
    let topic_cell = match topic {
        Some(t) => s.topic(t, &topic_cell).to_string(),
        None => s.dim(&topic_cell).to_string(),
    };
    let request = escape::cell(&format!("{} {}", r.method, r.target), 20);
    let notif = escape::cell(n.and_then(|n| n.id.as_deref()).unwrap_or("-"), 42);
    // Padded outside the colour codes, so every row's size column lines up.
    let verdict_pad = " ".repeat(10 - style::verdict_label(r.verdict).chars().count());
    let mut line = format!(
        "{}  {}  {request}  {}  {notif}  {}{verdict_pad}  {:>9}",
        s.id(id),
        s.dim(&local_time(at, "%Y-%m-%d %H:%M:%S")),
        topic_cell,
        s.verdict(r.verdict),
        s.dim(&size(body_size)),
    );
    if let Some(state) = c.delivery.as_deref() {
        let cell = format!("→ {state}");
        line += &format!(
            "  {}",
            match state {
                "delivered" => s.good(&cell),
                "failed" => s.bad(&cell),
                "pending" => s.warn(&cell),
                _ => s.dim(&cell),
            }
        );
    }
    if let Some(status) = c.answered.filter(|s| !(200..300).contains(s)) {
        line += &format!("  {}", s.bad(&format!("answered {status}")));
    }
    if c.redelivery {
        line += &format!("  {}", s.warn("redelivery"));
    }
    if r.source == crate::store::model::Source::Import {
        line += &format!("  {}", s.dim("imported"));
    }
    line
}
