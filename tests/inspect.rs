//! `list`, `show`, `export`, `import`, `delete`, `stats` against stores filled by a real
//! `listen` (and by `import`).

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

fn v(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn ids(out: &Output) -> Vec<String> {
    json_lines(&ok(out))
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// A store with a known mix: captured ids by name.
struct Filled {
    l: Listener,
    ping: String,
    conv: String,
    conv_other_ws: String,
    ticket_bad_sig: String,
    binary: String,
    put: String,
}

fn filled() -> Filled {
    let l = listen(&["--json", "--secret", "secret"]);
    let signed = |body: &str| {
        l.post(
            "/",
            &[("X-Hub-Signature", &sign("secret", body.as_bytes()))],
            body.as_bytes(),
        )
        .id()
    };
    let ping = signed(&notification(
        "ping",
        None,
        r#"{"type":"ping","message":"hi"}"#,
    ));
    let conv = signed(&notification(
        "conversation.admin.replied",
        Some("notif_c1"),
        r#"{"type":"conversation","id":"555","source":{"author":{"email":"jane@example.com"}}}"#,
    ));
    let other = notification(
        "conversation.user.created",
        Some("notif_c2"),
        r#"{"type":"conversation","id":"556"}"#,
    )
    .replace("a86dr8yl", "otherws1");
    let conv_other_ws = signed(&other);
    let ticket = notification(
        "ticket.created",
        Some("notif_t1"),
        r#"{"type":"ticket","id":"9"}"#,
    );
    let ticket_bad_sig = l
        .post(
            "/",
            &[("X-Hub-Signature", &sign("wrong", ticket.as_bytes()))],
            ticket.as_bytes(),
        )
        .id();
    let binary = l
        .post(
            "/bin",
            &[("Content-Type", "application/octet-stream")],
            b"\x00\xff\xfebin\x1b",
        )
        .id();
    let put = send(&l.addr, "PUT", "/x?y=1", &[], b"{\"put\":true}").id();
    Filled {
        l,
        ping,
        conv,
        conv_other_ws,
        ticket_bad_sig,
        binary,
        put,
    }
}

#[test]
fn list_is_newest_first_and_every_filter_works_alone_and_combined() {
    let f = filled();
    let s = &f.l.store;
    let all = ids(&run(s, &["list", "--json"]));
    assert_eq!(
        all,
        v(&[
            &f.put,
            &f.binary,
            &f.ticket_bad_sig,
            &f.conv_other_ws,
            &f.conv,
            &f.ping
        ])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--limit", "2"])),
        v(&[&f.put, &f.binary])
    );
    assert_eq!(ids(&run(s, &["list", "--json", "--all"])).len(), 6);
    assert_eq!(
        ids(&run(s, &["list", "--json", "--topic", "conversation.*"])),
        v(&[&f.conv_other_ws, &f.conv])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--topic", "ticket.?reated"])),
        v(&[&f.ticket_bad_sig])
    );
    // Search while listen is running (rows not yet indexed) and again after it stopped.
    assert_eq!(
        ids(&run(s, &["list", "--json", "--search", "jane@example.com"])),
        v(&[&f.conv])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--search", "JANE@EXAMPLE"])),
        v(&[&f.conv])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--search", "55"])),
        v(&[&f.conv_other_ws, &f.conv])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--method", "put"])),
        v(&[&f.put])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--app-id", "otherws1"])),
        v(&[&f.conv_other_ws])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--signature", "invalid"])),
        v(&[&f.ticket_bad_sig])
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--signature", "missing"])),
        v(&[&f.put, &f.binary])
    );
    assert_eq!(
        ids(&run(
            s,
            &[
                "list",
                "--json",
                "--signature",
                "valid",
                "--topic",
                "conversation.*",
                "--app-id",
                "a86dr8yl"
            ]
        )),
        v(&[&f.conv])
    );
    assert_eq!(ids(&run(s, &["list", "--json", "--since", "10m"])).len(), 6);
    fails(
        &run(s, &["list", "--until", "10m"]),
        1,
        "no captures match these filters",
    );
    fails(
        &run(
            s,
            &["list", "--since", "2000-01-01", "--until", "2000-01-02"],
        ),
        1,
        "no captures match",
    );
    // A range that holds no moment is a mistake in the command, not an empty result.
    for cmd in ["list", "export", "replay"] {
        fails(
            &run(s, &[cmd, "--since", "2000-01-02", "--until", "2000-01-01"]),
            2,
            "--until is not after --since",
        );
    }
    assert_eq!(
        ids(&run(
            s,
            &["list", "--json", "--since", "2000-01-01", "--topic", "ping"]
        )),
        v(&[&f.ping])
    );
    fails(
        &run(s, &["list", "--topic", "nothing.*"]),
        1,
        "no captures match these filters",
    );
    // After listen stopped, the index is complete and search still finds the same.
    let mut l = f.l;
    assert_eq!(l.interrupt().0, 0);
    assert_eq!(
        ids(&run(
            &l.store,
            &["list", "--json", "--search", "jane@example.com"]
        )),
        v(&[&f.conv])
    );
    let indexed: i64 = rusqlite::Connection::open(l.store.join("hookcli.db"))
        .unwrap()
        .query_row("SELECT upto FROM fts_progress", [], |r| r.get(0))
        .unwrap();
    assert_eq!(indexed, 6, "the writer indexes everything before it stops");
}

#[test]
fn list_human_rows_are_escaped_and_json_follows_the_schema() {
    let f = filled();
    let text = ok(&run(&f.l.store, &["list", "--color", "never"]));
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().next().unwrap().starts_with(&f.put[..12]));
    assert!(
        text.contains("conversation.admin.replied")
            && text.contains("notif_c1")
            && text.contains("✗ sig")
    );
    // The size column lines up whatever the verdict's width (✓ sig, ✗ unsigned).
    let size_ends: Vec<usize> = text
        .lines()
        .map(|l| {
            let at = l.find(['✓', '✗', '–']).unwrap();
            let end = at + l[at..].find(" B").map(|e| e + 2).unwrap();
            l[..end].chars().count()
        })
        .collect();
    assert!(size_ends.windows(2).all(|w| w[0] == w[1]), "{text}");
    let validator = record_validator();
    for record in json_lines(&ok(&run(&f.l.store, &["list", "--json", "--all"]))) {
        assert!(validator.is_valid(&record), "{record}");
    }
    let doc: Value =
        serde_json::from_str(&ok(&run(&f.l.store, &["show", &f.conv, "--json"]))).unwrap();
    assert!(validator.is_valid(&doc), "{doc}");
    assert_eq!(doc["format"], "hookcli.capture/1");
}

#[test]
fn raw_bodies_with_control_bytes_are_refused_on_a_terminal_but_not_in_a_pipe() {
    let f = filled();
    let s = &f.l.store;
    let binary = b"\x00\xff\xfebin\x1b";
    for args in [
        &["show", &f.binary, "--raw"][..],
        &["export", &f.binary, "--format", "raw"],
    ] {
        let shown = run_on_terminal(s, args);
        assert_eq!(shown.code, Some(1), "{args:?}: {}", shown.stderr);
        assert!(
            shown
                .stderr
                .contains("can mess up your terminal: redirect it to a file"),
            "{args:?}: {}",
            shown.stderr
        );
        assert!(!shown.screen.contains(&0x1b), "{:?}", shown.screen);
        assert!(!shown.stderr.contains("panicked"));
        // A pipe still gets the exact bytes.
        assert_eq!(run(s, args).stdout, binary, "{args:?}");
    }
    // ESC and OSC 52 in otherwise valid UTF-8 are refused too.
    let hostile =
        f.l.post("/", &[], b"{\"a\":\"\x1b[31mred \x1b]52;c;cHduZWQ=\x07\"}")
            .id();
    let shown = run_on_terminal(s, &["show", &hostile, "--raw"]);
    assert_eq!(shown.code, Some(1), "{}", shown.stderr);
    assert!(shown.screen.is_empty(), "{:?}", shown.screen);
    // A plain JSON body, newlines and tabs included, still reaches the terminal.
    let plain = f.l.post("/", &[], b"{\n\t\"caf\xc3\xa9\": 1\n}").id();
    let shown = run_on_terminal(s, &["show", &plain, "--raw"]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert_eq!(shown.screen, "{\r\n\t\"café\": 1\r\n}".as_bytes());
}

#[test]
fn show_by_prefix_raw_headers_last_and_the_errors() {
    let f = filled();
    let s = &f.l.store;
    let full = ok(&run(s, &["show", &f.conv[..14], "--color", "never"]));
    for needle in [
        "capture ",
        &f.conv,
        "POST /",
        "✓ valid",
        "conversation.admin.replied",
        "notif_c1",
        "a86dr8yl",
        "conversation 555",
        "X-Hub-Signature: sha1=",
        "\"jane@example.com\"",
        // Intercom's count, told apart from forwarding's attempts.
        "attempts       1 (Intercom's delivery_attempts",
    ] {
        assert!(full.contains(needle), "{needle} missing from:\n{full}");
    }
    let bad = ok(&run(s, &["show", &f.ticket_bad_sig, "--color", "never"]));
    assert!(bad.contains("✗ invalid: the digest does not match the body"));
    // --raw is byte-exact, even for a body that is not UTF-8.
    assert_eq!(
        run(s, &["show", &f.binary, "--raw"]).stdout,
        b"\x00\xff\xfebin\x1b"
    );
    let shown = ok(&run(s, &["show", &f.binary, "--color", "never"]));
    assert!(shown.contains("binary") && !shown.contains('\x1b'));
    let headers = ok(&run(s, &["show", &f.put, "--headers"]));
    assert!(headers.lines().all(|l| l.contains(": ")) && headers.contains("Content-Length: 12"));
    assert!(ok(&run(s, &["show", "--last", "--color", "never"])).contains(&f.put));
    // Ids are case-insensitive prefixes.
    assert!(ok(&run(s, &["show", &f.put.to_uppercase()[..16], "--raw"])).contains("put"));
    fails(&run(s, &["show", "0"]), 1, "matches several captures");
    fails(
        &run(s, &["show", "zzzz"]),
        1,
        "no capture has an id starting with 'zzzz'",
    );
    assert_eq!(run(s, &["show"]).status.code(), Some(2));
    // Times a sender made up are shown as sent, never as a wrong date.
    let odd = f
        .l
        .post(
            "/",
            &[],
            format!(
                "{{\"type\":\"notification_event\",\"topic\":\"ping\",\"created_at\":{},\"first_sent_at\":99999999999999}}",
                i64::MAX
            )
            .as_bytes(),
        )
        .id();
    let shown = ok(&run(s, &["show", &odd, "--color", "never"]));
    assert!(
        shown.contains(&format!("{} (not a date)", i64::MAX))
            && shown.contains("99999999999999 (not a date)"),
        "{shown}"
    );
}

#[test]
fn captures_are_listed_by_the_time_they_were_received_not_by_when_they_were_imported() {
    let l = listen(&["--json"]);
    let today = l.post("/", &[], b"{\"today\":1}").id();
    // Exported, given an earlier time, imported afterwards under a new id.
    let mut doc: Value = serde_json::from_str(&ok(&run(&l.store, &["export", &today]))).unwrap();
    doc["id"] = Value::Null;
    doc["received_at_ms"] = json!(doc["received_at_ms"].as_i64().unwrap() - 86_400_000);
    let file = l.store.parent().unwrap().join("yesterday.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let yesterday = ids(&run(
        &l.store,
        &["import", file.to_str().unwrap(), "--json"],
    ))
    .pop()
    .unwrap();
    assert_eq!(
        ids(&run(&l.store, &["list", "--json"])),
        [today.clone(), yesterday.clone()]
    );
    let last: Value =
        serde_json::from_str(&ok(&run(&l.store, &["show", "--last", "--json"]))).unwrap();
    assert_eq!(last["id"], today.as_str());
    let exported = ok(&run(&l.store, &["export"]));
    let order: Vec<String> = json_lines(&exported)
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, [yesterday, today]);
}

#[test]
fn ids_that_share_a_long_prefix_are_told_apart_wherever_they_are_shown() {
    let l = listen(&["--json"]);
    let id = l.post("/", &[], b"{}").id();
    let mut doc: Value = serde_json::from_str(&ok(&run(&l.store, &["export", &id]))).unwrap();
    let (a, b) = (format!("{}0000", &id[..22]), format!("{}0001", &id[..22]));
    let mut lines = String::new();
    for twin in [&a, &b] {
        doc["id"] = json!(twin);
        lines += &format!("{doc}\n");
    }
    let file = l.store.parent().unwrap().join("twins.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = ok(&run(&l.store, &["import", file.to_str().unwrap()]));
    assert_eq!(
        out,
        format!(
            "imported {a} from {0}\nimported {b} from {0}\n",
            file.display()
        )
    );
    fails(
        &run(&l.store, &["show", &id[..20]]),
        1,
        &format!("matches several captures ({a}, {b}, "),
    );
}

#[test]
fn vacuum_and_import_wait_their_turn_while_listen_writes() {
    let l = listen(&["--compact"]);
    let doc = home_doc(&l);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..3)
        .map(|w| {
            let (addr, stop) = (l.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = format!("{{\"w\":{w},\"n\":{n}}}");
                    assert_eq!(send(&addr, "POST", "/", &[], body.as_bytes()).status, 200);
                    n += 1;
                }
            })
        })
        .collect();
    for round in 0..6 {
        let out = run(&l.store, &["vacuum"]);
        assert!(
            out.status.success(),
            "vacuum {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(&l.store, &["import", doc.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "import {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
}

/// A bare notification body in a file beside the listener's store, to import.
fn home_doc(l: &Listener) -> std::path::PathBuf {
    let path = l.store.parent().unwrap().join("doc.json");
    std::fs::write(
        &path,
        r#"{"type":"notification_event","topic":"ping","id":null}"#,
    )
    .unwrap();
    path
}

#[test]
fn characters_past_u_ffff_survive_every_json_output_and_an_import() {
    let l = listen(&["--json"]);
    // A tag character, escaped in JSON for the terminal's sake, as a surrogate pair.
    let body = "{\"type\":\"notification_event\",\"topic\":\"x\",\"note\":\"tag\u{e0001}1end\"}";
    let id = l.post("/", &[], body.as_bytes()).id();
    let home = tempfile::tempdir().unwrap();
    for format in ["json", "har"] {
        let file = home.path().join(format!("out.{format}"));
        ok(&run(
            &l.store,
            &[
                "export",
                &id,
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
            ],
        ));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("tag\\udb40\\udc011end"), "{text}");
        let store = home.path().join(format!("from-{format}"));
        ok(&run(&store, &["import", file.to_str().unwrap()]));
        assert_eq!(stored(&store, &id).unwrap().0, body.as_bytes(), "{format}");
    }
    for args in [&["show", &id, "--json"][..], &["list", "--json"]] {
        let out = ok(&run(&l.store, args));
        assert!(out.contains("\\udb40\\udc01"), "{out}");
        let first = out.lines().collect::<Vec<_>>().join("\n");
        let value: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(value["body"]["text"], body, "{args:?}");
    }
}

#[test]
fn export_then_import_round_trips_in_every_format() {
    let f = filled();
    let s = f.l.store.clone();
    let home = tempfile::tempdir().unwrap();
    let columns = |store: &Path, id: &str| -> (String, String, Vec<u8>, String) {
        let conn = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
        conn.query_row(
            "SELECT method, target, body, headers FROM captures WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    // json: one document, and several as JSON Lines.
    let one = home.path().join("one.json");
    ok(&run(
        &s,
        &["export", &f.binary, "-o", one.to_str().unwrap()],
    ));
    // --json is JSON Lines however many: one capture is one line, the same document.
    let line = ok(&run(&s, &["export", &f.binary, "--json"]));
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(
        serde_json::from_str::<Value>(&line).unwrap(),
        serde_json::from_str::<Value>(&std::fs::read_to_string(&one).unwrap()).unwrap()
    );
    assert_eq!(
        run(&s, &["export", "--json", "--format", "har"])
            .status
            .code(),
        Some(2)
    );
    let many = home.path().join("many.jsonl");
    ok(&run(&s, &["export", "-o", many.to_str().unwrap()]));
    let target = home.path().join("imported");
    let out = ok(&run(
        &target,
        &["import", one.to_str().unwrap(), many.to_str().unwrap()],
    ));
    assert_eq!(out.matches("imported ").count(), 6, "{out}");
    assert!(out.contains(&format!("imported {}", &f.binary[..12])));
    // The capture in both files is imported once.
    assert!(
        out.ends_with("skipped 1 capture this store already has (same id)\n"),
        "{out}"
    );
    // Importing the same export again adds nothing: no copies, no redeliveries.
    let again = ok(&run(&target, &["import", many.to_str().unwrap()]));
    assert_eq!(
        again,
        "skipped 6 captures this store already has (same id)\n"
    );
    assert_eq!(count(&target), 6);
    // Single exports appended to one file (each pretty-printed) read back as well.
    let appended = home.path().join("appended.json");
    for id in [&f.binary, &f.ping] {
        let one = ok(&run(&s, &["export", id]));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&appended)
            .unwrap();
        std::io::Write::write_all(&mut file, one.as_bytes()).unwrap();
    }
    let fresh = home.path().join("appended-store");
    let out = ok(&run(&fresh, &["import", appended.to_str().unwrap()]));
    assert_eq!(out.matches("imported ").count(), 2, "{out}");
    let json = run(&target, &["import", many.to_str().unwrap(), "--json"]);
    assert!(ok(&json).is_empty());
    assert!(String::from_utf8_lossy(&json.stderr).contains("skipped 6 captures"));
    assert!(ids(&run(&target, &["list", "--json", "--all"]))
        .iter()
        .all(|id| [
            &f.ping,
            &f.conv,
            &f.conv_other_ws,
            &f.binary,
            &f.put,
            &f.ticket_bad_sig
        ]
        .contains(&id)));
    for id in [&f.ping, &f.conv, &f.binary, &f.put, &f.ticket_bad_sig] {
        assert_eq!(
            columns(&target, id),
            columns(&s, id),
            "json round trip of {id}"
        );
    }
    let imported: Value =
        serde_json::from_str(&ok(&run(&target, &["show", &f.ticket_bad_sig, "--json"]))).unwrap();
    assert_eq!(imported["source"], "import");
    assert_eq!(imported["signature"]["reason"], "mismatch");
    // har, with a capture HAR text cannot hold as it is: a header value that is not UTF-8,
    // a path that is not ASCII, an encoded query.
    let odd = raw_request(
        &f.l.addr,
        b"POST /caf\xc3\xa9?q=a%20b+c&x=%1b HTTP/1.1\r\nHost: h\r\nX-Obs: \xff\xfe\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .id();
    let har_path = home.path().join("all.har");
    ok(&run(
        &s,
        &[
            "export",
            "--format",
            "har",
            "-o",
            har_path.to_str().unwrap(),
        ],
    ));
    let har: Value = serde_json::from_str(&std::fs::read_to_string(&har_path).unwrap()).unwrap();
    let har_schema: Value =
        serde_json::from_str(include_str!("fixtures/har-1.2.schema.json")).unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&har_schema)
        .unwrap()
        .iter_errors(&har)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    let entry = entries
        .iter()
        .find(|e| e["_hookcli"]["id"] == odd.as_str())
        .unwrap();
    assert_eq!(entry["response"]["status"], 200, "what hookcli answered");
    let url = entry["request"]["url"].as_str().unwrap();
    assert!(url.ends_with("/caf%C3%A9?q=a%20b+c&x=%1b"), "{url}");
    assert_eq!(
        entry["request"]["queryString"],
        json!([{"name": "q", "value": "a b c"}, {"name": "x", "value": "\u{1b}"}])
    );
    let har_store = home.path().join("from-har");
    ok(&run(&har_store, &["import", har_path.to_str().unwrap()]));
    for id in [&f.conv, &f.binary, &f.put, &odd] {
        assert_eq!(
            columns(&har_store, id),
            columns(&s, id),
            "har round trip of {id}"
        );
    }
    // raw
    let raw = home.path().join("body.bin");
    ok(&run(
        &s,
        &[
            "export",
            &f.binary,
            "--format",
            "raw",
            "-o",
            raw.to_str().unwrap(),
        ],
    ));
    assert_eq!(std::fs::read(&raw).unwrap(), b"\x00\xff\xfebin\x1b");
    fails(
        &run(&s, &["export", "--format", "raw"]),
        1,
        "--format raw writes one body",
    );
}

#[test]
fn exported_curl_reproduces_the_request_against_a_second_listener() {
    let f = filled();
    let second = listen(&["--json"]);
    let dir = tempfile::tempdir().unwrap();
    for id in [&f.conv, &f.binary, &f.put] {
        let script = dir.path().join(format!("{id}.sh"));
        let url = format!("http://{}", second.addr);
        ok(&run(
            &f.l.store,
            &[
                "export",
                id,
                "--format",
                "curl",
                "--base-url",
                &url,
                "-o",
                script.to_str().unwrap(),
            ],
        ));
        let out = std::process::Command::new("sh")
            .arg(&script)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let new_id = serde_json::from_str::<Value>(&ok(&out)).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let original: Value =
            serde_json::from_str(&ok(&run(&f.l.store, &["show", id, "--json"]))).unwrap();
        let copy: Value =
            serde_json::from_str(&ok(&run(&second.store, &["show", &new_id, "--json"]))).unwrap();
        assert_eq!(copy["method"], original["method"]);
        assert_eq!(copy["target"], original["target"]);
        assert_eq!(copy["body"], original["body"]);
        let sent = |v: &Value| -> Vec<Value> {
            // Host and Connection belong to the hop, not to what the sender set.
            v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| {
                    let name = h[0].as_str().unwrap().to_ascii_lowercase();
                    name != "host" && name != "connection"
                })
                .cloned()
                .collect()
        };
        assert_eq!(sent(&copy), sent(&original), "headers of {id}");
    }
}

#[test]
fn follow_prints_captures_made_after_it_started() {
    let f = filled();
    let mut child = hookcli(f.l.store.parent().unwrap())
        .arg("--store")
        .arg(&f.l.store)
        .args(["list", "--follow", "--json", "--topic", "contact.*"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    f.l.post(
        "/",
        &[],
        notification("ticket.closed", Some("n_skip"), "{}").as_bytes(),
    );
    let new_id =
        f.l.post(
            "/",
            &[],
            notification(
                "contact.user.created",
                Some("n_new"),
                r#"{"type":"contact","id":"1"}"#,
            )
            .as_bytes(),
        )
        .id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("--follow printed nothing within 10 s");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["id"], new_id.as_str());
    // Like `list --follow | head -1`: once the reader is gone it stops, with nothing new.
    let mut child = hookcli(f.l.store.parent().unwrap())
        .arg("--store")
        .arg(&f.l.store)
        .args(["list", "--follow", "--topic", "nothing.*"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(child.stdout.take());
    let code = wait_timeout(&mut child, Duration::from_secs(5));
    assert_eq!(code, 0);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.is_empty(), "{err}");
}

#[test]
fn follow_misses_nothing_while_many_senders_commit() {
    let l = listen(&["--json"]);
    let mut child = hookcli(l.store.parent().unwrap())
        .arg("--store")
        .arg(&l.store)
        .args(["list", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Eight senders at once: groups commit while --follow is between its reads.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..100)
                        .map(|_| l.post("/", &[], b"{}").id())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect()
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            let v: Value = serde_json::from_str(&line).unwrap();
            if tx.send(v["id"].as_str().unwrap().to_string()).is_err() {
                break;
            }
        }
    });
    let mut seen = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < ids.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(id) => assert!(seen.insert(id), "a capture printed twice"),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let missed: Vec<&String> = ids.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missed.is_empty(),
        "--follow never printed {} of {}: {missed:?}",
        missed.len(),
        ids.len()
    );
}

#[test]
fn delete_by_id_age_and_all_with_and_without_yes_and_the_file_shrinks() {
    let f = filled();
    let mut l = f.l;
    // Make the store big enough that shrinking shows.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(200_000));
    for _ in 0..5 {
        l.post("/", &[], big.as_bytes());
    }
    assert_eq!(l.interrupt().0, 0);
    let s = l.store.clone();
    // Not a terminal and no --yes: refused, nothing deleted.
    fails(&run(&s, &["delete", &f.ping]), 1, "without --yes");
    assert_eq!(count(&s), 11);
    ok(&run(&s, &["delete", &f.ping, &f.conv, "--yes"]));
    assert_eq!(count(&s), 9);
    fails(&run(&s, &["show", &f.ping]), 1, "no capture has an id");
    // Deleted captures leave the search index too.
    fails(
        &run(&s, &["list", "--search", "jane@example.com"]),
        1,
        "no captures match",
    );
    fails(
        &run(&s, &["delete", "--older-than", "1h", "--yes"]),
        1,
        "no captures match",
    );
    let before = std::fs::metadata(s.join("hookcli.db")).unwrap().len();
    ok(&run(&s, &["delete", "--all", "--yes"]));
    assert_eq!(count(&s), 0);
    let after = std::fs::metadata(s.join("hookcli.db")).unwrap().len();
    assert!(after < before / 4, "not shrunk: {before} -> {after}");
    fails(&run(&s, &["list"]), 1, "has no captures yet");
    assert_eq!(run(&s, &["delete"]).status.code(), Some(2));
    // vacuum says what the store takes now, and took before.
    let said = ok(&run(&s, &["vacuum"]));
    assert!(
        said.starts_with(&format!("{}: ", s.display()))
            && said.contains(" on disk, ")
            && said.trim_end().ends_with(" before"),
        "{said}"
    );
}

#[test]
fn stats_counts_topics_verdicts_days_and_size() {
    let f = filled();
    let v: Value = serde_json::from_str(&ok(&run(&f.l.store, &["stats", "--json"]))).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["captures"], 6);
    assert_eq!(v["topics"]["conversation.admin.replied"], 1);
    assert_eq!(v["topics"]["(none)"], 2);
    assert_eq!(v["signatures"]["valid"], 3);
    assert_eq!(v["signatures"]["invalid"], 1);
    assert_eq!(v["signatures"]["missing"], 2);
    assert_eq!(
        v["days"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum::<i64>(),
        6
    );
    assert!(v["size_bytes"].as_u64().unwrap() > 0);
    let text = ok(&run(&f.l.store, &["stats", "--color", "never"]));
    assert!(text.starts_with("6 captures in"));
}

#[test]
fn import_marks_bare_bodies_and_rejects_what_it_cannot_read() {
    let home = tempfile::tempdir().unwrap();
    let s = home.path().join("store");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/intercom/zulip/ticket_created.json"
    );
    let out = ok(&run(&s, &["import", fixture, "--json"]));
    let record: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(record["source"], "import");
    assert_eq!(record["intercom"]["topic"], "ticket.created");
    assert_eq!(
        record["body"]["text"].as_str().unwrap().as_bytes(),
        std::fs::read(fixture).unwrap()
    );
    assert!(ok(&run(&s, &["list", "--color", "never"])).contains("imported"));
    let bad = home.path().join("bad.har");
    std::fs::write(&bad, r#"{"log":{"version":"1.2"}}"#).unwrap();
    fails(
        &run(&s, &["import", bad.to_str().unwrap()]),
        1,
        "not a HAR file",
    );
    let text = home.path().join("notes.txt");
    std::fs::write(&text, "hello\n").unwrap();
    fails(
        &run(&s, &["import", text.to_str().unwrap()]),
        1,
        "it is neither JSON nor JSON Lines of hookcli capture documents",
    );
    // JSON that is no capture is not stored as if Intercom had sent it.
    for (json, why) in [
        ("[]", "it is an empty JSON list"),
        ("42", "it is JSON but not a hookcli capture document"),
        ("null", "it is JSON but not a hookcli capture document"),
        ("{}", "it is JSON but not a hookcli capture document"),
        (
            "[{\"a\":1}]",
            "item 1 of the list is neither a hookcli capture document nor an Intercom notification body",
        ),
        ("\n", "the file is empty"),
    ] {
        let path = home.path().join("odd.json");
        std::fs::write(&path, json).unwrap();
        fails(&run(&s, &["import", path.to_str().unwrap()]), 1, why);
    }
    fails(
        &run(&s, &["import", "/nonexistent/file.json"]),
        1,
        "cannot import /nonexistent/file.json: there is no such file; check the path",
    );
    // A bad file among good ones imports nothing.
    fails(
        &run(&s, &["import", fixture, text.to_str().unwrap()]),
        1,
        "cannot import",
    );
    assert_eq!(count(&s), 1);
    // A JSON list of capture documents imports each of them.
    let doc: Value = serde_json::from_str(&out).unwrap();
    let mut docs = Vec::new();
    for n in 0..2 {
        let mut d = doc.clone();
        d["format"] = Value::from("hookcli.capture/1");
        d["id"] = Value::Null;
        d["body"]["text"] = Value::from(format!("{{\"topic\":\"ping\",\"n\":{n}}}"));
        docs.push(d);
    }
    let list = home.path().join("list.json");
    std::fs::write(&list, Value::Array(docs).to_string()).unwrap();
    let out = ok(&run(&s, &["import", list.to_str().unwrap()]));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(count(&s), 3);
    assert!(ok(&run(&s, &["list", "--search", "\"n\":1"])).contains("ping"));
    // So does a list of notification bodies, each stored byte for byte as listed.
    let fixture = std::fs::read_to_string(fixture).unwrap();
    let ping = "{ \"type\": \"notification_event\", \"topic\": \"ping\", \"id\": null }";
    std::fs::write(&list, format!("[\n{},\n  {ping}\n]\n", fixture.trim_end())).unwrap();
    let out = run(&s, &["import", list.to_str().unwrap(), "--json"]);
    let imported = ids(&out);
    assert_eq!(
        imported.len(),
        2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (id, body) in imported.iter().zip([fixture.trim_end(), ping]) {
        assert_eq!(ok(&run(&s, &["show", id, "--raw"])), body);
    }
}

#[test]
fn a_missing_store_is_a_clear_error_and_broken_pipes_are_quiet() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nowhere");
    for cmd in [
        vec!["list"],
        vec!["show", "--last"],
        vec!["stats"],
        vec!["export"],
    ] {
        fails(&run(&missing, &cmd), 1, "there is no store at");
    }
    // `hookcli list | head -1` on a big store: no panic, quiet exit.
    let s = home.path().join("big");
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/intercom/zulip/ticket_created.json"
    ))
    .unwrap();
    let files: Vec<String> = (0..300)
        .map(|i| {
            let p = home.path().join(format!("b{i}.json"));
            std::fs::write(&p, &body).unwrap();
            p.display().to_string()
        })
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    ok(&run(&s, &args));
    let script = format!(
        "'{}' --store '{}' list --all --json | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}",
        bin().display(),
        s.display()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nor when stderr's reader has gone (`list 2>&1 | head`): its "more match" note is lost.
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    let gone = unsafe { <std::process::Stdio as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let status = hookcli(home.path())
        .arg("--store")
        .arg(&s)
        .args(["list", "--limit", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(gone)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_store_from_an_earlier_hookcli_is_upgraded_in_place() {
    // A store as the previous release left it: the first three migrations, one capture.
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let db = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    for n in ["0001_captures", "0002_search", "0003_deliveries"] {
        let sql = std::fs::read_to_string(format!(
            "{}/src/store/migrations/{n}.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        db.execute_batch(&sql).unwrap();
    }
    db.execute_batch(
        "PRAGMA user_version = 3; PRAGMA journal_mode = WAL;
         INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature)
         VALUES ('01m8old0000000000000000000', 1700000000000, 'listen', '127.0.0.1:1', 'POST', '/', '[]', x'7b7d', 'unchecked');
         -- Numbered again after a delete: the search index counts it as indexed, yet it is not.
         INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature)
         VALUES ('01m8abc0000000000000000001', 1700000000001, 'listen', '127.0.0.1:1', 'POST', '/', '[]', CAST('{\"reused\":\"needle\"}' AS BLOB), 'unchecked');
         -- The index saw up to 5: captures 3 to 5 were deleted since.
         UPDATE fts_progress SET upto = 5;",
    )
    .unwrap();
    drop(db);
    let old: Value =
        serde_json::from_str(&ok(&run(&store, &["show", "01m8old", "--json"]))).unwrap();
    assert_eq!(old["body"]["text"], "{}");
    assert_eq!(
        old["status"],
        Value::Null,
        "not known for captures from before"
    );
    let mut l = listen_at(&store, home.path(), &["--json"], &[]);
    let id = l.post("/", &[], b"{\"new\":1}").id();
    l.interrupt();
    let new: Value = serde_json::from_str(&ok(&run(&store, &["show", &id, "--json"]))).unwrap();
    assert_eq!(new["status"], 200);
    assert_eq!(ids(&run(&store, &["list", "--json", "--all"])).len(), 3);
    assert_eq!(
        ids(&run(&store, &["list", "--json", "--search", "needle"])),
        vec!["01m8abc0000000000000000001".to_string()]
    );
    // Numbers up to 5 were used, so the capture stored after the upgrade gets none of them.
    let db = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    let seq: i64 = db
        .query_row("SELECT seq FROM captures WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(seq, 6);
}

#[test]
fn deleting_the_newest_captures_hides_no_later_one_from_search_or_follow() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let mut first = listen_at(&store, home.path(), &["--json"], &[]);
    first.post("/", &[], b"{\"n\":\"needle-one\"}");
    let newest = first.post("/", &[], b"{\"n\":2}").id();
    // Stopping indexes what it stored, so the search index has seen the newest capture.
    assert_eq!(first.interrupt().0, 0);
    let mut follow = hookcli(home.path())
        .arg("--store")
        .arg(&store)
        .args(["list", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ok(&run(&store, &["delete", &newest, "--yes"]));
    let mut second = listen_at(&store, home.path(), &["--json"], &[]);
    let later = second.post("/", &[], b"{\"n\":\"needle-two\"}").id();
    // It starts with the latest captures, like `tail -f`; the new one must follow.
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.contains(&later) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            panic!("--follow did not print {later} within 10 s; it printed {seen:?}");
        };
        seen.push(
            serde_json::from_str::<Value>(&line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(second.interrupt().0, 0);
    assert_eq!(
        ids(&run(&store, &["list", "--json", "--search", "needle-two"])),
        vec![later]
    );
}

#[test]
fn json_outputs_carry_no_raw_terminal_controls_and_keep_their_meaning() {
    let l = listen(&["--json"]);
    let hostile = "{\"m\":\"\u{9b}31m\u{202e}txt\u{7f}\u{200b}\u{feff}\"}";
    let id = l
        .post("/p", &[("X-Note", "\u{9b}2J")], hostile.as_bytes())
        .id();
    let unsafe_char = |c: char| {
        ('\u{7f}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("c.har");
    let har = har.to_str().unwrap();
    for args in [
        vec!["list", "--json"],
        vec!["show", &id, "--json"],
        vec!["export", &id],
        vec!["export"],
        vec!["stats", "--json"],
    ] {
        let out = ok(&run(&l.store, &args));
        assert!(!out.chars().any(unsafe_char), "{args:?}: {out:?}");
    }
    ok(&run(
        &l.store,
        &["export", &id, "--format", "har", "-o", har],
    ));
    assert!(!std::fs::read_to_string(har)
        .unwrap()
        .chars()
        .any(unsafe_char));
    let listen_out = l.stdout().join("\n");
    assert!(!listen_out.chars().any(unsafe_char), "{listen_out:?}");
    // Still the same capture: a round trip through import gives the exact bytes back.
    let exported = dir.path().join("c.json");
    ok(&run(
        &l.store,
        &["export", &id, "-o", exported.to_str().unwrap()],
    ));
    let other = dir.path().join("other");
    let imported = ok(&run(
        &other,
        &["import", "--json", exported.to_str().unwrap()],
    ));
    assert!(!imported.chars().any(unsafe_char), "{imported:?}");
    let raw = run(&other, &["show", "--last", "--raw"]);
    assert_eq!(raw.stdout, hostile.as_bytes());
}

#[test]
fn a_body_too_large_to_index_is_searched_directly() {
    let mut l = listen(&["--json"]);
    // Indexing a body of a few MB held the store's write lock for seconds.
    let big = format!(
        "{{\"pad\":\"{}\",\"n\":\"needle-big\"}}",
        "ab1c".repeat(40_000)
    );
    let big_id = l.post("/", &[], big.as_bytes()).id();
    let small_id = l.post("/", &[], b"{\"n\":\"needle-small\"}").id();
    assert_eq!(l.interrupt().0, 0, "stopping indexes what it stored");
    let db = rusqlite::Connection::open(l.store.join("hookcli.db")).unwrap();
    let upto: i64 = db
        .query_row("SELECT upto FROM fts_progress", [], |r| r.get(0))
        .unwrap();
    assert_eq!(upto, 2, "both were indexed");
    let in_index = |text: &str| -> i64 {
        db.query_row(
            "SELECT COUNT(*) FROM captures_fts WHERE captures_fts MATCH ?1",
            [format!("\"{text}\"")],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!((in_index("needle-big"), in_index("needle-small")), (0, 1));
    let search = |text: &str| ids(&run(&l.store, &["list", "--json", "--search", text]));
    assert_eq!(search("needle-big"), vec![big_id.clone()]);
    assert_eq!(search("needle-small"), vec![small_id]);
    assert_eq!(search("NEEDLE-BIG"), vec![big_id]);
    assert!(!run(&l.store, &["list", "--search", "needle-none"])
        .status
        .success());
}

#[test]
fn search_matches_the_same_before_and_after_a_capture_is_indexed() {
    let l = listen(&["--json"]);
    let id = l
        .post("/", &[], "{\"name\":\"Émile Zola\"}".as_bytes())
        .id();
    let found = |text: &str| {
        let out = run(&l.store, &["list", "--json", "--search", text]);
        if out.status.success() {
            ids(&out)
        } else {
            Vec::new()
        }
    };
    // Straight away (not indexed yet: the writer indexes once it has been idle)...
    for text in ["émile", "ÉMILE", "Émile", "é", "zo"] {
        assert_eq!(found(text), vec![id.clone()], "{text} before indexing");
    }
    // ...and once the index holds it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let db = rusqlite::Connection::open(l.store.join("hookcli.db")).unwrap();
        let upto: i64 = db
            .query_row("SELECT upto FROM fts_progress", [], |r| r.get(0))
            .unwrap();
        if upto >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never indexed");
        std::thread::sleep(Duration::from_millis(50));
    }
    for text in ["émile", "ÉMILE", "Émile", "é", "zo"] {
        assert_eq!(found(text), vec![id.clone()], "{text} after indexing");
    }
    assert!(found("zzz").is_empty());
}

#[test]
fn list_columns_hold_the_longest_topics_and_counts_start_at_one() {
    let l = listen(&["--json"]);
    for topic in [
        "ping",
        "conversation.admin.replied.translated",
        "procedure.hitl_notification.created",
    ] {
        l.post("/", &[], notification(topic, Some("n"), "{}").as_bytes());
    }
    let text = ok(&run(&l.store, &["list", "--color", "never"]));
    let size_ends: Vec<usize> = text
        .lines()
        .map(|l| {
            let at = l.find(['✓', '✗', '–']).unwrap();
            l[..at].chars().count()
        })
        .collect();
    assert!(size_ends.windows(2).all(|w| w[0] == w[1]), "{text}");
    fails(
        &run(&l.store, &["list", "-n", "0"]),
        2,
        "must be at least 1",
    );
    assert!(ok(&run(&l.store, &["stats"])).starts_with("3 captures in"));
}

/// A listener holding one capture, a temporary directory, and that capture's export
/// document and id, to import altered.
fn one_exported_capture() -> (Listener, tempfile::TempDir, Value, String) {
    let l = listen(&["--json"]);
    let id = l.post("/", &[], b"{\"a\":1}").id();
    let home = tempfile::tempdir().unwrap();
    let exported = home.path().join("one.json");
    ok(&run(
        &l.store,
        &["export", &id, "-o", exported.to_str().unwrap()],
    ));
    let doc = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    (l, home, doc, id)
}

#[test]
fn list_shows_each_id_as_far_as_it_is_unique() {
    let (_listener, home, doc, _) = one_exported_capture();
    // Imported ids that share their first 14 characters (made elsewhere, say).
    let s = home.path().join("store");
    for (n, tail) in ["aaaaaaaaaaaa", "bbbbbbbbbbbb"].iter().enumerate() {
        let mut d = doc.clone();
        d["id"] = json!(format!("01m8tw5any21xy{tail}"));
        let path = home.path().join(format!("{n}.json"));
        std::fs::write(&path, d.to_string()).unwrap();
        ok(&run(&s, &["import", path.to_str().unwrap()]));
    }
    let listed = ok(&run(&s, &["list", "--color", "never"]));
    let shown: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut expected = vec!["01m8tw5any21xyb", "01m8tw5any21xya"];
    expected.sort();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "{listed}");
    for prefix in shown {
        ok(&run(&s, &["show", prefix]));
    }
}

#[test]
fn import_keeps_only_real_ids_and_refuses_impossible_times_and_methods() {
    let (l, home, doc, id) = one_exported_capture();
    let with = |name: &str, field: &str, value: Value| {
        let mut d = doc.clone();
        d[field] = value;
        let path = home.path().join(name);
        std::fs::write(&path, d.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let s = home.path().join("store");
    // A hostile id is not stored, shown or printed: the capture gets a new one, and says so.
    let hostile = with("hostile.json", "id", json!("\x1b]0;PWNED\x07\x1b[31m01m8"));
    let out = run(&s, &["import", &hostile]);
    let text = ok(&out);
    assert!(
        text.contains("is not a hookcli id, so it got a new one") && text.contains("\\x1b]0;PWNED"),
        "{text}"
    );
    for args in [
        vec!["list", "--color", "never"],
        vec!["show", "--last", "--color", "never"],
    ] {
        let shown = ok(&run(&s, &args));
        assert!(
            !shown.contains('\x1b') && !shown.contains("PWNED"),
            "{shown}"
        );
    }
    for (name, bad) in [("zero.json", "0"), ("empty.json", "")] {
        let text = ok(&run(&s, &["import", &with(name, "id", json!(bad))]));
        assert!(text.contains("got a new one"), "{text}");
    }
    let listed = ids(&run(&s, &["list", "--json"]));
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|i| i.len() == 26 && *i != id),
        "{listed:?}"
    );
    // An uppercase id is the same id: kept, lowercased, and addressable.
    let upper = with("upper.json", "id", json!(id.to_uppercase()));
    let text = ok(&run(&s, &["import", &upper]));
    assert_eq!(text.trim(), format!("imported {} from {upper}", &id[..12]));
    assert!(ok(&run(&s, &["show", &id[..16], "--raw"])).contains("\"a\""));
    // Times a capture cannot have, and methods that are not HTTP methods, are refused.
    for ms in [
        json!(99_999_999_999_999_999i64),
        json!(-1),
        json!("yesterday"),
    ] {
        fails(
            &run(&s, &["import", &with("time.json", "received_at_ms", ms)]),
            1,
            "is impossible: it must be Unix milliseconds from 1970 up to now",
        );
    }
    let jsonl = home.path().join("two.jsonl");
    let mut late = doc.clone();
    late["received_at_ms"] = json!(99_999_999_999_999_999i64);
    std::fs::write(&jsonl, format!("{doc}\n{late}\n")).unwrap();
    fails(
        &run(&s, &["import", jsonl.to_str().unwrap()]),
        1,
        &format!(
            "cannot import {}: line 2: its receive time 99999999999999999 is impossible",
            jsonl.display()
        ),
    );
    for method in ["GE T", "PO\x1bST", ""] {
        let out = run(
            &s,
            &["import", &with("method.json", "method", json!(method))],
        );
        fails(&out, 1, "is not an HTTP method (a token such as POST)");
        assert!(!String::from_utf8_lossy(&out.stderr).contains('\x1b'));
    }
    let har = home.path().join("bad.har");
    ok(&run(
        &l.store,
        &[
            "export",
            &id,
            "--format",
            "har",
            "-o",
            har.to_str().unwrap(),
        ],
    ));
    let mut h: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    // The HAR as it stands now is refused, saying this.
    let refused = |h: &Value, says: &str| {
        std::fs::write(&har, h.to_string()).unwrap();
        fails(&run(&s, &["import", har.to_str().unwrap()]), 1, says);
    };
    h["log"]["entries"][0]["request"]["method"] = json!("P\nST");
    refused(&h, "HAR entry 1: its method 'P\\nST' is not an HTTP method");
    h["log"]["entries"][0]["request"]["method"] = json!("POST");
    // As another tool's HAR would be: only the URL says where the request went.
    h["log"]["entries"][0]["_hookcli"]
        .as_object_mut()
        .unwrap()
        .remove("target");
    h["log"]["entries"][0]["request"]["url"] = json!("not a url");
    refused(
        &h,
        "HAR entry 1: its target 'not a url' is not a request path",
    );
    h["log"]["entries"][0]["request"]["url"] = json!("http://127.0.0.1:1/");
    h["log"]["entries"][0]["request"]["postData"] = json!({"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "a", "value": "1"}]});
    refused(&h, "HAR entry 1: its postData gives params but no text");
    h["log"]["entries"][0]["request"]["postData"] =
        json!({"mimeType": "application/json", "text": "{}"});
    // A date it cannot read is refused, not imported as the time of the import.
    let started = h["log"]["entries"][0]["startedDateTime"].clone();
    h["log"]["entries"][0]["startedDateTime"] = json!("01/05/2024 10:00");
    refused(
        &h,
        "HAR entry 1: its startedDateTime \"01/05/2024 10:00\" is not an ISO 8601 date with a zone",
    );
    h["log"]["entries"][0]["startedDateTime"] = started;
    // A method is stored as given (HTTP methods are case-sensitive) and found either way.
    let mut lower = doc.clone();
    lower["method"] = json!("get");
    lower["id"] = json!(""); // a new capture, not the one imported above
    let path = home.path().join("lower.json");
    std::fs::write(&path, lower.to_string()).unwrap();
    let lower_id = ids(&run(&s, &["import", path.to_str().unwrap(), "--json"]));
    for asked in ["get", "GET"] {
        assert_eq!(
            ids(&run(&s, &["list", "--json", "--method", asked])),
            lower_id
        );
    }
    // Verdicts and targets no capture could have are refused, not stored as something else.
    // The capture was sent without an X-Hub-Signature.
    let unsigned = &doc;
    let mut health_check = doc.clone();
    health_check["headers"] = json!([["x-body-signature", {"text": "ab".repeat(32)}]]);
    health_check["body"] = json!({"text": "{\"workspace_id\":\"w\"}"});
    for (field, value, base, says) in [
        (
            "signature",
            json!({"verdict": "bogus"}),
            &doc,
            "its signature verdict 'bogus' is not valid, invalid, missing or unchecked",
        ),
        (
            "signature",
            json!({"verdict": "invalid", "reason": "nope"}),
            &doc,
            "its signature reason 'nope' is not one hookcli gives",
        ),
        (
            "signature",
            json!({"verdict": "valid"}),
            unsigned,
            "its signature verdict is 'valid', but it has no X-Hub-Signature header",
        ),
        (
            "signature",
            json!({"verdict": "invalid", "reason": "malformed_hex"}),
            &health_check,
            "its signature reason 'malformed_hex' is not one an X-Body-Signature can have",
        ),
        (
            "target",
            json!("no-slash \u{1b}[31m"),
            &doc,
            "its target 'no-slash \\x1b[31m' is not a request path",
        ),
    ] {
        let mut d = base.clone();
        d[field] = value;
        let path = home.path().join("inconsistent.json");
        std::fs::write(&path, d.to_string()).unwrap();
        let out = run(&s, &["import", path.to_str().unwrap()]);
        fails(&out, 1, says);
        assert!(!String::from_utf8_lossy(&out.stderr).contains('\x1b'));
    }
    assert_eq!(count(&s), 5, "refused files import nothing");
}

/// The headers of a capture as the sender set them (Host and Connection belong to the hop).
fn sent_headers(store: &Path, id: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&ok(&run(store, &["show", id, "--json"]))).unwrap();
    doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !matches!(h[0].as_str().unwrap(), "Host" | "Connection"))
        .cloned()
        .collect()
}

#[test]
fn exported_curl_keeps_odd_headers_and_bodies_and_runs_from_anywhere() {
    let l = listen(&["--json"]);
    let raw = |head: &[u8], body: &[u8]| -> String {
        let mut req = b"POST /odd HTTP/1.1\r\nHost: x\r\n".to_vec();
        req.extend_from_slice(head);
        req.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(body);
        raw_request(&l.addr, &req).id()
    };
    // An empty value, a value that is not UTF-8, and a body with escape sequences in it.
    let odd = raw(
        b"X-Empty:\r\nX-Bin: \xff\xfe ok\r\nContent-Type: application/json\r\n",
        b"{\"a\":\"\x1b[31mred\x1b]52;c;aGk=\x07\"}",
    );
    let binary = raw(b"", b"\x00\xff\x1b[2J");
    let second = listen(&["--json"]);
    let home = tempfile::tempdir().unwrap();
    let (out, elsewhere) = (home.path().join("out"), home.path().join("elsewhere"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let script = out.join("c.sh");
    let export = |args: &[&str]| {
        hookcli(home.path())
            .current_dir(&elsewhere)
            .arg("--store")
            .arg(&l.store)
            .args(["export", "--format", "curl", "--base-url"])
            .arg(format!("http://{}", second.addr))
            .args(args)
            .output()
            .unwrap()
    };
    ok(&export(&[&binary, &odd, "-o", script.to_str().unwrap()]));
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing is written where export ran"
    );
    let text = String::from_utf8(std::fs::read(&script).unwrap()).expect("the script is UTF-8");
    assert!(
        text.chars().all(|c| c == '\n' || !c.is_control()),
        "control bytes in the script: {text:?}"
    );
    assert!(text.contains("-H 'X-Empty;'"), "{text}");
    // Run from another directory: the script finds its body files itself.
    let ran = std::process::Command::new("sh")
        .arg(&script)
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    // Each curl prints the listener's answer, with no newline between them.
    let copies: Vec<String> = serde_json::Deserializer::from_str(&ok(&ran))
        .into_iter::<Value>()
        .map(|v| v.unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(copies.len(), 2, "{}", String::from_utf8_lossy(&ran.stderr));
    for (original, copy) in [&odd, &binary].into_iter().zip(&copies) {
        assert_eq!(
            stored(&second.store, copy).unwrap().0,
            stored(&l.store, original).unwrap().0
        );
        assert_eq!(
            sent_headers(&second.store, copy),
            sent_headers(&l.store, original)
        );
    }
    // Exporting again finds the same bodies in place; a different file of that name is
    // never overwritten.
    ok(&export(&[&binary, &odd, "-o", script.to_str().unwrap()]));
    let taken = out.join(format!("hookcli-{binary}.body"));
    std::fs::write(&taken, "mine").unwrap();
    fails(
        &export(&[&binary, "-o", script.to_str().unwrap()]),
        1,
        "already exists and holds something other than the body",
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
    // To stdout, the body files land where export ran and the script names them absolutely.
    let printed = ok(&export(&[&binary]));
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(&printed)
        .current_dir(&out)
        .output()
        .unwrap();
    let copy = serde_json::from_str::<Value>(&ok(&ran)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stored(&second.store, &copy).unwrap().0, b"\x00\xff\x1b[2J");
}

#[test]
fn ids_an_older_import_let_through_are_shown_escaped_and_never_crash() {
    // Before imports checked ids, any text could become one; such stores still exist.
    let l = listen(&["--json"]);
    l.post("/", &[], b"{}");
    let db = rusqlite::Connection::open(l.store.join("hookcli.db")).unwrap();
    db.execute(
        "INSERT INTO captures (id, received_at, source, remote_addr, method, target, headers, body, signature)
         VALUES ('aéé\u{1b}]0;PWNED\u{7}\u{1b}[31méééééé', 1700000000000, 'import', '-', 'POST', '/', '[]', x'7b7d', 'unchecked')",
        [],
    )
    .unwrap();
    drop(db);
    let listed = ok(&run(&l.store, &["list", "--color", "always"]));
    assert!(
        !listed.contains("\u{1b}]0;") && !listed.contains('\u{7}'),
        "{listed:?}"
    );
    assert!(listed.contains("\\x1b]0;PW"), "{listed:?}");
    let shown = ok(&run(&l.store, &["show", "aéé", "--color", "never"]));
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}

#[test]
fn a_curl_export_reproduces_globs_dot_segments_and_a_large_body() {
    let first = listen(&["--json"]);
    let second = listen(&["--json"]);
    let target = "/a/../b/./c?a[0]=1&b={x,y}";
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(140 * 1024));
    let id = send(&first.addr, "POST", target, &[], body.as_bytes()).id();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("c.sh");
    ok(&run(
        &first.store,
        &[
            "export",
            &id,
            "--format",
            "curl",
            "--base-url",
            &second.url,
            "-o",
            script.to_str().unwrap(),
        ],
    ));
    let out = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .unwrap();
    let copy = serde_json::from_str::<Value>(&ok(&out)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let record: Value =
        serde_json::from_str(&ok(&run(&second.store, &["show", &copy, "--json"]))).unwrap();
    assert_eq!(record["target"], target);
    assert_eq!(stored(&second.store, &copy).unwrap().0, body.as_bytes());
}

#[test]
fn search_folds_a_final_sigma_like_the_index() {
    let l = listen(&["--json"]);
    let id = l.post("/", &[], "ΟΔΟΣΤ δρόμος".as_bytes()).id();
    for text in ["ΟΣ", "ΟΔΟΣ", "οδοσ"] {
        let out = run(&l.store, &["list", "--json", "--search", text]);
        assert_eq!(ids(&out), vec![id.clone()], "{text}");
    }
}

#[test]
fn topic_globs_read_the_same_in_list_export_and_topics() {
    let l = listen(&["--json"]);
    let post = |topic: &str| {
        let body = notification(topic, None, r#"{"type":"ticket"}"#);
        l.post("/", &[], body.as_bytes()).id()
    };
    let created = post("ticket.created");
    let literal = post("ticket.[!c]x");
    let s = &l.store;
    // Only `*` and `?` are special: `[...]` is not a character class.
    assert_eq!(
        ids(&run(s, &["list", "--json", "--topic", "ticket.[!c]*"])),
        vec![literal.clone()]
    );
    let doc: Value =
        serde_json::from_str(&ok(&run(s, &["export", "--topic", "ticket.[!c]?"]))).unwrap();
    assert_eq!(doc["id"], literal.as_str());
    fails(
        &run(s, &["list", "--topic", "ticket.[a-z]*"]),
        1,
        "no captures match",
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--topic", "ticket.?reated"])),
        vec![created.clone()]
    );
    assert_eq!(
        ids(&run(s, &["list", "--json", "--topic", "ticket.*"])),
        vec![literal, created]
    );
    // The catalog matches by the same rule.
    fails(&run(s, &["topics", "ticket.[a-z]*"]), 1, "no topic matches");
    assert!(ok(&run(s, &["topics", "ticket.?reated"])).contains("ticket.created"));
}

#[test]
fn export_base_url_must_be_an_http_url_without_a_query_and_keeps_its_path() {
    let l = listen(&["--json"]);
    let id = l.post("/hook?q=1", &[], b"{}").id();
    let s = &l.store;
    for (base, says) in [
        ("notaurl", "not a URL"),
        ("ftp://h:3000/", "must start with http:// or https://"),
        ("http://h:3000/x?y=1", "has a ?query"),
        ("http://h:3000/x#top", "#fragment"),
    ] {
        for format in ["curl", "har"] {
            let out = run(s, &["export", &id, "--format", format, "--base-url", base]);
            fails(&out, 2, says);
        }
    }
    let script = ok(&run(
        s,
        &[
            "export",
            &id,
            "--format",
            "curl",
            "--base-url",
            "http://h:3000/x/",
        ],
    ));
    assert!(script.contains("'http://h:3000/x/hook?q=1'"), "{script}");
    let har: Value = serde_json::from_str(&ok(&run(
        s,
        &[
            "export",
            &id,
            "--format",
            "har",
            "--base-url",
            "https://h/x",
        ],
    )))
    .unwrap();
    assert_eq!(
        har["log"]["entries"][0]["request"]["url"],
        "https://h/x/hook?q=1"
    );
}

#[test]
fn export_to_a_file_creates_missing_directories_and_still_overwrites_no_body() {
    let l = listen(&["--json"]);
    // Not UTF-8, so the curl export puts the body in a file beside the script.
    let id = l
        .post(
            "/",
            &[("Content-Type", "application/octet-stream")],
            b"\xff\x00bin",
        )
        .id();
    let s = &l.store;
    let root = s.parent().unwrap().join("out");
    let script = root.join("deep/c.sh");
    ok(&run(
        s,
        &[
            "export",
            &id,
            "--format",
            "curl",
            "-o",
            script.to_str().unwrap(),
        ],
    ));
    assert!(std::fs::read_to_string(&script)
        .unwrap()
        .starts_with("#!/bin/sh"));
    let body = root.join(format!("deep/hookcli-{id}.body"));
    assert_eq!(std::fs::read(&body).unwrap(), b"\xff\x00bin");
    let json = root.join("other/x.json");
    ok(&run(s, &["export", &id, "-o", json.to_str().unwrap()]));
    assert!(json.exists());
    // A body file holding something else is still never overwritten.
    std::fs::write(&body, b"mine").unwrap();
    let again = root.join("deep/again.sh");
    fails(
        &run(
            s,
            &[
                "export",
                &id,
                "--format",
                "curl",
                "-o",
                again.to_str().unwrap(),
            ],
        ),
        1,
        "already exists and holds something other than the body",
    );
    assert_eq!(std::fs::read(&body).unwrap(), b"mine");
    assert!(!again.exists());
    // A file where a directory should be is named.
    let under_file = json.join("x.json");
    fails(
        &run(s, &["export", &id, "-o", under_file.to_str().unwrap()]),
        1,
        &format!("{} is a file, not a directory", json.display()),
    );
}

#[test]
fn an_export_points_where_the_request_went_but_not_where_an_odd_host_says() {
    let l = listen(&["--json"]);
    let sent = |host: &str| {
        let raw = format!(
            "POST /hook?q=1 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        raw_request(&l.addr, raw.as_bytes()).id()
    };
    let url = |id: &str| {
        let script = ok(&run(&l.store, &["export", id, "--format", "curl"]));
        let har: Value =
            serde_json::from_str(&ok(&run(&l.store, &["export", id, "--format", "har"]))).unwrap();
        let har_url = har["log"]["entries"][0]["request"]["url"].clone();
        (script, har_url.as_str().unwrap().to_string())
    };
    let (script, har) = url(&sent("abc.ngrok-free.app"));
    assert!(
        script.contains("'http://abc.ngrok-free.app/hook?q=1'"),
        "{script}"
    );
    assert_eq!(har, "http://abc.ngrok-free.app/hook?q=1");
    let (script, har) = url(&sent("evil.example/x?"));
    assert!(
        script.contains("'http://127.0.0.1:4665/hook?q=1'"),
        "{script}"
    );
    assert!(!script.contains("evil.example/x"), "{script}");
    assert_eq!(har, "http://127.0.0.1:4665/hook?q=1");
}

#[test]
fn app_id_finds_a_workspaces_health_checks_too() {
    let l = listen(&["--json"]);
    let notif = l
        .post(
            "/",
            &[],
            notification("ping", None, "{}")
                .replace("a86dr8yl", "ws42")
                .as_bytes(),
        )
        .id();
    let reply = l.post("/", &[], br#"{"workspace_id": "ws42"}"#);
    assert_eq!(
        reply.json()["state"],
        "OK",
        "listen took it for a health check"
    );
    let check = reply.id();
    l.post("/", &[], br#"{"workspace_id": "other"}"#);
    l.post("/", &[], br#"{"workspace_id": 42}"#);
    l.post("/", &[], b"workspace_id ws42 \xff");
    // What listen does not take for a health check, --app-id does not either.
    for body in [
        &br#"{"topic":null,"workspace_id":"ws42"}"#[..],
        br#"{"type":"notification_event","workspace_id":"ws42"}"#,
        br#"{"workspace_id":"ws42","workspace_id":"other"}"#,
        b"{\"workspace_id\":\"ws42\"}\0junk",
    ] {
        let reply = l.post("/", &[], body);
        assert!(
            reply.json()["state"].is_null(),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    // A notification's app_id is its workspace, whatever else its body holds.
    l.post(
        "/",
        &[],
        notification("ping", None, r#"{"workspace_id":"ws42"}"#).as_bytes(),
    );
    let s = &l.store;
    assert_eq!(
        ids(&run(s, &["list", "--json", "--app-id", "ws42"])),
        v(&[&check, &notif])
    );
    let exported = ok(&run(s, &["export", "--app-id", "ws42"]));
    assert_eq!(exported.lines().count(), 2, "{exported}");
    // The rows say which is the health check, as listen and show do.
    let rows = ok(&run(s, &["list", "--app-id", "ws42", "--color", "never"]));
    let row = |id: &str| {
        rows.lines()
            .find(|r| r.starts_with(&id[..12]))
            .unwrap()
            .to_string()
    };
    assert!(row(&check).contains("(health check)"), "{rows}");
    assert!(!row(&notif).contains("(health check)"), "{rows}");
    let all = ok(&run(s, &["list", "--all", "--color", "never"]));
    assert_eq!(all.matches("(health check)").count(), 2, "{all}");
    fails(
        &run(s, &["list", "--app-id", "ws4"]),
        1,
        "no captures match",
    );
}

#[test]
fn list_order_created_follows_intercoms_created_at_not_arrival() {
    let l = listen(&["--json"]);
    let body = |id: &str, created: i64| created_at(Some(id), &created.to_string());
    // Delivered out of order, as Intercom may: the second created arrives last.
    let first = l
        .post("/", &[], body("notif_1", 1_700_000_000).as_bytes())
        .id();
    let third = l
        .post("/", &[], body("notif_3", 1_700_000_300).as_bytes())
        .id();
    let other = l.post("/", &[], b"{\"not\":\"a notification\"}").id();
    let second = l
        .post("/", &[], body("notif_2", 1_700_000_100).as_bytes())
        .id();
    let s = &l.store;
    assert_eq!(
        ids(&run(s, &["list", "--json"])),
        v(&[&second, &other, &third, &first])
    );
    // Created newest first; a capture without created_at sorts by when it arrived (now).
    assert_eq!(
        ids(&run(s, &["list", "--json", "--order", "created"])),
        v(&[&other, &third, &second, &first])
    );
    assert_eq!(
        ids(&run(
            s,
            &[
                "list",
                "--json",
                "--order",
                "created",
                "--limit",
                "2",
                "--topic",
                "conversation.*"
            ]
        )),
        v(&[&third, &second])
    );
    // The rows then show Intercom's created time.
    let tz = [("TZ", "UTC")];
    let rows = ok(&run_env(
        s,
        &["list", "--order", "created", "--color", "never"],
        &tz,
    ));
    let row = rows.lines().find(|r| r.contains("notif_2")).unwrap();
    assert!(row.contains("2023-11-14 22:15:00"), "{rows}");
    let rows = ok(&run_env(s, &["list", "--color", "never"], &tz));
    let row = rows.lines().find(|r| r.contains("notif_2")).unwrap();
    assert!(
        !row.contains("2023-11-14"),
        "received time by default: {rows}"
    );
    fails(
        &run(s, &["list", "--order", "created", "--follow"]),
        2,
        "cannot be used with",
    );
    // show says how long after its creation it arrived (here: years, from a fixed date).
    let shown = ok(&run_env(s, &["show", &first, "--color", "never"], &tz));
    assert!(
        shown.contains("created_at     1700000000 (2023-11-14 22:13:20), received ")
            && shown.contains(" days later\n"),
        "{shown}"
    );
    // A created_at that is no date counts as none: the row shows, and sorts by, when it
    // was received (here: the newest, of the two).
    let huge = l
        .post("/", &[], body("notif_huge", i64::MAX).as_bytes())
        .id();
    let odd = l
        .post(
            "/",
            &[],
            body("notif_odd", -9_000_000_000_000_000).as_bytes(),
        )
        .id();
    // Milliseconds by mistake: a year past 9999 is no date either.
    let ms = l
        .post("/", &[], body("notif_ms", 1_700_000_000_000).as_bytes())
        .id();
    assert_eq!(
        ids(&run(s, &["list", "--json", "--order", "created"])),
        v(&[&ms, &odd, &huge, &other, &third, &second, &first])
    );
    let shown = ok(&run(s, &["show", &ms, "--color", "never"]));
    assert!(
        shown.contains("created_at     1700000000000 (not a date)\n"),
        "{shown}"
    );
    // An import's receive time is its import's: no lag to tell.
    let file = l.store.parent().unwrap().join("bare.json");
    std::fs::write(&file, body("notif_imported", 1_700_000_000)).unwrap();
    let imported = ids(&run(s, &["import", file.to_str().unwrap(), "--json"]));
    let shown = ok(&run_env(
        s,
        &["show", &imported[0], "--color", "never"],
        &tz,
    ));
    assert!(
        shown.contains("created_at     1700000000 (2023-11-14 22:13:20)\n"),
        "{shown}"
    );
    let rows = ok(&run(s, &["list", "--order", "created", "--color", "never"]));
    let row = rows.lines().find(|r| r.contains("notif_odd")).unwrap();
    let time = row.split("  ").nth(1).unwrap();
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{row}");
}

#[test]
fn list_says_on_stderr_when_the_limit_left_captures_out_but_never_in_json() {
    let l = listen(&["--json"]);
    for n in 0..23 {
        l.post("/", &[], format!("{{\"n\":{n}}}").as_bytes()).id();
    }
    let s = &l.store;
    let err = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let out = run(s, &["list"]);
    assert_eq!(ok(&out).lines().count(), 20);
    assert_eq!(
        err(&out),
        "hookcli: 3 more captures match; pass --all or --limit N to see them\n"
    );
    let out = run(s, &["list", "--limit", "22"]);
    assert_eq!(
        err(&out),
        "hookcli: 1 more capture matches; pass --all or --limit N to see them\n"
    );
    // Nothing left out, or --json: nothing said.
    for args in [
        &["list", "--all"][..],
        &["list", "--limit", "23"],
        &["list", "--json"],
    ] {
        let out = run(s, args);
        ok(&out);
        assert_eq!(err(&out), "", "{args:?}");
    }
    // The count follows the filters.
    let out = run(s, &["list", "--limit", "1", "--search", "\"n\":2"]);
    assert!(
        err(&out).starts_with("hookcli: 3 more captures match"),
        "{}",
        err(&out)
    );
}

#[test]
fn an_empty_file_or_another_programs_database_is_never_written_to() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("hookcli.db"), b"").unwrap();
    let foreign = home.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    let db = rusqlite::Connection::open(foreign.join("hookcli.db")).unwrap();
    db.execute_batch("CREATE TABLE notes (a); INSERT INTO notes VALUES (1);")
        .unwrap();
    drop(db);
    let bytes = |dir: &std::path::Path| std::fs::read(dir.join("hookcli.db")).unwrap();
    let empty_before = bytes(&empty);
    for args in [&["list"][..], &["stats"], &["show", "--last"], &["export"]] {
        fails(&run(&empty, args), 1, "there is no store at");
        fails(
            &run(&foreign, args),
            1,
            "is a SQLite database, but not a hookcli store",
        );
    }
    // Whatever user_version another program gives its file.
    for version in [2, 9] {
        let db = rusqlite::Connection::open(foreign.join("hookcli.db")).unwrap();
        db.pragma_update(None, "user_version", version).unwrap();
        drop(db);
        let before = bytes(&foreign);
        fails(
            &run(&foreign, &["list"]),
            1,
            "is a SQLite database, but not a hookcli store",
        );
        assert_eq!(bytes(&foreign), before);
    }
    let out = run(&foreign, &["listen", "--port", "0"]);
    fails(&out, 1, "is a SQLite database, but not a hookcli store");
    assert_eq!(bytes(&empty), empty_before);
    let db = rusqlite::Connection::open(foreign.join("hookcli.db")).unwrap();
    let tables: i64 = db
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!((tables, mode.as_str()), (1, "delete"));
    // An empty file is where listen starts a store: owner-only, whatever mode it had.
    chmod(&empty.join("hookcli.db"), 0o644);
    let mut l = listen_at(&empty, home.path(), &["--json"], &[]);
    assert_eq!(l.post("/", &[], b"{}").status, 200);
    let mode = |name: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(empty.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!((mode("hookcli.db"), mode("hookcli.db-wal")), (0o600, 0o600));
    l.interrupt();
    assert_eq!(count(&empty), 1);
}

#[test]
fn a_dash_is_stdin_for_import_and_stdout_for_export() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s");
    let doc = ok(&run(&store, &["send", "ping", "--print", "--json"]));
    let mut import = hookcli(home.path())
        .arg("--store")
        .arg(&store)
        .args(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut import.stdin.take().unwrap(), doc.as_bytes()).unwrap();
    let imported = import.wait_with_output().unwrap();
    let said = ok(&imported);
    assert!(
        said.starts_with("imported ") && said.trim_end().ends_with(" from stdin"),
        "{said}"
    );
    fails(
        &run(&store, &["import", "-", "-"]),
        2,
        "- (stdin) can be given only once",
    );
    // send --file and replay --file read stdin for - too.
    let body = notification("ping", None, r#"{"type":"ping"}"#);
    let piped = |args: &[&str]| {
        let mut child = hookcli(home.path())
            .arg("--store")
            .arg(&store)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(ok(&piped(&["send", "--file", "-", "--print"])), body);
    let dry = ok(&piped(&[
        "replay",
        "--file",
        "-",
        "--dry-run",
        "--json",
        "--to",
        "http://127.0.0.1:9/",
    ]));
    let dry: Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(dry["body"]["text"], body.as_str());
    let to_stdout = ok(&run(&store, &["export", "-o", "-"]));
    assert_eq!(to_stdout, ok(&run(&store, &["export"])));
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    assert_eq!(parse(&to_stdout), parse(&doc));
    assert!(!store.parent().unwrap().join("-").exists());
    assert!(!std::env::current_dir().unwrap().join("-").exists());
}

#[test]
fn list_columns_line_up_with_wide_and_combining_characters() {
    use unicode_width::UnicodeWidthStr;
    let l = listen(&["--json"]);
    for (topic, id) in [
        ("conversation.user.created", "notif_plain"),
        ("会话.created", "notif_🙂🙂"),
        ("contact.cre\u{301}ated", "notif_e\u{301}"),
    ] {
        let body = notification(topic, Some(id), r#"{"type":"conversation","id":"1"}"#);
        assert_eq!(l.post("/", &[], body.as_bytes()).status, 200);
    }
    let out = ok(&run(&l.store, &["list", "--color", "never"]));
    // Where the signature verdict starts, in terminal columns, is the same on every row.
    let columns: Vec<usize> = out
        .lines()
        .filter(|line| line.contains("notif_"))
        .map(|line| line[..line.find("– sig").expect(line)].width())
        .collect();
    assert_eq!(columns.len(), 3, "{out}");
    assert!(
        columns.iter().all(|&c| c == columns[0]),
        "{columns:?}\n{out}"
    );
}

#[test]
fn reading_a_store_while_the_first_listen_creates_it_never_fails_oddly() {
    for round in 0..3 {
        let home = tempfile::tempdir().unwrap();
        let store = home.path().join(format!("s{round}"));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut odd = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let out = run(&store, &["list"]);
                    let err = String::from_utf8_lossy(&out.stderr).into_owned();
                    let expected = err.contains("there is no store at")
                        || err.contains("has no captures yet")
                        || out.status.success();
                    if !expected {
                        odd.push(err);
                    }
                }
                odd
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        let l = listen_at(&store, home.path(), &["--json"], &[]);
        assert_eq!(l.post("/", &[], b"{}").status, 200);
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let odd = reader.join().unwrap();
        assert!(odd.is_empty(), "round {round}: {odd:?}");
    }
}
