//! The errors a command can end with, each one sentence that says what to do, and the exit
//! code each maps to (0 success, 1 failure, 2 usage; see docs/exit-codes.md).

use crate::store::StoreError;
use std::path::PathBuf;

/// A failure that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// host:port asked for.
        addr: String,
        /// Why, with a hint.
        reason: String,
    },
    /// `--secret-file` could not be read.
    #[error("cannot read the secret file {path}: {source}")]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No per-user data directory could be found for the default store.
    #[error("cannot find a per-user data directory for the store; pass --store DIR or set HOOKCLI_STORE")]
    NoDataDir,
    /// Writing to stdout failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        1
    }
}
