//! `replay`, `send`, `check`, `verify` and `topics` against the built binary, a real
//! `listen` and a test app over loopback.

use crate::common::app::{free_port, Answer, App};
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "s3cr3t";
const VECTOR_BODY: &str = r#"{"type":"notification_event","app_id":"abc123def","data":{"type":"notification_event_data","item":{"type":"ping","message":"This is a ping notification test message."}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1671643827,"created_at":1671643827,"self":null}"#;

/// `replay ID --to URL` followed by `more`.
fn replay_args<'a>(id: &'a str, to: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["replay", id, "--to", to];
    args.extend_from_slice(more);
    args
}

/// A listener holding one signed fixture capture; returns it and the capture id.
fn with_capture() -> (Listener, String, Vec<u8>) {
    let l = listen(&["--json", "--secret", SECRET]);
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/intercom/zulip/conversation_admin_replied.json"
    ))
    .unwrap();
    let id = l
        .post(
            "/",
            &[
                ("Content-Type", "application/json"),
                ("X-Hub-Signature", &sign(SECRET, &body)),
            ],
            &body,
        )
        .id();
    (l, id, body)
}

fn compact_with(body: &[u8], path: &[&str], value: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    let mut node = &mut v;
    for seg in path {
        node = &mut node[*seg];
    }
    *node = value;
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn replay_is_byte_exact_with_the_original_signature() {
    let (l, id, body) = with_capture();
    let app = App::start();
    let out = ok(&run(
        &l.store,
        &replay_args(&id[..12], &app.url("/hook"), &["--color", "never"]),
    ));
    assert!(
        out.contains("replayed 1: 1 answered 2xx, 0 failed"),
        "{out}"
    );
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(got.body, body);
    assert_eq!(got.header("x-hub-signature").unwrap(), sign(SECRET, &body));
    assert_eq!(got.header("content-type").unwrap(), "application/json");
    assert_eq!(got.header("x-hookcli-capture-id").unwrap(), id);
    // Recorded as a delivery attempt of the capture.
    let doc: Value = serde_json::from_str(&ok(&run(&l.store, &["show", &id, "--json"]))).unwrap();
    assert_eq!(doc["attempts"][0]["kind"], "replay");
    assert_eq!(doc["attempts"][0]["status"], 200);
    // A capture that was never forwarded has no delivery state, replayed or not.
    assert_eq!(doc["delivery"], Value::Null);
    let shown = ok(&run(&l.store, &["show", &id, "--color", "never"]));
    assert!(
        shown.contains("\nreplays\n") && shown.contains("#1 ") && shown.contains(" replay "),
        "{shown}"
    );
    fails(
        &run(&l.store, &["list", "--status", "delivered"]),
        1,
        "no captures match",
    );
}

#[test]
fn a_replay_leaves_forwarding_state_numbers_and_budget_alone() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let port = free_port();
    let target = format!("http://127.0.0.1:{port}/hook");
    let args = [
        "--json",
        "--forward-to",
        &target,
        "--retry-base-ms",
        "60000",
        "--max-attempts",
        "2",
    ];
    let mut first = listen_at(&store, home.path(), &args, &[]);
    let id = first.post("/", &[], b"{\"held\":1}").id();
    first.wait_line(|s| s.contains("\"outcome\":\"retrying\""));
    assert_eq!(first.interrupt().0, 0);
    let other = App::start();
    for _ in 0..2 {
        ok(&run(
            &store,
            &["replay", "--last", "1", "--to", &other.url("/other")],
        ));
    }
    let got = other.wait_for(2, Duration::from_secs(5));
    assert_eq!(got[1].header("x-hookcli-attempt").unwrap(), "2");
    let list = ok(&run(&store, &["list", "--color", "never"]));
    assert!(list.contains("pending"), "{list}");
    assert_eq!(
        ok(&run(&store, &["list", "--json", "--status", "pending"]))
            .lines()
            .count(),
        1
    );
    // The real app comes up: the next run delivers it, as forwarding attempt 2 of 2.
    let app = App::start_on(port);
    let second = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &target, "--max-attempts", "1"],
        &[],
    );
    let got = app.wait_for(1, Duration::from_secs(10)).remove(0);
    assert_eq!(got.body, b"{\"held\":1}");
    assert_eq!(got.header("x-hookcli-attempt").unwrap(), "2");
    second.wait_line(|s| s.contains("\"outcome\":\"delivered\""));
    let doc: Value = serde_json::from_str(&ok(&run(&store, &["show", &id, "--json"]))).unwrap();
    assert_eq!(doc["delivery"], "delivered");
    let kinds: Vec<(String, u64)> = doc["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().into(),
                a["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("forward", 1), ("replay", 1), ("replay", 2), ("forward", 2)]
            .map(|(k, n)| (k.to_string(), n))
    );
    // In human mode the delivery section holds the forwarding attempts, the replays follow.
    let shown = ok(&run(&store, &["show", &id, "--color", "never"]));
    let delivery = &shown[shown.find("\ndelivery delivered\n").expect(&shown)..];
    let (forwards, replays) = delivery.split_at(delivery.find("\nreplays\n").expect(&shown));
    assert_eq!(forwards.matches(" forward ").count(), 2, "{shown}");
    assert!(!forwards.contains(" replay "), "{shown}");
    assert_eq!(replays.matches(" replay ").count(), 2, "{shown}");
}

#[test]
fn replay_and_export_order_created_follow_intercoms_created_at() {
    let l = listen(&["--json"]);
    let body = |id: &str, created: i64| created_at(Some(id), &created.to_string());
    // Arrived out of order, as Intercom may deliver them.
    for (id, created) in [
        ("notif_b", 1_700_000_200),
        ("notif_a", 1_700_000_100),
        ("notif_c", 1_700_000_300),
    ] {
        l.post("/", &[], body(id, created).as_bytes());
    }
    let app = App::start();
    let received = |order: &str| -> Vec<String> {
        let before = app.received().len();
        ok(&run(
            &l.store,
            &["replay", "--all", "--to", &app.url("/"), "--order", order],
        ));
        app.received()[before..]
            .iter()
            .map(|r| {
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                v["id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(received("received"), ["notif_b", "notif_a", "notif_c"]);
    assert_eq!(received("created"), ["notif_a", "notif_b", "notif_c"]);
    let exported = |order: &str| -> Vec<String> {
        ok(&run(&l.store, &["export", "--json", "--order", order]))
            .lines()
            .map(|line| {
                let doc: Value = serde_json::from_str(line).unwrap();
                let body: Value =
                    serde_json::from_str(doc["body"]["text"].as_str().unwrap()).unwrap();
                body["id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(exported("received"), ["notif_b", "notif_a", "notif_c"]);
    assert_eq!(exported("created"), ["notif_a", "notif_b", "notif_c"]);
}

#[test]
fn replay_re_signs_with_another_secret_and_edits_with_set() {
    let (l, id, body) = with_capture();
    let app = App::start();
    ok(&run(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--secret", "another"]),
    ));
    let got = app.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].body, body);
    assert_eq!(
        got[0].header("x-hub-signature").unwrap(),
        sign("another", &body)
    );
    ok(&run(
        &l.store,
        &replay_args(
            &id,
            &app.url("/"),
            &[
                "--secret",
                SECRET,
                "--set",
                "data.item.id=\"42\"",
                "--set",
                "delivery_status=redelivered",
            ],
        ),
    ));
    let got = app.wait_for(2, Duration::from_secs(5)).remove(1);
    // Only the named values change: the capture's pretty-printing stays byte for byte.
    let expected = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"id\":\"21322009097\"", "\"id\":\"42\"")
        .replace(
            "\"delivery_status\":\"pending\"",
            "\"delivery_status\":\"redelivered\"",
        );
    assert_eq!(String::from_utf8_lossy(&got.body), expected);
    assert_eq!(
        got.header("x-hub-signature").unwrap(),
        sign(SECRET, &got.body)
    );
}

#[test]
fn set_and_as_redelivery_change_only_the_named_values() {
    let l = listen(&["--json"]);
    let body = r#"{"type":"notification_event","big":123456789012345678901234567890,"dec":1.10,"exp":1e2,"s":"\u00e9\/x","d":1,"d":2,"delivery_attempts":1 }"#;
    let id = l.post("/", &[], body.as_bytes()).id();
    let app = App::start();
    ok(&run(
        &l.store,
        &replay_args(
            &id,
            &app.url("/"),
            &["--as-redelivery", "--set", "topic=ping", "--unsigned"],
        ),
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    let expected = body
        .replace("\"delivery_attempts\":1", "\"delivery_attempts\":2")
        .replace("2 }", "2,\"topic\":\"ping\" }");
    assert_eq!(String::from_utf8_lossy(&got.body), expected);
    let file = l.store.parent().unwrap().join("own.json");
    std::fs::write(&file, body).unwrap();
    let printed = ok(&run(
        &l.store,
        &[
            "send",
            "--file",
            file.to_str().unwrap(),
            "--print",
            "--set",
            "dec=2.50",
        ],
    ));
    // Written to a file (not a terminal): the exact bytes, no newline added.
    assert_eq!(printed, body.replace("1.10", "2.50"));
}

#[test]
fn a_changed_body_without_a_secret_is_refused_unless_unsigned() {
    let (l, id, _) = with_capture();
    let app = App::start();
    fails(
        &run(
            &l.store,
            &replay_args(&id, &app.url("/"), &["--as-redelivery"]),
        ),
        1,
        "pass --secret to re-sign it, or --unsigned",
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(app.received().is_empty());
    ok(&run(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--as-redelivery", "--unsigned"]),
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert!(got.header("x-hub-signature").is_none());
    let v: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        v["delivery_attempts"], 2,
        "--as-redelivery increments delivery_attempts"
    );
    assert_eq!(
        v["id"], "notif_44d1f763-d3ad-4927-8e5c-da6cd6ca78d2",
        "same notification id"
    );
}

#[test]
fn as_redelivery_refuses_a_delivery_attempts_it_cannot_add_one_to() {
    let l = listen(&["--json"]);
    let app = App::start();
    for value in ["18446744073709551615", "\"1\"", "1.5", "-3"] {
        let body = format!(
            r#"{{"type":"notification_event","topic":"ping","delivery_attempts":{value}}}"#
        );
        let id = l.post("/", &[], body.as_bytes()).id();
        fails(
            &run(
                &l.store,
                &replay_args(&id, &app.url("/"), &["--as-redelivery", "--unsigned"]),
            ),
            1,
            &format!("it is {value}, not a count that can grow"),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(app.received().is_empty(), "nothing was sent");
}

#[test]
fn edit_uses_the_editor_and_refuses_invalid_json() {
    let (l, id, body) = with_capture();
    let app = App::start();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good-editor.sh");
    std::fs::write(
        &good,
        "#!/bin/sh\nsed -i 's/\"delivery_attempts\": 1/\"delivery_attempts\": 7/' \"$1\"\n",
    )
    .unwrap();
    let bad = dir.path().join("bad-editor.sh");
    std::fs::write(&bad, "#!/bin/sh\nprintf '{broken' > \"$1\"\n").unwrap();
    for script in [&good, &bad] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = run_env(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--edit", "--secret", SECRET]),
        // An empty VISUAL counts as unset.
        &[("VISUAL", ""), ("EDITOR", good.to_str().unwrap())],
    );
    ok(&out);
    let diff = String::from_utf8_lossy(&out.stderr);
    assert!(
        diff.contains("-   \"delivery_attempts\": 1,")
            && diff.contains("+   \"delivery_attempts\": 7,"),
        "{diff}"
    );
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(
        got.body,
        compact_with(&body, &["delivery_attempts"], Value::from(7))
    );
    assert_eq!(
        got.header("x-hub-signature").unwrap(),
        sign(SECRET, &got.body)
    );
    let out = run_env(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--edit", "--secret", SECRET]),
        &[("VISUAL", bad.to_str().unwrap())],
    );
    fails(&out, 1, "the edited body is not valid JSON");
    let err = String::from_utf8_lossy(&out.stderr);
    let kept = err.split("kept in ").nth(1).unwrap().trim();
    assert_eq!(std::fs::read_to_string(kept).unwrap(), "{broken");
    std::fs::remove_file(kept).unwrap();
    assert_eq!(app.received().len(), 1, "the invalid edit was not sent");
}

#[test]
fn replaying_an_unsigned_notification_without_a_secret_says_so() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let file = home.path().join("bare.json");
    std::fs::write(&file, notification("ping", None, r#"{"type":"ping"}"#)).unwrap();
    let app = App::start();
    let to = app.url("/");
    let replay = |more: &[&str]| {
        let mut args = vec!["replay", "--file", file.to_str().unwrap(), "--to", &to];
        args.extend_from_slice(more);
        let out = run(&store, &args);
        ok(&out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        replay(&[]).contains("warning: 1 of these notifications carries no signature"),
        "warned"
    );
    assert!(!replay(&["--unsigned"]).contains("warning"));
    assert!(!replay(&["--secret", SECRET]).contains("warning"));
    let got = app.wait_for(3, Duration::from_secs(5));
    assert!(got[0].header("x-hub-signature").is_none());
    assert_eq!(
        got[2].header("x-hub-signature").unwrap(),
        sign(SECRET, &got[2].body)
    );
}

#[test]
fn an_edit_changes_only_what_was_edited() {
    let l = listen(&["--json"]);
    let body = r#"{"type":"notification_event","topic":"ping","id":"notif_n","big":123456789012345678901234567890,"f":1.10,"neg":-0,"e":"\u00e9\/","dup":1,"dup":2,"x":"b"}"#;
    let id = l.post("/", &[], body.as_bytes()).id();
    let app = App::start();
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/\"b\"/\"c\"/' \"$1\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run_env(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--edit", "--secret", SECRET]),
        &[("VISUAL", editor.to_str().unwrap())],
    );
    ok(&out);
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(
        String::from_utf8(got.body).unwrap(),
        body.replace(r#""x":"b""#, r#""x":"c""#)
    );
    // The diff shows that change and only it.
    let diff = String::from_utf8_lossy(&out.stderr);
    let changed: Vec<&str> = diff.lines().filter(|l| l.starts_with(['-', '+'])).collect();
    assert_eq!(changed, ["-   \"x\": \"b\"", "+   \"x\": \"c\""], "{diff}");
}

#[test]
fn an_edit_that_changes_nothing_sends_the_original_from_a_private_file() {
    let (l, id, body) = with_capture();
    let app = App::start();
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    // Records the file it was given and its mode, reformats it (no change to the JSON).
    let noop = dir.path().join("noop-editor.sh");
    std::fs::write(
        &noop,
        format!(
            "#!/bin/sh\necho \"$1 $(stat -c %a \"$1\")\" >> '{}'\nsed -i 's/^ *//' \"$1\"\n",
            seen.display()
        ),
    )
    .unwrap();
    let failing = dir.path().join("failing-editor.sh");
    std::fs::write(
        &failing,
        format!("#!/bin/sh\necho \"$1 x\" >> '{}'\nexit 3\n", seen.display()),
    )
    .unwrap();
    for script in [&noop, &failing] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let editor = [("EDITOR", noop.to_str().unwrap())];
    // Without a secret: not refused as changed, and the original signature still fits.
    ok(&run_env(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--edit"]),
        &editor,
    ));
    // With one: the original bytes, not a compact copy.
    ok(&run_env(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--edit", "--secret", SECRET]),
        &editor,
    ));
    for got in app.wait_for(2, Duration::from_secs(5)) {
        assert_eq!(got.body, body);
        assert_eq!(got.header("x-hub-signature").unwrap(), sign(SECRET, &body));
    }
    fails(
        &run_env(
            &l.store,
            &replay_args(&id, &app.url("/"), &["--edit"]),
            &[("EDITOR", failing.to_str().unwrap())],
        ),
        1,
        "failed (exit status: 3); nothing sent",
    );
    let seen = std::fs::read_to_string(&seen).unwrap();
    let files: Vec<(&str, &str)> = seen.lines().map(|l| l.rsplit_once(' ').unwrap()).collect();
    assert_eq!(files.len(), 3, "{seen}");
    assert_eq!(files[0].1, "600", "only the user may read the body");
    assert_ne!(files[0].0, files[1].0, "a fresh random name each time");
    for (file, _) in &files {
        assert!(!file.contains(&id[..12]), "{file}");
        assert!(!std::path::Path::new(file).exists(), "{file} left behind");
    }
}

#[test]
fn dry_run_sends_nothing() {
    let (l, id, _) = with_capture();
    let app = App::start();
    let out = ok(&run(
        &l.store,
        &replay_args(&id, &app.url("/x"), &["--dry-run", "--color", "never"]),
    ));
    assert!(
        out.contains(&format!("POST {}", app.url("/x")))
            && out.contains("x-hub-signature: sha1=")
            && out.contains("dry run: nothing sent"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(app.received().is_empty());
}

#[test]
fn a_dry_run_shows_the_headers_and_body_bytes_the_app_then_gets() {
    let l = listen(&["--json"]);
    let body = b"{\"topic\":\"ping\",\"t\":\"a\tb\",\"e\":\"\x1b[31m\"}";
    let id = l
        .post(
            "/",
            &[
                ("Connection", "keep-alive, X-Secret-Hop"),
                ("X-Secret-Hop", "dropped"),
                ("X-Forwarded-For", "203.0.113.9"),
                ("X-Custom", "kept"),
            ],
            body,
        )
        .id();
    let app = App::start();
    let to = app.url("/x");
    let out = ok(&run(
        &l.store,
        &replay_args(&id, &to, &["--dry-run", "--color", "never"]),
    ));
    let (head, rest) = out.split_once("\n\n").expect("headers, then the body");
    let shown: Vec<String> = head.lines().skip(1).map(|l| l.trim().to_string()).collect();
    // The body's bytes as they are, not pretty-printed; the escape byte made visible.
    assert!(
        rest.starts_with("  {\"topic\":\"ping\",\"t\":\"a\\tb\",\"e\":\"\\x1b[31m\"}\n"),
        "{rest}"
    );
    assert!(!out.contains('\x1b'));
    // The same as one JSON record for scripts.
    let dry: Value = serde_json::from_str(&ok(&run(
        &l.store,
        &replay_args(&id, &to, &["--dry-run", "--json"]),
    )))
    .unwrap();
    assert_eq!(dry["type"], "replay_dry_run", "{dry}");
    assert_eq!(
        (&dry["capture_id"], &dry["method"]),
        (&json!(id), &json!("POST"))
    );
    assert_eq!((&dry["target"], &dry["attempt"]), (&json!(to), &json!(1)));
    assert_eq!(dry["body"]["text"], String::from_utf8_lossy(body).as_ref());
    let dry_headers: Vec<String> = dry["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}: {}",
                h[0].as_str().unwrap(),
                h[1]["text"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(dry_headers, shown);
    ok(&run(
        &l.store,
        &replay_args(&id, &to, &["--color", "never"]),
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    let sent: Vec<String> = got
        .headers
        .iter()
        .map(|(n, v)| format!("{}: {v}", n.to_ascii_lowercase()))
        .collect();
    // The same lines in the same order.
    assert_eq!(shown, sent);
    assert!(
        sent.contains(&"x-forwarded-for: 203.0.113.9, 127.0.0.1".to_string())
            && sent.contains(&"x-hookcli-attempt: 1".to_string())
            && sent.iter().any(|h| h.starts_with("x-forwarded-proto: "))
            && sent.iter().any(|h| h.starts_with("x-forwarded-host: "))
            && !sent.iter().any(|h| h.starts_with("x-secret-hop")),
        "{sent:?}"
    );
    assert_eq!(got.body, body);
}

#[test]
fn selections_summary_and_exit_codes() {
    let l = listen(&["--json"]);
    let ids: Vec<String> = [
        "ticket.created",
        "ticket.closed",
        "contact.user.created",
        "ticket.note.created",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| {
        l.post(
            "/",
            &[],
            notification(t, Some(&format!("n{i}")), r#"{"type":"x"}"#).as_bytes(),
        )
        .id()
    })
    .collect();
    let app = App::start();
    let to = app.url("/");
    let targets = |args: &[&str]| -> Vec<String> {
        let before = app.received().len();
        let mut all = vec!["replay", "--to", to.as_str()];
        all.extend_from_slice(args);
        ok(&run(&l.store, &all));
        app.received()[before..]
            .iter()
            .map(|r| r.header("x-hookcli-capture-id").unwrap())
            .collect()
    };
    assert_eq!(
        targets(&["--topic", "ticket.*"]),
        vec![ids[0].clone(), ids[1].clone(), ids[3].clone()]
    );
    assert_eq!(
        targets(&["--last", "2"]),
        vec![ids[2].clone(), ids[3].clone()]
    );
    assert_eq!(targets(&["--all", "--concurrency", "3"]).len(), 4);
    assert_eq!(
        targets(&[&ids[2][..14], &ids[0][..14]]),
        vec![ids[0].clone(), ids[2].clone()]
    );
    // One failure: exit 1 and a summary that says so.
    app.answer(|r, _| {
        if r.body.windows(13).any(|w| w == b"ticket.closed") {
            Answer::status(500, "boom")
        } else {
            Answer::status(200, "")
        }
    });
    let out = run(
        &l.store,
        &[
            "replay", "--to", &to, "--topic", "ticket.*", "--color", "never",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("replayed 3: 2 answered 2xx, 1 failed") && text.contains("│ boom"),
        "{text}"
    );
    let json = run(
        &l.store,
        &["replay", "--to", &to, "--topic", "ticket.*", "--json"],
    );
    let last: Value = serde_json::from_str(
        String::from_utf8_lossy(&json.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["type"], "replay_summary");
    assert_eq!(last["failed"], 1);
    // Nothing selected is a usage mistake that says what to do.
    fails(
        &run(&l.store, &["replay", "--to", &to]),
        2,
        "name what to replay",
    );
}

#[test]
fn replay_defaults_to_the_last_forward_target_and_retries_failed_ones() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let port = free_port();
    let target = format!("http://127.0.0.1:{port}/hook");
    let none = run(&store, &["replay", "--all"]);
    assert_eq!(none.status.code(), Some(1));
    let mut l = listen_at(
        &store,
        home.path(),
        &["--json", "--forward-to", &target, "--max-attempts", "1"],
        &[],
    );
    let id = l.post("/", &[], b"{\"lost\":true}").id();
    l.wait_line(|s| s.contains("\"outcome\":\"failed\""));
    assert_eq!(l.interrupt().0, 0);
    let app = App::start_on(port);
    ok(&run(&store, &["replay", "--status", "failed"]));
    let got = app.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].target, "/hook");
    assert_eq!(got[0].body, b"{\"lost\":true}");
    let doc: Value = serde_json::from_str(&ok(&run(&store, &["show", &id, "--json"]))).unwrap();
    assert_eq!(
        doc["delivery"], "failed",
        "forwarding's verdict, whatever a replay got"
    );
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2);
    let fresh = tempfile::tempdir().unwrap();
    let empty = fresh.path().join("s");
    ok(&run(
        &empty,
        &[
            "import",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/intercom/zulip/ping.json"
            ),
        ],
    ));
    fails(&run(&empty, &["replay", "--all"]), 2, "pass --to URL");
}

#[test]
fn replay_without_to_routes_each_capture_by_topic_as_listen_did() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let app = App::start();
    let (ok_url, fail_url) = (app.url("/ok"), app.url("/fail"));
    let mut l = listen_at(
        &store,
        home.path(),
        &[
            "--json",
            "--forward-to",
            &format!("conversation.*={ok_url}"),
            "--forward-to",
            &format!("ticket.*={fail_url}"),
            "--path",
            "/hooks",
        ],
        &[],
    );
    let post = |topic: &str| {
        l.post(
            "/hooks/eu?region=eu",
            &[],
            notification(topic, Some(topic), "{}").as_bytes(),
        )
        .id()
    };
    let ticket = post("ticket.created");
    let conversation = post("conversation.user.replied");
    let contact = post("contact.user.created");
    app.wait_for(2, Duration::from_secs(5));
    assert_eq!(l.interrupt().0, 0);
    let before = app.received().len();
    let out = run(&store, &["replay", "--all", "--color", "never"]);
    fails(
        &out,
        1,
        "1 could not be routed by the last listen --forward-to's routes and was not sent",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not sent: no route the last listen --forward-to recorded matches topic contact.user.created"),
        "{text}"
    );
    assert!(
        text.contains("2 answered 2xx, 0 failed; 1 not sent"),
        "{text}"
    );
    let replayed = app.wait_for(before + 2, Duration::from_secs(5));
    let to = |id: &str| -> Vec<String> {
        replayed[before..]
            .iter()
            .filter(|r| r.header("x-hookcli-capture-id").as_deref() == Some(id))
            .map(|r| r.target.clone())
            .collect()
    };
    // Where forwarding sent them: the route's path, what followed --path, the query.
    assert_eq!(to(&ticket), ["/fail/eu?region=eu"]);
    assert_eq!(to(&conversation), ["/ok/eu?region=eu"]);
    assert!(to(&contact).is_empty());
    let forwarded: Vec<String> = replayed[..before]
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert!(
        forwarded.contains(&"/fail/eu?region=eu".to_string()),
        "{forwarded:?}"
    );
    // The dry run routes the same way.
    let dry = run(
        &store,
        &["replay", &ticket, "--dry-run", "--color", "never"],
    );
    assert!(String::from_utf8_lossy(&dry.stdout).contains(&format!("POST {fail_url}/eu?region=eu")));
    // --to still sends everything to one URL.
    ok(&run(&store, &["replay", &ticket, "--to", &ok_url]));
    assert_eq!(
        app.wait_for(before + 3, Duration::from_secs(5))[before + 2].target,
        "/ok?region=eu"
    );
    // Routes it cannot read are not half used: it says so and sends nothing.
    let conn = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    let routes: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'last_forward_routes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let broken = routes.replacen("http", "ftp", 1);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_forward_routes'",
        [&broken],
    )
    .unwrap();
    let sent = app.received().len();
    fails(
        &run(&store, &["replay", &ticket]),
        1,
        "the routes the last listen --forward-to recorded cannot be read",
    );
    assert_eq!(app.received().len(), sent);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_forward_routes'",
        [&routes],
    )
    .unwrap();
    // A store from before routes were recorded has only last_forward_to, which takes all.
    conn.execute(
        "DELETE FROM meta WHERE key IN ('last_forward_routes', 'last_forward_prefix')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_forward_to'",
        [app.url("/legacy")],
    )
    .unwrap();
    drop(conn);
    ok(&run(&store, &["replay", &contact]));
    assert_eq!(
        app.wait_for(before + 4, Duration::from_secs(5))[before + 3].target,
        "/legacy?region=eu"
    );
}

#[test]
fn replay_file_sends_an_exported_document() {
    let (l, id, body) = with_capture();
    let doc = l.store.parent().unwrap().join("doc.json");
    ok(&run(
        &l.store,
        &["export", &id, "-o", doc.to_str().unwrap()],
    ));
    let app = App::start();
    ok(&run(
        &l.store,
        &[
            "replay",
            "--file",
            doc.to_str().unwrap(),
            "--to",
            &app.url("/"),
        ],
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(got.body, body);
    assert_eq!(got.header("x-hub-signature").unwrap(), sign(SECRET, &body));
}

#[test]
fn replay_file_reads_what_import_reads_and_refuses_an_empty_file() {
    let l = listen(&["--json"]);
    let ids: Vec<String> = (0..2)
        .map(|n| {
            l.post(&format!("/p{n}"), &[], format!("{{\"n\":{n}}}").as_bytes())
                .id()
        })
        .collect();
    let dir = l.store.parent().unwrap().to_path_buf();
    let app = App::start();
    let replay_file = |file: &std::path::Path| {
        run(
            &l.store,
            &[
                "replay",
                "--file",
                file.to_str().unwrap(),
                "--to",
                &app.url("/"),
            ],
        )
    };
    for format in ["json", "har"] {
        let before = app.received().len();
        let file = dir.join(format!("all.{format}"));
        ok(&run(
            &l.store,
            &["export", "--format", format, "-o", file.to_str().unwrap()],
        ));
        let out = ok(&replay_file(&file));
        assert!(out.contains("replayed 2: 2 answered 2xx"), "{out}");
        let got = &app.received()[before..];
        let bodies: Vec<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, [&b"{\"n\":0}"[..], b"{\"n\":1}"], "{format}");
        let sent_ids: Vec<String> = got
            .iter()
            .map(|r| r.header("x-hookcli-capture-id").unwrap())
            .collect();
        assert_eq!(sent_ids, ids, "{format}");
    }
    let before = app.received().len();
    for (content, why) in [
        ("", "the file is empty"),
        ("{}", "it is JSON but not a hookcli capture document"),
    ] {
        let file = dir.join("odd.json");
        std::fs::write(&file, content).unwrap();
        let out = replay_file(&file);
        fails(&out, 1, &format!("cannot replay {}: {why}", file.display()));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(app.received().len(), before, "nothing sent");
}

#[test]
fn send_fabricates_every_topic_correctly_signed() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let topics: Vec<Value> = ok(&run(&store, &["topics", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(topics.len() > 100);
    let order = [
        "type",
        "app_id",
        "data",
        "links",
        "id",
        "topic",
        "delivery_status",
        "delivery_attempts",
        "delivered_at",
        "first_sent_at",
        "created_at",
        "self",
    ];
    for t in &topics {
        let name = t["name"].as_str().unwrap();
        let doc: Value = serde_json::from_str(&ok(&run(
            &store,
            &[
                "send", name, "--print", "--json", "--secret", SECRET, "--app-id", "ws42",
            ],
        )))
        .unwrap();
        let body = doc["body"]["text"].as_str().unwrap();
        let v: Value = serde_json::from_str(body).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, order, "{name}");
        assert_eq!(v["topic"], name);
        assert_eq!(v["app_id"], "ws42");
        let item = &v["data"]["item"];
        if name.ends_with(".contact.attached") || name.ends_with(".contact.detached") {
            // No type: the object beside the contact, as in the 2026 captures.
            let object = t["object"].as_str().unwrap();
            assert!(
                item["type"].is_null() && item[object].is_object() && item["contact"].is_object(),
                "{name}"
            );
        } else {
            assert_eq!(item["type"], t["object"], "{name}");
        }
        let sig = doc["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "x-hub-signature")
            .unwrap()[1]["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(sig, sign(SECRET, body.as_bytes()), "{name}");
        let ua = doc["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "user-agent")
            .unwrap()[1]["text"]
            .clone();
        assert_eq!(ua, "intercom-parrot-service-client/1.0");
    }
    fails(
        &run(&store, &["send", "ticket.create", "--print"]),
        2,
        "unknown topic 'ticket.create' (did you mean ticket.created",
    );
    // The nearest names first, not just the first few of the family.
    fails(
        &run(&store, &["send", "contact.tag.create", "--print"]),
        2,
        "(did you mean contact.tag.created, ",
    );
    // The topic is checked first, so a typo is named even before --to or --print.
    fails(
        &run(&store, &["send", "tiket.created"]),
        2,
        "(did you mean ticket.created, ",
    );
    fails(
        &run(&store, &["send", "ping"]),
        2,
        "pass --to URL to send it, or --print to see it",
    );
    // A --set that is not PATH=VALUE is a usage error too, for send and replay alike.
    for (set, says) in [
        ("nokey", "write it as PATH=VALUE"),
        ("=v", "is not a dotted path"),
        ("a={", "starts like JSON but is not valid JSON"),
        ("a=[1,", "starts like JSON but is not valid JSON"),
        ("a=\"open", "starts like JSON but is not valid JSON"),
    ] {
        fails(
            &run(&store, &["send", "ping", "--set", set, "--print"]),
            2,
            says,
        );
        fails(&run(&store, &["replay", "--all", "--set", set]), 2, says);
    }
    // Two ways of setting one field: which is meant is not guessed.
    fails(
        &run(
            &store,
            &[
                "replay",
                "--all",
                "--as-redelivery",
                "--set",
                "delivery_attempts=7",
            ],
        ),
        2,
        "--as-redelivery sets delivery_attempts itself",
    );
    // What only the body can decide stays a failure.
    fails(
        &run(&store, &["send", "ping", "--set", "topic.x=1", "--print"]),
        1,
        "--set topic.x=1: 'topic' is a string, so it has no field 'x'",
    );
}

#[test]
fn send_print_is_what_to_sends_and_count_rate_make_distinct_ids() {
    let l = listen(&["--json", "--secret", SECRET]);
    let out = run(
        &l.store,
        &[
            "send",
            "conversation.user.replied",
            "--print",
            "--to",
            &l.url,
            "--secret",
            SECRET,
            "--set",
            "data.item.priority=\"priority\"",
        ],
    );
    let printed = ok(&out);
    let record = l.wait_line(|s| s.contains("\"capture\""));
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["body"]["text"].as_str().unwrap(), printed);
    assert_eq!(record["signature"]["verdict"], "valid");
    assert!(printed.contains("\"priority\":\"priority\""));
    let out = ok(&run(
        &l.store,
        &[
            "send",
            "contact.user.created",
            "--count",
            "5",
            "--rate",
            "100/s",
            "--to",
            &l.url,
            "--secret",
            SECRET,
            "--color",
            "never",
        ],
    ));
    assert!(out.contains("sent 5: 5 answered 2xx, 0 failed"), "{out}");
    let ids: std::collections::BTreeSet<String> =
        String::from_utf8_lossy(&run(&l.store, &["list", "--json", "--topic", "contact.*"]).stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["intercom"]["notification_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
    assert_eq!(ids.len(), 5);
    let app = App::start();
    app.answer(|_, _| Answer::status(500, "nope"));
    fails(
        &run(&l.store, &["send", "ping", "--to", &app.url("/")]),
        1,
        "did not get a 2xx",
    );
}

#[test]
fn send_json_gives_a_record_per_send_and_printed_documents_have_real_ids() {
    let l = listen(&["--json", "--secret", SECRET]);
    let args = ["send", "ticket.created", "--to", &l.url, "--secret", SECRET];
    let sent = run(&l.store, &[&args[..], &["--json", "--count", "2"]].concat());
    assert!(sent.stderr.is_empty(), "{sent:?}");
    let out = ok(&sent);
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{out}");
    for r in &records[..2] {
        assert_eq!(r["type"], "send");
        assert_eq!(
            (&r["topic"], &r["status"], &r["outcome"]),
            (&json!("ticket.created"), &json!(200), &json!("delivered"))
        );
        assert_eq!(r["id"].as_str().unwrap().len(), 26, "{r}");
        assert!(
            r["notification_id"].as_str().unwrap().starts_with("notif_"),
            "{r}"
        );
        // What listen answered, as the app would.
        let text = r["response_preview"]["text"].as_str().unwrap();
        assert!(text.starts_with("{\"ok\":true"), "{r}");
    }
    assert_eq!(
        records[2],
        json!({"type": "send_summary", "sent": 2, "ok": 2, "failed": 0})
    );
    // A failed send is a record too, and the exit code says so.
    let app = App::start();
    app.answer(|_, _| Answer::status(500, "nope"));
    let out = run(&l.store, &["send", "ping", "--to", &app.url("/"), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["status"], &first["outcome"]),
        (&json!(500), &json!("failed"))
    );
    // A printed document has an id that import keeps.
    let doc = ok(&run(&l.store, &["send", "ping", "--print", "--json"]));
    let id = serde_json::from_str::<Value>(&doc).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("ping.json");
    std::fs::write(&file, &doc).unwrap();
    let store = home.path().join("store");
    let imported = ok(&run(&store, &["import", file.to_str().unwrap()]));
    assert_eq!(
        imported.trim(),
        format!("imported {} from {}", &id[..12], file.display())
    );
}

#[test]
fn check_passes_a_good_endpoint_and_explains_each_failure() {
    let l = listen(&["--json", "--secret", SECRET]);
    let home = l.store.parent().unwrap().to_path_buf();
    let good = ok(&run(
        &l.store,
        &[
            "check",
            &l.url,
            "--allow-http",
            "--secret",
            SECRET,
            "--color",
            "never",
        ],
    ));
    assert!(
        good.contains("✓ HEAD")
            && good.contains("✓ ping")
            && good.contains("✓ HEAD   answered 200 OK (")
            && good.contains("signed ping answered 200 OK, within 500 ms")
            && good.contains(
                "This endpoint passes Intercom's checks but HTTPS, which --allow-http skipped"
            ),
        "{good}"
    );
    let ping = l.wait_line(|s| s.contains("\"capture\"") && s.contains("\"ping\":true"));
    assert!(
        ping.contains("\"verdict\":\"valid\""),
        "the check's ping is signed like Intercom's: {ping}"
    );
    fails(
        &run(&l.store, &["check", &l.url, "--secret", SECRET]),
        1,
        "does not pass Intercom's checks",
    );
    let app = App::start();
    let check = |answer: fn(&crate::common::app::Received, usize) -> Answer| -> String {
        app.answer(answer);
        let out = run(
            &home.join("s"),
            &[
                "check",
                &app.url("/hook"),
                "--allow-http",
                "--secret",
                SECRET,
                "--color",
                "never",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(405, "")
        } else {
            Answer::status(200, "")
        }
    });
    assert!(
        text.contains("✗ HEAD") && text.contains("route HEAD"),
        "{text}"
    );
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer {
                headers: vec![("Location".into(), "https://elsewhere/".into())],
                ..Answer::status(301, "")
            }
        } else {
            Answer::status(200, "")
        }
    });
    assert!(
        text.contains("Intercom's docs do not say it follows redirects, so use the final URL"),
        "{text}"
    );
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(200, "")
        } else {
            Answer {
                body: b"db \xff down".to_vec(),
                ..Answer::status(500, "")
            }
        }
    });
    assert!(
        text.contains("✗ ping")
            && text.contains("500")
            && text.contains("db \\xff down")
            && text
                .contains("This endpoint is not ready for Intercom yet: fix the steps marked ✗."),
        "{text}"
    );
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(200, "")
        } else {
            Answer {
                delay: Duration::from_millis(5500),
                ..Answer::status(200, "")
            }
        }
    });
    assert!(text.contains("no answer within 5 s"), "{text}");
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(200, "")
        } else {
            Answer::status(401, "bad signature")
        }
    });
    assert!(
        text.contains("your app refused a ping signed with --secret: make sure --secret is the client secret your app uses"),
        "{text}"
    );
    // 410 and 429 cost the whole subscription, not one notification: the check says so.
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(200, "")
        } else {
            Answer::status(410, "gone\r\n")
        }
    });
    assert!(
        text.contains("✗ ping")
            && text.contains("Intercom disables a webhook subscription whose endpoint answers 410")
            && text.contains("It said: gone (")
            && !text.contains("\\r"),
        "{text}"
    );
    let text = check(|r, _| {
        if r.method == "HEAD" {
            Answer::status(200, "")
        } else {
            Answer::status(429, "")
        }
    });
    assert!(
        text.contains("Intercom throttles the whole webhook subscription for 1 min to 2 h"),
        "{text}"
    );
}

#[test]
fn check_json_gives_no_timing_verdict_to_a_step_that_got_no_answer() {
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", free_port());
    let out = run(
        &home.path().join("s"),
        &["check", &url, "--allow-http", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let head: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["step"] == "HEAD")
        .unwrap();
    assert_eq!(head["ok"], false, "{head}");
    assert!(head["within_priority_threshold"].is_null(), "{head}");
}

#[test]
fn check_slow_but_in_time_is_accepted() {
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(700),
        ..Answer::status(200, "")
    });
    let home = tempfile::tempdir().unwrap();
    let out = ok(&run(
        &home.path().join("s"),
        &["check", &app.url("/"), "--allow-http", "--json"],
    ));
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["accepted"], true);
    let ping: Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
    assert_eq!(ping["within_priority_threshold"], false);
    assert!(ping["detail"].as_str().unwrap().contains("over 500 ms"));
}

#[test]
fn verify_gives_each_diagnosis() {
    let home = tempfile::tempdir().unwrap();
    let body = home.path().join("body.json");
    std::fs::write(&body, VECTOR_BODY).unwrap();
    let store = home.path().join("s");
    let v = |sig: &str, secret: &str| -> (i32, Value) {
        let out = run(
            &store,
            &[
                "verify",
                "--body",
                body.to_str().unwrap(),
                "--signature",
                sig,
                "--secret",
                secret,
                "--json",
            ],
        );
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap(),
        )
    };
    let vector = "sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0";
    assert_eq!(v(vector, "secret").0, 0);
    assert_eq!(v(vector, "secret").1["diagnosis"], "valid");
    let upper = format!("sha1={}", vector[5..].to_uppercase());
    let (code, d) = v(&upper, "secret");
    assert_eq!(
        (code, d["diagnosis"].as_str().unwrap()),
        (0, "valid_uppercase")
    );
    assert!(
        d["detail"].as_str().unwrap().contains("strict")
            || d["detail"].as_str().unwrap().contains("compare strings")
    );
    let pasted = format!("X-Hub-Signature: {vector}");
    let sha256 = hmac_sha256_hex("secret", VECTOR_BODY.as_bytes());
    for (sig, secret, diagnosis) in [
        (&vector[5..], "secret", "prefix_missing"),
        ("", "secret", "empty"),
        (&pasted, "secret", "header_name_included"),
        (&sha256, "secret", "sha256_given"),
        ("sha256=abcd", "secret", "sha256_given"),
        ("sha1=xyz", "secret", "malformed_hex"),
        (vector, "wrong", "mismatch"),
    ] {
        let (code, d) = v(sig, secret);
        assert_eq!(
            (code, d["diagnosis"].as_str().unwrap()),
            (1, diagnosis),
            "{sig}"
        );
    }
    // The right HMAC-SHA256 under SHA-1's name is called what it is.
    let (code, d) = v(&format!("sha1={sha256}"), "secret");
    assert_eq!(
        (code, d["diagnosis"].as_str().unwrap()),
        (1, "sha256_given")
    );
    let said = d["detail"].as_str().unwrap();
    assert!(
        said.contains("64 hex") && said.contains("it is the HMAC-SHA256"),
        "{said}"
    );
    // Signed over the compact bytes, checked against a pretty copy: re-serialised.
    let pretty = home.path().join("pretty.json");
    std::fs::write(
        &pretty,
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(VECTOR_BODY).unwrap()).unwrap(),
    )
    .unwrap();
    let out = run(
        &store,
        &[
            "verify",
            "--body",
            pretty.to_str().unwrap(),
            "--signature",
            vector,
            "--secret",
            "secret",
            "--color",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-serialisation"));
    // From stdin, and from a stored capture (with and without a signature header).
    let mut child = hookcli(home.path())
        .args([
            "verify",
            "--body",
            "-",
            "--signature",
            vector,
            "--secret",
            "secret",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), VECTOR_BODY.as_bytes()).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let l = listen(&["--json"]);
    let signed = l
        .post("/", &[("X-Hub-Signature", vector)], VECTOR_BODY.as_bytes())
        .id();
    let unsigned = l.post("/", &[], VECTOR_BODY.as_bytes()).id();
    assert!(run(&l.store, &["verify", &signed, "--secret", "secret"])
        .status
        .success());
    let out = run(
        &l.store,
        &["verify", &unsigned, "--secret", "secret", "--json"],
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["diagnosis"],
        "header_missing"
    );
    // A body file that is not there is a file to read, not one to import.
    let missing = home.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    let reading = format!("cannot read the body file {missing}");
    let args = ["--signature", vector, "--secret", "secret"];
    fails(
        &run(
            &store,
            &[&["verify", "--body", missing][..], &args].concat(),
        ),
        1,
        &reading,
    );
    let to = ["--to", "http://127.0.0.1:9/"];
    fails(
        &run(&store, &[&["send", "--file", missing][..], &to].concat()),
        1,
        &reading,
    );
}

#[test]
fn topics_lists_and_filters() {
    let home = tempfile::tempdir().unwrap();
    let s = home.path().join("s");
    let text = ok(&run(&s, &["topics", "ticket.*", "--color", "never"]));
    assert!(
        text.contains("ticket.closed")
            && text.contains("permission: Read tickets")
            && !text.contains("conversation.")
    );
    let ping: Value =
        serde_json::from_str(ok(&run(&s, &["topics", "ping", "--json"])).trim()).unwrap();
    assert_eq!(ping["object"], "ping");
    fails(&run(&s, &["topics", "zzz.*"]), 1, "no topic matches");
}

#[test]
fn replay_header_overrides_and_send_attempt_and_file() {
    let (l, id, _) = with_capture();
    let app = App::start();
    ok(&run(
        &l.store,
        &replay_args(
            &id,
            &app.url("/"),
            &[
                "-H",
                "X-Debug: 1",
                "--header",
                "content-type: text/plain",
                "-H",
                "x-debug: 2",
            ],
        ),
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(
        got.header_all("x-debug"),
        vec!["1", "2"],
        "a name given twice sends both"
    );
    assert_eq!(
        got.header_all("content-type"),
        vec!["text/plain"],
        "an override replaces every header of that name"
    );
    let doc: Value = serde_json::from_str(&ok(&run(
        &l.store,
        &[
            "send",
            "ticket.created",
            "--print",
            "--json",
            "--attempt",
            "2",
        ],
    )))
    .unwrap();
    let body: Value = serde_json::from_str(doc["body"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["delivery_attempts"], 2);
    let own = l.store.parent().unwrap().join("own.json");
    std::fs::write(&own, "{\"mine\": true}\n").unwrap();
    ok(&run(
        &l.store,
        &[
            "send",
            "--file",
            own.to_str().unwrap(),
            "--to",
            &app.url("/own"),
            "--secret",
            SECRET,
        ],
    ));
    let got = app.wait_for(2, Duration::from_secs(5)).remove(1);
    assert_eq!(got.body, b"{\"mine\": true}\n", "your own bytes, untouched");
    assert_eq!(
        got.header("x-hub-signature").unwrap(),
        sign(SECRET, &got.body)
    );
    assert_eq!(
        got.header("user-agent").unwrap(),
        "intercom-parrot-service-client/1.0"
    );
}

#[test]
fn bad_or_conflicting_headers_and_signing_flags_are_usage_errors() {
    let (l, id, body) = with_capture();
    let app = App::start();
    let to = app.url("/");
    let usage = |more: &[&str], env: &[(&str, &str)], needle: &str| {
        let out = run_env(&l.store, &replay_args(&id, &to, more), env);
        fails(&out, 2, needle);
        assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: hookcli replay"));
        assert!(!String::from_utf8_lossy(&out.stderr).contains('\x1b'));
    };
    usage(
        &["-H", "Bad Name: x"],
        &[],
        "'Bad Name' is not a header name",
    );
    usage(&["-H", ": v"], &[], "'' is not a header name");
    usage(&["-H", "NoColon"], &[], "write it as 'Name: value'");
    usage(
        &["-H", "X-Evil: a\x1b[31mb"],
        &[],
        "the value has a control character",
    );
    usage(
        &["-H", "X-Split: a\r\nX-Injected: 1"],
        &[],
        "control character",
    );
    for name in [
        "Host",
        "content-length",
        "Connection",
        "Proxy-Authorization",
        "X-Hookcli-Attempt",
    ] {
        usage(
            &["-H", &format!("{name}: 5")],
            &[],
            &format!("hookcli sets {name} itself; it sets Host, Content-Length,"),
        );
    }
    let sig = "X-Hub-Signature: sha1=0000000000000000000000000000000000000000";
    usage(
        &["-H", sig, "--secret", SECRET],
        &[],
        "sets the signature, and so does a secret",
    );
    usage(
        &["-H", sig],
        &[("HOOKCLI_SECRET", SECRET)],
        "HOOKCLI_SECRET",
    );
    usage(&["-H", sig, "--unsigned"], &[], "and so does --unsigned");
    usage(
        &["--unsigned", "--secret", SECRET],
        &[],
        "--unsigned sends no signature, but a secret",
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(app.received().is_empty());
    // A signature given with -H is sent as given, even for a changed body.
    ok(&run(
        &l.store,
        &replay_args(&id, &to, &["-H", sig, "--set", "delivery_attempts=2"]),
    ));
    let got = app.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_ne!(got.body, body);
    assert_eq!(
        got.header_all("x-hub-signature"),
        vec!["sha1=0000000000000000000000000000000000000000"]
    );
}

#[test]
fn timeouts_name_the_flag_of_the_command_that_timed_out() {
    let (l, id, _) = with_capture();
    let app = App::start();
    let text = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(2500),
        ..Answer::status(200, "")
    });
    let replayed = text(run(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--timeout", "1", "--color", "never"]),
    ));
    assert!(
        replayed.contains("within the replay timeout (--timeout 1)")
            && !replayed.contains("forward"),
        "{replayed}"
    );
    let sent = text(run(
        &l.store,
        &["send", "ping", "--to", &app.url("/"), "--timeout", "1"],
    ));
    assert!(
        sent.contains("within 1 s (--timeout)") && !sent.contains("forward"),
        "{sent}"
    );
    app.answer(|_, _| Answer {
        body_delay: Duration::from_millis(2500),
        ..Answer::status(200, "late")
    });
    let replayed = text(run(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--timeout", "1", "--color", "never"]),
    ));
    assert!(
        replayed.contains(
            "the rest of its answer did not arrive within the replay timeout (--timeout 1)"
        ),
        "{replayed}"
    );
}

#[test]
fn replay_and_send_say_a_redirect_was_not_followed_and_where_it_led() {
    let (l, id, _) = with_capture();
    let app = App::start();
    app.answer(|_, _| Answer {
        headers: vec![(
            "Location".into(),
            "https://final.example/hook\u{202e}x".into(),
        )],
        ..Answer::status(302, "")
    });
    let hint = "hint: redirect to https://final.example/hook\\u{202e}x not followed: point --to at the final URL";
    let out = run(
        &l.store,
        &replay_args(&id, &app.url("/"), &["--color", "never"]),
    );
    fails(&out, 1, "did not get a 2xx");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("→ 302 Found") && text.contains(hint),
        "{text}"
    );
    assert!(!text.contains('\u{202e}'), "{text}");
    let out = run(&l.store, &["send", "ping", "--to", &app.url("/")]);
    fails(&out, 1, "did not get a 2xx");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("302 Found") && text.contains(hint), "{text}");
    assert!(!text.contains('\u{202e}'), "{text}");
}

#[test]
fn a_store_that_may_only_be_read_is_replayed_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let (store, id) = read_only_store(home.path());
    let app = App::start();
    let out = unprivileged(home.path())
        .arg("--store")
        .arg(&store)
        .args(["replay", &id, "--to", &app.url("/"), "--color", "never"])
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("replayed 1: 1 answered 2xx"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("hookcli: warning: cannot write to the store")
            && err.contains("so these replays are sent but not recorded as attempts"),
        "{err}"
    );
    assert_eq!(
        app.wait_for(1, Duration::from_secs(5))[0].body,
        b"{\"kept\":1}"
    );
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn replaying_many_on_a_terminal_shows_progress_on_stderr() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` (a pty) is not installed");
        return;
    }
    let l = listen(&["--json"]);
    for i in 0..3 {
        l.post("/", &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    let app = App::start();
    // `script` runs the command on a pseudo-terminal, so stderr is a TTY as for a person.
    let cmd = format!(
        "{} --store {} replay --all --to {} 2>&1",
        bin().display(),
        l.store.display(),
        app.url("/")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("replaying 3/3"), "{text}");
    assert!(
        text.contains("replayed 3: 3 answered 2xx, 0 failed"),
        "{text}"
    );
    assert_eq!(app.received().len(), 3);
}

#[test]
fn send_says_plainly_when_the_target_is_down_or_its_answer_is_cut_off() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let down = format!("http://127.0.0.1:{}/tls-certificate", free_port());
    let out = run(&store, &["send", "ping", "--to", &down, "--color", "never"]);
    fails(&out, 1, "");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains("TLS"), "{text}");
    // No answer has no preview, rather than an empty one.
    let out = run(&store, &["send", "ping", "--to", &down, "--json"]);
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let record: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(record["error_kind"], "connect");
    assert_eq!(record["response_preview"], Value::Null);
    let app = App::start();
    app.answer(|_, _| Answer {
        content_length: Some(100),
        ..Answer::status(200, "half")
    });
    let out = run(
        &store,
        &["send", "ping", "--to", &app.url("/"), "--color", "never"],
    );
    fails(&out, 1, "");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("closed the connection before the whole body arrived"),
        "{text}"
    );
}

#[test]
fn an_answer_that_would_throttle_or_disable_the_subscription_is_flagged() {
    let app = App::start();
    app.answer(|_, _| Answer::status(429, "slow down"));
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    // The app's words first, then what they mean, as forwarding and replay show them.
    let shown = run(
        &store,
        &["send", "ping", "--to", &app.url("/"), "--color", "never"],
    );
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    let (said, hint) = (
        text.find("│ slow down"),
        text.find("hint: your app answered 429"),
    );
    assert!(said.is_some() && hint.is_some() && said < hint, "{text}");
    let out = run(&store, &["send", "ping", "--to", &app.url("/"), "--json"]);
    fails(&out, 1, "");
    let record: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(record["status"], 429, "{record}");
    assert_eq!(
        record["hints"],
        json!(["your app answered 429: Intercom throttles the whole webhook subscription for 1 min to 2 h when its endpoint answers 429, and drops notifications delayed past 2 h"]),
    );
}

#[test]
fn an_answer_slower_than_intercom_waits_is_flagged_by_send_and_replay() {
    let (l, id, _) = with_capture();
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(5_300),
        ..Answer::status(200, "")
    });
    let to = app.url("/");
    // Both at once: each waits out the app's 5.3 s.
    let replay = {
        let (store, id, to) = (l.store.clone(), id.clone(), to.clone());
        std::thread::spawn(move || run(&store, &replay_args(&id, &to, &["--color", "never"])))
    };
    let sent = run(&l.store, &["send", "ping", "--to", &to, "--json"]);
    let record: Value = serde_json::from_str(ok(&sent).lines().next().unwrap()).unwrap();
    assert_eq!(record["outcome"], "delivered", "{record}");
    let hints = record["hints"].as_array().unwrap();
    assert!(
        hints.len() == 1
            && hints[0]
                .as_str()
                .unwrap()
                .contains("Intercom waits 5 s, so it would have timed out and retried"),
        "{record}"
    );
    // Sent without a secret: the app would see no signature, and send says so.
    assert!(
        String::from_utf8_lossy(&sent.stderr).contains("warning: no --secret, --secret-file or HOOKCLI_SECRET, so these are sent without X-Hub-Signature"),
        "{sent:?}"
    );
    let replayed = ok(&replay.join().unwrap());
    assert!(
        replayed.contains("→ 200 OK") && replayed.contains("hint: your app took 5."),
        "{replayed}"
    );
}

#[test]
fn send_timeouts_urls_attempts_and_the_order_of_what_it_prints() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let app = App::start();
    app.answer(|_, _| Answer {
        delay: Duration::from_millis(1500),
        ..Answer::status(200, "")
    });
    // 0 waits for ever, as for replay.
    ok(&run(
        &store,
        &["send", "ping", "--timeout", "0", "--to", &app.url("/")],
    ));
    // A real timeout names send's own flag; a URL's password is not shown.
    let with_password = app.url("/").replace("http://", "http://me:hunter2@");
    let out = run(
        &store,
        &[
            "send",
            "ping",
            "--timeout",
            "1",
            "--to",
            &with_password,
            "--color",
            "never",
        ],
    );
    fails(&out, 1, "did not get a 2xx");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("within 1 s (--timeout)") && !text.contains("forward"),
        "{text}"
    );
    assert!(
        text.contains("me:***@") && !text.contains("hunter2"),
        "{text}"
    );
    // HTTPS to a plain-HTTP app is a TLS failure, not "is it running?".
    let out = run(
        &store,
        &[
            "send",
            "ping",
            "--to",
            &app.url("/").replace("http://", "https://"),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not speak TLS"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Usage errors, before anything is sent.
    let before = app.received().len();
    fails(
        &run(&store, &["send", "ping", "--to", "not a url"]),
        2,
        "not a URL: write it as http://HOST:PORT/PATH",
    );
    fails(
        &run(&store, &["send", "ping", "--print", "--attempt", "0"]),
        2,
        "attempts count from 1",
    );
    assert_eq!(app.received().len(), before);
    // What a failing app said comes under the status line, not before it.
    app.answer(|_, _| Answer::status(500, "db down"));
    let out = run(
        &store,
        &["send", "ping", "--to", &app.url("/"), "--color", "never"],
    );
    fails(&out, 1, "did not get a 2xx");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].contains("→ 500") && lines[1].contains("│ db down"),
        "{text}"
    );
}

#[test]
fn check_with_insecure_never_says_intercom_would_accept_the_endpoint() {
    let app = App::start_tls();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let url = app.url("/hook");
    assert!(url.starts_with("https://"), "{url}");
    let out = run(&store, &["check", &url, "--insecure", "--color", "never"]);
    fails(&out, 1, "Intercom needs a publicly trusted certificate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Intercom would accept"), "{text}");
    assert!(text.contains("✗ cert   not verified"), "{text}");
    // The other steps still run, and pass.
    assert!(text.contains("✓ HEAD") && text.contains("✓ ping"), "{text}");
    assert!(
        text.contains("Intercom needs a publicly trusted one"),
        "{text}"
    );
    let out = run(&store, &["check", &url, "--insecure", "--json"]);
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[1]["step"], "cert");
    assert_eq!(records[1]["ok"], false);
    assert_eq!(records.last().unwrap()["accepted"], false);
    assert_eq!(app.received().len(), 4, "HEAD and ping, twice");
}

#[test]
fn check_says_tls_words_unsigned_plainly_and_hides_a_password() {
    let app = App::start();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let json_steps = |out: &std::process::Output| -> Vec<Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // https:// to a plain-HTTP app: it does not speak TLS (it is running).
    let out = run(
        &store,
        &[
            "check",
            &app.url("/hook").replace("http://", "https://"),
            "--json",
        ],
    );
    fails(&out, 1, "does not pass Intercom's checks");
    for step in &json_steps(&out)[1..3] {
        let detail = step["detail"].as_str().unwrap();
        assert!(
            detail.contains("does not speak TLS") && !detail.contains("running"),
            "{step}"
        );
    }
    // Without --secret the ping is unsigned, and says so without calling itself signed.
    let out = run(&store, &["check", &app.url("/"), "--allow-http", "--json"]);
    ok(&out);
    let ping = json_steps(&out)[2].clone();
    let detail = ping["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("unsigned ping answered 200") && detail.contains("pass --secret"),
        "{detail}"
    );
    // A password in the URL is sent, never shown.
    let with_password = app.url("/").replace("http://", "http://me:hunter2@");
    let out = run(&store, &["check", &with_password, "--json"]);
    fails(&out, 1, "http://me:***@");
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!all.contains("hunter2"), "{all}");
    assert_eq!(
        json_steps(&out).last().unwrap()["url"],
        with_password.replace("hunter2", "***")
    );
    let got = app.received();
    assert!(
        got.last().unwrap().header("authorization").is_some(),
        "the password is still sent"
    );
}

#[test]
fn the_documented_send_print_json_import_verify_recipe_works() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let file = home.path().join("capture.json");
    let printed = ok(&run(
        &store,
        &[
            "send",
            "ticket.created",
            "--print",
            "--json",
            "--secret",
            SECRET,
        ],
    ));
    std::fs::write(&file, printed).unwrap();
    let imported = ok(&run(&store, &["import", "--json", file.to_str().unwrap()]));
    let id = serde_json::from_str::<Value>(imported.lines().next().unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let verified = ok(&run(&store, &["verify", &id, "--secret", SECRET]));
    assert!(
        verified.contains("valid: the signature is the HMAC-SHA1"),
        "{verified}"
    );
}

#[test]
fn send_print_to_a_file_verifies_and_verify_names_newlines_and_inexact_headers() {
    let l = listen(&["--json", "--secret", SECRET]);
    let dir = l.store.parent().unwrap().to_path_buf();
    // stdout is a pipe here, as in `send --print > body.json`.
    let printed = ok(&run(
        &l.store,
        &[
            "send",
            "ticket.created",
            "--print",
            "--to",
            &l.url,
            "--secret",
            SECRET,
        ],
    ));
    let record: Value = serde_json::from_str(&l.wait_line(|s| s.contains("\"capture\""))).unwrap();
    let doc: Value = serde_json::from_str(&ok(&run(
        &l.store,
        &["show", record["id"].as_str().unwrap(), "--json"],
    )))
    .unwrap();
    let sent = doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h[0].as_str()
                .unwrap()
                .eq_ignore_ascii_case("x-hub-signature")
        })
        .unwrap()[1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let file = |name: &str, bytes: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let verify = |body: &str, sig: &str| -> (i32, Value) {
        let out = run(
            &l.store,
            &[
                "verify",
                "--body",
                body,
                "--signature",
                sig,
                "--secret",
                SECRET,
                "--json",
            ],
        );
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap(),
        )
    };
    let exact = file("body.json", printed.as_bytes());
    assert_eq!(verify(&exact, &sent).1["diagnosis"], "valid");
    // A copy that gained a newline (echo), or a signature over bytes that had one.
    let echoed = file("echoed.json", format!("{printed}\n").as_bytes());
    let (code, d) = verify(&echoed, &sent);
    assert_eq!(
        (code, d["diagnosis"].as_str().unwrap()),
        (1, "trailing_newline_added")
    );
    assert!(d["detail"].as_str().unwrap().contains("printf '%s'"), "{d}");
    let with_newline = sign(SECRET, format!("{printed}\n").as_bytes());
    let (code, d) = verify(&exact, &with_newline);
    assert_eq!(
        (code, d["diagnosis"].as_str().unwrap()),
        (1, "trailing_newline_missing")
    );
    // Valid by value but not as Intercom writes it: the same caution as uppercase hex.
    for inexact in [
        sent.replace("sha1=", "SHA1="),
        format!(" {sent}"),
        format!("{sent} "),
    ] {
        let (code, d) = verify(&exact, &inexact);
        assert_eq!(
            (code, d["diagnosis"].as_str().unwrap()),
            (0, "valid_not_exact"),
            "{inexact:?}"
        );
        assert!(
            d["detail"]
                .as_str()
                .unwrap()
                .contains("compare the whole string"),
            "{d}"
        );
    }
}

#[test]
fn imported_headers_must_be_http_headers_and_a_file_replay_claims_no_client() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let doc = |headers: &str| {
        format!(
            r#"{{"format":"hookcli.capture/1","type":"capture","id":"01m8aaaaaaaaaaaaaaaaaaaaaa","received_at_ms":1700000000000,"source":"listen","method":"POST","target":"/","remote_addr":"127.0.0.1:1","client_addr":null,"headers":{headers},"body":{{"text":"{{}}"}}}}"#
        )
    };
    for (headers, says) in [
        (
            r#"[["X-A\r\nInjected",{"text":"v"}]]"#,
            "is not an HTTP header name",
        ),
        (r#"[["",{"text":"v"}]]"#, "is not an HTTP header name"),
        (r#"[["X-Nl",{"text":"a\nb"}]]"#, "holds a control character"),
    ] {
        let file = home.path().join("h.json");
        std::fs::write(&file, doc(headers)).unwrap();
        fails(&run(&store, &["import", file.to_str().unwrap()]), 1, says);
    }
    // A capture read from a file has no client to report to the app.
    let app = App::start();
    let file = home.path().join("ping.json");
    std::fs::write(
        &file,
        notification("ping", None, r#"{"type":"ping","message":"hi"}"#),
    )
    .unwrap();
    ok(&run(
        &store,
        &[
            "replay",
            "--file",
            file.to_str().unwrap(),
            "--to",
            &app.url("/"),
        ],
    ));
    let got = app.wait_for(1, Duration::from_secs(10));
    assert_eq!(
        got[0].header("X-Forwarded-For"),
        None,
        "{:?}",
        got[0].headers
    );
}

#[test]
fn send_help_examples_set_fields_the_fabricated_body_has() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let help = ok(&run(&store, &["send", "--help"]));
    let mut checked = 0;
    for line in help
        .lines()
        .filter(|l| l.trim_start().starts_with("hookcli send "))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "--set") else {
            continue;
        };
        let (path, _) = words[at + 1].split_once('=').unwrap();
        let body: Value =
            serde_json::from_str(&ok(&run(&store, &["send", words[2], "--print"]))).unwrap();
        let field = path.split('.').fold(&body, |v, key| &v[key]);
        // An example that put a string where an object is would teach a shape Intercom never sends.
        assert!(
            !field.is_object() && !field.is_array() && !field.is_null(),
            "{line}: {path} is {field} in what send fabricates"
        );
        checked += 1;
    }
    assert!(checked > 0, "no --set example in send --help");
}

#[test]
fn send_count_gives_fabricated_bodies_their_own_ids_and_sends_a_file_as_it_is() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let ids = |args: &[&str]| -> Vec<String> {
        ok(&run(&store, args))
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].to_string())
            .collect()
    };
    let made = ids(&["send", "ticket.created", "--count", "2", "--print"]);
    assert!(made.len() == 2 && made[0] != made[1], "{made:?}");
    let file = home.path().join("body.json");
    std::fs::write(
        &file,
        VECTOR_BODY.replace("\"id\":null", "\"id\":\"notif_1\""),
    )
    .unwrap();
    let sent = ids(&[
        "send",
        "--file",
        file.to_str().unwrap(),
        "--count",
        "2",
        "--print",
    ]);
    assert_eq!(sent, ["\"notif_1\"", "\"notif_1\""]);
    let help = ok(&run(&store, &["send", "--help"]));
    assert!(help.contains("a --file body as it is"), "{help}");
    // --attempt alone is no redelivery (the id is new); the help says what keeps it.
    assert!(help.contains("replay --as-redelivery"), "{help}");
}

#[test]
fn send_print_never_writes_bytes_a_terminal_acts_on_to_one() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let file = home.path().join("body.json");
    std::fs::write(
        &file,
        "{\"type\":\"notification_event\",\"topic\":\"ping\",\"app_id\":\"a\u{9b}31m\u{202e}\"}",
    )
    .unwrap();
    let shown = run_on_terminal(
        &store,
        &["send", "--file", file.to_str().unwrap(), "--print"],
    );
    assert_eq!(shown.code, Some(1), "{}", shown.stderr);
    assert!(
        shown
            .stderr
            .contains("send --print would write control bytes"),
        "{}",
        shown.stderr
    );
    assert!(!String::from_utf8_lossy(&shown.screen).contains('\u{202e}'));
    // To a file or a pipe, the exact bytes.
    let out = run(
        &store,
        &["send", "--file", file.to_str().unwrap(), "--print"],
    );
    assert_eq!(ok(&out).as_bytes(), std::fs::read(&file).unwrap());
    // A fabricated body is fine on a terminal.
    let shown = run_on_terminal(&store, &["send", "ping", "--print"]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
}

#[test]
fn verify_escapes_the_body_files_name() {
    let home = tempfile::tempdir().unwrap();
    let body = home.path().join("b\x1b[31m\u{202e}.json");
    std::fs::write(&body, VECTOR_BODY).unwrap();
    let out = ok(&run(
        &home.path().join("s"),
        &[
            "verify",
            "--body",
            body.to_str().unwrap(),
            "--signature",
            "sha1=f67a0d054b3d460317b7a1753acebf7a88bfd5a0",
            "--secret",
            "secret",
            "--color",
            "never",
        ],
    ));
    assert!(
        !out.contains('\x1b') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(
        out.starts_with("✓ ") && out.contains("b\\x1b[31m"),
        "{out:?}"
    );
}

#[test]
fn verify_last_checks_the_newest_capture() {
    let (l, id, _) = with_capture();
    let body = notification("ping", None, r#"{"type":"ping"}"#);
    let newest = l
        .post(
            "/",
            &[("X-Hub-Signature", &sign("other", body.as_bytes()))],
            body.as_bytes(),
        )
        .id();
    let out = run(
        &l.store,
        &["verify", "--last", "--secret", SECRET, "--json"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], format!("capture {newest}"), "{v}");
    assert_eq!((out.status.code(), &v["valid"]), (Some(1), &json!(false)));
    let out = run(&l.store, &["verify", &id, "--secret", SECRET, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    fails(
        &run(&l.store, &["verify", "--last", &id, "--secret", SECRET]),
        2,
        "cannot be used with",
    );
}
