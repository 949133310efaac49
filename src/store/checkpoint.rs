//! Copying the write-ahead log into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside a commit: whenever the log passes its bound,
//! that commit also copies the log into the database file and fsyncs it while requests
//! wait. Here a second connection does most of that work in the background (a passive
//! checkpoint never blocks the writer); the writer's own automatic checkpoint stays, with a
//! small bound, and finds little left to copy.

use super::{open_write, StoreError};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// The shortest time between two background checkpoints.
const PAUSE: Duration = Duration::from_millis(50);

/// Handle to the checkpoint thread.
pub(super) struct Checkpointer {
    poke: mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// Start the thread, with a connection of its own to the store in `dir`.
    pub(super) fn start(dir: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_write(dir)?;
        let (poke, rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("hookcli-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Passive: copies what it can without waiting for anyone; a failure
                    // only means the log stays longer and the next run tries again.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    std::thread::sleep(PAUSE);
                }
            })
            .map_err(|e| StoreError::NotWritable {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Checkpointer { poke, thread })
    }

    /// Say that something was committed; cheap, and never waits.
    pub(super) fn poke(&self) {
        let _ = self.poke.try_send(());
    }

    /// Stop the thread and close its connection.
    pub(super) fn stop(self) {
        drop(self.poke);
        let _ = self.thread.join();
    }
}
