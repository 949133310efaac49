//! `listen --forward-to`: a real test app over loopback receives what hookcli forwards.

use crate::common::app::{free_port, Answer, App};
use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = "client-secret";
const WAIT: Duration = Duration::from_secs(15);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/intercom/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// `listen --json` forwarding to an app that is not up yet (its port is free), retrying
/// only after a minute: returns the store, the app's port and URL, and the listener.
fn listen_with_the_app_down(home: &std::path::Path) -> (std::path::PathBuf, u16, String, Listener) {
    let store = home.join("store");
    let port = free_port();
    let target = format!("http://127.0.0.1:{port}/");
    let args = [
        "--json",
        "--forward-to",
        &target,
        "--retry-base-ms",
        "60000",
    ];
    let first = listen_at(&store, home, &args, &[]);
    (store, port, target, first)
}

/// `listen --json --forward-to TO` followed by `more`.
fn listen_forwarding(to: &str, more: &[&str]) -> Listener {
    let mut args = vec!["--json", "--forward-to", to];
    args.extend_from_slice(more);
    listen(&args)
}

/// The id of the first capture a `listen --json` printed.
fn first_capture_id(l: &Listener) -> String {
    let capture = l.wait_line(|s| s.contains(r#""type":"capture""#));
    serde_json::from_str::<Value>(&capture).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn list_ids(store: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list", "--json", "--all"];
    all.extend_from_slice(args);
    let out = run(store, &all);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn delivery_record(l: &Listener, id: &str, outcome: &str) -> Value {
    let line = l.wait_line(|s| {
        s.contains("\"type\":\"delivery\"")
            && s.contains(&format!("\"capture_id\":\"{id}\""))
            && s.contains(&format!("\"outcome\":\"{outcome}\""))
    });
    serde_json::from_str(&line).unwrap()
}

#[test]
fn body_signature_and_headers_arrive_as_the_app_expects() {
    let app = App::start();
    let l = listen(&[
        "--json",
        "--secret",
        SECRET,
        "--forward-to",
        &app.url("/webhooks/intercom"),
    ]);
    let body = fixture("zulip/conversation_admin_replied.json");
    let sig = sign(SECRET, &body);
    let headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "intercom-parrot-service-client/1.0"),
        ("X-Hub-Signature", sig.as_str()),
        ("X-Repeat", "one"),
        ("X-Repeat", "two"),
        ("Keep-Alive", "timeout=5"),
        ("Upgrade", "h2c"),
        ("TE", "trailers"),
        ("Proxy-Authorization", "Basic abc"),
    ];
    let reply = l.post("/", &headers, &body);
    assert_eq!(reply.status, 200);
    let id = reply.id();
    let got = app.wait_for(1, WAIT).remove(0);
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/webhooks/intercom");
    assert_eq!(got.body, body, "byte-exact");
    // The app's own, independent check of the signature passes.
    assert_eq!(
        got.header("x-hub-signature").unwrap(),
        sign(SECRET, &got.body)
    );
    assert_eq!(got.header("host").unwrap(), app.addr);
    assert_eq!(got.header_all("x-repeat"), vec!["one", "two"]);
    assert_eq!(
        got.header("user-agent").unwrap(),
        "intercom-parrot-service-client/1.0"
    );
    for hop in [
        "keep-alive",
        "upgrade",
        "te",
        "proxy-authorization",
        "connection",
    ] {
        assert!(
            got.header(hop)
                .is_none_or(|v| !v.contains("timeout=5") && hop != "upgrade"),
            "{hop} was forwarded"
        );
    }
    assert!(
        got.header("upgrade").is_none()
            && got.header("keep-alive").is_none()
            && got.header("proxy-authorization").is_none()
    );
    assert_eq!(got.header("x-forwarded-for").unwrap(), "127.0.0.1");
    assert_eq!(got.header("x-forwarded-proto").unwrap(), "http");
    assert_eq!(got.header("x-forwarded-host").unwrap(), l.addr);
    assert_eq!(got.header("x-hookcli-capture-id").unwrap(), id);
    assert_eq!(got.header("x-hookcli-attempt").unwrap(), "1");
    let record = delivery_record(&l, &id, "delivered");
    assert_eq!(record["status"], 200);
    assert_eq!(list_ids(&l.store, &["--status", "delivered"]), vec![id]);
    let names: Vec<String> = got
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(
        pos("content-type") < pos("x-hub-signature") && pos("x-hub-signature") < pos("x-repeat"),
        "{names:?}"
    );
}

#[test]
fn headers_a_connection_header_names_are_dropped_both_ways() {
    let app = App::start();
    app.answer(|_, _| Answer {
        headers: vec![
            ("Connection".into(), "close, X-Secret".into()),
            ("X-Secret".into(), "for the next hop only".into()),
            ("Proxy-Thing".into(), "y".into()),
            ("X-App".into(), "yes".into()),
        ],
        ..Answer::status(200, "ok")
    });
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    let reply = l.post(
        "/",
        &[
            ("Connection", "keep-alive, X-Foo"),
            ("X-Foo", "for this hop only"),
            ("Proxy-Foo", "x"),
            ("X-Kept", "yes"),
        ],
        b"{}",
    );
    assert_eq!(reply.status, 200);
    let got = app.wait_for(1, WAIT).remove(0);
    assert_eq!(got.header("x-kept").as_deref(), Some("yes"));
    for name in ["x-foo", "proxy-foo"] {
        assert_eq!(got.header(name), None, "{name} reached the app");
    }
    let relayed = |name: &str| reply.headers.iter().any(|(n, _)| n == name);
    assert!(relayed("x-app"));
    for name in ["x-secret", "proxy-thing"] {
        assert!(
            !relayed(name),
            "{name} reached the sender: {:?}",
            reply.headers
        );
    }
    // The store still has every header the app sent.
    l.wait_line(|s| s.contains(r#""type":"delivery""#));
    let id = first_capture_id(&l);
    let shown = String::from_utf8(run(&l.store, &["show", &id, "--json"]).stdout).unwrap();
    assert!(shown.contains("for the next hop only"), "{shown}");
}

#[test]
fn repeated_x_forwarded_for_lines_are_joined_in_order() {
    let app = App::start();
    let l = listen_forwarding(&app.url("/"), &[]);
    l.post(
        "/",
        &[
            ("X-Forwarded-For", "1.1.1.1"),
            ("X-Forwarded-For", "2.2.2.2, 3.3.3.3"),
        ],
        b"{}",
    );
    let got = app.wait_for(1, WAIT).remove(0);
    assert_eq!(
        got.header_all("x-forwarded-for"),
        vec!["1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"]
    );
}

#[test]
fn path_after_the_prefix_and_the_query_are_joined_to_the_target() {
    let app = App::start();
    let l = listen(&[
        "--json",
        "--path",
        "/hooks",
        "--forward-to",
        &app.url("/wh"),
    ]);
    l.post("/hooks/intercom/eu?workspace=a86dr8yl&x=1", &[], b"{}");
    l.post("/hooks", &[], b"{}");
    l.post("/hooks/?x=1", &[], b"{}");
    let got = app.wait_for(3, WAIT);
    assert_eq!(got[0].target, "/wh/intercom/eu?workspace=a86dr8yl&x=1");
    assert_eq!(got[1].target, "/wh");
    // The slash after the prefix is the request's own, and the app may route on it.
    assert_eq!(got[2].target, "/wh/?x=1");
}

#[test]
fn a_request_path_never_leads_outside_the_routes_path() {
    let app = App::start();
    let l = listen(&[
        "--json",
        "--path",
        "/hooks",
        "--forward-to",
        &app.url("/wh/"),
        "--retry-base-ms",
        "20",
    ]);
    let escapes = [
        "/hooks/../admin",
        "/hooks/%2e%2e/admin",
        "/hooks/.%2e/admin",
        "/hooks/a/../../admin?x=1",
    ];
    let ids: Vec<String> = escapes.iter().map(|p| l.post(p, &[], b"{}").id()).collect();
    l.post("/hooks/a\\b", &[], b"{}");
    l.post("/hooks/a/../ok", &[], b"{}");
    let got = app.wait_for(2, WAIT);
    assert_eq!(got[0].target, "/wh/a%5Cb", "a backslash is not a slash");
    assert_eq!(got[1].target, "/wh/ok");
    for (id, path) in ids.iter().zip(escapes) {
        let record = delivery_record(&l, id, "failed");
        assert_eq!(record["error_kind"], "path", "{record}");
        let error = record["error"].as_str().unwrap();
        assert!(
            error.contains(&format!(
                "the request's path {}",
                path.split('?').next().unwrap()
            )) && error.contains("leads outside the route's path /wh/ (to /admin)"),
            "{error}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(app.received().len(), 2, "an escaping path reached the app");
    assert_eq!(list_ids(&l.store, &["--status", "failed"]).len(), 4);
    let doc: Value =
        serde_json::from_slice(&run(&l.store, &["show", &ids[0], "--json"]).stdout).unwrap();
    assert_eq!(
        doc["attempts"].as_array().unwrap().len(),
        1,
        "never retried"
    );
    // replay through the recorded routes refuses them the same way, and says why.
    let out = run(&l.store, &["replay", &ids[0], "--json"]);
    fails(
        &out,
        1,
        "1 could not be routed by the last listen --forward-to's routes",
    );
    let record: Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(record["outcome"], "not_sent", "{record}");
    assert_eq!(record["error_kind"], "path", "{record}");
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("leads outside the route's path /wh/"),
        "{record}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        app.received().len(),
        2,
        "a replay's escaping path reached the app"
    );
}

#[test]
fn a_slow_app_gets_everything_in_order_and_the_sender_never_waits() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(300),
        ..Answer::status(200, "ok")
    });
    let l = listen_forwarding(&app.url("/"), &[]);
    let start = Instant::now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = notification(
            "contact.user.created",
            Some(&format!("notif_{i}")),
            r#"{"type":"contact","id":"1"}"#,
        );
        let reply = l.post("/", &[], body.as_bytes());
        assert_eq!(reply.status, 200);
        ids.push(reply.id());
    }
    // Five acknowledgements long before five 300 ms deliveries could have happened.
    assert!(
        start.elapsed() < Duration::from_millis(1200),
        "sender waited for the app: {:?}",
        start.elapsed()
    );
    let got = app.wait_for(5, WAIT);
    let order: Vec<String> = got
        .iter()
        .map(|r| r.header("x-hookcli-capture-id").unwrap())
        .collect();
    assert_eq!(order, ids);
    assert_eq!(
        app.max_in_flight.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "ordered mode delivers one at a time"
    );
}

#[test]
fn app_down_then_up_gets_every_capture_in_order() {
    let port = free_port();
    let target = format!("http://127.0.0.1:{port}/hook");
    let l = listen_forwarding(&target, &["--retry-base-ms", "100", "--max-attempts", "30"]);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let reply = l.post("/", &[], format!("{{\"n\":{i}}}").as_bytes());
            assert_eq!(
                reply.status, 200,
                "the sender gets its 200 while the app is down"
            );
            reply.id()
        })
        .collect();
    let first = delivery_record(&l, &ids[0], "retrying");
    assert_eq!(first["error_kind"], "connect");
    assert!(first["error"].as_str().unwrap().contains(&format!(
        "connection refused: is your app running on 127.0.0.1:{port}?"
    )));
    std::thread::sleep(Duration::from_millis(500));
    let app = App::start_on(port);
    let got = app.wait_for(3, WAIT);
    let bodies: Vec<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, vec![&b"{\"n\":0}"[..], b"{\"n\":1}", b"{\"n\":2}"]);
    delivery_record(&l, &ids[2], "delivered");
    assert_eq!(list_ids(&l.store, &["--status", "delivered"]).len(), 3);
    let doc: Value =
        serde_json::from_slice(&run(&l.store, &["show", &ids[0], "--json"]).stdout).unwrap();
    let attempts = doc["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert_eq!(attempts.last().unwrap()["status"], 200);
    assert_eq!(attempts[0]["error_kind"], "connect");
}

#[test]
fn an_app_that_is_down_holds_back_only_the_captures_routed_to_it() {
    let down = format!("http://127.0.0.1:{}/a", free_port());
    let app = App::start();
    let l = listen(&[
        "--json",
        "--retry-base-ms",
        "2000",
        "--forward-to",
        &format!("conversation.*={down}"),
        "--forward-to",
        &format!("ticket.*={}", app.url("/t")),
        "--forward-to",
        &format!("contact.*={down}"),
    ]);
    let conv = l
        .post(
            "/",
            &[],
            notification("conversation.read", Some("c1"), "{}").as_bytes(),
        )
        .id();
    delivery_record(&l, &conv, "retrying");
    let tickets: Vec<String> = (0..3)
        .map(|i| {
            let body = notification("ticket.created", Some(&format!("t{i}")), "{}");
            l.post("/", &[], body.as_bytes()).id()
        })
        .collect();
    // Delivered in their own order while the conversation waits out its 2 s retry.
    let got = app.wait_for(3, Duration::from_millis(1500));
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.header("x-hookcli-capture-id").unwrap())
        .collect();
    assert_eq!(ids, tickets);
    // Routes to the same URL share one lane: the contact waits behind the conversation.
    let contact = l
        .post(
            "/",
            &[],
            notification("contact.user.created", Some("u1"), "{}").as_bytes(),
        )
        .id();
    std::thread::sleep(Duration::from_millis(300));
    let doc: Value =
        serde_json::from_slice(&run(&l.store, &["show", &contact, "--json"]).stdout).unwrap();
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 0, "{doc}");
    assert_eq!(doc["delivery"], "pending");
}

#[test]
fn errors_are_classified_by_what_happened_not_by_the_words_in_the_url() {
    // Nothing listens there; the path is full of words an error text might hold.
    let target = format!(
        "http://127.0.0.1:{}/hooks/tls-certificate/reset/closed/timeout",
        free_port()
    );
    let l = listen_forwarding(&target, &["--max-attempts", "1"]);
    let id = l.post("/", &[], b"{}").id();
    let record = delivery_record(&l, &id, "failed");
    assert_eq!(record["error_kind"], "connect", "{record}");
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .starts_with("connection refused: is your app running on 127.0.0.1:"),
        "{record}"
    );
}

#[test]
fn an_app_that_never_comes_up_leaves_the_capture_failed_in_the_store() {
    let port = free_port();
    let l = listen_forwarding(
        &format!("http://127.0.0.1:{port}/"),
        &["--retry-base-ms", "50", "--max-attempts", "3"],
    );
    let id = l.post("/", &[], b"{\"keep\":\"me\"}").id();
    let record = delivery_record(&l, &id, "failed");
    assert_eq!(record["attempt"], 3);
    assert!(record["note"]
        .as_str()
        .unwrap()
        .contains("gave up after 3 attempts"));
    assert_eq!(
        list_ids(&l.store, &["--status", "failed"]),
        vec![id.clone()]
    );
    assert_eq!(stored(&l.store, &id).unwrap().0, b"{\"keep\":\"me\"}");
    let shown = String::from_utf8_lossy(&run(&l.store, &["show", &id, "--color", "never"]).stdout)
        .to_string();
    assert!(
        shown.contains("delivery failed") && shown.contains("#3 "),
        "{shown}"
    );
}

#[test]
fn a_tunnels_forwarded_proto_and_host_reach_the_app_as_it_sent_them() {
    let app = App::start();
    let l = listen_forwarding(&app.url("/"), &[]);
    let headers = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "abc123.ngrok.app"),
    ];
    l.post("/", &headers, b"{}");
    let got = app.wait_for(1, WAIT).remove(0);
    assert_eq!(got.header_all("x-forwarded-proto"), ["https"]);
    assert_eq!(got.header_all("x-forwarded-host"), ["abc123.ngrok.app"]);
}

#[test]
fn app_verdicts_are_not_retried_and_their_answer_is_shown() {
    let app = App::start();
    // With a closing CRLF, as many frameworks send it: it ends the line, nothing more.
    app.answer(|_, _| Answer::status(422, "{\"error\":\"unknown topic\\u001b[2J\"}\r\n"));
    let l = listen(&[
        "--color",
        "never",
        "--forward-to",
        &app.url("/"),
        "--retry-base-ms",
        "50",
    ]);
    l.post("/", &[], b"{}");
    l.wait_line(|s| s.contains("→ 422") && s.contains("the app answered 422"));
    l.wait_line(|s| s.contains("│ {\"error\":\"unknown topic\\u001b[2J\"}"));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        app.received().len(),
        1,
        "a 4xx is the app's verdict, not retried"
    );
    let out = l.stdout();
    let quoted: Vec<_> = out.iter().filter(|s| s.contains('│')).collect();
    assert_eq!(quoted.len(), 1, "{out:#?}");
    assert!(quoted[0].ends_with("[2J\"}"), "{out:#?}");
}

#[test]
fn an_answer_that_is_not_http_is_said_in_plain_words_and_not_retried_as_a_5xx() {
    let app = App::start();
    app.answer(|_, i| match i {
        0 => Answer::status(999, "odd"),
        // A second, different Content-Length: hyper cannot tell where the answer ends.
        _ => Answer {
            headers: vec![("Content-Length".into(), "4".into())],
            ..Answer::status(200, "okk")
        },
    });
    let l = listen_forwarding(
        &app.url("/"),
        &["--retry-base-ms", "20", "--max-attempts", "2"],
    );
    let odd = l.post("/", &[], b"{\"n\":1}").id();
    let record = delivery_record(&l, &odd, "failed");
    assert_eq!(
        (record["status"].as_u64(), record["error_kind"].as_str()),
        (Some(999), Some("protocol"))
    );
    assert_eq!(
        record["error"],
        "the app answered status 999, which is not an HTTP status (100 to 599)"
    );
    assert_eq!(record["note"], "the app answered 999");
    let garbled = l.post("/", &[], b"{\"n\":2}").id();
    let record = delivery_record(&l, &garbled, "retrying");
    assert_eq!(record["error_kind"], "protocol");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("answered, but not in valid HTTP (") && !error.contains("SendRequest"),
        "{error}"
    );
    // Only the garbled answer, which is no answer at all, was tried again.
    delivery_record(&l, &garbled, "failed");
    assert_eq!(app.received().len(), 3);
    // Passthrough gives the sender a 502 that says so, not status 999 with no reason.
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    app.answer(|_, _| Answer::status(999, "odd"));
    let reply = l.post("/", &[], b"{}");
    assert_eq!(reply.status, 502);
    assert!(String::from_utf8_lossy(&reply.body).contains("which is not an HTTP status"));
}

#[test]
fn retryable_statuses_are_retried() {
    let app = App::start();
    app.answer(|_, i| match i {
        0 => Answer::status(503, "busy"),
        1 => Answer::status(429, "slow down"),
        2 => Answer::status(408, "timeout"),
        _ => Answer::status(204, ""),
    });
    let l = listen_forwarding(&app.url("/"), &["--retry-base-ms", "20"]);
    let id = l.post("/", &[], b"{}").id();
    let record = delivery_record(&l, &id, "delivered");
    assert_eq!(record["attempt"], 4);
    assert_eq!(app.received().len(), 4);
    let attempts: Vec<String> = app
        .received()
        .iter()
        .map(|r| r.header("x-hookcli-attempt").unwrap())
        .collect();
    assert_eq!(attempts, vec!["1", "2", "3", "4"]);
}

#[test]
fn each_attempt_keeps_the_apps_headers_and_first_64_kib_and_says_when_it_retries() {
    let app = App::start();
    let big = "x".repeat(100 * 1024);
    app.answer(move |_, i| match i {
        0 => Answer {
            headers: vec![("X-Request-Id".into(), "req-7".into())],
            ..Answer::status(500, &big)
        },
        _ => Answer::status(200, "ok"),
    });
    let l = listen(&[
        "--color",
        "never",
        "--forward-to",
        &app.url("/"),
        "--retry-base-ms",
        "300",
    ]);
    let id = l.post("/", &[], b"{}").id();
    // The failed attempt says which attempt comes next and when, and where the rest of
    // its long answer is.
    l.wait_line(|s| s.contains("→ 500") && s.contains("; attempt 2 of 5 at "));
    l.wait_line(|s| s.contains(&format!("│ … the rest: hookcli show {}", &id[..12])));
    app.wait_for(2, WAIT);
    l.wait_line(|s| s.contains("→ 200"));
    let doc: Value =
        serde_json::from_slice(&run(&l.store, &["show", &id, "--json"]).stdout).unwrap();
    let first = &doc["attempts"][0];
    assert_eq!(first["status"], 500);
    assert_eq!(
        first["response_body"]["text"].as_str().unwrap().len(),
        64 * 1024
    );
    assert!(
        first["response_headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "x-request-id" && h[1]["text"] == "req-7"),
        "{first}"
    );
    assert_eq!(doc["attempts"][1]["status"], 200);
    assert_eq!(doc["delivery"], "delivered");
    // The human view says the answer was cut, by the preview and by the store.
    let shown = ok(&run(&l.store, &["show", &id, "--color", "never"]));
    assert!(
        shown.contains("… long values shortened; the first 64.0 KiB of the answer are kept (show --json has them)"),
        "{shown}"
    );
}

#[test]
fn https_apps_work_and_insecure_accepts_a_self_signed_certificate() {
    let app = App::start_tls();
    assert!(app.url("/").starts_with("https://"));
    let strict = listen_forwarding(&app.url("/"), &["--max-attempts", "1"]);
    let id = strict.post("/", &[], b"{}").id();
    let record = delivery_record(&strict, &id, "failed");
    assert_eq!(record["error_kind"], "tls", "{record}");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("its certificate is not trusted: it is self-signed")
            && error.contains("pass --insecure"),
        "{record}"
    );
    // rustls' own names stay out of it.
    assert!(
        !error.contains("CaUsedAsEndEntity") && !error.contains("Other("),
        "{error}"
    );
    assert_eq!(record["note"], "gave up after 1 attempt");
    let trusting = listen_forwarding(&app.url("/"), &["--insecure"]);
    let id = trusting.post("/", &[], b"{\"over\":\"tls\"}").id();
    delivery_record(&trusting, &id, "delivered");
    let got = app.wait_for(1, WAIT);
    assert_eq!(got[0].body, b"{\"over\":\"tls\"}");
}

#[test]
fn a_401_on_a_valid_signature_explains_the_likely_cause() {
    let app = App::start();
    app.answer(|_, _| Answer::status(401, "bad signature"));
    let l = listen(&[
        "--color",
        "never",
        "--secret",
        SECRET,
        "--forward-to",
        &app.url("/"),
    ]);
    let body = fixture("zulip/ping.json");
    l.post("/", &[("X-Hub-Signature", &sign(SECRET, &body))], &body);
    l.wait_line(|s| {
        s.contains("hint:") && s.contains("verifying a re-parsed body or using the wrong secret")
    });
}

#[test]
fn retry_after_on_a_503_is_waited_for() {
    let app = App::start();
    app.answer(|_, n| match n {
        0 => Answer {
            headers: vec![("Retry-After".into(), "1".into())],
            ..Answer::status(503, "busy")
        },
        _ => Answer::status(200, "ok"),
    });
    // Without Retry-After the retry would come after 50 ms.
    let l = listen_forwarding(&app.url("/"), &["--retry-base-ms", "50"]);
    let id = l.post("/", &[], b"{}").id();
    app.wait_for(2, WAIT);
    delivery_record(&l, &id, "delivered");
    let doc: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &id, "--json"]))).unwrap();
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(doc["attempts"][i]["time"].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert!(at(1) - at(0) >= 1000, "retried after {} ms", at(1) - at(0));
}

#[test]
fn redirects_are_reported_not_followed() {
    let app = App::start();
    let elsewhere = app.url("/elsewhere");
    app.answer(move |r, _| {
        if r.target == "/elsewhere" {
            Answer::status(200, "followed!")
        } else {
            Answer {
                headers: vec![("Location".into(), elsewhere.clone())],
                ..Answer::status(302, "")
            }
        }
    });
    let l = listen_forwarding(&app.url("/hook"), &[]);
    let id = l.post("/", &[], b"{}").id();
    let record = delivery_record(&l, &id, "failed");
    assert_eq!(record["status"], 302);
    assert!(record["hints"][0]
        .as_str()
        .unwrap()
        .contains("not followed"));
    assert_eq!(app.received().len(), 1);
    // The record, the schema and `show` agree on what it was.
    let errors: Vec<String> = record_validator()
        .iter_errors(&record)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{record}\n{errors:#?}");
    let doc: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &id, "--json"]))).unwrap();
    let attempt = &doc["attempts"][0];
    assert_eq!(record["error_kind"], "redirect");
    assert_eq!(attempt["error_kind"], record["error_kind"]);
    assert_eq!(attempt["error"], record["error"]);
    assert_eq!(
        record["error"],
        format!("redirect to {} not followed", app.url("/elsewhere")).as_str()
    );
    // A 3xx with no Location is not followed either, and called what it is.
    app.answer(|_, _| Answer::status(304, ""));
    let id = l.post("/", &[], b"{}").id();
    let record = delivery_record(&l, &id, "failed");
    assert_eq!(
        (&record["status"], &record["error_kind"]),
        (&json!(304), &json!("redirect"))
    );
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("304 Not Modified with no Location: a 3xx is not followed"),
        "{record}"
    );
}

#[test]
fn a_201_with_a_location_is_a_delivery_not_a_redirect() {
    let app = App::start();
    app.answer(|_, _| Answer {
        headers: vec![("Location".into(), "/events/1".into())],
        ..Answer::status(201, "")
    });
    let l = listen_forwarding(&app.url("/"), &[]);
    let id = l.post("/", &[], b"{}").id();
    let record = delivery_record(&l, &id, "delivered");
    assert_eq!(record["error_kind"], Value::Null);
    assert_eq!(record["hints"], serde_json::json!([]));
    let doc: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &id, "--json"]))).unwrap();
    assert_eq!(doc["attempts"][0]["error_kind"], Value::Null);
}

#[test]
fn forward_timeout_cuts_off_and_zero_waits() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(2500),
        ..Answer::status(200, "late")
    });
    let short = listen_forwarding(
        &app.url("/"),
        &["--forward-timeout", "1", "--max-attempts", "1"],
    );
    let id = short.post("/", &[], b"{}").id();
    let record = delivery_record(&short, &id, "failed");
    assert_eq!(record["error_kind"], "timeout");
    let forever = listen_forwarding(
        &app.url("/"),
        &["--forward-timeout", "0", "--max-attempts", "1"],
    );
    let id = forever.post("/", &[], b"{}").id();
    let record = delivery_record(&forever, &id, "delivered");
    assert!(record["latency_ms"].as_u64().unwrap() >= 2400);
}

#[test]
fn topic_routes_pick_the_first_match_and_unrouted_captures_are_shown() {
    let tickets = App::start();
    let rest = App::start();
    let l = listen_forwarding(
        &format!("ticket.*={}", tickets.url("/t")),
        &["--forward-to", &rest.url("/r")],
    );
    l.post(
        "/",
        &[],
        notification(
            "ticket.created",
            Some("n1"),
            r#"{"type":"ticket","id":"1"}"#,
        )
        .as_bytes(),
    );
    l.post(
        "/",
        &[],
        notification(
            "conversation.read",
            Some("n2"),
            r#"{"type":"conversation","id":"2"}"#,
        )
        .as_bytes(),
    );
    l.post("/", &[], b"not a notification");
    assert_eq!(tickets.wait_for(1, WAIT)[0].target, "/t");
    let got = rest.wait_for(2, WAIT);
    assert!(got.iter().all(|r| r.target == "/r"));
    let only = App::start();
    let h = listen(&[
        "--color",
        "never",
        "--forward-to",
        &format!("ticket.*={}", only.url("/")),
    ]);
    let id = h
        .post(
            "/",
            &[],
            notification(
                "contact.user.created",
                Some("n3"),
                r#"{"type":"contact","id":"3"}"#,
            )
            .as_bytes(),
        )
        .id();
    h.wait_line(|s| {
        s.contains("not forwarded: no --forward-to route matches topic contact.user.created")
    });
    assert_eq!(list_ids(&h.store, &["--status", "skipped"]), vec![id]);
    assert!(only.received().is_empty());
}

#[test]
fn concurrency_delivers_in_parallel() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(400),
        ..Answer::status(200, "ok")
    });
    let l = listen_forwarding(&app.url("/"), &["--concurrency", "4"]);
    for i in 0..4 {
        l.post("/", &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    app.wait_for(4, WAIT);
    assert!(
        app.max_in_flight.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "deliveries did not overlap"
    );
}

#[test]
fn with_concurrency_a_capture_waiting_to_retry_gives_up_its_place() {
    let app = App::start();
    // The first capture fails, and is retried only after a minute; the others take 5 s each.
    app.answer(|r, _| match r.body.as_slice() {
        b"{\"n\":0}" => Answer::status(503, "busy"),
        _ => Answer {
            delay: Duration::from_secs(5),
            ..Answer::status(200, "ok")
        },
    });
    let l = listen_forwarding(
        &app.url("/"),
        &["--concurrency", "2", "--retry-base-ms", "60000"],
    );
    for i in 0..3 {
        l.post("/", &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    // Two requests under way while the first waits: the second, and the third in its place,
    // long before the second is answered.
    let got = app.wait_for(3, Duration::from_secs(4));
    let mut bodies: Vec<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
    bodies.sort();
    assert_eq!(bodies, [&b"{\"n\":0}"[..], b"{\"n\":1}", b"{\"n\":2}"]);
}

#[test]
fn an_app_that_fails_everything_does_not_draw_the_whole_backlog_into_waiting_retries() {
    let app = App::start();
    app.answer(|_, _| Answer::status(503, "down"));
    let l = listen_forwarding(
        &app.url("/"),
        &["--concurrency", "2", "--retry-base-ms", "60000"],
    );
    for i in 0..30 {
        l.post("/", &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    std::thread::sleep(Duration::from_millis(1500));
    // Two slots, and room for four per slot to wait without theirs: then the lane waits.
    assert_eq!(app.received().len(), 2 + 2 * 4);
}

#[test]
fn a_restart_delivers_what_an_earlier_run_left_pending_or_skips_it() {
    for skip in [false, true] {
        let home = tempfile::tempdir().unwrap();
        let (store, port, target, mut first) = listen_with_the_app_down(home.path());
        let ids: Vec<String> = (0..2)
            .map(|i| {
                first
                    .post("/", &[], format!("{{\"run\":1,\"n\":{i}}}").as_bytes())
                    .id()
            })
            .collect();
        delivery_record(&first, &ids[0], "retrying");
        assert_eq!(first.interrupt().0, 0);
        let app = App::start_on(port);
        let mut args = vec!["--color", "never", "--forward-to", target.as_str()];
        if skip {
            args.push("--skip-pending");
        }
        let second = listen_at(&store, home.path(), &args, &[]);
        if skip {
            second.wait_line(|s| {
                s.contains("Marked 2 undelivered captures from an earlier run as skipped")
            });
            std::thread::sleep(Duration::from_millis(500));
            assert!(app.received().is_empty());
            assert_eq!(list_ids(&store, &["--status", "skipped"]).len(), 2);
        } else {
            second.wait_line(|s| {
                s.contains("2 undelivered captures from an earlier run: delivering them first")
            });
            let got = app.wait_for(2, WAIT);
            assert_eq!(got[0].body, b"{\"run\":1,\"n\":0}");
            assert_eq!(got[1].body, b"{\"run\":1,\"n\":1}");
        }
    }
}

#[test]
fn after_a_restart_attempt_numbers_stay_within_the_maximum_shown() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let target = format!("http://127.0.0.1:{}/", free_port());
    let args = ["--json", "--forward-to", &target, "--retry-base-ms", "1000"];
    let mut first = listen_at(&store, home.path(), &args, &[]);
    let id = first.post("/", &[], b"{}").id();
    // Two attempts in the first run (the third would be 2 s later).
    first.wait_line(|s| s.contains(r#""attempt":2,"#) && s.contains(r#""retrying""#));
    assert_eq!(first.interrupt().0, 0);
    let args = [
        "--json",
        "--forward-to",
        &target,
        "--max-attempts",
        "3",
        "--retry-base-ms",
        "100",
    ];
    let second = listen_at(&store, home.path(), &args, &[]);
    let last = delivery_record(&second, &id, "failed");
    let shown: Vec<(u64, u64)> = second
        .records()
        .iter()
        .filter(|r| r["type"] == "delivery")
        .map(|r| {
            (
                r["attempt"].as_u64().unwrap(),
                r["max_attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    // This run's three attempts are numbers 3 to 5 of the 5 this capture may have.
    assert_eq!(shown, vec![(3, 5), (4, 5), (5, 5)]);
    // And its backoff starts again at the base, as its budget does: the second retry is
    // due 200 ms (twice the base) after the first, plus that attempt's own time, where
    // the backoff of attempt 4 of all would be 800 ms.
    let due: Vec<i64> = second
        .records()
        .iter()
        .filter(|r| r["type"] == "delivery" && r["outcome"] == "retrying")
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r["next_attempt_at"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    assert_eq!(due.len(), 2);
    assert!((200..700).contains(&(due[1] - due[0])), "{due:?}");
    assert_eq!(
        last["note"],
        "gave up after 3 attempts in this run, 5 in all"
    );
}

#[test]
fn leftovers_no_route_of_the_new_run_takes_are_shown_as_skipped() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let down = format!("contact.*=http://127.0.0.1:{}/", free_port());
    let args = ["--json", "--forward-to", &down, "--retry-base-ms", "60000"];
    let mut first = listen_at(&store, home.path(), &args, &[]);
    let ids: Vec<String> = ["a", "b"]
        .iter()
        .map(|n| {
            let body = notification("contact.user.created", Some(n), "{}");
            first.post("/", &[], body.as_bytes()).id()
        })
        .collect();
    delivery_record(&first, &ids[0], "retrying");
    assert_eq!(first.interrupt().0, 0);
    let app = App::start();
    let tickets = format!("ticket.*={}", app.url("/"));
    let second = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &tickets],
        &[],
    );
    second.wait_line(|s| s.contains("2 undelivered captures from an earlier run"));
    for id in &ids {
        let record = delivery_record(&second, id, "skipped");
        assert_eq!(
            record["note"],
            "no --forward-to route matches topic contact.user.created"
        );
    }
    assert_eq!(list_ids(&store, &["--status", "skipped"]).len(), 2);
    assert!(app.received().is_empty());
}

#[test]
fn passthrough_after_a_restart_delivers_the_leftovers_and_each_new_capture_once() {
    let home = tempfile::tempdir().unwrap();
    let (store, port, target, mut first) = listen_with_the_app_down(home.path());
    let left = first.post("/", &[], b"{\"run\":1}").id();
    delivery_record(&first, &left, "retrying");
    assert_eq!(first.interrupt().0, 0);
    let app = App::start_on(port);
    let second = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &target, "--passthrough"],
        &[],
    );
    assert_eq!(app.wait_for(1, WAIT)[0].body, b"{\"run\":1}");
    // New requests are not held behind the leftovers, and the notice does not say so.
    second.wait_line(|s| {
        s.contains("1 undelivered capture from an earlier run: delivering it from the queue, in order, beside new requests")
    });
    assert_eq!(second.post("/", &[], b"{\"run\":2}").status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    let got: Vec<Vec<u8>> = app.received().into_iter().map(|r| r.body).collect();
    assert_eq!(got, vec![b"{\"run\":1}".to_vec(), b"{\"run\":2}".to_vec()]);
    assert!(list_ids(&store, &["--status", "pending"]).is_empty());
}

#[test]
fn kill_9_with_deliveries_pending_loses_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (store, port, target, mut first) = listen_with_the_app_down(home.path());
    let bodies: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i}}}")).collect();
    for b in &bodies {
        assert_eq!(first.post("/", &[], b.as_bytes()).status, 200);
    }
    first.kill9();
    let app = App::start_on(port);
    let _second = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &target],
        &[],
    );
    let got = app.wait_for(10, WAIT);
    let received: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert_eq!(received, bodies);
}

#[test]
fn an_attempt_the_store_cannot_record_holds_the_queue_until_it_can() {
    let app = App::start();
    let l = listen(&["--color", "never", "--forward-to", &app.url("/")]);
    assert_eq!(l.post("/", &[], b"{\"n\":0}").status, 200);
    app.wait_for(1, WAIT);
    // As a full disk would: every attempt record is refused.
    let db = rusqlite::Connection::open(l.store.join("hookcli.db")).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON attempts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;")
        .unwrap();
    for n in 1..21 {
        assert_eq!(
            l.post("/", &[], format!("{{\"n\":{n}}}").as_bytes()).status,
            200
        );
    }
    l.wait_stderr("cannot record a delivery attempt in the store (database or disk is full): no new delivery starts until it can be");
    std::thread::sleep(Duration::from_millis(1500));
    // Those already on their way when the first refusal came back went out; then it held.
    let during = app.received().len();
    assert!(during < 21, "the queue held ({during} sent)");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(app.received().len(), during, "and stays held");
    db.execute_batch("DROP TRIGGER refuse").unwrap();
    let got = app.wait_for(21, WAIT);
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    let sent: Vec<String> = (0..21).map(|n| format!("{{\"n\":{n}}}")).collect();
    assert_eq!(bodies, sent, "in order, each once");
    // Each is recorded delivered, nothing is left pending to be sent again.
    let deadline = Instant::now() + WAIT;
    while list_ids(&l.store, &["--status", "delivered"]).len() < 21 {
        assert!(Instant::now() < deadline, "not all recorded as delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(list_ids(&l.store, &["--status", "pending"]).is_empty());
}

#[test]
fn passthrough_relays_the_apps_answer_and_502_when_it_is_down() {
    let app = App::start();
    app.answer(|_, _| Answer {
        headers: vec![
            ("X-App".into(), "yes".into()),
            ("Content-Type".into(), "text/plain".into()),
        ],
        ..Answer::status(418, "I am a teapot")
    });
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    let reply = l.post("/", &[], b"{\"tea\":1}");
    assert_eq!(reply.status, 418);
    assert_eq!(reply.body, b"I am a teapot");
    assert!(reply
        .headers
        .iter()
        .any(|(n, v)| n == "x-app" && v == "yes"));
    assert_eq!(app.received()[0].body, b"{\"tea\":1}");
    assert_eq!(count(&l.store), 1, "captured first");
    let answered = |store: &std::path::Path| {
        // Recorded after the relay, with the writer's next group.
        let deadline = Instant::now() + WAIT;
        loop {
            let out = run(store, &["show", "--last", "--json"]);
            let status = serde_json::from_str::<Value>(&ok(&out)).unwrap()["status"].clone();
            if !status.is_null() || Instant::now() > deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert_eq!(answered(&l.store), 418);
    let down = listen_forwarding(
        &format!("http://127.0.0.1:{}/", free_port()),
        &["--passthrough"],
    );
    let reply = down.post("/", &[], b"{}");
    assert_eq!(reply.status, 502);
    let text = String::from_utf8_lossy(&reply.body);
    assert!(
        text.contains("captured this request") && text.contains("connection refused"),
        "{text}"
    );
    assert_eq!(count(&down.store), 1);
    assert_eq!(answered(&down.store), 502);
}

#[test]
fn passthrough_says_when_the_apps_answer_would_disable_the_subscription() {
    let app = App::start();
    app.answer(|_, _| Answer::status(410, "gone"));
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    assert_eq!(l.post("/", &[], b"{}").status, 410);
    let line = l.wait_line(|s| s.contains("\"type\":\"delivery\""));
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        record["hints"],
        serde_json::json!(["your app answered 410 Gone: Intercom disables a webhook subscription whose endpoint answers 410, and sends it nothing more"]),
    );
}

#[test]
fn an_answer_cut_off_or_too_slow_is_not_a_delivery() {
    let app = App::start();
    app.answer(|_, i| match i {
        // Declares 20 bytes, sends 10 and hangs up.
        0 => Answer {
            content_length: Some(20),
            ..Answer::status(200, "0123456789")
        },
        // Sends its head at once, and the body after --forward-timeout.
        1 => Answer {
            body_delay: Duration::from_millis(1600),
            ..Answer::status(200, "late body")
        },
        _ => Answer::status(200, "ok"),
    });
    let l = listen_forwarding(
        &app.url("/"),
        &["--forward-timeout", "1", "--retry-base-ms", "20"],
    );
    let id = l.post("/", &[], b"{}").id();
    delivery_record(&l, &id, "delivered");
    let records: Vec<Value> = l
        .records()
        .into_iter()
        .filter(|r| r["type"] == "delivery" && r["capture_id"] == id.as_str())
        .collect();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["retrying", "retrying", "delivered"]);
    assert_eq!(records[0]["error_kind"], "reset", "{}", records[0]);
    assert_eq!(
        records[0]["error"],
        "the app answered 200 OK, but closed the connection before the whole body arrived"
    );
    assert_eq!(records[1]["error_kind"], "timeout", "{}", records[1]);
    assert!(records[1]["error"]
        .as_str()
        .unwrap()
        .contains("the rest of its answer did not arrive within the forward timeout"));
    assert_eq!(app.received().len(), 3);
}

#[test]
fn passthrough_relays_whole_answers_and_502_for_what_it_cannot_pass_on() {
    let app = App::start();
    let over = MAX_RELAYED + 1;
    app.answer(move |_, i| match i {
        0 => Answer {
            content_length: Some(20),
            ..Answer::status(200, "0123456789")
        },
        1 => Answer::status(200, &"y".repeat(5000)),
        2 => Answer::status(200, &"z".repeat(over)),
        _ => Answer::status(101, ""),
    });
    // The relayed answer does not depend on how large a request may be.
    let l = listen_forwarding(&app.url("/"), &["--passthrough", "--max-body", "1000"]);
    let text = |r: &Reply| String::from_utf8_lossy(&r.body).into_owned();
    let cut = l.post("/", &[], b"{}");
    assert_eq!(cut.status, 502, "{}", text(&cut));
    assert!(
        text(&cut).contains("captured this request")
            && text(&cut).contains("closed the connection before the whole body arrived"),
        "{}",
        text(&cut)
    );
    let whole = l.post("/", &[], b"{}");
    assert_eq!((whole.status, whole.body.len()), (200, 5000));
    let huge = l.post("/", &[], b"{}");
    assert_eq!(huge.status, 502);
    assert!(
        text(&huge).contains("with a body over 8 MiB, more than --passthrough relays"),
        "{}",
        text(&huge)
    );
    let switching = l.post("/", &[], b"{}");
    assert_eq!(switching.status, 502, "{}", text(&switching));
    assert!(
        text(&switching)
            .contains("the app answered 101 Switching Protocols, which is not a final answer"),
        "{}",
        text(&switching)
    );
    // Each is recorded as failed (the record is printed once it is in the store).
    l.wait_line(|s| s.contains("101 Switching Protocols") && s.contains(r#""outcome":"failed""#));
    assert_eq!(list_ids(&l.store, &["--status", "failed"]).len(), 3);
}

/// The largest answer body passthrough relays (docs/forwarding.md).
const MAX_RELAYED: usize = 8 * 1024 * 1024;

#[test]
fn passthrough_says_when_intercom_would_have_timed_out() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(5300),
        ..Answer::status(200, "slow")
    });
    let l = listen(&[
        "--color",
        "never",
        "--forward-to",
        &app.url("/"),
        "--passthrough",
    ]);
    assert_eq!(l.post("/", &[], b"{}").status, 200);
    l.wait_line(|s| s.contains("Intercom waits 5 s, so it would have timed out and retried"));
}

#[test]
fn a_sender_that_hangs_up_does_not_cut_a_capture_short() {
    use std::io::Write;
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(800),
        ..Answer::status(200, "late")
    });
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    let body = notification("contact.user.created", Some("notif_hangup"), "contact");
    let mut sender = std::net::TcpStream::connect(&l.addr).unwrap();
    write!(
        sender,
        "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Once the app has it, the capture is committed; the sender gives up before the answer.
    assert_eq!(app.wait_for(1, WAIT).len(), 1);
    sender.shutdown(std::net::Shutdown::Both).unwrap();
    drop(sender);
    // hookcli still finishes the request: the capture is shown and the delivery recorded.
    let id = first_capture_id(&l);
    l.wait_line(|s| {
        s.contains(r#""type":"delivery""#) && s.contains(&id) && s.contains(r#""delivered""#)
    });
    let shown = String::from_utf8(run(&l.store, &["show", &id, "--json"]).stdout).unwrap();
    assert!(shown.contains(r#""passthrough""#), "{shown}");
    assert_eq!(
        app.received().len(),
        1,
        "delivered once, by the passthrough"
    );
}

#[test]
fn deliveries_wait_while_the_listener_is_flooded() {
    use std::io::Write;
    let app = App::start();
    let l = listen_forwarding(&app.url("/"), &["--flood-wait-ms", "60000"]);
    // Four uploads under way at once, stalled half-way through their bodies: a flood.
    let stalled: Vec<std::net::TcpStream> = (0..4)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&l.addr).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half\":")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The sender is still answered at once; the delivery waits.
    let body = notification("contact.user.created", Some("notif_flood"), "contact");
    assert_eq!(l.post("/", &[], body.as_bytes()).status, 200);
    std::thread::sleep(Duration::from_millis(700));
    assert!(app.received().is_empty(), "delivered during the flood");
    // Once the flood is over, it is delivered.
    drop(stalled);
    let got = app.wait_for(1, WAIT);
    assert_eq!(got[0].body, body.as_bytes());
}

#[test]
fn passthrough_delivers_each_capture_once() {
    let app = App::start();
    // Slow enough that the delivery queue looks at the store while the capture waits.
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(1500),
        ..Answer::status(200, "ok")
    });
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    let body = notification("contact.user.created", Some("notif_once"), "contact");
    let reply = l.post("/", &[], body.as_bytes());
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"ok"[..]));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(app.received().len(), 1, "the app got the capture twice");
    let id = first_capture_id(&l);
    let shown = String::from_utf8(run(&l.store, &["show", &id, "--json"]).stdout).unwrap();
    assert!(shown.contains(r#""passthrough""#), "{shown}");
    assert!(!shown.contains(r#""forward""#), "{shown}");
}

#[test]
fn forwarding_json_records_follow_the_schema() {
    let validator = record_validator();
    let app = App::start();
    app.answer(|_, i| {
        if i == 0 {
            Answer::status(500, "oops")
        } else {
            Answer::status(200, "ok")
        }
    });
    let mut l = listen_forwarding(
        &format!("ticket.*={}", app.url("/")),
        &["--retry-base-ms", "20"],
    );
    let id = l
        .post(
            "/",
            &[],
            notification("ticket.created", Some("n"), r#"{"type":"ticket","id":"1"}"#).as_bytes(),
        )
        .id();
    l.post("/", &[], b"{}");
    delivery_record(&l, &id, "delivered");
    let (_, lines, _) = l.interrupt();
    let mut kinds = std::collections::BTreeSet::new();
    for line in lines {
        let v: Value = serde_json::from_str(&line).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
        if v["type"] == "delivery" {
            kinds.insert(v["outcome"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["delivered", "retrying", "skipped"]
    );
}

#[test]
fn forwarding_flags_need_forward_to_and_bad_routes_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        vec!["listen", "--passthrough"],
        vec!["listen", "--forward-to", "localhost:3000"],
        vec!["listen", "--forward-to", "x=ftp://a"],
    ] {
        let out = hookcli(home.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Accepted by the URL parser, but not what anyone means: each gets its own sentence.
    // (A bad --host stops a wrongly accepted route with another usage error, instead of
    // listening for ever.)
    for (route, says) in [
        (
            "http://127.0.0.1:3000/wh#frag",
            "has a #fragment, which an app never receives",
        ),
        ("=http://127.0.0.1:3000/", "has nothing before '='"),
        ("http:///x", "has no host"),
        ("", "is not a URL"),
        ("ticket.*=", "'ticket.*=' has no URL after '='"),
    ] {
        let out = hookcli(home.path())
            .args(["listen", "--host", "not-an-address", "--forward-to", route])
            .output()
            .unwrap();
        fails(&out, 2, says);
    }
}

#[test]
fn blanks_in_hookcli_forward_to_are_ignored() {
    let app = App::start();
    let home = tempfile::tempdir().unwrap();
    let routes = format!("ticket.*={}  {} ", app.url("/t"), app.url("/other"));
    let l = listen_at(
        &home.path().join("store"),
        home.path(),
        &["--json"],
        &[("HOOKCLI_FORWARD_TO", &routes)],
    );
    let listening: Value = serde_json::from_str(&l.stdout()[0]).unwrap();
    assert_eq!(listening["forward_to"].as_array().unwrap().len(), 2);
    l.post("/", &[], b"{}");
    assert_eq!(app.wait_for(1, WAIT)[0].target, "/other");
}

#[test]
fn list_status_tells_delivery_states_apart() {
    let app = App::start();
    app.answer(|r, _| {
        if r.body.windows(19).any(|w| w == b"ticket.note.created") {
            Answer::status(422, "no")
        } else {
            Answer::status(200, "ok")
        }
    });
    let dead = format!("contact.*=http://127.0.0.1:{}/", free_port());
    let l = listen_forwarding(
        &format!("ticket.*={}", app.url("/")),
        &["--forward-to", &dead, "--retry-base-ms", "60000"],
    );
    let delivered = l
        .post(
            "/",
            &[],
            notification("ticket.created", Some("a"), "{}").as_bytes(),
        )
        .id();
    let failed = l
        .post(
            "/",
            &[],
            notification("ticket.note.created", Some("b"), "{}").as_bytes(),
        )
        .id();
    let skipped = l.post("/", &[], b"not a notification").id();
    delivery_record(&l, &failed, "failed");
    // Last, because in ordered mode a capture waiting for its retry holds back the rest.
    let pending = l
        .post(
            "/",
            &[],
            notification("contact.user.created", Some("c"), "{}").as_bytes(),
        )
        .id();
    delivery_record(&l, &pending, "retrying");
    assert_eq!(
        list_ids(&l.store, &["--status", "delivered"]),
        vec![delivered]
    );
    assert_eq!(list_ids(&l.store, &["--status", "failed"]), vec![failed]);
    assert_eq!(list_ids(&l.store, &["--status", "pending"]), vec![pending]);
    assert_eq!(list_ids(&l.store, &["--status", "skipped"]), vec![skipped]);
    assert_eq!(list_ids(&l.store, &[]).len(), 4);
}

#[test]
fn other_processes_read_the_store_while_a_forwarding_listen_writes_it() {
    // listen --forward-to opens the store twice (writer and forwarder); that must not strip
    // the writer's SQLite locks, or readers see a store that looks damaged.
    let port = free_port();
    let l = listen(&[
        "--json",
        "--compact",
        "--forward-to",
        &format!("http://127.0.0.1:{port}/"),
        "--retry-base-ms",
        "60000",
    ]);
    let addr = l.addr.clone();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..300 {
                    let body = format!("{{\"w\":{w},\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(900));
                    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
                    std::io::Write::write_all(&mut stream, body.as_bytes()).unwrap();
                    let mut buf = Vec::new();
                    let started = std::time::Instant::now();
                    let read = std::io::Read::read_to_end(&mut stream, &mut buf);
                    if !buf.starts_with(b"HTTP/1.1 200") {
                        failures.push(format!("request {i}: {read:?} after {:?}: {:?}", started.elapsed(), String::from_utf8_lossy(&buf)));
                    }
                }
                failures
            })
        })
        .collect();
    for _ in 0..15 {
        let out = run(
            &l.store,
            &["list", "--status", "pending", "--all", "--json"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        // Before the first capture is committed, "no captures yet" is the right answer.
        let early = err.contains("no captures match") || err.contains("has no captures yet");
        assert!(out.status.success() || early, "{err}");
    }
    let failures: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{failures:#?}\nlisten stderr: {}",
        l.stderr()
    );
    assert_eq!(list_ids(&l.store, &["--status", "pending"]).len(), 1200);
}

#[test]
fn the_banner_shows_one_route_a_line_when_there_are_several() {
    let app = App::start();
    let (conv, rest) = (app.url("/conv?x=1,2"), app.url("/other"));
    let route = format!("conversation.*={conv}");
    let l = listen(&[
        "--color",
        "never",
        "--forward-to",
        &route,
        "--forward-to",
        &rest,
    ]);
    l.wait_line(|s| {
        s.contains(
            "forwarding: acknowledged first, then delivered in order, first matching route wins:",
        )
    });
    l.wait_line(|s| s == format!("      {route}"));
    l.wait_line(|s| s == format!("      {rest}"));
}

#[test]
fn a_route_url_may_hold_commas_and_the_environment_takes_several_routes() {
    let app = App::start();
    // On the command line a comma is part of the URL, never a separator.
    let l = listen_forwarding(&app.url("/wh?fields=a,b"), &[]);
    l.post("/", &[], b"{}");
    assert_eq!(app.wait_for(1, WAIT)[0].target, "/wh?fields=a,b");
    // HOOKCLI_FORWARD_TO holds several routes separated by spaces, first match wins.
    let home = tempfile::tempdir().unwrap();
    let routes = format!(
        "conversation.*={} {}",
        app.url("/conv?x=1,2"),
        app.url("/other")
    );
    let l = listen_at(
        &home.path().join("store"),
        home.path(),
        &["--json"],
        &[("HOOKCLI_FORWARD_TO", &routes)],
    );
    let item = r#"{"type":"conversation","id":"1"}"#;
    let conv = notification("conversation.user.created", Some("notif_c"), item);
    let contact = notification("contact.user.created", Some("notif_u"), item);
    l.post("/", &[], conv.as_bytes());
    l.post("/", &[], contact.as_bytes());
    let got = app.wait_for(3, WAIT);
    // Two URLs, two lanes: which arrives first is not fixed.
    let target_of = |body: &str| {
        got[1..]
            .iter()
            .find(|r| r.body == body.as_bytes())
            .map(|r| r.target.clone())
    };
    assert_eq!(target_of(&conv).as_deref(), Some("/conv?x=1,2"));
    assert_eq!(target_of(&contact).as_deref(), Some("/other"));
}

#[test]
fn a_password_in_a_route_url_is_sent_but_never_shown_or_stored() {
    let app = App::start();
    let target = format!("http://hookuser:s3cr3t-pw@{}/wh", app.addr);
    let shown = format!("http://hookuser:***@{}/wh", app.addr);
    let mut l = listen_forwarding(&target, &[]);
    assert_eq!(l.records()[0]["forward_to"][0], shown.as_str());
    // Even when the sender brought an Authorization of its own.
    let id = l
        .post("/", &[("Authorization", "Bearer the-senders")], b"{}")
        .id();
    let got = app.wait_for(1, WAIT).remove(0);
    assert_eq!(
        got.header_all("authorization"),
        ["Basic aG9va3VzZXI6czNjcjN0LXB3"],
        "the real URL is used for sending"
    );
    assert_eq!(
        delivery_record(&l, &id, "delivered")["target"],
        shown.as_str()
    );
    let doc = ok(&run(&l.store, &["show", &id, "--json"]));
    assert!(doc.contains(&shown), "{doc}");
    l.interrupt();
    let human = listen_at(
        &l.store,
        l.store.parent().unwrap(),
        &[
            "--color",
            "never",
            "--forward-to",
            &format!("ticket.*={target}"),
        ],
        &[],
    );
    human.wait_line(|s| s.contains(&format!("forwarding: ticket.*={shown}")));
    for out in [l.stdout(), human.stdout()] {
        assert!(!out.join("\n").contains("s3cr3t-pw"), "{out:#?}");
    }
    drop(human);
    for file in std::fs::read_dir(&l.store).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(9).any(|w| w == b"s3cr3t-pw"),
            "the password is in the store"
        );
    }
    // replay's default routes are the last run's, password hidden: a capture its ticket.*
    // route takes makes it say to pass --to; this non-ticket one matches no route.
    fails(
        &run(&l.store, &["replay", &id]),
        1,
        "could not be routed by the last listen --forward-to's routes",
    );
    let ticket = l.store.parent().unwrap().join("ticket.json");
    std::fs::write(&ticket, notification("ticket.created", Some("t1"), "{}")).unwrap();
    fails(
        &run(&l.store, &["replay", "--file", ticket.to_str().unwrap()]),
        2,
        "had a password, which hookcli does not store: pass --to",
    );
}

#[test]
fn what_the_sender_or_the_app_controls_is_escaped_in_delivery_lines() {
    let app = App::start();
    // The app's redirect names a hostile Location: quoted in the note and the hint.
    app.answer(|_, _| Answer {
        headers: vec![(
            "Location".into(),
            "http://elsewhere/\u{202e}txt.exe\u{9b}31m".into(),
        )],
        ..Answer::status(302, "")
    });
    let l = listen(&[
        "--color",
        "never",
        "--forward-to",
        &format!("conversation.*={}", app.url("/")),
    ]);
    // An unrouted topic is quoted in the "not forwarded" note.
    l.post(
        "/",
        &[],
        notification(r"x\u001b]52;c;SGVsbG8=\u0007\u001b[2J", Some("n1"), "{}").as_bytes(),
    );
    l.post(
        "/",
        &[],
        notification("conversation.read", Some("n2"), "{}").as_bytes(),
    );
    l.wait_line(|s| s.contains("not forwarded") && s.contains("x\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J"));
    l.wait_line(|s| s.contains("hint: redirect to") && s.contains("\\u{202e}txt.exe\\u{009b}31m"));
    let out = l.stdout().join("\n");
    for bad in ['\x1b', '\x07', '\u{202e}', '\u{9b}'] {
        assert!(!out.contains(bad), "{bad:?} reached the terminal");
    }
}

#[test]
fn an_apps_answer_that_is_not_utf8_shows_its_bytes_escaped() {
    let app = App::start();
    app.answer(|_, _| Answer {
        body: b"bad \xff\x1b[2J".to_vec(),
        ..Answer::status(400, "")
    });
    let l = listen(&["--color", "never", "--forward-to", &app.url("/")]);
    l.post("/", &[], b"{}");
    l.wait_line(|s| s.contains("│ bad \\xff\\x1b[2J"));
    // send and replay show the app's answer the same way.
    let sent = run(
        &l.store,
        &["send", "ping", "--to", &app.url("/"), "--color", "never"],
    );
    let text = String::from_utf8_lossy(&sent.stdout);
    assert!(
        text.contains("│ bad \\xff\\x1b[2J") && !text.contains('\u{fffd}'),
        "{text}"
    );
}

#[test]
fn header_bytes_that_are_not_utf8_pass_both_ways_unchanged() {
    let app = App::start();
    app.answer(|_, _| Answer {
        raw_headers: vec![("X-Evil".into(), b"\x9b31m\xff".to_vec())],
        ..Answer::status(200, "ok")
    });
    let l = listen_forwarding(&app.url("/"), &[]);
    let id = raw_request(
        &l.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: \x9b31m\xff\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .id();
    delivery_record(&l, &id, "delivered");
    let got = app.received().remove(0);
    let xff: Vec<&[u8]> = got
        .raw_headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"x-forwarded-for"))
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(xff, [b"\x9b31m\xff, 127.0.0.1".as_slice()]);
    let doc: Value =
        serde_json::from_slice(&run(&l.store, &["show", &id, "--json"]).stdout).unwrap();
    let answered = doc["attempts"][0]["response_headers"].as_array().unwrap();
    assert!(
        answered
            .iter()
            .any(|h| h[0] == "x-evil" && h[1] == serde_json::json!({"bytes": "mzMxbf8="})),
        "{doc}"
    );
    let shown = ok(&run(&l.store, &["show", &id, "--color", "never"]));
    assert!(shown.contains("x-evil: \\x9b31m\\xff"), "{shown}");
}

#[test]
fn an_empty_body_arrives_with_its_content_length_of_zero() {
    let app = App::start();
    let l = listen_forwarding(&app.url("/"), &[]);
    let id = l.post("/", &[], b"").id();
    delivery_record(&l, &id, "delivered");
    let got = app.received().remove(0);
    assert_eq!(got.header_all("content-length"), ["0"], "{got:?}");
    assert!(got.body.is_empty());
    // replay --dry-run shows the same line the app got.
    let shown = ok(&run(
        &l.store,
        &["replay", &id, "--to", &app.url("/"), "--dry-run", "--json"],
    ));
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert!(
        shown["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "content-length" && h[1]["text"] == "0"),
        "{shown}"
    );
}

#[test]
fn stopping_mid_delivery_records_the_attempt_and_says_what_is_left() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let app = App::start();
    // The first attempt hangs (a breakpoint in the app, say); later ones are answered.
    app.answer(|_, n| Answer {
        delay: if n == 0 {
            Duration::from_secs(30)
        } else {
            Duration::ZERO
        },
        ..Answer::status(200, "ok")
    });
    let target = app.url("/");
    let args = ["--json", "--forward-to", &target, "--forward-timeout", "0"];
    let mut first = listen_at(&store, home.path(), &args, &[]);
    let id = first.post("/", &[], b"{\"n\":1}").id();
    app.wait_for(1, WAIT);
    let started = Instant::now();
    let (code, lines, _) = first.interrupt();
    assert_eq!(code, 0);
    assert!(started.elapsed() < Duration::from_secs(12));
    let records: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let notices: Vec<&str> = records
        .iter()
        .filter(|r| r["type"] == "notice")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(
        notices
            .iter()
            .any(|m| m.starts_with("Stopping: your app has 5 s")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|m| m.starts_with(
            "1 capture not delivered yet: the next `hookcli listen --forward-to` delivers it first"
        )),
        "{notices:?}"
    );
    let cut = records
        .iter()
        .find(|r| r["type"] == "delivery")
        .expect("the cut-short attempt is shown");
    assert_eq!(cut["error_kind"], "stopped");
    assert!(record_validator().is_valid(cut), "{cut}");
    assert_eq!(cut["outcome"], "stopped");
    assert_eq!(list_ids(&store, &["--status", "pending"]), vec![id.clone()]);
    // The next run sends it again as the second attempt, and the app can tell.
    let second = listen_at(&store, home.path(), &args, &[]);
    delivery_record(&second, &id, "delivered");
    let got = app.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("X-Hookcli-Attempt").as_deref(), Some("2"));
}

#[test]
fn captures_deleted_while_they_wait_are_not_delivered_or_recorded() {
    let port = free_port();
    let target = format!("http://127.0.0.1:{port}/");
    let l = listen_forwarding(&target, &["--retry-base-ms", "200"]);
    let a = l.post("/", &[], b"{\"n\":\"a\"}").id();
    let b = l.post("/", &[], b"{\"n\":\"b\"}").id();
    delivery_record(&l, &a, "retrying");
    ok(&run(&l.store, &["delete", &a, &b, "--yes"]));
    let c = l.post("/", &[], b"{\"n\":\"c\"}").id();
    let app = App::start_on(port);
    delivery_record(&l, &c, "delivered");
    std::thread::sleep(Duration::from_millis(500));
    let got: Vec<Vec<u8>> = app.received().into_iter().map(|r| r.body).collect();
    assert_eq!(got, vec![b"{\"n\":\"c\"}".to_vec()]);
    let db = rusqlite::Connection::open(l.store.join("hookcli.db")).unwrap();
    let orphans: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE capture_seq NOT IN (SELECT seq FROM captures)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "attempts recorded for deleted captures");
}

#[test]
fn a_passthrough_left_unanswered_by_a_crash_is_not_delivered_again() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_secs(60),
        ..Answer::status(200, "ok")
    });
    let target = app.url("/");
    let mut first = listen_at(
        &store,
        home.path(),
        &[
            "--json",
            "--forward-to",
            &target,
            "--passthrough",
            "--forward-timeout",
            "0",
        ],
        &[],
    );
    // A sender that waits for its answer (one never comes).
    let mut sender = std::net::TcpStream::connect(&first.addr).unwrap();
    std::io::Write::write_all(
        &mut sender,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"n\":1}",
    )
    .unwrap();
    app.wait_for(1, WAIT);
    // Killed while the sender waits: no answer reached it, so Intercom would send it again.
    first.kill9();
    let second = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &target],
        &[],
    );
    // Said, not done silently.
    second.wait_line(|s| {
        s.contains("1 --passthrough request an earlier run stopped during was marked failed, not delivered again: each sender got your app's answer, or got none and sends it again (`hookcli list --status failed` shows it)")
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(app.received().len(), 1, "delivered again by the next run");
    let failed = list_ids(&store, &["--status", "failed"]);
    assert_eq!(failed.len(), 1);
    let shown = ok(&run(&store, &["show", &failed[0], "--color", "never"]));
    assert!(
        shown.contains("delivery failed (hookcli stopped during this --passthrough request"),
        "{shown}"
    );
    drop(sender);
}

#[test]
fn stopping_while_passthrough_waits_answers_the_sender_and_records_the_attempt() {
    let app = App::start();
    // A breakpoint in the app: it would answer only after the test is over.
    app.answer(|_, _| Answer {
        delay: Duration::from_secs(60),
        ..Answer::status(200, "ok")
    });
    let mut l = listen_forwarding(&app.url("/"), &["--passthrough", "--forward-timeout", "0"]);
    let addr = l.addr.clone();
    let sender = std::thread::spawn(move || send(&addr, "POST", "/", &[], b"{\"n\":1}"));
    app.wait_for(1, WAIT);
    let (code, lines, _) = l.interrupt();
    assert_eq!(code, 0);
    // The sender is answered, not cut off, so Intercom knows to retry.
    let reply = sender.join().unwrap();
    assert_eq!(reply.status, 502);
    let text = String::from_utf8_lossy(&reply.body);
    assert!(
        text.contains("hookcli stopped before your app answered"),
        "{text}"
    );
    let cut: Value = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["type"] == "delivery")
        .expect("the cut-short attempt is shown");
    assert!(record_validator().is_valid(&cut), "{cut}");
    assert_eq!(
        (&cut["kind"], &cut["error_kind"], &cut["outcome"]),
        (&json!("passthrough"), &json!("stopped"), &json!("failed"))
    );
    // Not "your app took 5 s": it never answered.
    assert_eq!(cut["hints"], json!([]), "{cut}");
    // The wait it announced is the app's grace, not the server's longer limit.
    let notice = lines
        .iter()
        .find(|l| l.contains("Stopping: finishing the requests still in flight"))
        .expect("the wait is announced");
    assert!(
        notice.contains("your app has 5 s to answer those waiting for it"),
        "{notice}"
    );
    let doc: Value =
        serde_json::from_str(&ok(&run(&l.store, &["show", "--last", "--json"]))).unwrap();
    assert_eq!(doc["status"], 502, "{doc}");
    assert_eq!(doc["attempts"][0]["error_kind"], "stopped", "{doc}");
}

#[test]
fn stopping_while_an_attempt_is_answered_tries_no_more() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(1500),
        ..Answer::status(503, "busy")
    });
    let target = app.url("/");
    let args = ["--json", "--forward-to", &target, "--retry-base-ms", "300"];
    let mut l = listen_at(&store, home.path(), &args, &[]);
    l.post("/", &[], b"{\"n\":1}");
    app.wait_for(1, WAIT);
    let (code, _, _) = l.interrupt();
    assert_eq!(code, 0);
    std::thread::sleep(Duration::from_millis(800));
    // The 503 came inside the grace period: recorded, and no retry after Ctrl-C.
    assert_eq!(app.received().len(), 1);
    let doc: Value =
        serde_json::from_str(&ok(&run(&store, &["show", "--last", "--json"]))).unwrap();
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["delivery"], "pending");
}

#[test]
fn a_passthrough_ping_is_judged_by_the_apps_answer() {
    let ping = notification("ping", None, r#"{"type":"ping","message":"hi"}"#);
    for (status, says) in [
        (
            418,
            "Intercom's ping got your app's 418: Intercom expects a 2xx",
        ),
        (
            200,
            "Intercom's ping got your app's 200: this endpoint is set up correctly (pass --secret to check signatures too)",
        ),
    ] {
        let app = App::start();
        app.answer(move |_, _| Answer::status(status, ""));
        let l = listen(&[
            "--color",
            "never",
            "--forward-to",
            &app.url("/"),
            "--passthrough",
        ]);
        assert_eq!(l.post("/", &[], ping.as_bytes()).status, status);
        l.wait_line(|s| s.contains(says));
        assert!(
            !l.stdout()
                .iter()
                .any(|s| s.contains("✓ Intercom ping received")),
            "not before the app has answered: {:#?}",
            l.stdout()
        );
    }
}

#[test]
fn skipping_the_capture_that_blocks_the_queue_lets_the_rest_through_and_keeps_it() {
    let app = App::start();
    app.answer(|r, _| {
        if r.body == b"{\"n\":\"a\"}" {
            Answer::status(500, "still broken")
        } else {
            Answer::status(200, "")
        }
    });
    // A retry a minute away: unskipped, `a` would hold `b` back for the whole test.
    let l = listen_forwarding(&app.url("/"), &["--retry-base-ms", "60000"]);
    let a = l.post("/", &[], b"{\"n\":\"a\"}").id();
    let b = l.post("/", &[], b"{\"n\":\"b\"}").id();
    delivery_record(&l, &a, "retrying");
    let said = succeeds(&run(&l.store, &["skip", &a]));
    assert!(
        said.contains("skipped 1 capture: `listen --forward-to` does not deliver it"),
        "{said}"
    );
    delivery_record(&l, &b, "delivered");
    l.wait_line(|s| {
        s.contains("\"type\":\"notice\"")
            && s.contains(&format!("{} is no longer waiting for delivery", &a[..12]))
    });
    let tried_a = app
        .received()
        .iter()
        .filter(|r| r.body == b"{\"n\":\"a\"}")
        .count();
    std::thread::sleep(Duration::from_millis(800));
    let got = app.received();
    assert_eq!(
        got.iter().filter(|r| r.body == b"{\"n\":\"a\"}").count(),
        tried_a,
        "a skipped capture is not attempted again"
    );
    assert_eq!(
        list_ids(&l.store, &["--status", "skipped"]),
        vec![a.clone()]
    );
    assert_eq!(list_ids(&l.store, &["--status", "delivered"]), vec![b]);
    // Still in the store, with its attempts and why it is out of the queue.
    let shown = ok(&run(&l.store, &["show", &a]));
    assert!(
        shown.contains("delivery skipped (skipped with `hookcli skip` at "),
        "{shown}"
    );
    assert!(shown.contains("500"), "{shown}");
    let doc: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &a, "--json"]))).unwrap();
    assert_eq!(doc["delivery"], "skipped", "{doc}");
    let note = doc["delivery_note"].as_str().unwrap_or_default();
    assert!(note.starts_with("skipped with `hookcli skip` at "), "{doc}");
    assert_eq!(stored(&l.store, &a).unwrap().0, b"{\"n\":\"a\"}");
}

#[test]
fn skip_pending_empties_the_queue_for_the_next_run_and_says_what_it_cannot_skip() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let down = format!("http://127.0.0.1:{}/", free_port());
    let mut l = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &down, "--retry-base-ms", "60000"],
        &[],
    );
    let a = l.post("/", &[], b"{\"n\":\"a\"}").id();
    let b = l.post("/", &[], b"{\"n\":\"b\"}").id();
    delivery_record(&l, &a, "retrying");
    l.interrupt();
    let said = succeeds(&run(&store, &["skip", "--pending"]));
    assert!(said.contains("skipped 2 captures"), "{said}");
    // Again: nothing left, which is no failure.
    let said = succeeds(&run(&store, &["skip", "--pending"]));
    assert!(
        said.contains("nothing to skip: no capture is waiting for delivery"),
        "{said}"
    );
    let said = succeeds(&run(&store, &["skip", &a]));
    assert!(said.contains(&format!("{a} was skipped already")), "{said}");
    // The next run has nothing to deliver from this one.
    let app = App::start();
    let mut l = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &app.url("/")],
        &[],
    );
    let c = l.post("/", &[], b"{\"n\":\"c\"}").id();
    delivery_record(&l, &c, "delivered");
    l.interrupt();
    let got: Vec<Vec<u8>> = app.received().into_iter().map(|r| r.body).collect();
    assert_eq!(got, vec![b"{\"n\":\"c\"}".to_vec()]);
    // What cannot be skipped is said, and fails the command.
    fails(
        &run(&store, &["skip", &c]),
        1,
        &format!("{c} is delivered already: nothing to skip"),
    );
    let mut l = listen_at(&store, home.path(), &["--json"], &[]);
    let d = l.post("/", &[], b"{\"n\":\"d\"}").id();
    l.interrupt();
    fails(
        &run(&store, &["skip", &d]),
        1,
        &format!("{d} has no delivery to skip: it was not captured by `listen --forward-to`"),
    );
    let out = run(&store, &["skip", &b, &c, &d]);
    fails(&out, 1, "2 captures could not be skipped, as said above");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{b} was skipped already")), "{err}");
    assert!(err.contains(&format!("{c} is delivered already")), "{err}");
    fails(&run(&store, &["skip"]), 2, "--pending");
    assert_eq!(count(&store), 4, "skip deletes nothing");
}

/// Assert that a command succeeded; what it said on stderr.
fn succeeds(out: &std::process::Output) -> String {
    ok(out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_passthrough_request_refused_for_its_signature_is_a_skipped_passthrough_delivery() {
    let app = App::start();
    let l = listen_forwarding(
        &app.url("/"),
        &["--passthrough", "--secret", SECRET, "--reject-invalid"],
    );
    let reply = l.post("/", &[("X-Hub-Signature", "sha1=00")], b"{}");
    assert_eq!(reply.status, 401);
    let id = reply.id();
    let skipped = delivery_record(&l, &id, "skipped");
    assert!(record_validator().is_valid(&skipped), "{skipped}");
    assert_eq!(skipped["kind"], "passthrough");
    assert_eq!(skipped["max_attempts"], 1);
    assert!(app.received().is_empty());
}

#[test]
fn skipping_a_capture_whose_app_hangs_abandons_the_attempt_and_the_queue_goes_on() {
    let app = App::start();
    app.answer(|r, _| match r.body.as_slice() {
        // A handler stopped at a breakpoint.
        b"{\"n\":\"a\"}" | b"{\"n\":\"d\"}" => Answer {
            delay: Duration::from_secs(30),
            ..Answer::status(200, "")
        },
        b"{\"n\":\"c\"}" => Answer::status(400, "no"),
        _ => Answer::status(200, ""),
    });
    let l = listen_forwarding(&app.url("/"), &["--forward-timeout", "0"]);
    let a = l.post("/", &[], b"{\"n\":\"a\"}").id();
    let b = l.post("/", &[], b"{\"n\":\"b\"}").id();
    app.wait_for(1, WAIT);
    let said = succeeds(&run(&l.store, &["skip", &a]));
    assert!(said.contains("skipped 1 capture"), "{said}");
    let abandoned = delivery_record(&l, &a, "skipped");
    assert!(record_validator().is_valid(&abandoned), "{abandoned}");
    assert_eq!(abandoned["attempt"], 1);
    assert_eq!(abandoned["error_kind"], "skipped");
    assert!(
        abandoned["note"]
            .as_str()
            .unwrap()
            .contains("which was abandoned before your app answered"),
        "{abandoned}"
    );
    delivery_record(&l, &b, "delivered");
    let shown: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &a, "--json"]))).unwrap();
    assert_eq!(shown["delivery"], "skipped");
    assert_eq!(shown["attempts"][0]["error_kind"], "skipped");
    // A failed one skipped: it is replay --status failed that leaves it out.
    let c = l.post("/", &[], b"{\"n\":\"c\"}").id();
    delivery_record(&l, &c, "failed");
    let said = succeeds(&run(&l.store, &["skip", &c]));
    assert!(
        said.contains("skipped 1 capture: `replay --status failed` leaves it out"),
        "{said}"
    );
    // Deleted during its attempt instead: abandoned as well, and said so.
    let d = l.post("/", &[], b"{\"n\":\"d\"}").id();
    let e = l.post("/", &[], b"{\"n\":\"e\"}").id();
    app.wait_for(4, WAIT);
    succeeds(&run(&l.store, &["delete", &d, "--yes"]));
    let abandoned = delivery_record(&l, &d, "skipped");
    assert_eq!(abandoned["error_kind"], "skipped");
    let note = abandoned["note"].as_str().unwrap();
    assert!(
        note.starts_with("deleted with `hookcli delete` during an attempt"),
        "{abandoned}"
    );
    assert!(
        abandoned["error"]
            .as_str()
            .unwrap()
            .ends_with(": deleted with `hookcli delete`"),
        "{abandoned}"
    );
    delivery_record(&l, &e, "delivered");
}

#[test]
fn a_passthrough_request_waiting_for_the_app_is_not_skipped() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(2500),
        ..Answer::status(200, "")
    });
    let l = listen_forwarding(&app.url("/"), &["--passthrough"]);
    let addr = l.addr.clone();
    let waiting = std::thread::spawn(move || send(&addr, "POST", "/", &[], b"{}"));
    app.wait_for(1, WAIT);
    let id = list_ids(&l.store, &[])[0].clone();
    fails(
        &run(&l.store, &["skip", &id]),
        1,
        "is a --passthrough request whose sender is waiting for your app's answer",
    );
    let said = succeeds(&run(&l.store, &["skip", "--pending"]));
    assert!(said.contains("nothing to skip"), "{said}");
    assert_eq!(waiting.join().unwrap().status, 200);
    delivery_record(&l, &id, "delivered");
}
