//! A stand-in for the developer's app: a real HTTP server on loopback that records what it
//! receives and answers however a test tells it to (fail, hang, redirect, be slow).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the app received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header lines in order, names as sent (bytes that are not UTF-8 as U+FFFD).
    pub headers: Vec<(String, String)>,
    /// The same header lines as bytes, exactly as sent.
    pub raw_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Received {
    /// All values of a header (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.header_all(name).into_iter().next()
    }
}

/// What the app answers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Extra headers whose values are any bytes (sent after `headers`).
    pub raw_headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Declare this Content-Length instead of the body's; if it differs, the connection is
    /// closed after the body, like an app that crashed half-way through its answer.
    pub content_length: Option<usize>,
    /// Wait this long between the head and the body.
    pub body_delay: Duration,
}

impl Answer {
    /// A plain answer with a status and a body.
    pub fn status(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![],
            raw_headers: vec![],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
            content_length: None,
            body_delay: Duration::ZERO,
        }
    }
}

type Behaviour = Box<dyn Fn(&Received, usize) -> Answer + Send + Sync>;

/// A running test app.
pub struct App {
    /// host:port.
    pub addr: String,
    /// `http` or `https`.
    scheme: &'static str,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    /// The most requests it was handling at one time.
    pub max_in_flight: Arc<AtomicUsize>,
}

/// A free loopback port (for an app that starts later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl App {
    /// Start an app answering 200 `{"ok":true}`.
    pub fn start() -> App {
        App::start_on(0)
    }

    /// Start on a given port (0: any).
    pub fn start_on(port: u16) -> App {
        App::start_with(port, None)
    }

    /// Start an app that speaks HTTPS with a fresh self-signed certificate for 127.0.0.1.
    pub fn start_tls() -> App {
        let rcgen::CertifiedKey { cert, key_pair } =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                .unwrap();
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key_pair.serialize_der());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .unwrap();
        App::start_with(0, Some(Arc::new(config)))
    }

    fn start_with(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> App {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = App {
            addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            received: Arc::default(),
            behaviour: Arc::new(Mutex::new(Box::new(|_: &Received, _: usize| {
                Answer::status(200, "{\"ok\":true}")
            }))),
            stop: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        };
        let (received, behaviour, stop, in_flight, max) = (
            app.received.clone(),
            app.behaviour.clone(),
            app.stop.clone(),
            app.in_flight.clone(),
            app.max_in_flight.clone(),
        );
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (received, behaviour, in_flight, max, tls) = (
                            received.clone(),
                            behaviour.clone(),
                            in_flight.clone(),
                            max.clone(),
                            tls.clone(),
                        );
                        std::thread::spawn(move || {
                            stream.set_nonblocking(false).unwrap();
                            match tls {
                                Some(config) => {
                                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                                        return;
                                    };
                                    let stream = rustls::StreamOwned::new(conn, stream);
                                    serve(stream, &received, &behaviour, &in_flight, &max)
                                }
                                None => serve(stream, &received, &behaviour, &in_flight, &max),
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        app
    }

    /// The app's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// Change how it answers; the closure gets the request and its index (from 0).
    pub fn answer(&self, f: impl Fn(&Received, usize) -> Answer + Send + Sync + 'static) {
        *self.behaviour.lock().unwrap() = Box::new(f);
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until it has received `n` requests.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the app received {} of {n} requests",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    stream: impl Read + Write,
    received: &Mutex<Vec<Received>>,
    behaviour: &Mutex<Behaviour>,
    in_flight: &AtomicUsize,
    max: &AtomicUsize,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let (mut headers, mut raw_headers) = (Vec::new(), Vec::new());
        loop {
            let mut h = Vec::new();
            if reader.read_until(b'\n', &mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_ascii_end();
            if h.is_empty() {
                break;
            }
            if let Some(colon) = h.iter().position(|&b| b == b':') {
                let (n, v) = (h[..colon].trim_ascii(), h[colon + 1..].trim_ascii());
                let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                headers.push((lossy(n), lossy(v)));
                raw_headers.push((n.to_vec(), v.to_vec()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Received {
            method,
            target,
            headers,
            raw_headers,
            body,
        };
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(now, Ordering::SeqCst);
        let index = {
            let mut all = received.lock().unwrap();
            all.push(request.clone());
            all.len() - 1
        };
        let answer = (behaviour.lock().unwrap())(&request, index);
        std::thread::sleep(answer.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let declared = answer.content_length.unwrap_or(answer.body.len());
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {declared}\r\n",
            answer.status,
        );
        for (n, v) in &answer.headers {
            head += &format!("{n}: {v}\r\n");
        }
        let mut head = head.into_bytes();
        for (n, v) in &answer.raw_headers {
            head.extend_from_slice(format!("{n}: ").as_bytes());
            head.extend_from_slice(v);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let writer = reader.get_mut();
        if writer
            .write_all(&head)
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
        if request.method == "HEAD" {
            continue; // a HEAD answer has no body, whatever its Content-Length says
        }
        std::thread::sleep(answer.body_delay);
        if writer
            .write_all(&answer.body)
            .and_then(|()| writer.flush())
            .is_err()
            || declared != answer.body.len()
        {
            return;
        }
    }
}
