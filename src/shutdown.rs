//! SIGINT/SIGTERM handling: the first asks for a graceful stop, a second exits at once.

/// Resolves on the first Ctrl-C or SIGTERM; after that, another one ends the process
/// immediately (exit 130), for when draining takes longer than the user wants to wait.
pub async fn signal() {
    first().await;
    tokio::spawn(async {
        first().await;
        eprintln!("hookcli: second interrupt, exiting now");
        std::process::exit(130);
    });
}

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
