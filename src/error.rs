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
    #[error("cannot read the secret file {path}: {}", io_words(.source))]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `--secret-file` names an empty file.
    #[error("the secret file {0} is empty: put your app's client secret in it (Developer Hub → your app → Basic information → Client secret)")]
    EmptySecretFile(PathBuf),
    /// An `--intercom-ips` file could not be read or is not an Intercom IP feed.
    #[error("cannot use the Intercom IP feed {path}: {reason}")]
    IpFeed {
        /// The file.
        path: PathBuf,
        /// Why, with what to do.
        reason: String,
    },
    /// No per-user data directory could be found for the default store.
    #[error("cannot find a per-user data directory for the store; pass --store DIR or set HOOKCLI_STORE")]
    NoDataDir,
    /// No capture id starts with this prefix.
    #[error("no capture has an id starting with '{0}'; `hookcli list` shows the ids")]
    UnknownId(String),
    /// Several capture ids start with this prefix.
    #[error("'{prefix}' matches several captures ({candidates}); type more of the id")]
    AmbiguousId {
        /// What was typed.
        prefix: String,
        /// Some of the matching ids.
        candidates: String,
    },
    /// The filters selected nothing.
    #[error("no captures match these filters")]
    NoMatch,
    /// The store exists but holds nothing.
    #[error("the store {0} has no captures yet: run `hookcli listen` and send it a request, or `hookcli import` a file")]
    EmptyStore(PathBuf),
    /// An import file could not be used.
    #[error("cannot import {path}: {reason}")]
    Import {
        /// The file.
        path: PathBuf,
        /// Why, with what to do.
        reason: String,
    },
    /// A body file given to `send` or `verify` could not be read.
    #[error("cannot read the body file {path}: {}", io_words(.source))]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {}", io_words(.source))]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The command will not do this without confirmation, or was not confirmed.
    #[error("{0}")]
    NotConfirmed(String),
    /// A command could not do what was asked; the sentence says why and what to do.
    #[error("{0}")]
    Failed(String),
    /// Writing to stdout failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// An I/O failure on a file the user named, in words that say what to do; the operating
/// system's own text (without its "(os error N)") for anything else.
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "there is no such file; check the path".into(),
        K::PermissionDenied => "permission denied; check its owner and permissions".into(),
        _ if os_error(e, libc_code::EISDIR) => "it is a directory; name a file".into(),
        _ if is_not_a_directory(e) => {
            "part of the path is a file, not a directory; check the path".into()
        }
        _ => {
            let text = e.to_string();
            match text.rfind(" (os error ") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

/// Whether `e` is ENOTDIR: some directory on a path is a file. (`ErrorKind::NotADirectory`
/// needs a newer Rust than this crate's minimum.)
pub fn is_not_a_directory(e: &std::io::Error) -> bool {
    os_error(e, libc_code::ENOTDIR)
}

fn os_error(e: &std::io::Error, code: Option<i32>) -> bool {
    code.is_some() && e.raw_os_error() == code
}

/// The errno values looked for, where there are such.
mod libc_code {
    #[cfg(unix)]
    pub(super) const ENOTDIR: Option<i32> = Some(libc::ENOTDIR);
    #[cfg(unix)]
    pub(super) const EISDIR: Option<i32> = Some(libc::EISDIR);
    #[cfg(not(unix))]
    pub(super) const ENOTDIR: Option<i32> = None;
    #[cfg(not(unix))]
    pub(super) const EISDIR: Option<i32> = None;
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        1
    }
}
