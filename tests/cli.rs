//! The command line itself: help, version, completions, man page, usage errors.

use crate::common::*;

fn run(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    hookcli(home.path()).args(args).output().unwrap()
}

#[test]
fn version_and_help() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("hookcli {}", env!("CARGO_PKG_VERSION"))
    );
    let commands = [
        "listen",
        "list",
        "show",
        "export",
        "import",
        "delete",
        "stats",
        "vacuum",
        "replay",
        "send",
        "check",
        "verify",
        "topics",
        "completions",
        "man",
    ];
    let mut every: Vec<Vec<&str>> = commands.iter().map(|c| vec![*c, "--help"]).collect();
    every.push(vec!["--help"]);
    for args in every {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Example"),
            "{args:?} has no examples"
        );
    }
    let help = String::from_utf8_lossy(&run(&["listen", "--help"]).stdout).to_string();
    for flag in [
        "--port",
        "--host",
        "--path",
        "--secret",
        "--secret-file",
        "--reject-invalid",
        "--max-body",
        "--json",
        "--full",
        "--compact",
        "--store",
        "--color",
    ] {
        assert!(help.contains(flag), "{flag} missing from listen --help");
    }
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("listen"),
            "{shell}"
        );
    }
    let man = run(&["man"]);
    assert!(man.status.success());
    assert!(String::from_utf8_lossy(&man.stdout).starts_with(".ie"));
    // No test-only knob leaks into completions.
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run(&["completions", shell]).stdout).unwrap();
        assert!(script.contains("--forward-to"), "{shell}");
        assert!(
            !script.contains("retry-base") && !script.contains("flood-wait"),
            "{shell}"
        );
    }
    // The pages the top-level one points to exist too.
    let listen = run(&["man", "listen"]);
    assert!(listen.status.success());
    let page = String::from_utf8_lossy(&listen.stdout);
    assert!(
        page.contains(&format!(
            ".TH hookcli-listen 1  \"hookcli {}\"",
            env!("CARGO_PKG_VERSION")
        )) && page.contains("\\-\\-forward\\-to"),
        "{page}"
    );
    assert_eq!(run(&["man", "nope"]).status.code(), Some(2));
    // A reader that has gone away (`hookcli completions bash | head -1`): quiet success.
    for args in [&["completions", "bash"][..], &["man"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let home = tempfile::tempdir().unwrap();
        let out = hookcli(home.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["listen", "--port", "notaport"],
        vec!["nonsense"],
        vec!["listen", "--max-body", "5 parsecs"],
        vec!["listen", "--max-body", "1GiB"],
        vec!["--color", "pink", "listen"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    fails(
        &run(&["send", "ping", "--print", "--count", "0"]),
        2,
        "invalid value '0' for '--count <N>': must be at least 1",
    );
    fails(
        &run(&["send", "ping", "--print", "--count", "99999999999999999999"]),
        2,
        "'99999999999999999999' is too large",
    );
    // A body the store could not keep is refused before listen starts, not 503 on arrival.
    let out = run(&["listen", "--max-body", "1GiB"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the largest --max-body is 512MiB"));
    let out = run(&[
        "listen",
        "--secret-file",
        "/nonexistent/secret",
        "--port",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "hookcli: error: cannot read the secret file /nonexistent/secret: there is no such file; check the path\n"
    );
}

#[test]
fn docs_commands_md_matches_the_help() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("bash")
        .arg(format!("{root}/docs/gen-commands.sh"))
        .env("HOOKCLI", bin())
        .current_dir(root)
        .output()
        .unwrap();
    ok(&out);
    let status = std::process::Command::new("git")
        .args(["diff", "--exit-code", "--stat", "docs/commands.md"])
        .current_dir(root)
        .output();
    if let Ok(status) = status {
        // Only meaningful in a git checkout; CI runs in one.
        if status.status.code() == Some(1) {
            panic!("docs/commands.md is out of date with --help: run docs/gen-commands.sh and commit it");
        }
    }
}

#[test]
fn usage_errors_and_help_follow_the_color_flag() {
    let colour = |args: &[&str], env: &[(&str, &str)]| {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = hookcli(home.path());
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let all = [out.stdout, out.stderr].concat();
        all.contains(&0x1b)
    };
    assert!(colour(&["--color", "always", "list", "--bogus"], &[]));
    assert!(colour(&["list", "--bogus", "--color=always"], &[]));
    assert!(colour(&["list", "--help"], &[("HOOKCLI_COLOR", "always")]));
    assert!(!colour(
        &["--color", "never", "list", "--bogus"],
        &[("HOOKCLI_COLOR", "always")]
    ));
    assert!(
        !colour(&["list", "--bogus"], &[]),
        "a pipe gets no colour by default"
    );
    // hookcli's own usage errors too.
    assert!(colour(
        &["--color", "always", "listen", "--path", "/a?x"],
        &[]
    ));
    assert!(!colour(&["listen", "--path", "/a?x"], &[]));
}

#[test]
fn a_local_time_the_clocks_skipped_says_so() {
    let home = tempfile::tempdir().unwrap();
    let out = hookcli(home.path())
        .args(["list", "--since", "2026-03-08 02:30"])
        .env("TZ", "America/New_York")
        .output()
        .unwrap();
    fails(&out, 2, "does not exist in your time zone");
}

#[test]
fn a_url_that_is_not_one_is_a_usage_error_everywhere() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["replay", "--last", "1", "--to", "notaurl"][..],
        &["check", "notaurl"],
        &["send", "ping", "--to", "notaurl"],
    ] {
        let out = hookcli(home.path()).args(args).output().unwrap();
        fails(&out, 2, "not a URL");
    }
    // Nor is a GLOB=URL route: its glob is not dropped unsaid.
    let out = hookcli(home.path())
        .args(["send", "ping", "--to", "ticket.*=http://127.0.0.1:1/"])
        .output()
        .unwrap();
    fails(&out, 2, "not a URL");
}

/// Run `install.sh` in a fresh home whose `~/.cargo/bin/cargo` is the script `cargo`, if
/// any, with PATH made of `path` (`BIN` standing for `~/.cargo/bin`, `OLD` for a directory
/// holding another hookcli) and the system's tools. Returns its exit code and stderr.
fn install_sh(cargo: Option<&str>, path: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join(".cargo/bin");
    let old = home.path().join("old");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("hookcli"), "").unwrap();
    chmod(&old.join("hookcli"), 0o755);
    if let Some(script) = cargo {
        let path = bin.join("cargo");
        std::fs::write(&path, script).unwrap();
        chmod(&path, 0o755);
    }
    let mut entries: Vec<String> = path
        .iter()
        .map(|p| {
            p.replace("BIN", &bin.display().to_string())
                .replace("OLD", &old.display().to_string())
        })
        .collect();
    entries.extend(["/usr/bin".to_string(), "/bin".to_string()]);
    let out = std::process::Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", entries.join(":"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_sh_says_what_to_do_when_cargo_or_the_path_is_missing() {
    // Stands in for `cargo install`: the real one is a release build, minutes long; what
    // is tested here is what install.sh tells the user around it.
    let cargo =
        "#!/bin/sh\n: > \"$HOME/.cargo/bin/hookcli\"\nchmod +x \"$HOME/.cargo/bin/hookcli\"\n";
    let (code, err) = install_sh(None, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cargo is not installed") && err.contains("rustup.rs"),
        "{err}"
    );
    // cargo found only in ~/.cargo/bin: installed, and the shell is told it cannot find it.
    let (code, err) = install_sh(Some(cargo), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is not on your PATH"), "{err}");
    assert!(err.contains("export PATH="), "{err}");
    for path in [&["BIN"][..], &["BIN/"]] {
        let (code, err) = install_sh(Some(cargo), path);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("Installed ") && !err.contains("PATH"),
            "{path:?}: {err}"
        );
    }
    // Another hookcli earlier on the PATH would still be the one that runs: said so.
    let (code, err) = install_sh(Some(cargo), &["OLD", "BIN"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("which comes first on your PATH"), "{err}");
}

#[test]
fn error_messages_never_carry_raw_terminal_controls() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let missing = home.path().join("ev\x1b[31mil\x1b]52;c;SGk=\x07.json");
    let ping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/intercom/zulip/ping.json"
    );
    let imported = hookcli(home.path())
        .arg("--store")
        .arg(&store)
        .args(["import", ping])
        .output()
        .unwrap();
    ok(&imported);
    for args in [
        vec!["import".to_string(), missing.display().to_string()],
        vec!["show".to_string(), "\x1b[2J".to_string()],
    ] {
        let out = hookcli(home.path())
            .arg("--store")
            .arg(&store)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("hookcli: error: "), "{args:?}: {err}");
        assert!(
            !err.contains('\x1b') && !err.contains('\x07'),
            "{args:?}: {err:?}"
        );
        assert!(err.contains("\\x1b"), "{args:?}: {err}");
    }
}

#[test]
fn usage_errors_never_carry_raw_terminal_controls() {
    // Off a terminal clap drops ESC sequences itself, but not a bidi override.
    let home = tempfile::tempdir().unwrap();
    let evil = "x\u{202e}txt.exe\u{1b}[31m";
    let forward = format!("{evil}=http://127.0.0.1:1/");
    for args in [
        vec!["send", evil, "--print"],
        vec!["list", "--since", evil],
        vec!["listen", "--port", "0", "--forward-to", &forward],
        vec![
            "replay",
            "--last",
            "1",
            "--to",
            "http://127.0.0.1:1/",
            "--set",
            evil,
        ],
    ] {
        let out = hookcli(home.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains('\u{202e}') && !err.contains('\u{1b}'),
            "{args:?}: {err:?}"
        );
        assert!(err.contains("\\u{202e}"), "{args:?}: {err}");
    }
    // Coloured, clap would pass an argument's escape sequences through as its own.
    let out = hookcli(home.path())
        .args([
            "--color",
            "always",
            "list",
            "--since",
            "\u{1b}[31mX\u{1b}]52;c;aGk=\u{7}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("invalid value"), "{err}");
}

#[test]
fn a_secret_flag_beats_hookcli_secret_and_both_flags_conflict() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let body = dir.join("body.json");
    std::fs::write(&body, "{}").unwrap();
    let file = dir.join("secret.txt");
    std::fs::write(&file, "from-file\n").unwrap();
    let (body, file) = (body.to_str().unwrap(), file.to_str().unwrap());
    let sig = sign("from-file", b"{}");
    let with_env = |args: &[&str]| {
        hookcli(dir)
            .arg("--store")
            .arg(dir.join("store"))
            .args(args)
            .env("HOOKCLI_SECRET", "from-env")
            .output()
            .unwrap()
    };
    let verify = ["verify", "--body", body, "--signature", &sig];
    ok(&with_env(&[&verify[..], &["--secret-file", file]].concat()));
    ok(&with_env(
        &[&verify[..], &["--secret", "from-file"]].concat(),
    ));
    fails(&with_env(&verify), 1, "the signature is not valid");
    // send signs with the file's secret, not the environment's.
    let doc = ok(&with_env(&[
        "send",
        "ping",
        "--print",
        "--json",
        "--secret-file",
        file,
    ]));
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let text = doc["body"]["text"].as_str().unwrap();
    assert!(
        doc.to_string()
            .contains(&sign("from-file", text.as_bytes())),
        "{doc}"
    );
    // check and replay accept the file too (and then fail for their own reasons).
    for args in [
        &[
            "check",
            "http://127.0.0.1:9/",
            "--allow-http",
            "--secret-file",
            file,
        ][..],
        &["replay", "--last", "1", "--secret-file", file],
    ] {
        let out = with_env(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Both flags on the command line stay a usage error.
    fails(
        &with_env(&[&verify[..], &["--secret", "x", "--secret-file", file]].concat()),
        2,
        "cannot be used with",
    );
    // An empty file is named as such.
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let out = run(&[
        "verify",
        "--body",
        body,
        "--signature",
        &sig,
        "--secret-file",
        empty.to_str().unwrap(),
    ]);
    fails(&out, 1, "is empty");
    // No secret at all is a missing argument.
    let out = run(&["verify", "--body", body, "--signature", &sig]);
    fails(&out, 2, "verify needs the app's client secret");
    // The environment variable is still documented.
    let help = String::from_utf8_lossy(&run(&["verify", "--help"]).stdout).to_string();
    assert!(help.contains("HOOKCLI_SECRET"), "{help}");
}

#[test]
fn an_empty_environment_variable_counts_as_not_set() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = hookcli(home.path());
    for name in [
        "HOOKCLI_STORE",
        "HOOKCLI_COLOR",
        "HOOKCLI_HOST",
        "HOOKCLI_MAX_BODY",
    ] {
        cmd.env(name, "");
    }
    let out = cmd.args(["topics", "ping"]).output().unwrap();
    assert!(ok(&out).contains("ping"));
    // The default store (under XDG_DATA_HOME) is used, not refused.
    let out = hookcli(home.path())
        .env("HOOKCLI_STORE", "")
        .arg("list")
        .output()
        .unwrap();
    fails(&out, 1, "there is no store at");
    assert!(String::from_utf8_lossy(&out.stderr).contains("data/hookcli"));
    // listen, which reads the others, starts with their defaults.
    let l = listen_at(
        &home.path().join("s"),
        home.path(),
        &["--json"],
        &[
            ("HOOKCLI_HOST", ""),
            ("HOOKCLI_MAX_BODY", ""),
            ("HOOKCLI_PATH", ""),
        ],
    );
    let banner: serde_json::Value = serde_json::from_str(&l.stdout()[0]).unwrap();
    assert_eq!(
        (&banner["host"], &banner["max_body"], &banner["path"]),
        (
            &serde_json::json!("127.0.0.1"),
            &serde_json::json!(10485760),
            &serde_json::json!("/")
        )
    );
}
