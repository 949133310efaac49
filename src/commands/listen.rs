//! `hookcli listen`: open the store, bind, print where to send notifications, serve until
//! interrupted, then drain, flush the store and print a summary.

use crate::cli::{Cli, ListenArgs};
use crate::error::Error;
use crate::forward::{self, queue, Route};
use crate::intercom::outbound::Outbound;
use crate::render::{self, counted, style::Style, them, Detail, Event, Listening, Mode, Summary};
use crate::server::{self, Bodies, Context, Forwarding, Settings, Stats};
use crate::{config, shutdown, store::Writer};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn run(cli: &Cli, args: &ListenArgs) -> Result<(), Error> {
    give_large_bodies_back();
    let secret = config::secret(&args.secret)?;
    if args.reject_invalid && secret.is_none() {
        super::usage_error("listen", "--reject-invalid needs the client secret: pass --secret, --secret-file or set HOOKCLI_SECRET");
    }
    let prefix = normalise_prefix(&args.path).unwrap_or_else(|e| super::usage_error("listen", &e));
    let routes = (!args.forward_to.is_empty())
        .then(|| {
            args.forward_to
                .iter()
                .map(|r| Route::parse(r))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .unwrap_or_else(|e| super::usage_error("listen", &format!("--forward-to {e}")));
    let ip = host_ip(&args.host);
    let (outbound, feeds) = Outbound::load(&args.intercom_ips.intercom_ips)?;
    let dir = config::store_dir(cli.store.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Output)?;
    let writer = Arc::new(Writer::open(&dir)?);
    let listener = runtime.block_on(bind(ip, args.port))?;
    let local = listener.local_addr().map_err(Error::Output)?;
    if !local.ip().is_loopback() {
        eprintln_lossy!(
            "hookcli: warning: listening on {}, which other machines can reach; use --host 127.0.0.1 unless you mean it",
            local.ip()
        );
    }
    let mode = Mode {
        json: args.json,
        detail: if args.compact {
            Detail::Compact
        } else if args.full {
            Detail::Full
        } else {
            Detail::Body(args.lines)
        },
        style: Style::new(!args.json && config::use_color(cli.color)),
    };
    let (output, printer) = render::spawn(mode);
    output.emit_blocking(Event::Listening(Listening {
        url: format!("http://{}{}", url_host(local), prefix),
        host: local.ip().to_string(),
        port: local.port(),
        path: prefix.clone(),
        store: dir.display().to_string(),
        signature_check: secret.is_some(),
        reject_invalid: args.reject_invalid,
        max_body: args.max_body,
        forward: routes.iter().flatten().map(Route::shown).collect(),
        passthrough: args.passthrough,
        intercom_ips: feeds,
    }));
    let forwarder = match routes {
        Some(routes) => Some(Arc::new(start_forwarder(
            &runtime, &dir, args, routes, &prefix, &output, &writer,
        )?)),
        None => None,
    };
    let queue = match &forwarder {
        Some(f) => {
            // In passthrough mode each new capture is delivered by its own request; the
            // queue only takes what an earlier run left pending.
            let upto = if args.passthrough {
                Some(runtime.block_on(f.last_seq())?)
            } else {
                None
            };
            Some(runtime.spawn(f.clone().run(upto)))
        }
        None => None,
    };
    let stats = Arc::new(Stats::default());
    let context = Context {
        settings: Settings {
            prefix,
            secret,
            reject_invalid: args.reject_invalid,
            max_body: args.max_body,
            outbound,
        },
        bodies: Bodies::new(args.max_body),
        stalls: Default::default(),
        store: writer.clone(),
        output: output.clone(),
        stats: stats.clone(),
        forwarding: forwarder.clone().map(|forwarder| Forwarding {
            forwarder,
            passthrough: args.passthrough,
        }),
    };
    // Deliveries start stopping with the server, so a request waiting in passthrough for
    // an app that hangs is cut short with the queue's grace instead of the server's drain.
    let stopping = async {
        shutdown::signal().await;
        if let Some(f) = &forwarder {
            f.stop();
        }
    };
    runtime.block_on(server::serve(listener, context, stopping));
    if let Some(queue) = queue {
        let _ = runtime.block_on(queue);
    }
    if let Some(f) = &forwarder {
        runtime.block_on(f.wind_down());
    }
    drop(forwarder);
    // In-flight requests are done: flush the store before reporting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Ok(writer) = Arc::try_unwrap(writer) {
        writer.close();
    }
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    output.emit_blocking(Event::Summary(Summary {
        received: get(&stats.received),
        stored: get(&stats.stored),
        invalid_signatures: get(&stats.invalid_signatures),
        refused: get(&stats.refused),
        store_errors: get(&stats.store_errors),
        validations: get(&stats.validations),
        pages: get(&stats.pages),
    }));
    drop(output);
    let _ = printer.join();
    Ok(())
}

/// Build the forwarder and deal with deliveries an earlier run left pending.
fn start_forwarder(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    args: &ListenArgs,
    routes: Vec<Route>,
    prefix: &str,
    output: &render::Output,
    writer: &Arc<Writer>,
) -> Result<queue::Forwarder, Error> {
    let timeout = (args.forward_timeout > 0).then(|| Duration::from_secs(args.forward_timeout));
    let client = forward::client(forward::ClientOptions {
        timeout,
        insecure: args.insecure,
    });
    let settings = queue::Settings {
        routes,
        prefix: prefix.to_string(),
        concurrency: usize::from(args.concurrency),
        max_attempts: args.max_attempts,
        retry_base: test_knob("HOOKCLI_TEST_RETRY_BASE_MS", 1000),
        flood_wait: test_knob("HOOKCLI_TEST_FLOOD_WAIT_MS", 100),
    };
    let forwarder = queue::Forwarder::open(dir, settings, client, output.clone(), writer.clone())?;
    let earlier = runtime.block_on(forwarder.resume_pending())?;
    if earlier > 0 && args.skip_pending {
        runtime.block_on(forwarder.skip_pending())?;
        output.emit_blocking(Event::Notice(format!(
            "Marked {} from an earlier run as skipped (--skip-pending).",
            counted(earlier, "undelivered capture")
        )));
    } else if earlier > 0 && args.passthrough {
        // New requests wait for the app themselves: holding them behind an earlier run's
        // retries would make Intercom time out.
        output.emit_blocking(Event::Notice(format!(
            "{} from an earlier run: delivering {} from the queue, in order, beside new requests, which go to your app at once (--skip-pending skips {1}).",
            counted(earlier, "undelivered capture"),
            them(earlier)
        )));
    } else if earlier > 0 {
        output.emit_blocking(Event::Notice(format!(
            "{} from an earlier run: delivering {} first (--skip-pending skips {1}).",
            counted(earlier, "undelivered capture"),
            them(earlier)
        )));
    }
    Ok(forwarder)
}

/// A timing the test suite shortens, in milliseconds: the first retry's delay (it doubles up
/// to 30 times that) and the longest a delivery waits for a flood of requests to ease.
/// Environment only: a hidden flag would still show up in shell completions.
fn test_knob(name: &str, default_ms: u64) -> Duration {
    let ms = std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_ms);
    Duration::from_millis(ms)
}

/// `--host` as an address; anything else is a usage error.
fn host_ip(host: &str) -> IpAddr {
    if host.eq_ignore_ascii_case("localhost") {
        return IpAddr::from([127, 0, 0, 1]);
    }
    host.trim_matches(['[', ']']).parse().unwrap_or_else(|_| {
        super::usage_error(
            "listen",
            &format!(
            "--host must be an IP address such as 127.0.0.1 or ::1 (or localhost), not '{host}'"
        ),
        )
    })
}

async fn bind(ip: IpAddr, port: u16) -> Result<tokio::net::TcpListener, Error> {
    let addr = url_host(SocketAddr::new(ip, port));
    tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await.map_err(|e| Error::Bind {
        reason: match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "port {port} is already in use; stop the other program or pass --port 0 to pick a free port"
            ),
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; ports below 1024 need privileges, try --port 4665".to_string()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no network interface of this machine has that address; pass --host with one of its own, or leave it at 127.0.0.1".to_string()
            }
            _ => crate::error::io_words(&e),
        },
        addr,
    })
}

fn url_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
    }
}

/// Characters a path segment cannot hold raw: everything but RFC 3986's unreserved and
/// sub-delimiters, `:`, `@`, `/`, and `%` (the prefix may be given encoded already).
const PATH_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/')
    .remove(b'%');

/// `/hooks/` and `hooks` both become `/hooks`, empty becomes `/`, and what a URL cannot
/// hold raw is percent-encoded (`/café` becomes `/caf%C3%A9`), as a client sends it.
fn normalise_prefix(path: &str) -> Result<String, String> {
    if path.contains(['?', '#']) {
        return Err(format!(
            "--path takes a path only, without a query or fragment: '{path}'"
        ));
    }
    let trimmed = path.trim().trim_matches('/');
    let encoded = percent_encoding::utf8_percent_encode(trimmed, PATH_ENCODE).to_string();
    // A `%` that starts no escape (`/50%off`) is a literal percent sign: `%25`.
    let b = encoded.as_bytes();
    let mut out = String::from("/");
    for (i, c) in encoded.char_indices() {
        let escape = c == '%'
            && b.len() > i + 2
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit();
        if c == '%' && !escape {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Large request bodies get memory of their own from the system and return it when freed.
/// glibc otherwise raises its threshold for that after the first large free, serves the
/// next ones from its heaps and keeps what they held: 100 bodies of 10 MiB, 25 at a time
/// within the budget for them, left listen's peak at 427 MiB; this way it was 297 MiB.
fn give_large_bodies_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets one allocator tunable, before the threads that allocate start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised() {
        let n = |p: &str| normalise_prefix(p).unwrap();
        assert_eq!(n("/"), "/");
        assert_eq!(n(""), "/");
        assert_eq!(n("hooks/intercom/"), "/hooks/intercom");
        assert_eq!(n("/café"), "/caf%C3%A9");
        assert_eq!(n("/a b"), "/a%20b");
        assert_eq!(n("/already%20encoded;v=1"), "/already%20encoded;v=1");
        assert_eq!(n("/50%off"), "/50%25off");
        assert_eq!(n("/100%"), "/100%25");
        assert!(normalise_prefix("hooks?x=1").is_err());
        assert!(normalise_prefix("/hooks#top").is_err());
    }
}
