//! `hookcli show`: one capture in full, or its exact body bytes, headers, or JSON document.

use super::{stdout, Store};
use crate::cli::{Cli, ShowArgs};
use crate::error::Error;
use crate::formats::document;
use crate::intercom::outbound::Outbound;
use crate::intercom::signature::{Scheme, Verdict};
use crate::render::{body, escape, json::rfc3339, local_time, size, style::Style};
use crate::store::delivery::{self, Attempt};
use crate::store::model::bytes_json;
use crate::store::model::{Capture, Source};
use crate::store::query;
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &ShowArgs) -> Result<(), Error> {
    let store = Store::open(cli)?;
    let capture = if args.last {
        store.newest()?
    } else {
        let prefix = args.id.clone().unwrap_or_default();
        let id = store.resolve(&[prefix])?.remove(0);
        query::get(&store.conn, &id)
            .map_err(|e| store.err(e))?
            .ok_or(Error::UnknownId(id))?
    };
    let mut out = stdout();
    if args.raw {
        super::raw_to_terminal(&capture.request.body, "show --raw")?;
        out.write_all(&capture.request.body)?;
    } else if args.json {
        let mut doc = document::to_value(&capture);
        let attempts = delivery::attempts(&store.conn, capture.seq).map_err(|e| store.err(e))?;
        doc["attempts"] = attempts.iter().map(attempt_json).collect();
        // Why the state is what it is (when it was skipped, why it failed), as `show` says.
        let state = delivery::state(&store.conn, capture.seq).map_err(|e| store.err(e))?;
        doc["delivery_note"] = state.and_then(|(_, note)| note).into();
        let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::from)?;
        writeln!(out, "{}", escape::json(text))?;
    } else if args.headers {
        for line in header_lines(&capture) {
            writeln!(out, "{line}")?;
        }
    } else {
        // Only this view marks Intercom's addresses: a stale HOOKCLI_INTERCOM_IPS does not
        // stop --raw or --json.
        let (outbound, _) = Outbound::load(&args.intercom_ips.intercom_ips)?;
        let style = Style::new(crate::config::use_color(cli.color));
        out.write_all(full(&capture, style, &outbound).as_bytes())?;
        let attempts = delivery::attempts(&store.conn, capture.seq).map_err(|e| store.err(e))?;
        let state = delivery::state(&store.conn, capture.seq).map_err(|e| store.err(e))?;
        out.write_all(deliveries(state, &attempts, style).as_bytes())?;
    }
    Ok(out.flush()?)
}

fn header_lines(c: &Capture) -> Vec<String> {
    c.request
        .headers
        .iter()
        .map(|(n, v)| format!("{}: {}", escape::bytes(n), escape::bytes(v)))
        .collect()
}

/// How long before it arrived Intercom created the notification: a retry, or a subscription
/// Intercom throttled, arrives long after. `None` when `created` is no date.
fn since_created(created: i64, received_ms: i64) -> Option<String> {
    let lag_ms = received_ms.checked_sub(crate::intercom::notification_time_ms(created)?)?;
    // created_at has whole seconds: under one second apart is "as it was created".
    Some(match lag_ms {
        ..=-1000 => format!(
            "{} after it was received (the clocks disagree)",
            span(-lag_ms)
        ),
        -999..=999 => "received within a second".to_string(),
        _ => format!("received {} later", span(lag_ms)),
    })
}

/// A duration in the largest unit that keeps it readable: `4 s`, `12 min`, `3 h 5 min`, `9 days`.
fn span(ms: i64) -> String {
    let secs = ms / 1000;
    match secs {
        ..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=172_799 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days", secs / 86_400),
    }
}

fn full(c: &Capture, s: Style, outbound: &Outbound) -> String {
    let r = &c.request;
    let mut out = format!("{} {}", s.bold("capture"), s.id(&c.id));
    if r.source == Source::Import {
        out += &format!(" {}", s.dim("(imported)"));
    }
    out += "\n";
    let field = |out: &mut String, name: &str, value: String| {
        *out += &format!("{}  {value}\n", s.dim(&format!("{name:<13}")));
    };
    field(
        &mut out,
        "received",
        format!(
            "{} ({})",
            local_time(r.received_at, "%Y-%m-%d %H:%M:%S%.3f %:z"),
            rfc3339(r.received_at)
        ),
    );
    let mut from = escape::line(&r.remote_addr).into_owned();
    if let Some(client) = &r.client_addr {
        from += &format!(", client {}", escape::line(client));
    }
    let ip = r.client_addr.as_deref().and_then(|a| a.parse().ok());
    let ip = ip.or_else(|| {
        r.remote_addr
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|a| a.ip())
    });
    if let Some(region) = ip.and_then(|ip| outbound.region(ip)) {
        from += &format!(
            " {}",
            s.good(&format!("(Intercom {region} outbound address)"))
        );
    }
    field(&mut out, "from", from);
    field(
        &mut out,
        "request",
        format!(
            "{} {}",
            s.bold(&escape::line(&r.method)),
            escape::line(&r.target)
        ),
    );
    // Health checks and uninstall are signed with X-Body-Signature; say which was checked.
    let which = match r.scheme() {
        Scheme::Body => " (X-Body-Signature, HMAC-SHA256)",
        Scheme::Hub => "",
    };
    let verdict = match r.verdict {
        Verdict::Valid => s.good(&format!("✓ valid{which}")).to_string(),
        Verdict::Invalid(why) => s
            .bad(&format!("✗ invalid{which}: {}", why.explain()))
            .to_string(),
        Verdict::Missing => s
            .bad("✗ missing: a secret was set but there was no X-Hub-Signature")
            .to_string(),
        Verdict::Unchecked => s
            .dim("– not checked (no secret was set when it arrived)")
            .to_string(),
    };
    field(&mut out, "signature", verdict);
    // As listen says it: an app comparing strings would refuse this request.
    if let Some(how) = r.signature_written_otherwise() {
        field(&mut out, "", s.warn(&format!("! {how}")).to_string());
    }
    if let Some(status) = c.answered {
        let text = match status {
            200..=299 => s.good(&status.to_string()).to_string(),
            401 => s
                .bad("401 (--reject-invalid: the signature was not valid)")
                .to_string(),
            _ => s.bad(&status.to_string()).to_string(),
        };
        field(&mut out, "answered", text);
    }
    if c.redelivery {
        field(
            &mut out,
            "redelivery",
            s.warn("yes: this notification id was captured before")
                .to_string(),
        );
    }
    if let Some(ws) = crate::intercom::health_check_workspace(&r.body) {
        let what = format!(
            "Intercom installation health check, workspace {}",
            escape::line(&ws)
        );
        field(&mut out, "intercom", s.bold(&what).to_string());
    }
    if let Some(n) = &r.notification {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map_or_else(|| "-".to_string(), |t| escape::line(t).into_owned())
        };
        // Unix seconds as sent: a sender's value need not be a plausible date, and is then
        // shown as it is, without a wrong one.
        let when = |t: Option<i64>| match t {
            None => "-".to_string(),
            Some(t) => match crate::intercom::notification_time_ms(t) {
                Some(ms) => format!("{t} ({})", local_time(ms, "%Y-%m-%d %H:%M:%S")),
                None => format!("{t} (not a date)"),
            },
        };
        if let Some(topic) = &n.topic {
            field(
                &mut out,
                "topic",
                s.topic(topic, &escape::line(topic)).to_string(),
            );
        }
        field(&mut out, "notification", text(&n.id));
        field(&mut out, "workspace", text(&n.app_id));
        field(
            &mut out,
            "item",
            format!("{} {}", text(&n.item_type), text(&n.item_id)),
        );
        let created = when(n.created_at);
        // An import's receive time is when it was imported: no delivery to measure.
        let lag = n.created_at.filter(|_| r.source != Source::Import);
        let created = match lag.and_then(|t| since_created(t, r.received_at)) {
            Some(lag) => format!("{created}, {lag}"),
            None => created,
        };
        field(&mut out, "created_at", created);
        field(&mut out, "first_sent_at", when(n.first_sent_at));
        field(
            &mut out,
            "attempts",
            // Intercom's count, not forwarding's attempts, which `show` lists further down.
            n.delivery_attempts.map_or("-".into(), |a| {
                format!(
                    "{a} (Intercom's delivery_attempts: its tries to deliver this notification)"
                )
            }),
        );
    }
    out += &format!("\n{}\n", s.bold("headers"));
    for line in header_lines(c) {
        out += &format!("  {line}\n");
    }
    let kind = body::Kind::of(&r.body);
    out += &format!(
        "\n{} {}\n",
        s.bold("body"),
        s.dim(&format!("({}, {})", size(r.body.len() as u64), kind.code()))
    );
    for line in body::lines(&r.body, s, None, usize::MAX).lines {
        out += &format!("  {line}\n");
    }
    out
}

fn attempt_json(a: &Attempt) -> serde_json::Value {
    serde_json::json!({
        "attempt": a.attempt,
        "kind": a.kind,
        "time": rfc3339(a.started_at),
        "target": a.target,
        "status": a.status,
        "latency_ms": a.latency_ms,
        "error_kind": a.error_kind,
        "error": a.error,
        "response_headers": a.response_headers.iter().map(|(n, v)| serde_json::json!([n, bytes_json(v)])).collect::<Vec<_>>(),
        "response_body": bytes_json(&a.response_body),
    })
}

/// The delivery state and its attempts (when forwarded), then the replays, each with the
/// app's answers.
fn deliveries(state: Option<(String, Option<String>)>, attempts: &[Attempt], s: Style) -> String {
    let (replays, forwarded): (Vec<&Attempt>, Vec<&Attempt>) =
        attempts.iter().partition(|a| a.kind == "replay");
    let mut out = String::new();
    if let Some((state, note)) = state {
        out += &format!("\n{} {}", s.bold("delivery"), state);
        if let Some(note) = note {
            out += &format!(" {}", s.dim(&format!("({})", escape::line(&note))));
        }
        out += "\n";
        out += &attempt_lines(&forwarded, s);
    }
    if !replays.is_empty() {
        out += &format!("\n{}\n", s.bold("replays"));
        out += &attempt_lines(&replays, s);
    }
    out
}

/// One line per attempt, then the app's response headers and the start of its body.
fn attempt_lines(attempts: &[&Attempt], s: Style) -> String {
    let mut out = String::new();
    for a in attempts {
        let answer = match (a.status, &a.error) {
            (Some(status), _) => format!("{status}"),
            (None, Some(e)) => escape::line(e).into_owned(),
            (None, None) => "-".into(),
        };
        out += &format!(
            "  #{} {} {} {} → {} {}\n",
            a.attempt,
            s.dim(&local_time(a.started_at, "%Y-%m-%d %H:%M:%S")),
            a.kind,
            escape::line(&a.target),
            answer,
            s.dim(&format!("{} ms", a.latency_ms))
        );
        for (name, value) in &a.response_headers {
            out += &format!("      {}: {}\n", escape::line(name), escape::bytes(value));
        }
        if !a.response_body.is_empty() {
            let preview = body::lines(&a.response_body, s, Some(body::WIDTH), 20);
            for line in &preview.lines {
                out += &format!("      {line}\n");
            }
            let kept = size(a.response_body.len() as u64);
            // The store keeps the first 64 KiB of an answer: one that size may have been cut.
            let whole = if a.response_body.len() >= crate::forward::MAX_KEPT_BODY {
                format!("the first {kept} of the answer are kept")
            } else {
                format!("{kept} in all")
            };
            if let Some(what) = preview.left_out() {
                let all = format!("… {what}; {whole} (show --json has them)");
                out += &format!("      {}\n", s.dim(&all));
            } else if a.response_body.len() >= crate::forward::MAX_KEPT_BODY {
                out += &format!("      {}\n", s.dim(&format!("… {whole}")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_how_long_after_its_creation_a_notification_arrived() {
        let at = |s: i64| s * 1000;
        assert_eq!(
            since_created(1_700_000_000, at(1_700_000_000) + 400).as_deref(),
            Some("received within a second")
        );
        assert_eq!(
            since_created(1_700_000_000, at(1_700_000_042)).as_deref(),
            Some("received 42 s later")
        );
        assert_eq!(
            since_created(1_700_000_000, at(1_700_000_000 + 47 * 60 + 5)).as_deref(),
            Some("received 47 min later")
        );
        assert_eq!(
            since_created(1_700_000_000, at(1_700_000_000 + 2 * 3600 + 5 * 60)).as_deref(),
            Some("received 2 h 5 min later")
        );
        assert_eq!(
            since_created(1_700_000_000, at(1_700_000_000 + 9 * 86_400)).as_deref(),
            Some("received 9 days later")
        );
        assert_eq!(
            since_created(1_700_000_300, at(1_700_000_000)).as_deref(),
            Some("5 min after it was received (the clocks disagree)")
        );
        // A value that is no date says nothing, and does not overflow.
        assert_eq!(since_created(i64::MAX, at(1_700_000_000)), None);
        assert_eq!(since_created(i64::MIN / 1000, i64::MAX), None);
    }
}
