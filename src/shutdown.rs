//! SIGINT/SIGTERM handling: the first asks for a graceful stop, a second exits at once.

/// Resolves on the first Ctrl-C or SIGTERM; a second one ends the process at once (exit
/// 130), for when draining, or a terminal that has stopped reading, holds the stop up.
pub async fn signal() {
    exit_on_second();
    first().await;
}

/// Count every SIGINT and SIGTERM in the signal handler itself, and exit on the second.
/// Counted there, not in a task: tokio folds signals that come close together into one
/// wake-up, and a task can be stuck behind a shut-down runtime or a blocked print.
#[cfg(unix)]
fn exit_on_second() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the action only makes async-signal-safe calls (an atomic add, write, _exit).
        let registered = unsafe {
            signal_hook_registry::register(sig, || {
                if SEEN.fetch_add(1, Ordering::SeqCst) >= 1 {
                    let msg = b"hookcli: second interrupt, exiting now\n";
                    libc::write(libc::STDERR_FILENO, msg.as_ptr().cast(), msg.len());
                    libc::_exit(130);
                }
            })
        };
        if registered.is_err() {
            eprintln_lossy!("hookcli: warning: a second Ctrl-C will not stop hookcli at once");
        }
    }
}

#[cfg(not(unix))]
fn exit_on_second() {}

#[cfg(unix)]
async fn first() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn first() {
    let _ = tokio::signal::ctrl_c().await;
}
