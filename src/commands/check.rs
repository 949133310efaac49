//! `hookcli check URL`: validate an endpoint the way Intercom does before you paste it into
//! Developer Hub: HTTPS, a HEAD that answers 2xx without redirecting, then a signed `ping`
//! POST answered 2xx within 5 s (and ideally within 500 ms, Intercom's priority threshold).

use super::stdout;
use crate::cli::{CheckArgs, Cli};
use crate::config;
use crate::error::Error;
use crate::forward;
use crate::intercom::{fabricate, signature, topics};
use crate::render::{escape, style::Style};
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

/// Intercom's response deadline.
const DEADLINE: Duration = Duration::from_secs(5);
/// Intercom prioritises endpoints that answer within this.
const PRIORITY: Duration = Duration::from_millis(500);

/// The outcome of one step.
struct Step {
    name: &'static str,
    ok: bool,
    status: Option<u16>,
    latency: Option<Duration>,
    detail: String,
}

pub(super) fn run(cli: &Cli, args: &CheckArgs) -> Result<(), Error> {
    let secret = config::secret(&args.secret)?;
    // The URL's password goes in the requests only, never in what is shown.
    let shown = forward::redact(&args.url);
    let url = reqwest::Url::parse(&args.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Error::Failed(format!("'{shown}' is not an http(s) URL")))?;
    let mut steps = Vec::new();
    steps.push(match url.scheme() {
        "https" => Step { name: "https", ok: true, status: None, latency: None, detail: "uses HTTPS, as Intercom requires".into() },
        _ if args.allow_http => Step {
            name: "https",
            ok: true,
            status: None,
            latency: None,
            detail: "http:// accepted because of --allow-http; Intercom itself needs the HTTPS URL of a tunnel in front of it".into(),
        },
        _ => Step {
            name: "https",
            ok: false,
            status: None,
            latency: None,
            detail: "Intercom only accepts https:// endpoints: expose this one with a tunnel (ngrok http PORT, cloudflared tunnel --url ...) and check that URL, or pass --allow-http to test the app locally".into(),
        },
    });
    // Intercom verifies the certificate against the public roots; with --insecure hookcli
    // does not, so the checks below say nothing about it and the endpoint cannot pass.
    if url.scheme() == "https" && args.insecure {
        steps.push(Step {
            name: "cert",
            ok: false,
            status: None,
            latency: None,
            detail: "not verified: --insecure accepts any certificate, but Intercom only trusts publicly trusted ones; check the public https:// URL (a tunnel's, say) without --insecure".into(),
        });
    }
    // Forwarding's client: no redirects followed (Intercom's docs do not say it follows any).
    let client = forward::client(forward::ClientOptions {
        timeout: Some(DEADLINE),
        insecure: args.insecure,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    steps.push(runtime.block_on(head(&client, url.as_str())));
    steps.push(runtime.block_on(ping(&client, url.as_str(), secret.as_ref())));
    let accepted = steps.iter().all(|s| s.ok);
    let only_unverified = steps.iter().all(|s| s.ok || s.name == "cert");
    let mut out = stdout();
    let s = Style::new(!args.json && config::use_color(cli.color));
    for step in &steps {
        if args.json {
            let record = json!({
                "type": "check_step",
                "step": step.name,
                "ok": step.ok,
                "status": step.status,
                "latency_ms": step.latency.map(|l| l.as_millis() as u64),
                // Only an answer can be timely; a step that got none has no verdict.
                "within_priority_threshold": step.latency.filter(|_| step.status.is_some()).map(|l| l <= PRIORITY),
                "detail": step.detail,
            });
            writeln!(out, "{}", crate::render::json::line(&record))?;
        } else {
            let mark = if step.ok { s.good("✓") } else { s.bad("✗") };
            let timing = step
                .latency
                .map(|l| format!(" ({} ms)", l.as_millis()))
                .unwrap_or_default();
            writeln!(
                out,
                "{mark} {:<6} {}{}",
                step.name,
                escape::line(&step.detail),
                s.dim(&timing)
            )?;
        }
    }
    if args.json {
        writeln!(
            out,
            "{}",
            crate::render::json::line(
                &json!({"type": "check", "url": shown, "accepted": accepted})
            )
        )?;
    } else if accepted && url.scheme() == "http" {
        writeln!(out, "{}", s.good("This endpoint passes Intercom's checks but HTTPS, which --allow-http skipped: give Intercom the https:// URL of a tunnel in front of it."))?;
    } else if accepted {
        writeln!(out, "{}", s.good("Intercom would accept this endpoint."))?;
    } else if only_unverified {
        writeln!(
            out,
            "{}",
            s.bad("Intercom would not accept this endpoint as checked: the other steps pass, but its certificate was not verified (--insecure), and Intercom needs a publicly trusted one.")
        )?;
    } else {
        writeln!(
            out,
            "{}",
            s.bad("This endpoint is not ready for Intercom yet: fix the steps marked ✗.")
        )?;
    }
    out.flush()?;
    if accepted {
        Ok(())
    } else if only_unverified {
        Err(Error::Failed(format!(
            "{} was checked with --insecure, so its certificate was not verified: Intercom needs a publicly trusted certificate",
            escape::line(&shown)
        )))
    } else {
        Err(Error::Failed(format!(
            "{} does not pass Intercom's checks",
            escape::line(&shown)
        )))
    }
}

fn timing_note(latency: Duration) -> String {
    if latency <= PRIORITY {
        "within 500 ms, so Intercom gives it priority".into()
    } else {
        format!("{} ms is over 500 ms: Intercom deprioritises slow endpoints; answer first and work afterwards", latency.as_millis())
    }
}

async fn head(client: &reqwest::Client, url: &str) -> Step {
    let start = Instant::now();
    let result = client.head(url).send().await;
    let latency = start.elapsed();
    let step = |ok, status, detail| Step {
        name: "HEAD",
        ok,
        status,
        latency: Some(latency),
        detail,
    };
    match result {
        Err(e) => step(false, None, unreachable(e, url)),
        Ok(resp) => {
            let status = resp.status();
            let code = Some(status.as_u16());
            if status.is_success() {
                // Intercom's 500 ms priority rule is about answers to notifications: the ping.
                step(true, code, format!("answered {status}"))
            } else if status.is_redirection() {
                let to = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("elsewhere")
                    .to_string();
                step(false, code, format!("answered {status}, a redirect to {to}: Intercom's docs do not say it follows redirects, so use the final URL"))
            } else if matches!(status.as_u16(), 404 | 405) {
                step(false, code, format!("answered {status}: Intercom validates the URL with a HEAD request, so route HEAD to this endpoint and answer 200 (many frameworks only route POST)"))
            } else {
                step(false, code, format!("answered {status}: HEAD must answer 2xx, and without checking a signature (Intercom's docs do not say HEAD carries one)"))
            }
        }
    }
}

async fn ping(client: &reqwest::Client, url: &str, secret: Option<&config::Secret>) -> Step {
    let topic = topics::find("ping").expect("ping is in the topic catalog");
    let body = fabricate::notification(
        topic,
        &fabricate::Options::new(chrono::Utc::now().timestamp()),
    );
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("user-agent", "intercom-parrot-service-client/1.0");
    if let Some(secret) = secret {
        request = request.header(
            signature::HEADER,
            signature::sign(secret.expose(), body.as_bytes()),
        );
    }
    let start = Instant::now();
    let result = request.body(body).send().await;
    let latency = start.elapsed();
    let step = |ok, status, detail| Step {
        name: "ping",
        ok,
        status,
        latency: Some(latency),
        detail,
    };
    let (what, hint) = match secret {
        Some(_) => ("signed ping", ""),
        None => ("unsigned ping", " (pass --secret to sign it like Intercom)"),
    };
    match result {
        Err(e) if e.is_timeout() => step(false, None, "no answer within 5 s: Intercom would count it as failed and retry; answer 200 at once and do slow work afterwards".into()),
        Err(e) => step(false, None, unreachable(e, url)),
        Ok(mut resp) => {
            let status = resp.status();
            let code = Some(status.as_u16());
            // Its first bytes are enough to quote, kept exact: bytes that are not UTF-8 as \xNN.
            let mut start = Vec::new();
            while start.len() < 1024 {
                match resp.chunk().await {
                    Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            // Its closing line break would show as `\n` in the sentence.
            let preview: String = crate::render::escape::invalid_as_hex(start.trim_ascii_end())
                .chars()
                .take(200)
                .collect();
            if status.is_success() {
                step(true, code, format!("{what} answered {status}{hint}, {}", timing_note(latency)))
            } else if status.is_redirection() {
                step(false, code, format!("the ping got {status}: Intercom's docs do not say it follows redirects, so use the final URL"))
            } else if matches!(status.as_u16(), 401 | 403) && secret.is_some() {
                step(false, code, format!("the ping got {status}: your app refused a ping signed with --secret: make sure --secret is the client secret your app uses, and that the app verifies the raw body bytes with it (not the access token), HMAC-SHA1, header X-Hub-Signature: sha1=<hex>. It said: {preview}"))
            } else if let Some(rule) = crate::intercom::subscription_rule(status.as_u16()) {
                step(false, code, format!("the {what} got {status}: {rule}; answer ping with a 2xx. It said: {preview}"))
            } else {
                step(false, code, format!("the {what} got {status}{hint}: Intercom needs a 2xx for ping at any time (its id is null and it has no data to process). It said: {preview}"))
            }
        }
    }
}

/// Why a request got no answer: Intercom's 5 s limit, or the words forwarding uses (a
/// refused connection, a server that does not speak TLS, ...).
fn unreachable(e: reqwest::Error, url: &str) -> String {
    if e.is_timeout() {
        "no answer within 5 s".into()
    } else {
        forward::describe(e, url, "5 s").1
    }
}
