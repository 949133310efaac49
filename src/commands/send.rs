//! `hookcli send TOPIC`: fabricate realistic Intercom notifications offline and send or print
//! them, with Intercom's documented headers and a real signature.

use super::stdout;
use crate::cli::{Cli, SendArgs};
use crate::config;
use crate::error::Error;
use crate::formats::document;
use crate::intercom::{fabricate, signature, topics, Notification};
use crate::render::{escape, style::Style};
use crate::store::model::{Capture, NewCapture, Source};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Intercom's documented request headers (INTERCOM.md §1).
const HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/json"),
    ("accept", "application/json"),
    ("user-agent", "intercom-parrot-service-client/1.0"),
];

pub(super) fn run(cli: &Cli, args: &SendArgs) -> Result<(), Error> {
    // Usage first, before any file is read: a mistyped topic, then nothing to do.
    let topic = args.topic.as_deref().map(known_topic);
    if args.to.is_none() && !args.print {
        super::usage_error(
            "send",
            "nothing to do with it: pass --to URL to send it, or --print to see it",
        );
    }
    let secret = config::secret(&args.secret)?;
    if secret.is_none() && args.to.is_some() {
        // Intercom always signs a Developer Hub app's notifications; an unsigned one is not
        // what the app will get.
        eprintln_lossy!("hookcli: warning: no --secret, --secret-file or HOOKCLI_SECRET, so these are sent without X-Hub-Signature, which an app that verifies signatures refuses");
    }
    let own_body = match &args.file {
        Some(path) => Some(super::read_input(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    // As for replay, 0 waits for ever (for an app stopped at a breakpoint).
    let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
    let limit = format!("{} s (--timeout)", args.timeout);
    let client = args.to.as_ref().map(|_| {
        crate::forward::client(crate::forward::ClientOptions {
            timeout,
            insecure: args.insecure,
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let style = Style::new(config::use_color(cli.color));
    let mut out = stdout();
    let terminal = std::io::stdout().is_terminal();
    let (mut ok, mut failed) = (0u64, 0u64);
    let start = Instant::now();
    for n in 0..args.count {
        if let Some(rate) = args.rate {
            let due = start + Duration::from_secs_f64(n as f64 / rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let mut body = match (&own_body, topic) {
            (Some(bytes), _) => bytes.clone(),
            (None, Some(topic)) => {
                let mut opts = fabricate::Options::new(chrono::Utc::now().timestamp());
                opts.attempt = args.attempt;
                if let Some(app) = &args.app_id {
                    opts.app_id = app.clone();
                }
                fabricate::notification(topic, &opts).into_bytes()
            }
            (None, None) => unreachable!("clap requires a topic or --file"),
        };
        if !args.sets.is_empty() {
            let text = String::from_utf8(body)
                .map_err(|_| Error::Failed("--set needs a JSON body".into()))?;
            body = crate::formats::splice::set_all(&text, &args.sets)
                .map_err(Error::Failed)?
                .into_bytes();
        }
        let mut headers: Vec<(Vec<u8>, Vec<u8>)> = HEADERS
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        if let Some(secret) = &secret {
            headers.push((
                b"x-hub-signature".to_vec(),
                signature::sign(secret.expose(), &body).into_bytes(),
            ));
        }
        let received_at = chrono::Utc::now().timestamp_millis();
        let capture = Capture {
            seq: 0,
            // A real capture id, so the printed document imports under it.
            id: crate::store::model::new_id(received_at),
            redelivery: false,
            delivery: None,
            answered: None,
            request: NewCapture {
                received_at,
                source: Source::Import,
                remote_addr: "hookcli send".into(),
                client_addr: None,
                method: "POST".into(),
                target: "/".into(),
                headers,
                notification: Notification::parse(&body),
                body: body.into(),
                verdict: signature::Verdict::Unchecked,
            },
        };
        if args.print {
            if args.json {
                writeln!(
                    out,
                    "{}",
                    crate::render::json::line(&document::to_value(&capture))
                )?;
            } else {
                // Only the body's bytes, so `send --print > body.json` verifies against the
                // signature sent; a newline ends it on a terminal and separates several.
                if n > 0 && !terminal {
                    writeln!(out)?;
                }
                // A body from --file or --set may hold what a terminal acts on.
                super::raw_to_terminal(&capture.request.body, "send --print")?;
                out.write_all(&capture.request.body)?;
                if terminal {
                    writeln!(out)?;
                }
            }
        }
        if let (Some(to), Some(client)) = (&args.to, &client) {
            let answer = runtime.block_on(send_one(client, &capture, to, &limit));
            let good = answer.status.is_some_and(|s| (200..300).contains(&s));
            if good {
                ok += 1
            } else {
                failed += 1
            }
            // With --print --json, stdout holds the documents; the results are lines to read.
            if args.json && !args.print {
                writeln!(
                    out,
                    "{}",
                    crate::render::json::line(&record(&capture, &answer, good))
                )?;
                out.flush()?;
                continue;
            }
            let shown = match answer.status {
                Some(status) if good => style
                    .good(&format!("→ {status} {}", answer.reason))
                    .to_string(),
                Some(status) => style
                    .bad(&format!("→ {status} {}", answer.reason))
                    .to_string(),
                None => style
                    .bad(&format!(
                        "✗ {}",
                        answer.error.as_deref().unwrap_or("failed")
                    ))
                    .to_string(),
            };
            let topic_name = capture.request.topic().unwrap_or("(own body)").to_string();
            let mut lines = vec![format!(
                "{} {} {shown} {}",
                escape::line(&topic_name),
                escape::line(&answer.target),
                style.dim(&format!("{} ms", answer.latency.as_millis()))
            )];
            // What the app said comes under its status line, on the same stream, then the
            // hints, as forwarding and replay show them.
            if !good && !answer.body.is_empty() {
                lines.extend(
                    crate::render::answer_lines(&answer.body)
                        .iter()
                        .map(|l| format!("    │ {l}")),
                );
            }
            for hint in answer.hints() {
                lines.push(format!("    hint: {}", escape::line(&hint)));
            }
            for line in lines {
                if args.print {
                    eprintln_lossy!("{line}");
                } else {
                    writeln!(out, "{line}")?;
                }
            }
        }
        out.flush()?;
    }
    if args.json && !args.print {
        let summary = serde_json::json!({"type": "send_summary", "sent": args.count, "ok": ok, "failed": failed});
        writeln!(out, "{}", crate::render::json::line(&summary))?;
    } else if args.count > 1 && args.to.is_some() {
        writeln!(
            out,
            "sent {}: {ok} answered 2xx, {failed} failed",
            args.count
        )?;
    }
    out.flush()?;
    if failed > 0 {
        return Err(Error::Failed(format!(
            "{failed} of {} sends did not get a 2xx",
            args.count
        )));
    }
    Ok(())
}

/// The `send` record of one send (`send --to URL --json`).
fn record(c: &Capture, a: &crate::forward::Answer, good: bool) -> serde_json::Value {
    let n = c.request.notification.as_ref();
    let mut record = serde_json::json!({
        "type": "send",
        "id": c.id,
        "topic": c.request.topic(),
        "notification_id": n.and_then(|n| n.id.as_deref()),
    });
    if let Some(fields) = record.as_object_mut() {
        fields.extend(a.record(good, None));
    }
    record
}

/// The catalog's topic of this name; any other name is a usage error that suggests the
/// nearest names, or else some of the same family.
fn known_topic(name: &str) -> &'static topics::Topic {
    topics::find(name).unwrap_or_else(|| {
        let mut near = topics::nearest(name);
        if near.is_empty() {
            near = topics::TOPICS
                .iter()
                .filter(|t| t.name.split('.').next() == name.split('.').next())
                .map(|t| t.name)
                .take(6)
                .collect();
        }
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", near.join(", "))
        };
        super::usage_error(
            "send",
            &format!("unknown topic '{name}'{hint}; `hookcli topics` lists them all"),
        )
    })
}

/// POST exactly these headers and bytes (no X-Forwarded-*: this is the sender, not a proxy).
async fn send_one(
    client: &reqwest::Client,
    c: &Capture,
    to: &str,
    limit: &str,
) -> crate::forward::Answer {
    let started_at = chrono::Utc::now().timestamp_millis();
    let start = Instant::now();
    let mut request = client.post(to).body(c.request.body.clone());
    for (n, v) in &c.request.headers {
        request = request.header(n.as_slice(), v.as_slice());
    }
    crate::forward::answer_of(
        request.send().await,
        to,
        started_at,
        start,
        crate::forward::MAX_KEPT_BODY,
        limit,
    )
    .await
}
