//! SIGINT/SIGTERM handling: the first asks for a graceful stop, a second exits at once.

/// Resolves on the first Ctrl-C or SIGTERM; after that, another one ends the process
/// immediately (exit 130), for when draining takes longer than the user wants to wait.
pub async fn signal() {
    first().await;
    // On a thread and runtime of its own: the main runtime shuts down before the summary
    // is printed, and a terminal that has stopped reading can hold that print for ever.
    let watcher = std::thread::Builder::new()
        .name("hookcli-interrupt".into())
        .spawn(|| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(first());
            eprintln!("hookcli: second interrupt, exiting now");
            std::process::exit(130);
        });
    if let Err(e) = watcher {
        eprintln!("hookcli: warning: a second Ctrl-C will not stop hookcli at once: {e}");
    }
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
