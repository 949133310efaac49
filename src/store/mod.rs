//! The local capture store: one SQLite database, `<store>/hookcli.db`, in WAL mode.
//!
//! `listen` writes through a [`Writer`] (one thread owns the connection and group-commits);
//! every other command, and other processes, read through [`open_read`] while it writes.

/// SQL for the highest arrival number ever used, deleted captures' included: new captures
/// are numbered above it and `delete` records it as the floor (see `query::delete`).
macro_rules! highest_seq_sql {
    () => {
        "MAX(COALESCE((SELECT MAX(seq) FROM captures), 0), \
         COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq_floor'), 0))"
    };
}

mod checkpoint;
pub mod delivery;
pub mod model;
pub mod query;
mod writer;

pub use writer::Writer;
pub(crate) use writer::{insert, set_answered, Row};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "hookcli.db";

/// The file a running `listen` holds locked, inside the store directory.
pub const LISTEN_LOCK_FILE: &str = "listen.lock";

/// Numbered, append-only migrations; `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_captures.sql"),
    include_str!("migrations/0002_search.sql"),
    include_str!("migrations/0003_deliveries.sql"),
    include_str!("migrations/0004_answered.sql"),
    include_str!("migrations/0005_seq_floor.sql"),
];

/// Everything that can go wrong with the store, each as one sentence with what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory could not be created or written.
    #[error("cannot write to the store directory {dir}: {reason}. Pass --store with a writable directory")]
    NotWritable {
        /// The store directory.
        dir: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The store exists but this user may not read it.
    #[error("cannot read the store {dir}: {reason}. Run hookcli as a user allowed to read it (check its owner and permissions), or pass another --store")]
    NotReadable {
        /// The store directory.
        dir: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// `--store` names a file.
    #[error("{0} is a file, not a store directory: pass --store with a directory (hookcli keeps hookcli.db inside it)")]
    NotADirectory(PathBuf),
    /// Some directory on the way to the store is a file.
    #[error("cannot use the store {0}: part of its path is a file, not a directory; pass --store with another directory")]
    PathThroughFile(PathBuf),
    /// The database file may be read but not written by this user.
    #[error("{0} is read-only for this user, so hookcli cannot write to it: make it writable (chmod u+w, or chown it to this user), run hookcli as its owner, or pass another --store")]
    ReadOnlyFile(PathBuf),
    /// Where the database file belongs there is a directory.
    #[error("{0} is a directory, where hookcli keeps its database file: move it aside, or pass another --store")]
    DatabaseIsDirectory(PathBuf),
    /// Nothing has been captured into this store yet.
    #[error("there is no store at {0} yet: run `hookcli listen` first, or pass --store")]
    Missing(PathBuf),
    /// Another process holds a lock for too long.
    #[error("the store {0} is locked by another process; try again when it is done")]
    Locked(PathBuf),
    /// The file is not a SQLite database, or is damaged.
    #[error("{0} is not a readable hookcli store (the file is damaged or not a database); move it aside or pass another --store")]
    Corrupt(PathBuf),
    /// The store was written by an older hookcli, and this user may not upgrade it.
    #[error("the store {0} was written by an older hookcli and must be upgraded before it can be read, which needs write access: open it once as a user who may write it (e.g. `hookcli list`), or copy it to a directory you may write")]
    NeedsUpgrade(PathBuf),
    /// The file is a SQLite database, but some other program's.
    #[error("{0} is a SQLite database, but not a hookcli store: pass --store with another directory (hookcli keeps its own hookcli.db there)")]
    NotAStore(PathBuf),
    /// The store was written by a newer hookcli.
    #[error("the store {0} was written by a newer hookcli; upgrade hookcli to read it")]
    TooNew(PathBuf),
    /// The disk holding the store has no room left.
    #[error("the disk holding the store {0} is full: free some space on it and try again (hookcli needs a little room even to delete captures)")]
    DiskFull(PathBuf),
    /// The operating system failed a read or write of the store's files.
    #[error("the store {path} could not be read or written ({source}): check that its disk is not full and still mounted, then try again")]
    Io {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Any other SQLite failure.
    #[error("the store {path} failed: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A group of captures could not be committed.
    #[error("could not save a capture to {path}: {reason}")]
    WriteFailed {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The writer thread is gone (it failed earlier, or hookcli is shutting down).
    #[error("the store writer has stopped; captures can no longer be saved")]
    WriterGone,
    /// The database file `listen` opened is no longer the one its path names.
    #[error("the store file {0} was deleted, moved or replaced while listen was running, so captures can no longer be saved where hookcli reads them: restart hookcli listen")]
    Replaced(PathBuf),
    /// The write-ahead log of the database `listen` opened was deleted or replaced.
    #[error("the log of the store file {0} (its -wal file) was deleted or replaced while listen was running, so a crash would lose new captures: what was acknowledged is saved in the store file; restart hookcli listen")]
    LogReplaced(PathBuf),
    /// Another `listen` is running on this store.
    #[error("another hookcli listen is using the store {0}: stop it, or pass another --store")]
    InUse(PathBuf),
}

impl StoreError {
    /// Classify a SQLite error on the store at `path` into one clear sentence.
    pub fn from_sqlite(path: &Path, err: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match err.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Locked(path),
            Some(C::NotADatabase | C::DatabaseCorrupt) => StoreError::Corrupt(path),
            Some(C::DiskFull) => {
                StoreError::DiskFull(path.parent().map(Path::to_path_buf).unwrap_or(path))
            }
            Some(C::SystemIoFailure) => StoreError::Io { path, source: err },
            Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied) => StoreError::NotWritable {
                dir: path.parent().map(Path::to_path_buf).unwrap_or(path),
                reason: err.to_string(),
            },
            _ => StoreError::Sqlite { path, source: err },
        }
    }
}

/// Open (creating if needed) the store for writing, and bring its schema up to date.
pub fn open_write(dir: &Path) -> Result<Connection, StoreError> {
    let not_writable = writable_dir(dir)?;
    let path = dir.join(DB_FILE);
    // Create the file ourselves so it is owner-only from the first byte; SQLite gives the
    // -wal and -shm files the same mode. Only when it does not exist yet: closing any file
    // descriptor of the database drops every POSIX lock this process holds on it, SQLite's
    // included, so opening it again beside a live connection would strip that connection's
    // locks and let other processes think the store is idle.
    if path.is_dir() {
        return Err(StoreError::DatabaseIsDirectory(path));
    }
    if !path.exists() {
        create_private_file(&path).map_err(not_writable)?;
    }
    let conn = Connection::open(&path).map_err(|e| StoreError::from_sqlite(&path, e))?;
    // SQLite falls back to reading a file this user may not write; every commit would then
    // fail, so say it now rather than answer each request 503.
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(StoreError::ReadOnlyFile(path));
    }
    // Before anything is written to it: a file that is not a store is left as it is.
    match contents(&conn).map_err(|e| StoreError::from_sqlite(&path, e))? {
        Contents::Other => return Err(StoreError::NotAStore(path)),
        // An empty file someone made (`: > hookcli.db`) has their umask's mode: the store
        // is owner-only however it starts. Before the -wal file exists, which takes its mode.
        Contents::Empty => make_private(&path),
        Contents::Store => {}
    }
    configure(&conn, &path)?;
    migrate(&conn, &path)?;
    query::register_functions(&conn).map_err(|e| StoreError::from_sqlite(&path, e))?;
    Ok(conn)
}

/// Make sure the store directory exists (owner-only) and is no file; returns how an I/O
/// failure inside it is reported.
fn writable_dir(dir: &Path) -> Result<impl Fn(std::io::Error) -> StoreError + '_, StoreError> {
    not_a_file(dir)?;
    let not_writable = move |e: std::io::Error| StoreError::NotWritable {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    };
    create_private_dir(dir).map_err(|e| {
        if crate::error::is_not_a_directory(&e) {
            StoreError::PathThroughFile(dir.to_path_buf())
        } else {
            not_writable(e)
        }
    })?;
    Ok(not_writable)
}

/// Take the store's listen lock (creating the directory if needed), so that no second
/// `listen` delivers the same captures; held until the returned file is closed, and
/// released by the operating system however this process ends, `kill -9` included.
pub(crate) fn lock_for_listen(dir: &Path) -> Result<std::fs::File, StoreError> {
    let not_writable = writable_dir(dir)?;
    let file = create_private_file(&dir.join(LISTEN_LOCK_FILE)).map_err(&not_writable)?;
    match try_lock(&file) {
        Ok(true) => Ok(file),
        Ok(false) => Err(StoreError::InUse(dir.to_path_buf())),
        Err(e) => Err(not_writable(e)),
    }
}

/// Lock `file` for this process without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // flock, on a file of its own: SQLite's locks are fcntl locks on the database, and an
    // flock belongs to this open file, so closing some other descriptor cannot drop it.
    // SAFETY: a valid open descriptor; flock only locks it.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    // No advisory lock here: a second listen is not refused on this platform.
    Ok(true)
}

/// Open an existing store for reading; `listen` may be writing it at the same time.
pub fn open_read(dir: &Path) -> Result<Connection, StoreError> {
    not_a_file(dir)?;
    let path = dir.join(DB_FILE);
    // Only stat it: opening and closing a descriptor of the database would drop every
    // SQLite lock this process holds on it (see `open_write`).
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Err(StoreError::DatabaseIsDirectory(path)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Missing(dir.to_path_buf()))
        }
        Err(e) if crate::error::is_not_a_directory(&e) => {
            return Err(StoreError::PathThroughFile(dir.to_path_buf()))
        }
        Err(e) => {
            return Err(StoreError::NotReadable {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            })
        }
    }
    let err = |e| StoreError::from_sqlite(&path, e);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .or_else(|_| Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY))
    // SQLite says only "unable to open", which `from_sqlite` takes for a write failure;
    // a file this user may not read is a read failure, and wants another remedy.
    .map_err(|e| match unreadable(&path) {
        Some(reason) => StoreError::NotReadable {
            dir: dir.to_path_buf(),
            reason: format!("{}: {reason}", path.display()),
        },
        None => err(e),
    })?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
    let (conn, version) = match conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)) {
        Ok(version) => (conn, version),
        // Reading a WAL database needs its -shm file, which SQLite cannot create in a
        // directory we may not write. Nobody can be writing such a store (a writer needs
        // that directory too), so it can be read as an unchanging file, unless its log
        // still holds commits, which an immutable read would silently leave out.
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            ) =>
        {
            let wal = dir.join(format!("{DB_FILE}-wal"));
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                return Err(StoreError::NotReadable {
                    dir: dir.to_path_buf(),
                    reason: "its write-ahead log holds recent captures, which SQLite can only read from a directory it may write".into(),
                });
            }
            let conn = open_immutable(&path).map_err(err)?;
            let version = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(err)?;
            (conn, version)
        }
        Err(e) => return Err(err(e)),
    };
    // Read commands never write a schema into a file that holds none (an empty file is no
    // store yet) or into another program's database.
    match contents(&conn).map_err(err)? {
        Contents::Empty => return Err(StoreError::Missing(dir.to_path_buf())),
        Contents::Other => return Err(StoreError::NotAStore(path)),
        Contents::Store => {}
    }
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew(path));
    }
    if (version as usize) < MIGRATIONS.len() {
        // A store this user may only read cannot be upgraded: read it as it is when what
        // it lacks changes nothing a reader needs, and the next writer upgrades it.
        if !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            migrate(&conn, &path)?;
        } else if version < READABLE_FROM {
            return Err(StoreError::NeedsUpgrade(dir.to_path_buf()));
        }
    }
    query::register_functions(&conn).map_err(|e| StoreError::from_sqlite(&path, e))?;
    Ok(conn)
}

/// What a database file holds, told by its schema.
enum Contents {
    /// Nothing yet: a new or empty file.
    Empty,
    /// A hookcli store, of any version.
    Store,
    /// Some other program's database.
    Other,
}

fn contents(conn: &Connection) -> rusqlite::Result<Contents> {
    // One statement, so one snapshot: a first listen may be creating the store meanwhile.
    let (version, objects, captures): (i64, i64, bool) = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), COUNT(*), \
         COALESCE(SUM(type = 'table' AND name = 'captures'), 0) > 0 FROM sqlite_master",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    // Every migration sets the version in the transaction that creates its tables, and
    // the first creates `captures`.
    Ok(match (version, objects, captures) {
        (0, 0, _) => Contents::Empty,
        (1.., _, true) => Contents::Store,
        _ => Contents::Other,
    })
}

/// The oldest store version this hookcli reads without upgrading it: later migrations only
/// change data (0005 rebuilds the search index; without it, a search may miss a capture the
/// old numbering gave a number the index had already passed).
const READABLE_FROM: i64 = 4;

/// Why this user may not read `path`, if they may not.
fn unreadable(path: &Path) -> Option<std::io::Error> {
    denied(path, Access::Read)
}

/// What [`denied`] asks about.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

/// Why this user may not access `path` so, if they may not. Asked with access(2), not by
/// opening it: closing a descriptor of the database would drop this process's SQLite locks.
#[cfg(unix)]
fn denied(path: &Path, access: Access) -> Option<std::io::Error> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mode = match access {
        Access::Read => libc::R_OK,
        Access::Write => libc::W_OK,
    };
    // SAFETY: a valid NUL-terminated path; access only reads it.
    let denied = unsafe { libc::access(c_path.as_ptr(), mode) } != 0;
    denied.then(std::io::Error::last_os_error)
}

#[cfg(not(unix))]
fn denied(_path: &Path, _access: Access) -> Option<std::io::Error> {
    None
}

/// Open an existing store to change what it holds (`delete`, `skip`, `vacuum`): as
/// [`open_read`], but a store this user may only read says so before anything is tried,
/// rather than with SQLite's "attempt to write a readonly database".
pub fn open_change(dir: &Path) -> Result<Connection, StoreError> {
    let conn = open_read(dir)?;
    if !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Ok(conn);
    }
    let path = dir.join(DB_FILE);
    Err(match denied(&path, Access::Write) {
        Some(_) => StoreError::ReadOnlyFile(path),
        // The file may be written; its directory, where SQLite keeps its -shm file, not.
        None => StoreError::NotWritable {
            dir: dir.to_path_buf(),
            reason: "this user may not create files in it, which SQLite needs to change the store"
                .into(),
        },
    })
}

/// A common slip: `--store` given the database file instead of its directory.
fn not_a_file(dir: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(StoreError::NotADirectory(dir.to_path_buf())),
        _ => Ok(()),
    }
}

/// Open a store file read-only as an `immutable` SQLite URI (no locks, no -shm).
fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    // Only what the URI syntax itself reserves needs encoding.
    const URI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b'%')
        .add(b'?')
        .add(b'#')
        .add(b' ');
    let encoded =
        percent_encoding::percent_encode(path.as_os_str().as_encoded_bytes(), URI).to_string();
    Connection::open_with_flags(
        format!("file:{encoded}?immutable=1"),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::from_sqlite(path, e);
    // If another process holds the write lock, give up well inside Intercom's 5 s response
    // window, so the sender gets a 503 (and retries) rather than a timeout.
    conn.busy_timeout(Duration::from_secs(2)).map_err(err)?;
    // WAL lets readers run beside the writer; FULL makes a commit survive power loss, not
    // only a crash of this process, because a 2xx promises the capture is on disk.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Sqlite {
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidParameterName(format!("journal_mode stayed {mode}")),
        });
    }
    conn.execute_batch("PRAGMA synchronous=FULL;").map_err(err)
}

fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::from_sqlite(path, e);
    let current = MIGRATIONS.len() as i64;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > current {
        return Err(StoreError::TooNew(path.to_path_buf()));
    }
    // Each step reads the version again inside its own write transaction: another process
    // (a first listen, a read command) may be upgrading the same file at this moment, and
    // a step it has committed must not be run twice.
    if version == current {
        return Ok(());
    }
    loop {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        let step = conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .and_then(
                |now| match usize::try_from(now).ok().and_then(|n| MIGRATIONS.get(n)) {
                    Some(sql) => conn
                        .execute_batch(&format!("{sql}; PRAGMA user_version = {};", now + 1))
                        .map(|()| true),
                    None => Ok(false),
                },
            )
            .and_then(|more| conn.execute_batch("COMMIT").map(|()| more));
        match step {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err(e));
            }
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Make `path` owner-only (0600), by its name: opening it would drop this process's SQLite
/// locks when closed. Only its owner may: a file someone else made writable for this user
/// is theirs to share, and is used as it is.
#[cfg(unix)]
fn make_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let private = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o777 == 0o600);
    if !private {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn make_private(_path: &Path) {}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}
