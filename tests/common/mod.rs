//! The test kit: start the real `hookcli` binary, talk raw HTTP/1.1 to it over loopback,
//! and read what it stored straight from its SQLite file.

#![allow(dead_code)] // each test module uses a different part of the kit

pub mod app;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hookcli"))
}

/// A `hookcli` command with a scrubbed environment, so the developer's own settings and
/// secrets never leak into a test.
pub fn hookcli(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    cmd
}

/// The raw Intercom-style body for a topic, compact, in Intercom's key order.
pub fn notification(topic: &str, id: Option<&str>, item: &str) -> String {
    let id = id.map_or("null".to_string(), |i| format!("\"{i}\""));
    format!(
        r#"{{"type":"notification_event","app_id":"a86dr8yl","data":{{"type":"notification_event_data","item":{item}}},"links":{{}},"id":{id},"topic":"{topic}","delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1700000000,"created_at":1700000000,"self":null}}"#
    )
}

/// A `conversation.user.replied` [`notification`] whose `created_at` is `created` (JSON text
/// as sent: any number, absurd ones included).
pub fn created_at(id: Option<&str>, created: &str) -> String {
    notification("conversation.user.replied", id, "{}").replace(
        "\"created_at\":1700000000",
        &format!("\"created_at\":{created}"),
    )
}

/// `sha1=` + hex HMAC-SHA1, computed independently of hookcli's own code.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Bare hex HMAC-SHA256 (an `X-Body-Signature`), computed independently of hookcli's code.
pub fn hmac_sha256_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A running `hookcli listen`.
pub struct Listener {
    child: Child,
    /// `host:port` it is bound to.
    pub addr: String,
    /// The URL from its first line.
    pub url: String,
    /// The store directory.
    pub store: PathBuf,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    _home: Option<tempfile::TempDir>,
}

/// Start `hookcli --store <fresh dir> listen --port 0 <args>`.
pub fn listen(args: &[&str]) -> Listener {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let mut l = listen_at(&store, home.path(), args, &[]);
    l._home = Some(home);
    l
}

/// Start `listen` on a given store, with extra environment variables.
pub fn listen_at(store: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Listener {
    start_listen(store, home, args, env, None)
}

/// [`listen`] with its stderr written to `stderr` (the listener then reports none of it).
pub fn listen_stderr_to(args: &[&str], stderr: std::fs::File) -> Listener {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store");
    let mut l = start_listen(&store, home.path(), args, &[], Some(stderr));
    l._home = Some(home);
    l
}

fn start_listen(
    store: &Path,
    home: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stderr_to: Option<std::fs::File>,
) -> Listener {
    let mut cmd = hookcli(home);
    // The forwarding tests' timing knobs are environment variables, not flags; tests write
    // them like flags for readability.
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let knob = match *arg {
            // Not hookcli's: its open-file limit, soft and hard, as `ulimit -n` sets them.
            "--nofile" => {
                let n: libc::rlim_t = it.next().expect("a limit").parse().unwrap();
                let limit = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                use std::os::unix::process::CommandExt;
                // SAFETY: setrlimit is async-signal-safe, as pre_exec requires.
                unsafe {
                    cmd.pre_exec(move || match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                        0 => Ok(()),
                        _ => Err(std::io::Error::last_os_error()),
                    });
                }
                continue;
            }
            "--retry-base-ms" => "HOOKCLI_TEST_RETRY_BASE_MS",
            "--flood-wait-ms" => "HOOKCLI_TEST_FLOOD_WAIT_MS",
            _ => {
                rest.push(*arg);
                continue;
            }
        };
        cmd.env(knob, it.next().expect("a knob takes a value"));
    }
    cmd.arg("--store")
        .arg(store)
        .args(["listen", "--port", "0"])
        .args(rest);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(stderr_to.map_or_else(Stdio::piped, Stdio::from))
        .spawn()
        .unwrap();
    let stdout_pipe = child.stdout.take().unwrap();
    let stderr_pipe = child.stderr.take();
    // Own the child from here on, so a failed assertion below cannot leak the process.
    let guard = KillOnDrop(Some(child));
    let mut out = BufReader::new(stdout_pipe);
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = stderr_pipe {
        drain(pipe, stderr.clone());
    }
    assert!(
        !first.is_empty(),
        "listen printed nothing; stderr: {:?}",
        stderr.lock().unwrap()
    );
    let plain = strip_ansi(&first);
    let url = if first.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(&first).unwrap();
        v["url"].as_str().unwrap().to_string()
    } else {
        plain
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_string()
    };
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let stdout = Arc::new(Mutex::new(vec![first.trim_end().to_string()]));
    drain(out, stdout.clone());
    let child = guard.take();
    Listener {
        child,
        addr,
        url,
        store: store.to_path_buf(),
        stdout,
        stderr,
        _home: None,
    }
}

/// Remove SGR colour sequences (hookcli's own, from `--color always`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('m').map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Kills a child process unless it is taken out first.
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn take(mut self) -> Child {
        self.0.take().expect("taken once")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn drain(stream: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => into.lock().unwrap().push(line),
                Err(_) => break,
            }
        }
    });
}

impl Listener {
    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Wait until a stdout line satisfies `pred`, and return it.
    pub fn wait_line(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no such line; stdout: {:#?}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until stderr contains `needle`.
    pub fn wait_stderr(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The JSON records printed so far (for `--json` listeners).
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .iter()
            .map(|l| serde_json::from_str(l).expect(l))
            .collect()
    }

    /// Wait for the capture record with this id.
    pub fn capture_record(&self, id: &str) -> serde_json::Value {
        let line = self
            .wait_line(|l| l.contains(&format!("\"id\":\"{id}\"")) && l.contains("\"capture\""));
        serde_json::from_str(&line).unwrap()
    }

    /// POST `body` with headers to `path`.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        send(&self.addr, "POST", path, headers, body)
    }

    /// Send SIGINT and wait for the exit status code.
    pub fn interrupt(&mut self) -> (i32, Vec<String>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let status = wait_timeout(&mut self.child, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100)); // let the drain threads catch up
        (status, self.stdout(), self.stderr())
    }

    /// Kill with SIGKILL, like a crash.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait for a child to exit, killing it after `limit`; returns the exit code (or -signal).
pub fn wait_timeout(child: &mut Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            return status
                .code()
                .unwrap_or_else(|| -status.signal().unwrap_or(0));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An HTTP response as received.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The capture id hookcli answered with.
    pub fn id(&self) -> String {
        self.json()["id"].as_str().unwrap().to_string()
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    if method != "HEAD" && method != "GET" || !body.is_empty() {
        head += &format!("Content-Length: {}\r\n", body.len());
    }
    head += "Connection: close\r\n\r\n";
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    raw_request(addr, &raw)
}

/// Write raw bytes and read the response until the server closes.
pub fn raw_request(addr: &str, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = stream.write_all(raw);
    read_reply(&mut stream)
}

/// Assert that nothing arrives on `stream` for `wait`: the server holds it unanswered.
pub fn assert_unanswered_for(stream: &mut TcpStream, wait: Duration, why: &str) {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    assert!(stream.read(&mut byte).is_err(), "{why}");
}

/// Read one response from a stream (until the server closes it).
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    parse_reply(&buf)
}

/// Parse a raw HTTP/1.1 response.
pub fn parse_reply(buf: &[u8]) -> Reply {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        body.truncate(len.parse().unwrap());
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// The stored body, signature verdict and reason of a capture, read straight from SQLite.
pub fn stored(store: &Path, id: &str) -> Option<(Vec<u8>, String, Option<String>)> {
    let conn = rusqlite::Connection::open_with_flags(
        store.join("hookcli.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT body, signature, signature_reason FROM captures WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

/// How many captures the store holds.
pub fn count(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store.join("hookcli.db")).unwrap();
    conn.query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
        .unwrap()
}

/// Every fixture body shipped in tests/fixtures/intercom, with its file name.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intercom");
    let mut out = Vec::new();
    for dir in ["zulip", "hull"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push((
                    format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A validator for the documented `--json` record schema (docs/schema/listen.schema.json).
pub fn record_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/schema/listen.schema.json"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Run a one-shot command against a store; `HOME` is the store's parent directory.
pub fn run(store: &Path, args: &[&str]) -> Output {
    run_env(store, args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = hookcli(store.parent().unwrap());
    cmd.arg("--store").arg(store).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Assert that a command succeeded; its stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Assert that a command failed with `code` and a message containing `needle`, not a panic.
pub fn fails(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `hookcli`, run as an unprivileged user when the tests run as root (root ignores
/// permissions); `home` must be world-readable.
pub fn unprivileged(home: &std::path::Path) -> std::process::Command {
    if unsafe { libc::geteuid() } != 0 {
        return hookcli(home);
    }
    // The checkout may sit where nobody cannot enter, so run a copy from the temp dir.
    use std::os::unix::process::CommandExt;
    let copy = home.join("hookcli");
    if !copy.exists() {
        std::fs::copy(bin(), &copy).unwrap();
    }
    let mut cmd = std::process::Command::new(&copy);
    cmd.env_clear().env("HOME", home);
    cmd.uid(NOBODY).gid(NOBODY);
    cmd
}

/// The unprivileged user (nobody) tests run as when they run as root.
pub const NOBODY: u32 = 65534;

/// A store holding one capture (returned with its id) that only `unprivileged` may read
/// and nobody may write: the directory 0500, the database 0400, owned by the user the
/// tests' commands run as. `home` is made world-readable.
pub fn read_only_store(home: &Path) -> (PathBuf, String) {
    chmod(home, 0o755);
    let store = home.join("store");
    let mut l = listen_at(&store, home, &["--json"], &[]);
    let id = l.post("/", &[], b"{\"kept\":1}").id();
    l.interrupt();
    if unsafe { libc::geteuid() } == 0 {
        for f in [store.clone(), store.join("hookcli.db")] {
            std::os::unix::fs::chown(&f, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    // Owner-only and read-only: SQLite cannot create its -shm file here.
    chmod(&store.join("hookcli.db"), 0o400);
    chmod(&store, 0o500);
    (store, id)
}

/// Set the permission bits of `path`.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
}

/// Run hookcli on `store` as [`unprivileged`] does, with `args`.
pub fn run_unprivileged(home: &Path, store: &Path, args: &[&str]) -> Output {
    unprivileged(home)
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// What a command run with its stdout on a pseudo-terminal did.
pub struct OnTerminal {
    /// Its exit code.
    pub code: Option<i32>,
    /// What the terminal received (the line discipline turns `\n` into `\r\n`).
    pub screen: Vec<u8>,
    /// Its stderr.
    pub stderr: String,
}

/// [`run`] with stdout on a pseudo-terminal, as when a person types the command.
pub fn run_on_terminal(store: &Path, args: &[&str]) -> OnTerminal {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = hookcli(store.parent().unwrap());
    cmd.arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The command holds the terminal's other end; the reader sees its end only once the
    // child's copy is the last one.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut terminal = std::fs::File::from(master);
        let (mut screen, mut chunk) = (Vec::new(), [0u8; 4096]);
        // Linux answers EIO once the child has closed the terminal and all is read.
        while let Ok(n @ 1..) = terminal.read(&mut chunk) {
            screen.extend_from_slice(&chunk[..n]);
        }
        screen
    });
    let out = child.wait_with_output().unwrap();
    OnTerminal {
        code: out.status.code(),
        screen: reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
