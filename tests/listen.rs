//! `hookcli listen` end to end: the built binary, real loopback HTTP, the real store.

use crate::common::app::{Answer, App};
use crate::common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

const VECTOR_BODY: &str = r#"{"type":"notification_event","app_id":"abc123def","data":{"type":"notification_event_data","item":{"type":"ping","message":"This is a ping notification test message."}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1671643827,"created_at":1671643827,"self":null}"#;

fn intercom_headers(sig: &str) -> Vec<(&str, &str)> {
    vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
        ("User-Agent", "intercom-parrot-service-client/1.0"),
        ("X-Hub-Signature", sig),
    ]
}

#[test]
fn head_validation_answers_200_empty_and_stores_nothing() {
    let l = listen(&["--json", "--secret", "s3cret"]);
    let reply = send(&l.addr, "HEAD", "/", &[], b"");
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    let line = l.wait_line(|l| l.contains("\"validation\""));
    assert!(line.contains("\"status\":200"));
    assert_eq!(count(&l.store), 0);
    // Human mode says what it was.
    let h = listen(&["--color", "never"]);
    send(&h.addr, "HEAD", "/any/path", &[], b"");
    h.wait_line(|l| l.contains("Intercom endpoint validation (HEAD) answered 200"));
}

#[test]
fn get_says_hookcli_is_listening_and_stores_nothing() {
    let l = listen(&["--json"]);
    let reply = send(
        &l.addr,
        "GET",
        "/",
        &[("X-Forwarded-For", "54.216.9.3")],
        b"",
    );
    assert_eq!(reply.status, 200);
    assert!(String::from_utf8_lossy(&reply.body).contains("hookcli is listening"));
    assert_eq!(count(&l.store), 0);
    // The terminal shows it, so a URL checked in a browser is seen to reach hookcli.
    let page: serde_json::Value =
        serde_json::from_str(&l.wait_line(|s| s.contains("\"page\""))).unwrap();
    assert!(record_validator().is_valid(&page), "{page}");
    assert_eq!(
        (&page["target"], &page["status"], &page["intercom_region"]),
        (
            &serde_json::json!("/"),
            &serde_json::json!(200),
            &serde_json::json!("EU")
        )
    );
    let mut h = listen(&["--color", "never"]);
    send(
        &h.addr,
        "GET",
        "/x?q=1",
        &[("X-Forwarded-For", "198.51.100.4")],
        b"",
    );
    let line = h.wait_line(|s| s.contains("GET /x"));
    assert!(
        line.contains("answered 200 with hookcli's page, not stored (Intercom sends HEAD and POST) · from 198.51.100.4 via 127.0.0.1"),
        "{line}"
    );
    // The closing summary counts it, so "received" adds up.
    let (_, lines, _) = h.interrupt();
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("Stopped. 1 received, 0 stored")
            && last.ends_with("0 validations, 1 page view."),
        "{last}"
    );
}

#[test]
fn port_zero_picks_a_free_port_and_the_first_line_names_it() {
    let l = listen(&["--json"]);
    let first: serde_json::Value = serde_json::from_str(&l.stdout()[0]).unwrap();
    assert_eq!(first["type"], "listening");
    let port = first["port"].as_u64().unwrap();
    assert_ne!(port, 0);
    assert_eq!(first["url"], format!("http://127.0.0.1:{port}/"));
    let h = listen(&["--color", "never"]);
    assert!(h.stdout()[0].starts_with("hookcli listening on http://127.0.0.1:"));
    assert!(!h.url.ends_with(":0/"));
}

#[test]
fn bodies_are_stored_byte_exact() {
    let l = listen(&["--json"]);
    let bodies: Vec<Vec<u8>> = vec![
        VECTOR_BODY.as_bytes().to_vec(),
        // Jackson-style pretty printing, as Intercom sent in 2016, with odd whitespace.
        b"{\n  \"type\" : \"notification_event\",\n\t\"topic\" : \"user.created\" ,\r\n  \"links\" : { }\n}  \n".to_vec(),
        // Raw UTF-8: emoji and curly quotes, not \u escapes.
        "{\"type\":\"notification_event\",\"topic\":\"conversation.user.replied\",\"data\":{\"item\":{\"body\":\"Caf\u{e9} \u{201c}ok\u{201d} \u{1f600}\"}}}".as_bytes().to_vec(),
        notification("contact.user.created", Some("notif_1"), r#"{"type":"contact","id":"1"}"#).into_bytes(),
    ];
    for body in bodies {
        let reply = l.post("/", &[("Content-Type", "application/json")], &body);
        assert_eq!(reply.status, 200);
        let json = reply.json();
        assert_eq!(json["ok"], true);
        let id = reply.id();
        let (stored_body, verdict, _) = stored(&l.store, &id).expect("stored before the 200");
        assert_eq!(stored_body, body);
        assert_eq!(verdict, "unchecked");
        let record = l.capture_record(&id);
        assert_eq!(
            record["body"]["text"].as_str().unwrap().as_bytes(),
            &body[..]
        );
    }
}

#[test]
fn put_patch_delete_are_captured_too() {
    let l = listen(&["--json"]);
    for method in ["PUT", "PATCH", "DELETE"] {
        let reply = send(&l.addr, method, "/x?y=1", &[], b"{}");
        assert_eq!(reply.status, 200, "{method}");
        let record = l.capture_record(&reply.id());
        assert_eq!(record["method"], method);
        assert_eq!(record["target"], "/x?y=1");
    }
}

#[test]
fn every_shared_fixture_is_stored_and_rendered() {
    let fixtures = fixtures();
    assert!(fixtures.len() > 100, "fixtures missing: {}", fixtures.len());
    let mut pretty = listen(&["--color", "always", "--full"]);
    let json = listen(&["--json"]);
    for (name, body) in &fixtures {
        let expected: serde_json::Value = serde_json::from_slice(body).expect(name);
        let mut id = String::new();
        for l in [&pretty, &json] {
            let reply = l.post("/", &[("Content-Type", "application/json")], body);
            assert_eq!(reply.status, 200, "{name}");
            id = reply.id();
            let (stored_body, _, _) = stored(&l.store, &id).unwrap();
            assert_eq!(&stored_body, body, "{name}");
        }
        let topic = expected["topic"].as_str().unwrap();
        let last = json.capture_record(&id);
        assert_eq!(last["intercom"]["topic"], topic, "{name}");
        assert_eq!(
            last["intercom"]["item_type"], expected["data"]["item"]["type"],
            "{name}"
        );
        assert_eq!(last["body_kind"], "json");
    }
    // Every capture printed in human mode, with its topic, and nothing went wrong.
    let out = pretty.stdout().join("\n");
    for (name, body) in &fixtures {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert!(
            out.contains(v["topic"].as_str().unwrap()),
            "{name} not rendered"
        );
    }
    assert!(!pretty.stderr().contains("panicked"), "{}", pretty.stderr());
    let (code, _, _) = pretty.interrupt();
    assert_eq!(code, 0);
}

#[test]
fn signatures_valid_invalid_missing_and_each_reason() {
    let l = listen(&["--json", "--secret", "secret"]);
    let body = VECTOR_BODY.as_bytes();
    // The test vector from INTERCOM.md, and one computed here.
    let vector = "sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0";
    assert_eq!(sign("secret", body), vector);
    let cases: Vec<(Option<String>, &str, Option<&str>)> = vec![
        (Some(vector.to_string()), "valid", None),
        (
            Some(vector.to_uppercase().replace("SHA1=", "sha1=")),
            "valid",
            None,
        ),
        (
            Some(sign("wrong secret", body)),
            "invalid",
            Some("mismatch"),
        ),
        (
            Some(vector[5..].to_string()),
            "invalid",
            Some("prefix_missing"),
        ),
        (
            Some("sha256=".to_string() + &"ab".repeat(32)),
            "invalid",
            Some("sha256_given"),
        ),
        (
            Some("sha1=nothex".to_string()),
            "invalid",
            Some("malformed_hex"),
        ),
        (None, "missing", None),
    ];
    for (header, verdict, reason) in cases {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(h) = &header {
            headers.push(("X-Hub-Signature", h));
        }
        let reply = l.post("/", &headers, body);
        assert_eq!(
            reply.status, 200,
            "without --reject-invalid every capture gets 200"
        );
        let id = reply.id();
        let (_, stored_verdict, stored_reason) = stored(&l.store, &id).unwrap();
        assert_eq!(stored_verdict, verdict, "{header:?}");
        assert_eq!(stored_reason.as_deref(), reason, "{header:?}");
        let record = l.capture_record(&id);
        assert_eq!(record["signature"]["verdict"], verdict);
        assert_eq!(record["signature"]["reason"].as_str(), reason);
    }
    // The secret itself is never printed or stored.
    assert!(!l.stdout().join("\n").contains("\"secret\""));
    let db = std::fs::read(l.store.join("hookcli.db")).unwrap();
    assert!(!db
        .windows(b"wrong secret".len())
        .any(|w| w == b"wrong secret"));
}

#[test]
fn a_signature_header_sent_twice_is_invalid_and_verify_says_why() {
    let l = listen(&["--json", "--secret", "secret", "--reject-invalid"]);
    let sig = sign("secret", VECTOR_BODY.as_bytes());
    // Each value verifies on its own, but apps differ on which one they read.
    let twice = [("X-Hub-Signature", sig.as_str()), ("x-hub-signature", &sig)];
    let reply = l.post("/", &twice, VECTOR_BODY.as_bytes());
    assert_eq!(reply.status, 401, "--reject-invalid refuses it");
    let id = reply.id();
    let (_, verdict, reason) = stored(&l.store, &id).unwrap();
    assert_eq!(
        (verdict.as_str(), reason.as_deref()),
        ("invalid", Some("repeated"))
    );
    let record = l.capture_record(&id);
    assert_eq!(record["signature"]["reason"], "repeated");
    assert!(
        record["signature"]["detail"]
            .as_str()
            .unwrap()
            .contains("came more than once"),
        "{record}"
    );
    // Once is still fine.
    assert_eq!(l.post("/", &twice[..1], VECTOR_BODY.as_bytes()).status, 200);

    let out = run(&l.store, &["verify", &id, "--secret", "secret"]);
    fails(&out, 1, "the signature is not valid (repeated)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("came 2 times") && said.contains("the first one verifies"),
        "{said}"
    );
    // Each value can be checked on its own.
    ok(&run(
        &l.store,
        &["verify", &id, "--secret", "secret", "--signature", &sig],
    ));
}

#[test]
fn human_output_shows_verdicts_and_ping_setup() {
    let l = listen(&["--color", "never", "--secret", "secret"]);
    l.post(
        "/",
        &intercom_headers("sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0"),
        VECTOR_BODY.as_bytes(),
    );
    let line = l.wait_line(|s| s.contains("POST") && s.contains("ping"));
    assert!(
        line.contains("✓ sig") && line.contains("ws abc123def") && line.contains("330 B"),
        "{line}"
    );
    l.wait_line(|s| {
        s.contains("✓ Intercom ping received: this endpoint is set up correctly, and its signature verifies with --secret")
    });
    // A ping that hookcli acknowledged but whose signature is wrong or missing is no
    // successful set-up: the secret is not the app's, or Intercom did not send it.
    l.post("/", &intercom_headers("sha256=00"), VECTOR_BODY.as_bytes());
    l.wait_line(|s| {
        s.contains("✗ Intercom ping received, but its signature does not verify with --secret")
    });
    l.wait_line(|s| s.contains("✗ invalid signature") && s.contains("HMAC-SHA1"));
    l.post(
        "/",
        &[("Content-Type", "application/json")],
        VECTOR_BODY.as_bytes(),
    );
    l.wait_line(|s| s.contains("✗ Intercom ping received, but without an X-Hub-Signature"));
    assert_eq!(
        l.stdout()
            .iter()
            .filter(|s| s.contains("is set up correctly"))
            .count(),
        1,
        "{:#?}",
        l.stdout()
    );
    // Without a secret nothing is checked, and it says so.
    let open = listen(&["--color", "never"]);
    open.post("/", &[], VECTOR_BODY.as_bytes());
    open.wait_line(|s| s.contains("✓ Intercom ping received: this endpoint is set up correctly (pass --secret to check signatures too)"));
    // A strict listener refuses a badly signed ping: that is no successful set-up.
    let strict = listen(&["--color", "never", "--secret", "secret", "--reject-invalid"]);
    let reply = strict.post("/", &intercom_headers("sha256=00"), VECTOR_BODY.as_bytes());
    assert_eq!(reply.status, 401);
    strict.wait_line(|s| s.contains("✗ Intercom ping answered 401"));
    strict.post("/", &[], b"{}");
    strict.wait_line(|s| s.contains("POST") && s.contains("(not an Intercom notification)"));
    assert!(!strict
        .stdout()
        .iter()
        .any(|s| s.contains("is set up correctly")));
}

/// An installation health check and its X-Body-Signature under "secret" (Python hmac).
const HEALTH_BODY: &str = r#"{"workspace_id":"abc123def"}"#;
const HEALTH_SIG: &str = "7bb3928a5ef8d02959f95559a393f1c3667b68a20984530aac44f5391bbae8f6";

#[test]
fn a_health_check_is_checked_by_its_x_body_signature_and_answered_state_ok() {
    let l = listen(&["--json", "--secret", "secret", "--reject-invalid"]);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Body-Signature", HEALTH_SIG),
    ];
    let reply = l.post("/health", &headers, HEALTH_BODY.as_bytes());
    assert_eq!(
        reply.status, 200,
        "a valid health check is no bad signature"
    );
    let answer = reply.json();
    assert_eq!(
        (&answer["ok"], &answer["state"]),
        (&true.into(), &"OK".into())
    );
    let id = reply.id();
    let record = l.capture_record(&id);
    assert_eq!(record["signature"]["verdict"], "valid", "{record}");
    assert_eq!(
        record["signature"]["header"], "X-Body-Signature",
        "{record}"
    );
    // An unsigned one lacks its X-Body-Signature, and is told so.
    let unsigned = l.post("/health", &[], HEALTH_BODY.as_bytes());
    assert_eq!(unsigned.status, 401);
    assert_eq!(
        unsigned.json()["error"],
        "invalid signature: no X-Body-Signature header"
    );
    let out = run(&l.store, &["verify", &unsigned.id(), "--secret", "secret"]);
    fails(&out, 1, "(header_missing)");
    assert!(String::from_utf8_lossy(&out.stdout).contains("there is no X-Body-Signature"));
    // A wrong one is refused like any bad signature, and stored.
    let wrong = [("X-Body-Signature", &HEALTH_SIG.replace('7', "8")[..])];
    let refused = l.post("/health", &wrong, HEALTH_BODY.as_bytes());
    assert_eq!(refused.status, 401);
    let record = l.capture_record(&refused.id());
    assert_eq!(record["signature"]["reason"], "mismatch", "{record}");
    // show, verify and replay know the header it was signed with.
    let shown = ok(&run(&l.store, &["show", &id, "--color", "never"]));
    assert!(
        shown.contains("✓ valid (X-Body-Signature, HMAC-SHA256)")
            && shown.contains("Intercom installation health check, workspace abc123def"),
        "{shown}"
    );
    let verified = ok(&run(&l.store, &["verify", &id, "--secret", "secret"]));
    assert!(
        verified.contains("✓") && verified.contains("HMAC-SHA256"),
        "{verified}"
    );
    // A notification is signed with X-Hub-Signature whatever a --signature looks like: an
    // app's SHA-256 of it is diagnosed, not called valid.
    let ping = l.post(
        "/",
        &[("X-Hub-Signature", &sign("secret", VECTOR_BODY.as_bytes()))],
        VECTOR_BODY.as_bytes(),
    );
    let sha256 = hmac_sha256_hex("secret", VECTOR_BODY.as_bytes());
    let args = [
        "verify",
        &ping.id(),
        "--secret",
        "secret",
        "--signature",
        &sha256,
    ];
    let out = run(&l.store, &args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let file = l.store.parent().unwrap().join("ping.json");
    std::fs::write(&file, VECTOR_BODY).unwrap();
    let body_args = [
        "verify",
        "--body",
        file.to_str().unwrap(),
        "--secret",
        "secret",
        "--signature",
        &sha256,
    ];
    assert_eq!(run(&l.store, &body_args).status.code(), Some(1));
    let app = crate::common::app::App::start();
    let edited = ["replay", &id, "--to", &app.url("/"), "--secret", "secret"];
    ok(&run(
        &l.store,
        &[&edited[..], &["--set", "workspace_id=zz"]].concat(),
    ));
    let got = app.wait_for(1, std::time::Duration::from_secs(5));
    let body = br#"{"workspace_id":"zz"}"#;
    assert_eq!(got[0].body, body);
    assert_eq!(
        got[0].header("x-body-signature"),
        Some(hmac_sha256_hex("secret", body))
    );
    assert_eq!(
        got[0].header("x-hub-signature"),
        None,
        "a health check has no X-Hub-Signature"
    );
    // A capture with both headers re-signed: neither is left stale.
    let both = l.post(
        "/health",
        &[
            ("X-Hub-Signature", &sign("secret", HEALTH_BODY.as_bytes())),
            ("X-Body-Signature", HEALTH_SIG),
        ],
        HEALTH_BODY.as_bytes(),
    );
    ok(&run(
        &l.store,
        &[
            "replay",
            &both.id(),
            "--to",
            &app.url("/"),
            "--secret",
            "new",
        ],
    ));
    let got = app.wait_for(2, std::time::Duration::from_secs(5));
    assert_eq!(
        got[1].header("x-hub-signature"),
        Some(sign("new", HEALTH_BODY.as_bytes()))
    );
    assert_eq!(
        got[1].header("x-body-signature"),
        Some(hmac_sha256_hex("new", HEALTH_BODY.as_bytes()))
    );
    // A notification is checked by X-Hub-Signature only: a ping signed with
    // X-Body-Signature alone has no signature Intercom would send.
    let body_signed_ping = [(
        "X-Body-Signature",
        hmac_sha256_hex("secret", VECTOR_BODY.as_bytes()),
    )];
    let body_signed_ping: Vec<(&str, &str)> = body_signed_ping
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let odd = l.post("/", &body_signed_ping, VECTOR_BODY.as_bytes());
    assert_eq!(odd.status, 401, "--reject-invalid: no X-Hub-Signature");
    assert_eq!(
        l.capture_record(&odd.id())["signature"]["verdict"],
        "missing"
    );
    // The human output names it.
    let human = listen(&["--color", "never", "--secret", "secret"]);
    human.post("/", &headers, HEALTH_BODY.as_bytes());
    human.wait_line(|s| s.contains("Intercom health check ws abc123def") && s.contains("✓ sig"));
    human.wait_line(|s| s.contains("checked X-Body-Signature (HMAC-SHA256)"));
}

#[test]
fn reject_invalid_answers_401_but_still_stores() {
    let l = listen(&["--json", "--secret", "secret", "--reject-invalid"]);
    let body = notification(
        "ticket.created",
        Some("notif_a"),
        r#"{"type":"ticket","id":"9"}"#,
    );
    let good = l.post(
        "/",
        &intercom_headers(&sign("secret", body.as_bytes())),
        body.as_bytes(),
    );
    assert_eq!(good.status, 200);
    for sig in [Some(sign("nope", body.as_bytes())), None] {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(s) = &sig {
            headers.push(("X-Hub-Signature", s));
        }
        let bad = l.post("/", &headers, body.as_bytes());
        assert_eq!(bad.status, 401);
        let json = bad.json();
        assert_eq!(json["ok"], false);
        let id = json["id"].as_str().unwrap();
        let (stored_body, verdict, _) = stored(&l.store, id).unwrap();
        assert_eq!(stored_body, body.as_bytes());
        assert_ne!(verdict, "valid");
        assert_eq!(l.capture_record(id)["status"], 401);
        // Kept in the store: list and show say what the sender got.
        let shown = ok(&run(&l.store, &["show", id, "--color", "never"]));
        assert!(shown.contains("401 (--reject-invalid"), "{shown}");
        let listed = ok(&run(&l.store, &["list", "--color", "never"]));
        let row = listed.lines().find(|r| r.starts_with(&id[..12])).unwrap();
        assert!(row.contains("answered 401"), "{row}");
        let record: serde_json::Value =
            serde_json::from_str(&ok(&run(&l.store, &["show", id, "--json"]))).unwrap();
        assert_eq!(record["status"], 401);
    }
    let good_row: serde_json::Value =
        serde_json::from_str(&ok(&run(&l.store, &["show", &good.id(), "--json"]))).unwrap();
    assert_eq!(good_row["status"], 200);
}

#[test]
fn reject_invalid_without_a_secret_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = hookcli(home.path())
        .args(["listen", "--reject-invalid", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--reject-invalid needs the client secret")
    );
}

#[test]
fn oversized_body_gets_413_is_not_stored_and_the_server_keeps_serving() {
    let l = listen(&["--json", "--max-body", "1KiB"]);
    // Declared too large: refused before reading.
    let reply = l.post("/", &[], &vec![b'x'; 4096]);
    assert_eq!(reply.status, 413);
    assert!(String::from_utf8_lossy(&reply.body).contains("--max-body"));
    // Chunked, no length declared: refused while reading.
    let mut raw = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        l.addr
    )
    .into_bytes();
    for _ in 0..4 {
        raw.extend_from_slice(b"200\r\n");
        raw.extend_from_slice(&[b'y'; 512]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw_request(&l.addr, &raw).status, 413);
    l.wait_line(|s| s.contains("\"refused\"") && s.contains("413"));
    assert_eq!(count(&l.store), 0);
    // Exactly at the limit is fine.
    assert_eq!(l.post("/", &[], &vec![b'z'; 1024]).status, 200);
    assert_eq!(count(&l.store), 1);
    let h = listen(&["--color", "never", "--max-body", "10"]);
    h.post("/", &[], b"01234567890");
    h.wait_line(|s| s.contains("answered 413, not stored"));
}

#[test]
fn overlong_headers_get_431_and_malformed_requests_400() {
    let l = listen(&["--json"]);
    let huge = "a".repeat(70 * 1024);
    assert_eq!(l.post("/", &[("X-Huge", &huge)], b"{}").status, 431);
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(l.post("/", &many, b"{}").status, 431);
    let reply = raw_request(&l.addr, b"THIS IS NOT HTTP\r\n\r\n");
    assert_eq!(reply.status, 400);
    let reply = raw_request(
        &l.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    );
    assert_eq!(reply.status, 400);
    assert_eq!(count(&l.store), 0);
    assert_eq!(l.post("/", &[], b"{}").status, 200, "still serving");
    // Each refusal is shown, also those hyper answers before hookcli sees a request (once
    // their connection has ended, which may be just after the client read its answer).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let refused: Vec<serde_json::Value> = l
            .records()
            .into_iter()
            .filter(|r| r["type"] == "refused")
            .collect();
        if refused.len() >= 4 || std::time::Instant::now() > deadline {
            break refused;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Each is reported when its connection ends, which need not be in the order sent.
    let mut statuses: Vec<u64> = refused
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [400, 400, 431, 431], "{refused:#?}");
    let of = |status: u64| refused.iter().filter(move |r| r["status"] == status);
    // Too many headers is refused by hyper, yet it is not malformed: the reason says so.
    let reasons: Vec<&str> = of(431).map(|r| r["reason"].as_str().unwrap()).collect();
    assert!(
        reasons.contains(&"request head over 64 KiB or more than 100 headers"),
        "{reasons:?}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("malformed")),
        "{reasons:?}"
    );
    assert!(of(400).all(|r| r["reason"]
        .as_str()
        .unwrap()
        .starts_with("malformed HTTP request")));
    // A request target past hyper's own limit is answered 414, and reported as such.
    let long = format!(
        "POST /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    assert_eq!(raw_request(&l.addr, long.as_bytes()).status, 414);
    let line = l.wait_line(|s| s.contains("\"status\":414"));
    assert!(line.contains("request target too long"), "{line}");
    // hyper answers an HTTP/2 preface with nothing: a notice says so, with no status.
    let mut h2 = TcpStream::connect(&l.addr).unwrap();
    h2.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut h2, &mut got);
    assert!(got.is_empty(), "{got:?}");
    l.wait_line(|s| s.contains("\"type\":\"notice\"") && s.contains("HTTP/2 without TLS (h2c)"));
    let h = listen(&["--color", "never"]);
    raw_request(&h.addr, b"THIS IS NOT HTTP\r\n\r\n");
    h.wait_line(|s| {
        s.contains("(request from 127.0.0.1:")
            && s.contains("answered 400, not stored: malformed HTTP request")
    });
}

#[test]
fn non_json_binary_and_empty_bodies_are_stored_and_flagged() {
    let l = listen(&["--json"]);
    let h = listen(&["--color", "never"]);
    let cases: Vec<(&[u8], &str)> = vec![
        (b"hello=world&a=b", "text"),
        (b"\x00\xff\xfe\x1b[2Jbinary\x9b", "binary"),
        (b"", "empty"),
        (b"{\"truncated\": ", "text"),
        // JSON in shape, but not UTF-8: serde alone would call it JSON.
        (b"{\"a\":\"ok\",\"b\":\"\xc3\x28\"}", "binary"),
    ];
    for (body, kind) in cases {
        let reply = l.post("/", &[("Content-Type", "application/octet-stream")], body);
        assert_eq!(reply.status, 200);
        let id = reply.id();
        assert_eq!(stored(&l.store, &id).unwrap().0, body);
        let record = l.capture_record(&id);
        assert_eq!(record["body_kind"], kind);
        assert_eq!(record["intercom"], serde_json::Value::Null);
        if kind == "binary" {
            use base64::Engine;
            let b64 = record["body"]["bytes"].as_str().unwrap();
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
                body
            );
        }
        assert_eq!(h.post("/", &[], body).status, 200);
    }
    h.wait_line(|s| s.contains("[binary]"));
    h.wait_line(|s| s.starts_with("    00000000  00 ff fe 1b"));
    h.wait_line(|s| s.contains("(empty body)"));
    assert!(h
        .stdout()
        .iter()
        .all(|s| !s.contains('\x1b') && !s.contains('\u{9b}')));
}

#[test]
fn a_deeply_nested_body_is_shown_without_eating_memory() {
    // 200 KB nested 100,000 deep: indenting every line by its depth took 12 GB.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let l = listen(&["--color", "never"]);
    let reply = l.post("/", &[], deep.as_bytes());
    assert_eq!(reply.status, 200);
    l.wait_line(|s| s.contains("199959 more lines — hookcli show"));
    assert_eq!(l.post("/", &[], b"{}").status, 200, "still serving");
    let peak_kib = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let peak = peak_kib(l.pid());
    assert!(peak < 200 * 1024, "listen peaked at {peak} KiB");
    let shown = run(&l.store, &["show", &reply.id(), "--color", "never"]);
    let text = ok(&shown);
    assert!(text.lines().count() > 199_999, "the whole body is shown");
}

#[test]
fn terminal_escapes_in_payloads_come_out_escaped() {
    let l = listen(&["--color", "never", "--secret", "s"]);
    // Inside a JSON string (escaped as JSON allows) and raw in a non-JSON body.
    let json_attack = notification(
        "conversation.user.replied",
        Some("notif_x"),
        r#"{"type":"conversation","id":"1","body":"\u001b[2J\u001b]52;c;cm0gLXJmIH4=\u0007\u202egnp.exe"}"#,
    );
    l.post("/", &[], json_attack.as_bytes());
    l.post(
        "/p",
        &[],
        b"raw \x1b]52;c;cm0gLXJmIH4=\x07 and \x1b[31mred\r overwritten",
    );
    l.post(
        "/",
        &[],
        "{\"topic\":\"a\u{202e}b\u{9b}c\",\"type\":\"notification_event\"}".as_bytes(),
    );
    // Control bytes in a header value or the path are malformed HTTP: 400, never shown raw.
    assert_eq!(
        l.post("/", &[("X-Hub-Signature", "sha1=\x1b[31mred")], b"{}")
            .status,
        400
    );
    assert_eq!(l.post("/p\x1b[2J", &[], b"{}").status, 400);
    l.wait_line(|s| s.contains("\\x1b]52;c;cm0gLXJmIH4=\\x07 and \\x1b[31mred\\r overwritten"));
    // Shown as sent: the JSON escapes stay escapes.
    l.wait_line(|s| s.contains("\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u202egnp.exe"));
    l.wait_line(|s| s.contains("a\\u{202e}b\\u{009b}c"));
    // An emoji sequence's joiner is how the emoji is written; a joiner between letters hides.
    l.post(
        "/",
        &[],
        "{\"type\":\"x\",\"body\":\"👩\u{200d}💻 shipped, a\u{200d}b\"}".as_bytes(),
    );
    l.wait_line(|s| s.contains("\"👩\u{200d}💻 shipped, a\\u{200d}b\""));
    let out = l.stdout().join("\n");
    for bad in ['\x1b', '\x07', '\u{202e}', '\u{9b}', '\r'] {
        assert!(!out.contains(bad), "{bad:?} reached the terminal");
    }
}

#[test]
fn json_lines_validate_against_the_documented_schema() {
    let validator = record_validator();
    let mut l = listen(&["--json", "--secret", "secret", "--max-body", "100KiB"]);
    send(
        &l.addr,
        "HEAD",
        "/",
        &[("X-Forwarded-For", "54.216.9.3")],
        b"",
    );
    l.post(
        "/",
        &intercom_headers(&sign("secret", VECTOR_BODY.as_bytes())),
        VECTOR_BODY.as_bytes(),
    );
    l.post("/", &[("X-Hub-Signature", "sha256=1")], b"\xff\xfe");
    l.post("/", &[("X-Forwarded-For", "54.216.9.3")], b"");
    send(&l.addr, "GET", "/", &[], b"");
    l.post("/", &[], &vec![b'x'; 200 * 1024]);
    for (_, body) in fixtures().iter().take(10) {
        l.post("/", &[], body);
    }
    l.wait_line(|s| s.contains("\"refused\""));
    let (code, lines, _) = l.interrupt();
    assert_eq!(code, 0);
    let mut types = std::collections::BTreeSet::new();
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).expect(line);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
        types.insert(value["type"].as_str().unwrap().to_string());
    }
    let expected = [
        "capture",
        "listening",
        "page",
        "refused",
        "summary",
        "validation",
    ];
    assert_eq!(types.into_iter().collect::<Vec<_>>(), expected);
    let summary: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["stored"], 13);
    // Unsigned counts as invalid when a secret is set: 10 fixtures, the XFF post, sha256.
    assert_eq!(summary["invalid_signatures"], 12);
    assert_eq!(summary["refused"], 1);
    assert_eq!(summary["store_errors"], 0);
    assert_eq!(summary["validations"], 1);
    assert_eq!(summary["pages"], 1);
}

#[test]
fn redeliveries_workspace_and_intercom_addresses_are_recognised() {
    let l = listen(&["--json"]);
    let body = notification(
        "conversation.admin.replied",
        Some("notif_dup"),
        r#"{"type":"conversation","id":"77"}"#,
    );
    let first = l.post("/", &[], body.as_bytes()).id();
    let second = l
        .post(
            "/",
            &[("X-Forwarded-For", "10.1.1.1, 54.216.9.3")],
            body.as_bytes(),
        )
        .id();
    let a = l.capture_record(&first);
    let b = l.capture_record(&second);
    assert_eq!(a["redelivery"], false);
    assert_eq!(b["redelivery"], true);
    assert_eq!(b["intercom"]["app_id"], "a86dr8yl");
    assert_eq!(b["intercom"]["notification_id"], "notif_dup");
    assert_eq!(b["intercom"]["item_id"], "77");
    assert_eq!(b["client_addr"], "54.216.9.3");
    assert_eq!(b["intercom_region"], "EU");
    // A sender cannot pass for Intercom by claiming its address ahead of the tunnel's entry.
    let spoofed = l
        .post("/", &[("X-Forwarded-For", "54.216.9.3, 10.1.1.1")], b"{}")
        .id();
    let spoofed = l.capture_record(&spoofed);
    assert_eq!(spoofed["client_addr"], "10.1.1.1");
    assert_eq!(spoofed["intercom_region"], serde_json::Value::Null);
    assert_eq!(a["intercom_region"], serde_json::Value::Null);
    let h = listen(&["--color", "never"]);
    h.post("/", &[], body.as_bytes());
    h.post(
        "/",
        &[("X-Forwarded-For", "34.231.68.152")],
        body.as_bytes(),
    );
    h.wait_line(|s| s.contains("↻ redelivery: this notification id was captured before (Intercom sends a notification again after a timeout of 5 s, a 4xx or a 5xx, except 410 and 429)"));
    h.wait_line(|s| {
        s.contains("from 34.231.68.152 via 127.0.0.1") && s.contains("Intercom US outbound address")
    });
    // A tunnel may report the client with its port; HEAD validations say where they came from.
    let port = l
        .post(
            "/",
            &[("Forwarded", "for=\"54.216.9.3:4711\";proto=https")],
            body.as_bytes(),
        )
        .id();
    assert_eq!(l.capture_record(&port)["intercom_region"], "EU");
    // Recorded as the address alone however it was written.
    assert_eq!(l.capture_record(&port)["client_addr"], "54.216.9.3");
    let mapped = l
        .post(
            "/",
            &[("X-Forwarded-For", "[::ffff:34.231.68.152]")],
            body.as_bytes(),
        )
        .id();
    let mapped = l.capture_record(&mapped);
    assert_eq!(mapped["client_addr"], "::ffff:34.231.68.152");
    assert_eq!(mapped["intercom_region"], "US");
    send(
        &l.addr,
        "HEAD",
        "/",
        &[("X-Forwarded-For", "3.104.68.152")],
        b"",
    );
    let head = l.wait_line(|s| s.contains("\"validation\""));
    let head: serde_json::Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["client_addr"], "3.104.68.152");
    assert_eq!(head["intercom_region"], "AU");
    send(
        &h.addr,
        "HEAD",
        "/",
        &[("X-Forwarded-For", "34.231.68.152")],
        b"",
    );
    h.wait_line(|s| {
        s.contains("validation (HEAD) answered 200 · from 34.231.68.152 via 127.0.0.1")
            && s.contains("Intercom US outbound address")
    });
}

#[test]
fn intercom_ip_feeds_replace_the_documented_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let us = dir.path().join("us.json");
    let eu = dir.path().join("eu.json");
    std::fs::write(
        &us,
        r#"{"ip_ranges":[
            {"range":"198.51.100.0/24","region":"US","service":"INTERCOM-OUTBOUND"},
            {"range":"203.0.113.0/24","region":"US","service":"SOMETHING-ELSE"}
        ],"date":"2025-07-25"}"#,
    )
    .unwrap();
    std::fs::write(
        &eu,
        r#"{"ip_ranges":[{"range":"2001:db8::/32","region":"EU","service":"INTERCOM-OUTBOUND"}]}"#,
    )
    .unwrap();
    let (us, eu) = (us.to_str().unwrap(), eu.to_str().unwrap());
    let l = listen(&["--json", "--intercom-ips", us, "--intercom-ips", eu]);
    let listening = &l.records()[0];
    assert!(record_validator().is_valid(listening), "{listening}");
    assert_eq!(
        listening["intercom_ips"],
        serde_json::json!([
            {"path": us, "date": "2025-07-25", "ranges": 1},
            {"path": eu, "date": null, "ranges": 1},
        ])
    );
    let region = |xff: &str| {
        let id = l.post("/", &[("X-Forwarded-For", xff)], b"{}").id();
        (id.clone(), l.capture_record(&id)["intercom_region"].clone())
    };
    let (in_range, r) = region("198.51.100.7");
    assert_eq!(r, "US");
    assert_eq!(region("2001:db8:5::1").1, "EU");
    assert_eq!(
        region("203.0.113.5").1,
        serde_json::Value::Null,
        "not an outbound range"
    );
    assert_eq!(
        region("34.231.68.152").1,
        serde_json::Value::Null,
        "the feeds replace the documented list"
    );
    // show marks it with the same feeds, from the flag or the environment; without them, not.
    let mark = "(Intercom US outbound address)";
    let shown = ok(&run(&l.store, &["show", &in_range, "--intercom-ips", us]));
    assert!(shown.contains(mark), "{shown}");
    let shown = ok(&run_env(
        &l.store,
        &["show", &in_range],
        &[("HOOKCLI_INTERCOM_IPS", &format!("{eu},{us}"))],
    ));
    assert!(shown.contains(mark), "{shown}");
    assert!(!ok(&run(&l.store, &["show", &in_range])).contains(mark));
    // Human mode says which feeds it marks by.
    let h = listen(&["--color", "never", "--intercom-ips", us]);
    h.wait_line(|s| {
        s.contains("intercom:   marking requests from the outbound ranges in")
            && s.contains("us.json (1 range, dated 2025-07-25)")
    });
    // A file that is no feed stops listen before it binds, and show, with what to do.
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<html>Not found</html>").unwrap();
    let missing = dir.path().join("missing.json");
    for (file, says) in [
        (&html, "it is not JSON ("),
        (&missing, "there is no such file; check the path"),
    ] {
        let file = file.to_str().unwrap();
        let mut child = hookcli(dir.path())
            .args([
                "--store",
                l.store.to_str().unwrap(),
                "listen",
                "--port",
                "0",
            ])
            .args(["--intercom-ips", file])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert_eq!(wait_timeout(&mut child, Duration::from_secs(10)), 1);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        let sentence = format!("hookcli: error: cannot use the Intercom IP feed {file}: {says}");
        assert!(err.starts_with(&sentence), "{err}");
        fails(
            &run(&l.store, &["show", &in_range, "--intercom-ips", file]),
            1,
            &sentence,
        );
        // Views that mark nobody's address do not read it.
        ok(&run(
            &l.store,
            &["show", &in_range, "--raw", "--intercom-ips", file],
        ));
    }
}

#[test]
fn a_number_past_f64_in_one_field_leaves_the_notification_recognised() {
    let l = listen(&["--json"]);
    let body = created_at(Some("notif_17"), "1e400");
    let id = l.post("/", &[], body.as_bytes()).id();
    let record = l.capture_record(&id);
    assert_eq!(record["intercom"]["topic"], "conversation.user.replied");
    assert_eq!(record["intercom"]["notification_id"], "notif_17");
    assert_eq!(record["intercom"]["created_at"], serde_json::Value::Null);
    assert_eq!(stored(&l.store, &id).unwrap().0, body.as_bytes());
    let listed = ok(&run(
        &l.store,
        &["list", "--topic", "conversation.*", "--json"],
    ));
    assert!(listed.contains(&id), "{listed}");
}

#[test]
fn a_huge_reported_client_is_cut_on_the_line_and_kept_whole() {
    let l = listen(&["--color", "never"]);
    let huge = "x".repeat(20_000);
    let id = l.post("/", &[("True-Client-IP", &huge)], b"{}").id();
    let line = l.wait_line(|s| s.contains(" via 127.0.0.1"));
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
    assert!(
        line.contains(&format!("from {}… via 127.0.0.1", "x".repeat(63))),
        "{line}"
    );
    let shown = ok(&run(&l.store, &["show", &id]));
    assert!(shown.contains(&huge), "show prints it whole");
}

#[test]
fn headers_are_stored_in_order_with_repeats() {
    let l = listen(&["--json"]);
    let headers = [
        ("X-First", "1"),
        ("X-Repeat", "a"),
        ("X-Other", "o"),
        ("x-REPEAT", "b"),
        ("x-last", "z"),
    ];
    let pairs = |record: &serde_json::Value| -> Vec<String> {
        record["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                format!(
                    "{}={}",
                    h[0].as_str().unwrap(),
                    h[1]["text"].as_str().unwrap()
                )
            })
            .collect()
    };
    let stored = pairs(&l.capture_record(&l.post("/", &headers, b"{}").id()));
    // Exactly as sent: names in their case, repeats where they came, not grouped by name.
    let host = format!("Host={}", l.addr);
    let mut expected = vec![host.as_str()];
    expected.extend([
        "X-First=1",
        "X-Repeat=a",
        "X-Other=o",
        "x-REPEAT=b",
        "x-last=z",
    ]);
    expected.extend(["Content-Length=2", "Connection=close"]);
    assert_eq!(stored, expected);
    // A second request on a kept-alive connection, after a body, is followed as well.
    let mut stream = TcpStream::connect(&l.addr).unwrap();
    stream
        .write_all(b"POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcPOST /2 HTTP/1.1\r\nHost: h\r\nB: 1\r\nA: 2\r\nb: 3\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    std::io::Read::read_to_string(&mut stream, &mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200").count(), 2, "{all}");
    let second = l.wait_line(|s| s.contains("\"target\":\"/2\""));
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    let names: Vec<&str> = second["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Host", "B", "A", "b", "Content-Length", "Connection"]
    );
    // Framing headers the HTTP parser folds or drops are stored as sent, too: a length sent
    // twice, and a length beside Transfer-Encoding (what request smuggling looks like).
    let names_of = |target: &str| -> Vec<String> {
        let line = l.wait_line(|s| s.contains(&format!("\"target\":\"{target}\"")));
        pairs(&serde_json::from_str(&line).unwrap())
    };
    let twice = raw_request(&l.addr, b"POST /twice HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nContent-Length: 3\r\nX-B: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    assert_eq!(twice.status, 200);
    assert_eq!(
        names_of("/twice"),
        [
            "Host=x",
            "X-A=1",
            "Content-Length=3",
            "X-B=2",
            "Content-Length=3",
            "Connection=close"
        ]
    );
    let both = raw_request(&l.addr, b"POST /both HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(both.status, 200);
    assert_eq!(
        names_of("/both"),
        [
            "Host=x",
            "Content-Length=3",
            "X-A=1",
            "Transfer-Encoding=chunked",
            "Connection=close"
        ]
    );
}

#[test]
fn requests_outside_the_prefix_get_404() {
    let l = listen(&["--json", "--path", "/webhooks/intercom/"]);
    assert!(l.url.ends_with("/webhooks/intercom"));
    assert_eq!(l.post("/elsewhere", &[], b"{}").status, 404);
    assert_eq!(l.post("/webhooks/intercomx", &[], b"{}").status, 404);
    assert_eq!(count(&l.store), 0);
    assert_eq!(l.post("/webhooks/intercom", &[], b"{}").status, 200);
    assert_eq!(l.post("/webhooks/intercom/sub?x=1", &[], b"{}").status, 200);
    assert_eq!(
        send(&l.addr, "HEAD", "/webhooks/intercom", &[], b"").status,
        200
    );
    assert_eq!(count(&l.store), 2);
    // A prefix a URL cannot hold raw is encoded, and matched however a client encodes it.
    let connect = raw_request(
        &l.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        connect.status, 405,
        "CONNECT under a --path is refused as CONNECT"
    );
    let encoded = listen(&["--json", "--path", "/café"]);
    assert!(encoded.url.ends_with("/caf%C3%A9"), "{}", encoded.url);
    assert_eq!(encoded.post("/caf%C3%A9", &[], b"{}").status, 200);
    assert_eq!(encoded.post("/caf%c3%a9/sub", &[], b"{}").status, 200);
    assert_eq!(encoded.post("/cafe", &[], b"{}").status, 404);
    let home = tempfile::tempdir().unwrap();
    let out = run(&home.path().join("s"), &["listen", "--path", "/hooks?x=1"]);
    fails(
        &out,
        2,
        "--path takes a path only, without a query or fragment",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: hookcli listen"));
}

#[test]
fn colour_follows_color_flag_and_no_color() {
    let body = notification("ticket.created", Some("n"), r#"{"type":"ticket","id":"1"}"#);
    let always = listen(&["--color", "always"]);
    always.post("/", &[], body.as_bytes());
    always.wait_line(|s| s.contains("ticket.created"));
    assert!(always.stdout().join("").contains("\x1b["));
    // auto on a pipe, and NO_COLOR even with a forced TERM: no escapes.
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    for env in [vec![], vec![("NO_COLOR", "1"), ("TERM", "xterm")]] {
        let l = listen_at(&store, home.path(), &[], &env);
        l.post("/", &[], body.as_bytes());
        l.wait_line(|s| s.contains("ticket.created"));
        assert!(!l.stdout().join("").contains('\x1b'));
    }
}

#[test]
fn sigint_drains_in_flight_requests_then_prints_a_summary_and_exits_0() {
    let mut l = listen(&["--color", "never"]);
    // Start a request and stop half-way through its body.
    let body = notification(
        "contact.user.created",
        Some("notif_slow"),
        r#"{"type":"contact","id":"5"}"#,
    );
    let mut slow = TcpStream::connect(&l.addr).unwrap();
    write!(
        slow,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let store = l.store.clone();
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        slow.write_all(&body.as_bytes()[10..]).unwrap();
        let reply = read_reply(&mut slow);
        (reply.status, reply.id(), body)
    });
    let (code, out, _) = l.interrupt();
    let (status, id, body) = finisher.join().unwrap();
    assert_eq!(code, 0);
    assert_eq!(status, 200);
    assert_eq!(stored(&store, &id).unwrap().0, body.as_bytes());
    let last = out.last().unwrap();
    assert!(last.starts_with("Stopped. 1 received, 1 stored"), "{last}");
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_capture() {
    let mut l = listen(&["--json", "--compact"]);
    let addr = l.addr.clone();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (addr, acked, stop) = (addr.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                for i in 0..2000 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let body = notification("conversation.user.created", Some(&format!("notif_{w}_{i}")), r#"{"type":"conversation","id":"1"}"#);
                    let Ok(mut s) = TcpStream::connect(&addr) else { break };
                    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    if s.write_all(head.as_bytes()).and_then(|_| s.write_all(body.as_bytes())).is_err() {
                        break;
                    }
                    let mut buf = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut s, &mut buf);
                    if buf.starts_with(b"HTTP/1.1 200") {
                        let reply = parse_reply(&buf);
                        acked.lock().unwrap().push((reply.id(), body));
                    }
                }
            })
        })
        .collect();
    // A second process reads the store while listen writes it.
    std::thread::sleep(Duration::from_millis(400));
    let reader = rusqlite::Connection::open_with_flags(
        l.store.join("hookcli.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut seen = 0i64;
    for _ in 0..5 {
        let n: i64 = reader
            .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
            .unwrap();
        assert!(n >= seen, "reader saw the count go backwards");
        seen = n;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen > 0, "reader saw no captures while listen was writing");
    l.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 50,
        "burst too small to mean anything: {}",
        acked.len()
    );
    for (id, body) in acked.iter() {
        let (stored_body, _, _) =
            stored(&l.store, id).unwrap_or_else(|| panic!("acknowledged capture {id} lost"));
        assert_eq!(stored_body, body.as_bytes());
    }
    // And the store opens again after the crash.
    let home = tempfile::tempdir().unwrap();
    let again = listen_at(&l.store, home.path(), &["--json"], &[]);
    assert_eq!(again.post("/", &[], b"{}").status, 200);
    assert!(count(&l.store) > acked.len() as i64);
}

#[test]
fn a_read_only_store_from_an_older_hookcli_is_read_as_it_is_or_says_why_not() {
    let home = tempfile::tempdir().unwrap();
    let (store, id) = read_only_store(home.path());
    let mode = chmod;
    // Pretend an older hookcli wrote it: open it up, set its version, close it again.
    let as_version = |version: u32| {
        mode(&store, 0o700);
        mode(&store.join("hookcli.db"), 0o600);
        rusqlite::Connection::open(store.join("hookcli.db"))
            .unwrap()
            .pragma_update(None, "user_version", version)
            .unwrap();
        mode(&store.join("hookcli.db"), 0o400);
        mode(&store, 0o500);
    };
    let read = |args: &[&str]| run_unprivileged(home.path(), &store, args);
    // The last release's store lacks only the search index rebuild: read as it is.
    as_version(4);
    assert!(ok(&read(&["list", "--json"])).contains(&id));
    assert!(ok(&read(&["list", "--json", "--search", "kept"])).contains(&id));
    // One that lacks columns cannot be read until it is upgraded, and it says so.
    as_version(3);
    fails(
        &read(&["list"]),
        1,
        "was written by an older hookcli and must be upgraded before it can be read, which needs write access",
    );
    mode(&store, 0o700);
}

#[test]
fn a_store_that_may_only_be_read_is_read_and_one_that_may_not_says_so() {
    let home = tempfile::tempdir().unwrap();
    let (store, id) = read_only_store(home.path());
    let mode = chmod;
    let read = |args: &[&str]| run_unprivileged(home.path(), &store, args);
    assert!(ok(&read(&["list", "--json"])).contains(&id));
    ok(&read(&["show", "--last"]));
    ok(&read(&["stats"]));
    // Commands that change it say why they cannot, in one sentence, and change nothing.
    for args in [
        &["delete", "--all", "--yes"][..],
        &["skip", "--pending"],
        &["vacuum"],
    ] {
        let out = read(args);
        fails(
            &out,
            1,
            "hookcli.db is read-only for this user, so hookcli cannot write to it",
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
    // A database file this user may write, in a directory they may not.
    mode(&store, 0o700);
    mode(&store.join("hookcli.db"), 0o600);
    mode(&store, 0o500);
    let out = read(&["delete", "--all", "--yes"]);
    fails(
        &out,
        1,
        "may not create files in it, which SQLite needs to change the store",
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("readonly database"));
    assert!(ok(&read(&["list", "--json"])).contains(&id));
    // Nobody may enter the directory: not "there is no store yet".
    mode(&store, 0o000);
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&store, Some(0), Some(0)).unwrap();
    }
    fails(&read(&["list"]), 1, "cannot read the store");
    // A database file this user may not read: not "cannot write".
    mode(&store, 0o500);
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&store, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    mode(&store.join("hookcli.db"), 0o000);
    for args in [&["list"][..], &["stats"], &["show", "--last"]] {
        let out = read(args);
        fails(&out, 1, "cannot read the store");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("cannot write"), "{args:?}: {err}");
        assert!(
            err.contains("hookcli.db: Permission denied"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    mode(&store, 0o700);
}

#[test]
fn an_empty_database_file_someone_else_shares_is_used_as_it_is() {
    let home = tempfile::tempdir().unwrap();
    chmod(home.path(), 0o755);
    let store = home.path().join("shared");
    std::fs::create_dir(&store).unwrap();
    chmod(&store, 0o777);
    // When the tests run as root, this file is root's, and listen runs as nobody.
    std::fs::write(store.join("hookcli.db"), b"").unwrap();
    chmod(&store.join("hookcli.db"), 0o666);
    let mut child = unprivileged(home.path())
        .arg("--store")
        .arg(&store)
        .args(["listen", "--port", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        first.contains("\"listening\""),
        "{first}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn listen_refuses_a_database_file_it_may_not_write_before_it_says_it_is_ready() {
    let home = tempfile::tempdir().unwrap();
    let (store, id) = read_only_store(home.path());
    // The directory may be written, and its lock file; only the database file may not.
    chmod(&store, 0o700);
    if unsafe { libc::geteuid() } == 0 {
        let lock = store.join("listen.lock");
        std::os::unix::fs::chown(lock, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let mut child = unprivileged(home.path())
        .arg("--store")
        .arg(&store)
        .args(["listen", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Before, it started and answered every request 503: killed here, it fails the test.
    assert_eq!(wait_timeout(&mut child, Duration::from_secs(10)), 1);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hookcli.db is read-only for this user"),
        "{err}"
    );
    assert!(err.contains("make it writable (chmod u+w"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty(), "never said it was listening");
    let left: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("hookcli.db-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(ok(&run_unprivileged(home.path(), &store, &["list", "--json"])).contains(&id));
}

#[test]
fn unusable_stores_give_one_clear_sentence() {
    let home = tempfile::tempdir().unwrap();
    // A directory nobody may write (run as an unprivileged user when the tests run as root,
    // because root ignores permissions).
    let ro = home.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = unprivileged(home.path());
    cmd.arg("--store")
        .arg(ro.join("store"))
        .args(["listen", "--port", "0"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("hookcli: error: cannot write to the store directory"),
        "{err}"
    );
    assert!(err.contains("--store"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));

    // A file that is not a database.
    let bad = home.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("hookcli.db"), vec![b'x'; 4096]).unwrap();
    let out = hookcli(home.path())
        .arg("--store")
        .arg(&bad)
        .args(["listen", "--port", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("not a readable hookcli store"), "{err}");

    // A path whose parent is a file.
    let file = home.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let out = hookcli(home.path())
        .arg("--store")
        .arg(file.join("store"))
        .args(["listen", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "part of its path is a file, not a directory; pass --store with another directory"
    ));
    let out = run(&file.join("store"), &["list"]);
    fails(&out, 1, "part of its path is a file, not a directory");
    // Where the database file belongs, a directory.
    let dir = home.path().join("dirdb");
    std::fs::create_dir_all(dir.join("hookcli.db")).unwrap();
    for args in [&["listen", "--port", "0"][..], &["list"]] {
        fails(
            &run(&dir, args),
            1,
            "hookcli.db is a directory, where hookcli keeps its database file: move it aside",
        );
    }
    // --store given a file (the database itself, say), for writing and for reading.
    for args in [&["listen", "--port", "0"][..], &["list"]] {
        let out = hookcli(home.path())
            .arg("--store")
            .arg(&file)
            .args(args)
            .output()
            .unwrap();
        fails(&out, 1, "is a file, not a store directory");
    }
}

#[test]
fn a_busy_port_and_a_bad_host_are_clear_errors() {
    let l = listen(&["--json"]);
    let port = l.addr.rsplit(':').next().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = hookcli(home.path())
        .arg("--store")
        .arg(home.path().join("s"))
        .args(["listen", "--port", port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already in use") && err.contains("--port 0"),
        "{err}"
    );
    let out = hookcli(home.path())
        .arg("--store")
        .arg(home.path().join("s"))
        .args(["listen", "--host", "localhost:80"])
        .output()
        .unwrap();
    fails(&out, 2, "--host must be an IP address");
    // An address that is no interface of this machine (TEST-NET-1 is never assigned here).
    let out = run(
        &home.path().join("s"),
        &["listen", "--host", "192.0.2.1", "--port", "0"],
    );
    fails(
        &out,
        1,
        "no network interface of this machine has that address",
    );
    let named = listen(&["--host", "localhost", "--json"]);
    assert!(named.url.starts_with("http://127.0.0.1:"), "{}", named.url);
}

#[test]
fn non_loopback_bind_prints_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let l = listen_at(
        &home.path().join("s"),
        home.path(),
        &["--host", "0.0.0.0", "--json"],
        &[],
    );
    l.wait_stderr("other machines can reach");
}

#[test]
fn a_stalled_client_does_not_disturb_others_and_is_cut_off() {
    let l = listen(&["--json"]);
    let mut stalled = TcpStream::connect(&l.addr).unwrap();
    stalled
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    // Two more stalled at the same time: said once, not three times, however many come.
    let more: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(&l.addr).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // A keep-alive connection left idle after its request is closed too, without a notice.
    let mut idle = TcpStream::connect(&l.addr).unwrap();
    idle.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let idle = std::thread::spawn(move || read_reply(&mut idle));
    // Others are served at once.
    for _ in 0..5 {
        assert_eq!(l.post("/", &[], b"{}").status, 200);
    }
    // The stalled one is cut off by the header read timeout (10 s).
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let start = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stalled, &mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(19),
        "stalled client never cut off"
    );
    assert_eq!(idle.join().unwrap().status, 200);
    assert_eq!(count(&l.store), 6);
    // hookcli could not answer the stalled one, but it says what happened; only once.
    let notice =
        l.wait_line(|s| s.contains("sent part of a request head, then not the rest within 10 s"));
    assert!(notice.contains("\"type\":\"notice\""), "{notice}");
    assert!(
        notice.contains("more such clients are told of at most every 10 s"),
        "{notice}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let notices = l
        .stdout()
        .iter()
        .filter(|s| s.contains("sent part of a request head"))
        .count();
    assert_eq!(notices, 1);
    drop(more);
}

#[test]
fn when_crawling_clients_hold_every_connection_the_one_idle_longest_makes_room() {
    let l = listen(&["--json"]);
    // Every one of the 512 slots held by a client crawling through its body a byte every
    // 300 ms: the 30 s body timeout alone would take that long to cut them off.
    let crawling: Vec<TcpStream> = (0..512)
        .map(|_| {
            let mut s = TcpStream::connect(&l.addr).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    let mut oldest = crawling[0].try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let crawl = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for mut s in &crawling {
                    let _ = s.write_all(b" "); // fails once closed
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // A webhook still gets through, long before any timeout (the client gives up at 20 s).
    let reply = l.post("/", &[], b"{\"through\":1}");
    assert_eq!(reply.status, 200);
    assert_eq!(stored(&l.store, &reply.id()).unwrap().0, b"{\"through\":1}");
    let notice = l.wait_line(|s| {
        s.contains("all 512 connections are in use: closed the one from 127.0.0.1:")
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&notice).unwrap()["type"],
        "notice"
    );
    // Closed, not answered: the crawling clients' bodies were never stored.
    assert_eq!(count(&l.store), 1);
    oldest
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    let read = std::io::Read::read_to_end(&mut oldest, &mut buf);
    let timed_out = |e: &std::io::Error| {
        use std::io::ErrorKind::*;
        matches!(e.kind(), WouldBlock | TimedOut)
    };
    assert!(
        !read.as_ref().is_err_and(timed_out),
        "the oldest was not closed"
    );
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    crawl.join().unwrap();
    assert_eq!(l.post("/", &[], b"{}").status, 200);
}

#[test]
fn large_bodies_wait_for_room_in_memory_and_notifications_never_do() {
    let l = listen(&["--json", "--max-body", "100MiB"]);
    // Declared and barely begun, they hold the whole 256 MiB kept for large bodies.
    let hold = |mib: u64| {
        let mut s = TcpStream::connect(&l.addr).unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{",
            mib << 20
        );
        s.write_all(head.as_bytes()).unwrap();
        s
    };
    let held = [hold(100), hold(100), hold(56)];
    std::thread::sleep(Duration::from_millis(500));
    // A notification-sized body goes straight through.
    assert_eq!(l.post("/", &[], b"{\"small\":1}").status, 200);
    // A larger one waits, unanswered, until room is given back.
    let large = format!("{{\"large\":\"{}\"}}", "x".repeat(70_000));
    let send_large = || {
        let mut s = TcpStream::connect(&l.addr).unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            large.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(large.as_bytes()).unwrap();
        s
    };
    let mut waiting = send_large();
    assert_unanswered_for(
        &mut waiting,
        Duration::from_millis(1000),
        "a large body was read past the memory budget",
    );
    let [first, second, third] = held;
    drop(third);
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let reply = read_reply(&mut waiting);
    assert_eq!(reply.status, 200);
    assert_eq!(stored(&l.store, &reply.id()).unwrap().0, large.as_bytes());
    // Full again, for longer than a body waits (10 s): 503, so the sender tries again.
    let refill = hold(56);
    std::thread::sleep(Duration::from_millis(500));
    let mut refused = send_large();
    refused
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let reply = read_reply(&mut refused);
    assert_eq!(reply.status, 503);
    let said = String::from_utf8_lossy(&reply.body);
    assert!(
        said.contains("large bodies already fill the 256.0 MiB of memory"),
        "{said}"
    );
    let record = l.wait_line(|s| s.contains("\"type\":\"refused\"") && s.contains("503"));
    assert!(record.contains("large bodies already fill"), "{record}");
    assert_eq!(
        count(&l.store),
        2,
        "only the small and the first large body"
    );
    drop((first, second, refill));
}

/// Take the store's write lock, as another process would, and keep it (past the writer's
/// patience) until the returned connection rolls back.
fn hold_write_lock(store: &std::path::Path) -> rusqlite::Connection {
    let blocker = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE; INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature) VALUES ('zzzz', 0, 'import', '-', 'POST', '/', '[]', x'', 'unchecked');").unwrap();
    blocker
}

#[test]
fn a_store_that_cannot_write_answers_503_never_2xx_and_recovers() {
    let l = listen(&["--color", "never"]);
    assert_eq!(l.post("/", &[], b"{\"before\":1}").status, 200);
    let blocker = hold_write_lock(&l.store);
    let reply = l.post("/", &[], b"{\"during\":1}");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["ok"], false);
    l.wait_line(|s| s.contains("STORE FAILED, answered 503"));
    l.wait_stderr("hookcli: error: could not save a capture");
    l.wait_stderr("stop whatever holds the store's lock: until then requests are answered 503, which Intercom retries");
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let after = l.post("/", &[], b"{\"after\":1}");
    assert_eq!(after.status, 200);
    assert_eq!(stored(&l.store, &after.id()).unwrap().0, b"{\"after\":1}");
    assert_eq!(count(&l.store), 2, "the refused request was not stored");
}

#[test]
fn a_store_deleted_under_a_running_listen_answers_503_and_claims_nothing_stored() {
    let mut l = listen(&["--color", "never"]);
    assert_eq!(l.post("/", &[], b"{\"before\":1}").status, 200);
    std::fs::remove_dir_all(&l.store).unwrap();
    // Each later request too: nothing more goes into the unlinked file.
    for n in 0..2 {
        let reply = l.post("/", &[], format!("{{\"after\":{n}}}").as_bytes());
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json()["ok"], false);
    }
    let why = "hookcli.db was deleted, moved or replaced while listen was running";
    l.wait_line(|s| s.contains("STORE FAILED, answered 503") && s.contains(why));
    l.wait_stderr(&format!(
        "hookcli: error: the store file {}",
        l.store.display()
    ));
    l.wait_stderr("restart hookcli listen");
    let (code, lines, _) = l.interrupt();
    assert_eq!(code, 0);
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("Stopped. 3 received, 1 stored")
            && last.contains("2 refused (2 of them because the store could not save them)"),
        "{last}"
    );
    assert!(!l.store.exists(), "nothing was written where the store was");
    // With forwarding, what was answered 503 never reaches the app: it was not committed
    // to the lost file, where the queue would still find it.
    let app = crate::common::app::App::start();
    let l = listen(&["--json", "--forward-to", &app.url("/")]);
    assert_eq!(l.post("/", &[], b"{\"before\":1}").status, 200);
    app.wait_for(1, Duration::from_secs(5));
    std::fs::remove_dir_all(&l.store).unwrap();
    assert_eq!(l.post("/", &[], b"{\"after\":1}").status, 503);
    std::thread::sleep(Duration::from_millis(2500));
    let got: Vec<Vec<u8>> = app.received().into_iter().map(|r| r.body).collect();
    assert_eq!(got, vec![b"{\"before\":1}".to_vec()]);
}

#[test]
fn a_store_file_swapped_under_a_running_listen_is_not_damaged_by_its_log() {
    let home = tempfile::tempdir().unwrap();
    // A backup larger than the live store, as a user restoring one would have.
    let backup = home.path().join("backup");
    let mut b = listen_at(&backup, home.path(), &["--compact"], &[]);
    for n in 0..40 {
        let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(4000));
        assert_eq!(b.post("/", &[], body.as_bytes()).status, 200);
    }
    b.interrupt();
    let store = home.path().join("store");
    let mut l = listen_at(&store, home.path(), &["--compact"], &[]);
    let acked: Vec<String> = (0..3)
        .map(|n| {
            l.post("/", &[], format!("{{\"live\":{n}}}").as_bytes())
                .id()
        })
        .collect();
    // Moved away, and the backup moved in by rename, while listen runs and is idle. Before
    // the fix, the log listen left behind turned the backup into a damaged file.
    let moved = home.path().join("moved");
    std::fs::create_dir(&moved).unwrap();
    std::fs::rename(store.join("hookcli.db"), moved.join("hookcli.db")).unwrap();
    std::fs::copy(backup.join("hookcli.db"), home.path().join("tmp.db")).unwrap();
    std::fs::rename(home.path().join("tmp.db"), store.join("hookcli.db")).unwrap();
    l.wait_stderr("was deleted, moved or replaced while listen was running");
    // Another command writes to the restored store while senders still reach listen, which
    // refuses them: none of it may end up in the file listen has open.
    let note = home.path().join("note.json");
    std::fs::write(&note, notification("ticket.created", Some("notif_r"), "{}")).unwrap();
    for n in 0..3 {
        assert_eq!(
            l.post("/", &[], format!("{{\"late\":{n}}}").as_bytes())
                .status,
            503
        );
        if n == 0 {
            ok(&run(&store, &["import", note.to_str().unwrap()]));
        }
    }
    let (code, _, _) = l.interrupt();
    assert_eq!(code, 0);
    let stats = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&ok(&run(dir, &["stats", "--json"]))).unwrap()
    };
    assert_eq!(
        stats(&store)["captures"],
        41,
        "the backup is whole, with the import"
    );
    let check = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    let verdict: String = check
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    // What was acknowledged is in the file that was moved away.
    assert_eq!(stats(&moved)["captures"], 3);
    for (n, id) in acked.iter().enumerate() {
        assert_eq!(
            stored(&moved, id).unwrap().0,
            format!("{{\"live\":{n}}}").as_bytes()
        );
    }
}

#[test]
fn a_log_deleted_under_a_running_listen_answers_503_and_keeps_what_was_acknowledged() {
    let mut l = listen(&["--color", "never"]);
    let before: Vec<String> = (0..3)
        .map(|n| {
            l.post("/", &[], format!("{{\"before\":{n}}}").as_bytes())
                .id()
        })
        .collect();
    std::fs::remove_file(l.store.join("hookcli.db-wal")).unwrap();
    // A commit into the deleted log would not survive a crash: none is acknowledged.
    for n in 0..2 {
        let reply = l.post("/", &[], format!("{{\"after\":{n}}}").as_bytes());
        assert_eq!(reply.status, 503);
    }
    l.wait_stderr("(its -wal file) was deleted or replaced while listen was running");
    l.kill9();
    // What was acknowledged before had been copied into the store file.
    for (n, id) in before.iter().enumerate() {
        assert_eq!(
            stored(&l.store, id).unwrap().0,
            format!("{{\"before\":{n}}}").as_bytes()
        );
    }
    assert_eq!(count(&l.store), 3);
    // Deleted before the first capture: noticed all the same.
    let l = listen(&["--color", "never"]);
    std::fs::remove_file(l.store.join("hookcli.db-wal")).unwrap();
    assert_eq!(l.post("/", &[], b"{}").status, 503);
}

#[test]
fn a_store_failure_is_answered_503_even_when_stderr_cannot_be_written() {
    // Writes to /dev/full fail (ENOSPC), like a full disk behind a redirected stderr.
    let l = listen_stderr_to(
        &["--color", "never"],
        std::fs::File::create("/dev/full").unwrap(),
    );
    assert_eq!(l.post("/", &[], b"{\"before\":1}").status, 200);
    let blocker = hold_write_lock(&l.store);
    for n in 0..2 {
        let reply = l.post("/", &[], format!("{{\"during\":{n}}}").as_bytes());
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json()["ok"], false);
    }
    l.wait_line(|s| s.contains("STORE FAILED, answered 503"));
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    assert_eq!(l.post("/", &[], b"{\"after\":1}").status, 200);
    assert_eq!(count(&l.store), 2);
}

#[test]
fn a_second_listen_on_a_store_in_use_refuses_to_start_until_the_first_is_gone() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let app = App::start();
    let target = app.url("/");
    let args = ["--json", "--forward-to", &target];
    let mut first = listen_at(&store, home.path(), &args, &[]);
    let id = first.post("/", &[], b"{\"n\":1}").id();
    app.wait_for(1, Duration::from_secs(10));
    let mut second = hookcli(home.path())
        .arg("--store")
        .arg(&store)
        .args(["listen", "--port", "0", "--forward-to", &target])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(wait_timeout(&mut second, Duration::from_secs(10)), 1);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(
        err.trim_end(),
        format!(
            "hookcli: error: another hookcli listen is using the store {}: stop it, or pass another --store",
            store.display()
        )
    );
    // Every other command reads, and those that write still do, beside the running listen.
    assert!(ok(&run(&store, &["list", "--json"])).contains(&id));
    ok(&run(&store, &["show", &id]));
    ok(&run(&store, &["stats"]));
    ok(&run(&store, &["export", "--format", "har"]));
    ok(&run(&store, &["replay", &id, "--to", &app.url("/again")]));
    let file = home.path().join("one.json");
    std::fs::write(&file, notification("ping", None, "{}")).unwrap();
    ok(&run(&store, &["import", file.to_str().unwrap()]));
    ok(&run(&store, &["delete", &id, "--yes"]));
    assert_eq!(first.post("/", &[], b"{\"n\":2}").status, 200);
    let got = app.wait_for(3, Duration::from_secs(10));
    let targets: Vec<&str> = got.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/", "/again", "/"]);
    // However the first one ends, kill -9 included, its lock goes with it.
    first.kill9();
    let third = listen_at(&store, home.path(), &["--json"], &[]);
    assert_eq!(third.post("/", &[], b"{\"n\":3}").status, 200);
}

#[test]
fn sigterm_stops_gracefully_too() {
    let l = listen(&["--json"]);
    l.post("/", &[], b"{}");
    unsafe { libc::kill(l.pid() as i32, libc::SIGTERM) };
    l.wait_line(|s| s.contains("\"summary\""));
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let mut l = listen(&["--color", "never"]);
    // An in-flight request that never finishes keeps the graceful drain waiting.
    let mut stuck = TcpStream::connect(&l.addr).unwrap();
    stuck
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(l.pid() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(900));
    let start = std::time::Instant::now();
    let (code, out, err) = l.interrupt();
    assert_eq!(code, 130, "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(err.contains("second interrupt"));
    // The first one said what it was waiting for.
    assert!(
        out.iter()
            .any(|s| s.contains("Stopping: finishing the requests still in flight")),
        "{out:#?}"
    );
}

#[test]
fn the_body_is_shortened_by_default_printed_whole_with_full_and_left_out_with_compact() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/intercom/zulip/conversation_admin_replied.json"
    ))
    .unwrap();
    // The body pretty-prints to 91 lines; the last one closes the object.
    let shown = |args: &[&str]| {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        let mut l = listen(&all);
        let id = l.post("/", &[], &body).id();
        let (_, lines, _) = l.interrupt();
        (id, lines.join("\n"))
    };
    let (id, default) = shown(&[]);
    assert!(
        default.contains(&format!("… 51 more lines — hookcli show {}", &id[..12])),
        "{default}"
    );
    let (_, full) = shown(&["--full"]);
    assert!(!full.contains("more lines"), "{full}");
    assert!(full.contains("\"self\": null"), "{full}");
    let (_, compact) = shown(&["--compact"]);
    assert!(compact.contains("conversation.admin.replied"), "{compact}");
    assert!(
        !compact.contains("\"type\": \"notification_event\""),
        "{compact}"
    );
    // One line per request, however much there is to say about it.
    let mut l = listen(&["--color", "never", "--compact", "--secret", "s"]);
    let from_intercom = [
        ("X-Forwarded-For", "34.231.68.152"),
        (
            "X-Hub-Signature",
            "sha1=0000000000000000000000000000000000000000",
        ),
    ];
    l.post("/", &from_intercom, &body);
    let again = l.post("/", &from_intercom, &body).id();
    let (_, lines, _) = l.interrupt();
    let line = lines
        .iter()
        .find(|line| line.contains(&again[..12]))
        .unwrap();
    for said in [
        "Intercom US",
        "↻ redelivery",
        "the digest does not match the body",
    ] {
        assert!(line.contains(said), "{said}: {line}");
    }
    let requests = lines.iter().skip_while(|l| !l.contains("Waiting for"));
    assert_eq!(requests.count(), 4, "{lines:#?}");
}

#[test]
fn the_secret_and_the_store_come_from_the_environment_or_a_file() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let sig = sign("from-env", VECTOR_BODY.as_bytes());
    let l = listen_at(
        &store,
        home.path(),
        &["--json"],
        // As `export HOOKCLI_SECRET="$(cat file)"` with a CRLF file leaves it.
        &[("HOOKCLI_SECRET", "from-env\r")],
    );
    let id = l
        .post("/", &intercom_headers(&sig), VECTOR_BODY.as_bytes())
        .id();
    assert_eq!(l.capture_record(&id)["signature"]["verdict"], "valid");
    // One listen per store: each stops before the next starts.
    drop(l);
    let file = home.path().join("secret.txt");
    std::fs::write(&file, "from-file\n").unwrap();
    let l = listen_at(
        &store,
        home.path(),
        &["--json", "--secret-file", file.to_str().unwrap()],
        &[],
    );
    let sig = sign("from-file", VECTOR_BODY.as_bytes());
    let id = l
        .post("/", &intercom_headers(&sig), VECTOR_BODY.as_bytes())
        .id();
    assert_eq!(l.capture_record(&id)["signature"]["verdict"], "valid");
    drop(l);
    // The file named on the command line beats the environment.
    let l = listen_at(
        &store,
        home.path(),
        &["--json", "--secret-file", file.to_str().unwrap()],
        &[("HOOKCLI_SECRET", "from-env")],
    );
    let id = l
        .post("/", &intercom_headers(&sig), VECTOR_BODY.as_bytes())
        .id();
    assert_eq!(l.capture_record(&id)["signature"]["verdict"], "valid");
    // HOOKCLI_STORE stands in for --store in every command.
    let out = hookcli(home.path())
        .args(["list", "--json"])
        .env("HOOKCLI_STORE", &store)
        .output()
        .unwrap();
    assert_eq!(ok(&out).lines().count(), 3);
}

#[test]
fn past_the_cap_a_client_waits_while_every_connection_waits_for_its_answer() {
    let app = App::start();
    // The app takes 8 s over each of the first 512 requests, so their senders wait.
    app.answer(|_, index| Answer {
        delay: Duration::from_secs(if index < 512 { 8 } else { 0 }),
        ..Answer::status(200, "{}")
    });
    let target = app.url("/");
    let l = listen(&["--json", "--forward-to", &target, "--passthrough"]);
    let head = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
    let busy: Vec<TcpStream> = (0..512)
        .map(|_| {
            let mut s = TcpStream::connect(&l.addr).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            s
        })
        .collect();
    app.wait_for(512, Duration::from_secs(30));
    let mut waiting = TcpStream::connect(&l.addr).unwrap();
    waiting.write_all(head.as_bytes()).unwrap();
    // Past the time after which an idle connection would make room: none of these is idle.
    assert_unanswered_for(
        &mut waiting,
        Duration::from_millis(3500),
        "answered past the connection cap, or a connection waiting for its answer was closed",
    );
    // Once the app answers, slots free up and the waiting client is served; every one of
    // the others got its answer.
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(read_reply(&mut waiting).status, 200);
    for mut s in busy {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        assert_eq!(read_reply(&mut s).status, 200);
    }
    assert_eq!(count(&l.store), 513);
    assert!(
        !l.stderr().contains("connections are in use"),
        "{}",
        l.stderr()
    );
}

#[test]
fn a_second_ctrl_c_exits_even_when_the_terminal_has_stopped_reading() {
    // Seconds apart, and close together (two signals sent at the very same moment are one
    // pending signal to the kernel).
    for gap in [Duration::from_millis(1500), Duration::from_millis(20)] {
        second_ctrl_c_with_a_stalled_terminal(gap);
    }
}

fn second_ctrl_c_with_a_stalled_terminal(gap: Duration) {
    let home = tempfile::tempdir().unwrap();
    let port = crate::common::app::free_port();
    // stdout is a pipe that nobody reads: once it is full, every print blocks.
    let mut child = hookcli(home.path())
        .arg("--store")
        .arg(home.path().join("store"))
        .args(["listen", "--full", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "listen did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let body = format!("{{\"text\":\"{}\"}}", "x".repeat(20_000));
    for _ in 0..50 {
        assert_eq!(send(&addr, "POST", "/", &[], body.as_bytes()).status, 200);
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(gap);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the summary cannot be printed, so the first Ctrl-C cannot finish"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        wait_timeout(&mut child, Duration::from_secs(3)),
        130,
        "gap {gap:?}"
    );
}

#[test]
fn a_sender_that_half_closes_after_its_request_still_gets_its_answer() {
    // `printf ... | nc -N`, or a client that shuts down its write side and waits.
    let l = listen(&["--json"]);
    let mut stream = TcpStream::connect(&l.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"POST /nc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        )
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let reply = read_reply(&mut stream);
    assert_eq!(reply.status, 200);
    assert_eq!(stored(&l.store, &reply.id()).unwrap().0, b"hello");
}

#[test]
fn one_huge_value_or_line_cannot_flood_the_terminal() {
    let huge = "x".repeat(200_000);
    let path = format!("/{}", "p".repeat(5_000));
    let json = format!("{{\"text\":\"{huge}\",\"after\":1}}");
    let text = format!("{huge}\nsecond line");
    let shown = |args: &[&str]| {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        let mut l = listen(&all);
        let ids = [
            l.post(&path, &[], json.as_bytes()).id(),
            l.post("/", &[], text.as_bytes()).id(),
        ];
        let (_, lines, _) = l.interrupt();
        (ids, lines)
    };
    let (ids, default) = shown(&[]);
    let longest = default.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 1_000, "a {longest}-character line was printed");
    for id in &ids {
        let hint = format!("… long values shortened — hookcli show {}", &id[..12]);
        assert!(default.iter().any(|l| l.contains(&hint)), "{hint}");
    }
    assert!(default.iter().any(|l| l.trim() == "\"after\": 1"));
    assert!(default.iter().any(|l| l.trim() == "second line"));
    // --full prints the body whole.
    let (_, full) = shown(&["--full"]);
    assert!(full.iter().any(|l| l.contains(&huge)));
    assert!(!full.iter().any(|l| l.contains("shortened")));
}

#[test]
fn connect_is_refused_and_a_notification_without_a_topic_is_called_so() {
    let l = listen(&["--color", "never"]);
    let reply = raw_request(
        &l.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(reply.status, 405);
    assert_eq!(count(&l.store), 0);
    l.wait_line(|s| s.contains("answered 405, not stored: CONNECT is a proxy request"));
    let untitled =
        notification("x", Some("notif_t"), "{}").replace("\"topic\":\"x\"", "\"topic\":null");
    l.post("/", &[], untitled.as_bytes());
    let line = l.wait_line(|s| s.contains("notif_t"));
    assert!(line.contains("(a notification without a topic)"), "{line}");
    assert!(!line.contains("not an Intercom notification"), "{line}");
}

#[test]
fn a_sender_that_closes_before_its_body_arrived_is_shown_as_such() {
    let l = listen(&["--json"]);
    let mut stream = TcpStream::connect(&l.addr).unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc")
        .unwrap();
    drop(stream);
    let line = l.wait_line(|s| s.contains("\"refused\""));
    assert!(
        line.contains("the sender closed the connection before its 50-byte body had arrived"),
        "{line}"
    );
    assert_eq!(count(&l.store), 0);
    assert_eq!(l.post("/", &[], b"{}").status, 200, "still serving");
    // The same with a reset instead of a clean close (SO_LINGER 0).
    let mut stream = TcpStream::connect(&l.addr).unwrap();
    stream
        .write_all(b"POST /rst HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a linger struct of the size given.
    unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&stream),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
    let line = l.wait_line(|s| s.contains("\"refused\"") && s.contains("/rst"));
    assert!(line.contains("the sender closed the connection"), "{line}");
}

#[test]
fn the_banner_escapes_a_store_path_with_control_characters() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("st\x1b]52;c;eA==\x07");
    let l = listen_at(&store, home.path(), &["--color", "never"], &[]);
    let line = l.wait_line(|s| s.contains("store:"));
    assert!(
        line.contains("st\\x1b]52;c;eA==\\x07") && !line.contains('\x1b'),
        "{line}"
    );
}

#[test]
fn a_target_that_is_no_path_is_refused_and_an_absolute_url_is_stored_by_its_path() {
    let l = listen(&["--json"]);
    for method in ["POST", "OPTIONS"] {
        let raw = format!(
            "{method} * HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let reply = raw_request(&l.addr, raw.as_bytes());
        assert_eq!(reply.status, 400, "{method}");
        assert!(String::from_utf8_lossy(&reply.body).contains("must be a path such as /"));
    }
    assert_eq!(count(&l.store), 0);
    let reply = raw_request(
        &l.addr,
        b"POST http://example.test/hooks?a=1 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(reply.status, 200);
    let record = l.capture_record(&reply.id());
    assert_eq!(record["target"], "/hooks?a=1");
}

#[test]
fn a_long_value_is_cut_before_an_escape_never_inside_one() {
    let l = listen(&["--color", "never"]);
    for tail in ["\u{202e}tail", "\u{1b}[2Jtail"] {
        let body = serde_json::json!({"topic": format!("{}{tail}", "t".repeat(296))}).to_string();
        l.post("/", &[], body.as_bytes());
    }
    let topic_lines = || -> Vec<String> {
        let all = l.stdout();
        all.into_iter()
            .filter(|s| s.contains("\"topic\": \"ttt"))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while topic_lines().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines = topic_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in lines {
        let value = line.split("\"topic\": ").nth(1).unwrap();
        assert!(value.ends_with("t…"), "{line}");
    }
}

#[test]
fn a_first_capture_that_intercom_counts_as_a_retry_says_so() {
    let l = listen(&["--color", "never"]);
    let retried = notification(
        "ticket.created",
        Some("notif_r2"),
        r#"{"type":"ticket","id":"1"}"#,
    )
    .replace("\"delivery_attempts\":1", "\"delivery_attempts\":2");
    assert!(retried.contains("\"delivery_attempts\":2"));
    l.post("/", &[], retried.as_bytes());
    l.wait_line(|s| {
        s.contains(
            "↻ retry: delivery_attempts is 2, but this notification id was not captured before",
        )
    });
    // Seen before: a redelivery, said once.
    l.post("/", &[], retried.as_bytes());
    l.wait_line(|s| s.contains("↻ redelivery: this notification id was captured before"));
    let retries = l.stdout().iter().filter(|s| s.contains("↻ retry")).count();
    assert_eq!(retries, 1);
    let compact = listen(&["--color", "never", "--compact"]);
    compact.post("/", &[], retried.as_bytes());
    compact.wait_line(|s| s.contains("attempt 2") && s.ends_with("↻ retry"));
}

#[test]
fn a_valid_signature_not_written_as_intercom_writes_it_is_pointed_out() {
    let l = listen(&["--color", "never", "--secret", "s3cr3t"]);
    let body = notification("ping", None, r#"{"type":"ping","message":"hi"}"#);
    let signature = sign("s3cr3t", body.as_bytes());
    let upper = format!("sha1={}", signature["sha1=".len()..].to_ascii_uppercase());
    assert_eq!(
        l.post("/", &[("X-Hub-Signature", &upper)], body.as_bytes())
            .status,
        200
    );
    l.wait_line(|s| {
        s.contains("! signature valid by value, but the hex has uppercase letters; Intercom sends lowercase")
    });
    // The same in --json, as the verdict's detail.
    let json = listen(&["--json", "--secret", "s3cr3t"]);
    let id = json
        .post("/", &[("X-Hub-Signature", &upper)], body.as_bytes())
        .id();
    let record = json.capture_record(&id);
    assert_eq!(record["signature"]["verdict"], "valid");
    assert!(
        record["signature"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the hex has uppercase letters")),
        "{record}"
    );
    let exact_id = json
        .post("/", &[("X-Hub-Signature", &signature)], body.as_bytes())
        .id();
    assert_eq!(
        json.capture_record(&exact_id)["signature"]["detail"],
        serde_json::Value::Null
    );
    // Written as Intercom writes it: nothing to point out.
    let exact = listen(&["--color", "never", "--secret", "s3cr3t"]);
    exact.post("/", &[("X-Hub-Signature", &signature)], body.as_bytes());
    exact.wait_line(|s| s.contains("✓ sig"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!exact.stdout().iter().any(|s| s.contains("! signature")));
    // --compact keeps it on the line, and show says it too.
    let compact = listen(&["--color", "never", "--compact", "--secret", "s3cr3t"]);
    let id = compact
        .post("/", &[("X-Hub-Signature", &upper)], body.as_bytes())
        .id();
    compact.wait_line(|s| {
        s.contains("✓ sig") && s.contains("! signature not written as Intercom writes it")
    });
    let shown = ok(&run(&compact.store, &["show", &id, "--color", "never"]));
    assert!(
        shown.contains(
            "✓ valid\n               ! valid by value, but the hex has uppercase letters"
        ),
        "{shown}"
    );
}

#[test]
fn http_framing_a_capture_cannot_rest_on_is_refused() {
    let l = listen(&["--json"]);
    // HTTP/1.0 has no chunked bodies: without a length, the body would be lost behind a 200.
    let reply = raw_request(
        &l.addr,
        b"POST /ten HTTP/1.0\r\nHost: a\r\n\r\n{\"type\":\"notification_event\"}",
    );
    assert_eq!(reply.status, 411);
    assert!(reply
        .headers
        .iter()
        .any(|(n, v)| n == "connection" && v == "close"));
    // A 1.0 client that asked to keep the connection is told only that it closes.
    let reply = raw_request(
        &l.addr,
        b"POST /ten HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n{}",
    );
    assert_eq!(reply.status, 411);
    let said: Vec<_> = reply
        .headers
        .iter()
        .filter(|(n, _)| n == "connection")
        .collect();
    assert_eq!(said, [&("connection".to_string(), "close".to_string())]);
    // HTTP/1.1 needs exactly one Host.
    for head in [
        &b"POST /nohost HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"[..],
        b"POST /twohosts HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ] {
        let reply = raw_request(&l.addr, head);
        assert_eq!(reply.status, 400);
        let said = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(said.contains("exactly one Host header") || said.contains("only one Host header"), "{said}");
    }
    let reply = raw_request(
        &l.addr,
        b"POST /ten HTTP/1.0\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(reply.status, 400);
    assert!(String::from_utf8_lossy(&reply.body).contains("only one Host header"));
    assert_eq!(count(&l.store), 0);
    // A method counts toward the 64 KiB head, however the request is split.
    let mut long = vec![b'M'; 70_000];
    long.extend_from_slice(
        b" /m HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz",
    );
    assert_eq!(raw_request(&l.addr, &long).status, 431);
    // With a length, HTTP/1.0 and an empty Host are fine.
    let reply = raw_request(
        &l.addr,
        b"POST /ten HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(reply.status, 200);
    let reply = raw_request(
        &l.addr,
        b"POST /empty-host HTTP/1.1\r\nHost:\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(count(&l.store), 2);
}

#[test]
fn a_tls_handshake_on_the_plain_http_port_is_named_as_such() {
    let l = listen(&["--json"]);
    // The start of a TLS ClientHello: a handshake record, then its length and type.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
    ];
    hello.extend_from_slice(&[0x42; 64]);
    let _ = raw_request(&l.addr, &hello);
    l.wait_line(|s| {
        s.contains("\"type\":\"refused\"")
            && s.contains("a TLS handshake: this listen speaks plain HTTP")
    });
    // Other garbage is still just malformed HTTP.
    let _ = raw_request(&l.addr, b"THIS IS NOT HTTP\r\n\r\n");
    l.wait_line(|s| s.contains("\"type\":\"refused\"") && s.contains("malformed HTTP request"));
}

#[test]
fn large_bodies_past_the_memory_there_is_are_refused_and_listen_stays_up() {
    let l = listen(&["--compact"]);
    // Leave listen 150 MiB more address space than it has: not room for the 256 MiB it
    // lets large bodies take. Before, it ran out while holding them and aborted.
    let status = std::fs::read_to_string(format!("/proc/{}/status", l.pid())).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let cap = (kib + 150 * 1024) * 1024;
    let limit = libc::rlimit {
        rlim_cur: cap,
        rlim_max: cap,
    };
    let pid = l.pid() as libc::pid_t;
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_AS, &limit, std::ptr::null_mut()) },
        0
    );
    let size = 10 * 1024 * 1024 - 100;
    let senders: Vec<_> = (0..30)
        .map(|n| {
            let addr = l.addr.clone();
            std::thread::spawn(move || {
                let body = format!("{{\"n\":{n:02},\"pad\":\"{}\"}}", "x".repeat(size));
                let mut s = TcpStream::connect(&addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let head = format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                // Refused early, the rest of the body meets a closed connection.
                let _ = s
                    .write_all(head.as_bytes())
                    .and_then(|()| s.write_all(body.as_bytes()));
                let mut answer = Vec::new();
                let _ = std::io::Read::read_to_end(&mut s, &mut answer);
                let reply = (!answer.is_empty()).then(|| parse_reply(&answer));
                (body, reply)
            })
        })
        .collect();
    let mut stored_ok = 0;
    for sender in senders {
        let (body, reply) = sender.join().unwrap();
        match reply {
            Some(r) if r.status == 200 => {
                assert_eq!(stored(&l.store, &r.id()).unwrap().0, body.as_bytes());
                stored_ok += 1;
            }
            Some(r) => assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body)),
            None => {}
        }
    }
    assert!(stored_ok > 0, "some fit");
    assert_eq!(
        count(&l.store),
        stored_ok,
        "only what was answered 200 is stored"
    );
    // Still up, and a notification is stored as ever.
    assert_eq!(l.post("/", &[], b"{\"after\":1}").status, 200);
}

#[test]
fn a_low_open_file_limit_lowers_the_connection_cap_so_idle_clients_make_room() {
    let l = listen(&["--json", "--nofile", "150"]);
    l.wait_line(|s| {
        s.contains("the open-file limit (ulimit -n) is 150, so listen serves 86 connections at once rather than 512")
    });
    // More idle clients than there are descriptors: before, accepting failed on every
    // try, a warning each time, and none of them was ever closed to make room.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&l.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(l.post("/", &[], b"{\"through\":1}").status, 200);
    l.wait_line(|s| s.contains("all 86 connections are in use: closed the one from"));
    drop(idle);
    let warnings = l.stderr().matches("accept failed").count();
    assert!(warnings <= 1, "{}", l.stderr());
}
