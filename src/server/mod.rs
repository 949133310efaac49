//! The HTTP/1 server `listen` runs: bind, accept with a connection cap, serve each
//! connection with hyper under header and size limits, and drain gracefully on shutdown.

mod bodies;
mod detach;
mod handler;
mod slots;
mod tap;
mod throttle;

pub use bodies::Bodies;
pub use handler::{Context, Forwarding, Settings, Stats};
pub use throttle::Throttle;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Connections served at once; when all are taken, one idle for a while is closed to make
/// room (`slots`), else further clients wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 512;
/// A client must send its complete request head within this time.
pub(super) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most header lines in one request; more gets 431.
pub(crate) const MAX_HEADERS: usize = 100;
/// Largest request head (request line plus headers) in bytes; larger gets 431. hyper's
/// buffer limit bounds memory but only while the head is incomplete, so the handler also
/// checks the parsed head against this exact figure.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long draining may take before the user is told what it waits for.
const DRAIN_QUIET: Duration = Duration::from_millis(500);

/// Serve until `shutdown` resolves, then stop accepting and let in-flight requests finish.
pub async fn serve(listener: TcpListener, context: Context, shutdown: impl Future<Output = ()>) {
    let state = Arc::new(context);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD_BYTES)
        // `printf ... | nc -N` shuts its write side once the request is sent, then waits.
        .half_close(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let passthrough = state.forwarding.as_ref().is_some_and(|f| f.passthrough);
    let (room, limit) = slots::room_for_connections(MAX_CONNECTIONS, 1 + u64::from(passthrough));
    if let Some(limit) = limit {
        state.output.emit(crate::render::Event::Notice(format!(
            "the open-file limit (ulimit -n) is {limit}, so listen serves {room} connections at once rather than {MAX_CONNECTIONS}; raise it for more"
        )));
    }
    let slots = slots::Slots::new(room, state.output.clone());
    let accept_failures = throttle::Throttle::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    if !is_connection_error(&e) {
                        if let Some(n) = accept_failures.count() {
                            let more = if n > 1 { format!(" ({n} times since the last warning)") } else { String::new() };
                            let hint = if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                                ": out of file descriptors, raise the open-file limit (ulimit -n)"
                            } else {
                                ""
                            };
                            eprintln_lossy!("hookcli: warning: accept failed{more}: {e}{hint}");
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (slot, activity) = tokio::select! {
            taken = slots.take(peer) => taken,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (stream, heads) = tap::Tap::new(stream);
        let opening = heads.clone();
        let for_requests = state.clone();
        let for_handler = activity.clone();
        let service = hyper::service::service_fn(move |req| {
            let state = for_requests.clone();
            let sent = tap::Heads::take(&heads, req.headers());
            let activity = for_handler.clone();
            async move {
                let answer = handler::handle(state, peer, sent, &activity, req).await;
                activity.finished();
                Ok::<_, std::convert::Infallible>(answer)
            }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let state = state.clone();
        tokio::spawn(async move {
            tokio::select! {
                served = conn => if let Err(e) = served {
                    let tls = tap::Heads::opened_with_tls(&opening);
                    let mid_head = tap::Heads::mid_head(&opening);
                    handler::refused_by_hyper(&state, peer, &e, tls, mid_head);
                },
                // Dropping the connection closes it; the slot goes with it.
                () = activity.closed() => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    let drain = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown());
    tokio::pin!(drain);
    // Usually done at once; if not, say why nothing seems to happen.
    if tokio::time::timeout(DRAIN_QUIET, &mut drain).await.is_err() {
        // With --passthrough, a request in flight may be waiting for the app, whose
        // deliveries get the queue's grace: that is the wait to expect.
        let passthrough = state.forwarding.as_ref().is_some_and(|f| f.passthrough);
        let limit = if passthrough {
            format!(
                "your app has {} s to answer those waiting for it",
                crate::forward::queue::STOP_GRACE.as_secs()
            )
        } else {
            format!("up to {} s", DRAIN_TIMEOUT.as_secs())
        };
        state.output.emit(crate::render::Event::Notice(format!(
            "Stopping: finishing the requests still in flight ({limit}; Ctrl-C again to quit now)"
        )));
        let _ = drain.await;
    }
}

/// What follows the listen prefix in a request path (`--path /hooks`: `/hooks/eu` gives
/// `/eu`), or `None` when the path is not under it. Compared decoded, so `/caf%c3%a9` and
/// `/caf%C3%A9` are both under `--path /café`.
pub fn after_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path);
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
    let wanted = decode(prefix);
    // Each place the prefix could end: a segment boundary, or the end of the path.
    (0..=path.len())
        .filter(|&i| i == path.len() || path.as_bytes()[i] == b'/')
        .find(|&i| path.is_char_boundary(i) && decode(&path[..i]) == wanted)
        .map(|i| &path[i..])
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
