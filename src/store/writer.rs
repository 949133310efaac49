//! The store's single writer: one thread owns the SQLite connection and commits in groups.
//!
//! Every request handler sends its capture down a bounded channel with a reply slot and
//! waits. The thread takes whatever is queued, writes it all in one transaction, commits
//! (one fsync for the whole group) and only then answers each waiter. A 2xx is therefore
//! never sent for a capture that is not durably on disk, and durability does not cap
//! throughput at one fsync per request.

use super::checkpoint::Checkpointer;
use super::delivery::{insert_plan, Plan};
use super::model::{headers_to_json, new_id, Capture, NewCapture};
use super::{lock_for_listen, open_write, query::index_pending, StoreError};
use rusqlite::{params, Connection, Transaction};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How many waiting captures one transaction takes at most.
const MAX_GROUP: usize = 1024;
/// How many captures one idle-time search-index step takes (a few milliseconds of work).
const INDEX_STEP: usize = 64;
/// Index only after this long without a capture to write.
const INDEX_AFTER_IDLE: Duration = Duration::from_millis(200);
/// The write-ahead log's size (in pages) past which a commit checkpoints it itself. Small,
/// so that such a checkpoint finds little the checkpoint thread has not copied already
/// (bench/listen.sh: p99 3.2 ms at 300 pages, 4.7 ms at SQLite's 1000, 7.3 ms at 4000).
const WAL_BOUND_PAGES: i64 = 300;
/// How long shutdown may spend finishing the index.
const INDEX_AT_EXIT: Duration = Duration::from_secs(1);

type Reply = oneshot::Sender<Result<Capture, StoreError>>;
type ExecReply = oneshot::Sender<Result<(), StoreError>>;
type Exec = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;

/// What the writer thread does for one waiter.
enum Job {
    /// Store a capture (and its delivery plan).
    Capture(Box<Row>, Option<Plan>, Reply),
    /// Any other write (delivery records): run inside the group, in a savepoint of its own.
    Exec(Exec, ExecReply),
}

/// A capture made ready for its insert: the id and the headers' JSON are computed by the
/// request's own task, so the single writer thread only does SQLite work.
pub(crate) struct Row {
    capture: NewCapture,
    id: String,
    headers: String,
    answered: Option<u16>,
}

impl Row {
    /// Prepare `capture` to be stored under `id`, with the status its sender is answered.
    pub(crate) fn new(capture: NewCapture, id: String, answered: Option<u16>) -> Row {
        let headers = headers_to_json(&capture.headers);
        Row {
            capture,
            id,
            headers,
            answered,
        }
    }
}

/// Handle to the writer thread.
pub struct Writer {
    tx: mpsc::Sender<Job>,
    thread: std::thread::JoinHandle<()>,
    /// The store's listen lock, held for as long as this writer lives.
    _lock: std::fs::File,
}

impl Writer {
    /// Lock the store in `dir` for this `listen` (another one running there is an error),
    /// open (or create) it and start the writer thread.
    pub fn open(dir: &Path) -> Result<Writer, StoreError> {
        let lock = lock_for_listen(dir)?;
        let conn = open_write(dir)?;
        let path = dir.join(super::DB_FILE);
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BOUND_PAGES)
            .map_err(|e| StoreError::from_sqlite(&path, e))?;
        let opened = file_id(&path).map_err(|e| StoreError::NotWritable {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let checkpointer = Checkpointer::start(dir)?;
        let (tx, rx) = mpsc::channel(MAX_GROUP);
        // The log exists once the connection has read the database in WAL mode (opening it
        // did); a log deleted before the first capture is then noticed like a later one.
        let wal = dir.join(format!("{}-wal", super::DB_FILE));
        let wal_opened = file_id(&wal).ok();
        let shm = dir.join(format!("{}-shm", super::DB_FILE));
        let shm_opened = file_id(&shm).ok();
        let store = Store {
            conn,
            wal,
            wal_opened,
            shm,
            shm_opened,
            path,
            opened,
            lost: None,
            checkpointer: Some(checkpointer),
        };
        let thread = std::thread::Builder::new()
            .name("hookcli-store".into())
            .spawn(move || run(store, rx))
            .map_err(|e| StoreError::NotWritable {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Writer {
            tx,
            thread,
            _lock: lock,
        })
    }

    /// Store one capture (and its delivery plan, when forwarding) with the status its
    /// sender will be answered (`None` while passthrough waits for the app); returns once
    /// it is committed to disk.
    pub async fn insert(
        &self,
        capture: NewCapture,
        plan: Option<Plan>,
        answered: Option<u16>,
    ) -> Result<Capture, StoreError> {
        let id = new_id(capture.received_at);
        let row = Row::new(capture, id, answered);
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job::Capture(Box::new(row), plan, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        wait.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queue another write for the writer thread (committed with the next group) and return
    /// without waiting for the commit; the receiver says when it is on disk. Keeping every
    /// write on one connection means no process of ours ever waits on its own lock, and
    /// queueing in call order keeps one capture's records in order.
    pub async fn submit(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> oneshot::Receiver<Result<(), StoreError>> {
        let (reply, wait) = oneshot::channel();
        // If the writer is gone the receiver reports it (its sender is dropped).
        let _ = self.tx.send(Job::Exec(Box::new(f), reply)).await;
        wait
    }

    /// Record the status a capture's sender got, once it is known (`--passthrough`). Queued
    /// with the next group and not awaited: it describes the answer, it is not the capture.
    pub async fn record_answer(&self, seq: i64, status: u16) {
        drop(
            self.submit(move |conn| set_answered(conn, seq, status))
                .await,
        );
    }

    /// Run another write on the writer thread and wait until it is committed.
    pub async fn exec(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), StoreError> {
        self.submit(f)
            .await
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    /// Stop taking captures, let the thread commit what is queued, and wait for it.
    pub fn close(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

/// The writer thread's connection, and what it knows about the file behind it.
struct Store {
    conn: Connection,
    path: PathBuf,
    /// The database file as opened.
    opened: FileId,
    /// The write-ahead log, where a commit is durable until it is checkpointed.
    wal: PathBuf,
    /// The log as first seen (when opened, or else at the first commit): SQLite keeps it,
    /// and its inode, while the writer is open.
    wal_opened: Option<FileId>,
    /// The log's shared-memory index, and the file it was when first seen.
    shm: PathBuf,
    shm_opened: Option<FileId>,
    /// Set once a path no longer names its file: from then on nothing is written, since it
    /// would only go into a file that hookcli and the user can no longer find (or, for the
    /// log, one that a crash would take with it).
    lost: Option<Lost>,
    /// Copies the log into the database file in the background; stopped once the database
    /// is lost, since it would copy into the old file what others write to the new one.
    checkpointer: Option<Checkpointer>,
}

/// Which of the store's files was deleted or replaced under the writer.
#[derive(Debug, Clone, Copy)]
enum Lost {
    /// The database file.
    Database,
    /// Its write-ahead log.
    Log,
}

fn run(mut store: Store, mut rx: mpsc::Receiver<Job>) {
    // A small runtime of its own, only so that waiting for work can time out: the search
    // index is filled after a lull in captures, never while anyone waits for a commit.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut indexing = Backoff::default();
    loop {
        // On this clock whatever the indexer's backoff, so a lost database is noticed soon.
        let next = rt.block_on(async { tokio::time::timeout(INDEX_AFTER_IDLE, rx.recv()).await });
        let first = match next {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(_) => {
                // Noticed while idle too, so the log is let go before anyone opens the new
                // file with it (see `release_log`).
                if store.lost.is_none() && !still_there(&store.path, store.opened) {
                    store.lost = Some(Lost::Database);
                    crate::report_error(&StoreError::Replaced(store.path.clone()));
                    release_log(&mut store);
                }
                if store.lost.is_none() && indexing.remaining(Instant::now()).is_zero() {
                    match index_pending(&store.conn, INDEX_STEP) {
                        Ok(_) => indexing.succeeded(),
                        Err(_) => indexing.failed(Instant::now()),
                    }
                }
                continue;
            }
        };
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        write_group(&mut store, group.drain(..));
        if let Some(checkpointer) = &store.checkpointer {
            checkpointer.poke();
        }
    }
    if let Some(checkpointer) = store.checkpointer.take() {
        checkpointer.stop();
    }
    if store.lost.is_some() {
        return;
    }
    if !still_there(&store.path, store.opened) {
        store.lost = Some(Lost::Database);
        release_log(&mut store);
        return;
    }
    // On the way out, index for a moment; whatever is left is searched directly and
    // indexed by the next run.
    let deadline = Instant::now() + INDEX_AT_EXIT;
    while Instant::now() < deadline && matches!(index_pending(&store.conn, INDEX_STEP), Ok(1..)) {}
}

/// Once the store's path names another database file (one moved or copied in, or a new one
/// after a delete), the log at `<store>/hookcli.db-wal` and its index `hookcli.db-shm` are
/// still this writer's: SQLite will not delete them on close, since the database moved, and
/// whoever opens the new file would read it through them (the index gives the old file's
/// size) and apply the log's pages to it, ruining it. So what the log holds is copied into
/// the file this writer has open (moved away, it keeps every capture acknowledged), and
/// both are taken off the path: they stay open here, and the next opener makes its own.
fn release_log(store: &mut Store) {
    // First the background checkpoint: it would go on copying into the old file, and
    // while it runs, this one is refused at once.
    if let Some(checkpointer) = store.checkpointer.take() {
        checkpointer.stop();
    }
    // A reader of the log (another command's) holds it back for a moment at most.
    let deadline = Instant::now() + Duration::from_secs(2);
    let copied = loop {
        let emptied = store
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        if emptied == Ok(0) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for (path, opened) in [
        (&store.wal, store.wal_opened),
        (&store.shm, store.shm_opened),
    ] {
        if opened.is_some_and(|id| still_there(path, id)) {
            let _ = std::fs::remove_file(path);
        }
    }
    if !copied {
        crate::report_error(&format!(
            "the last captures acknowledged before {} was replaced could not be copied into the file listen had open; they are lost",
            store.path.display()
        ));
    }
}

/// When the idle-time indexer may try again after failing: 1 s after the first failure,
/// doubling up to 30 s, so that on a full disk it idles instead of redoing a step that
/// cannot commit every 200 ms; a success resets it.
#[derive(Debug, Default)]
struct Backoff {
    /// The wait after the latest failure; `None` while indexing succeeds.
    delay: Option<Duration>,
    /// When the next attempt is due.
    until: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const LONGEST: Duration = Duration::from_secs(30);

    /// How long from `now` until the next attempt is due; zero when it is.
    fn remaining(&self, now: Instant) -> Duration {
        self.until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    /// An attempt at `now` failed.
    fn failed(&mut self, now: Instant) {
        let delay = self
            .delay
            .map_or(Self::FIRST, |d| (d * 2).min(Self::LONGEST));
        self.delay = Some(delay);
        self.until = Some(now + delay);
    }

    /// An attempt succeeded.
    fn succeeded(&mut self) {
        *self = Backoff::default();
    }
}

/// Which file a path names (device and inode), to notice the store being deleted or
/// replaced under a running listen.
#[cfg(unix)]
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(path: &Path) -> std::io::Result<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
type FileId = ();

#[cfg(not(unix))]
fn file_id(path: &Path) -> std::io::Result<FileId> {
    std::fs::metadata(path).map(drop)
}

/// Whether `path` still names the file the writer opened. One stat per check.
fn still_there(path: &Path, opened: FileId) -> bool {
    match file_id(path) {
        Ok(id) => id == opened,
        // Not being allowed to look does not mean the file is another one; anything else
        // (not found, its directory gone or made a file) does.
        Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

/// Write a group in one transaction and, once it is committed and the store's path still
/// names the file it went into, answer every waiter; otherwise every waiter gets the error.
fn write_group(store: &mut Store, jobs: impl Iterator<Item = Job>) {
    let mut work = Vec::new();
    let mut waiters = Vec::new();
    for job in jobs {
        match job {
            Job::Capture(row, plan, reply) => {
                work.push(Work::Capture(row, plan));
                waiters.push(Waiter::Capture(reply));
            }
            Job::Exec(f, reply) => {
                work.push(Work::Exec(f));
                waiters.push(Waiter::Exec(reply));
            }
        }
    }
    if store.wal_opened.is_none() {
        store.wal_opened = file_id(&store.wal).ok();
        store.shm_opened = file_id(&store.shm).ok();
    }
    let written = if let Some(lost) = store.lost {
        Err(Failed::Replaced(lost))
    } else {
        // Checked before the commit, so that a capture answered 503 is not also committed
        // (with its delivery) to a file the forwarder still reads, and after it: a 2xx must
        // mean the capture is where hookcli and the user will look for it, and in a log
        // that a crash leaves behind.
        let (path, opened) = (&store.path, store.opened);
        let (wal, wal_opened) = (&store.wal, store.wal_opened);
        let lost = || {
            if !still_there(path, opened) {
                Some(Lost::Database)
            } else if wal_opened.is_some_and(|id| !still_there(wal, id)) {
                Some(Lost::Log)
            } else {
                None
            }
        };
        match write(&mut store.conn, work, &|| lost().is_none()) {
            Ok(Some(outcomes)) if lost().is_none() => Ok(outcomes),
            Ok(_) => {
                let which = lost().unwrap_or(Lost::Database);
                if let Lost::Log = which {
                    // SQLite still has the deleted log open: what it holds, every capture
                    // acknowledged so far, is copied into the database file, which survives.
                    let copied = store
                        .conn
                        .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
                            Ok(r.get::<_, i64>(0)? == 0
                                && r.get::<_, i64>(1)? == r.get::<_, i64>(2)?)
                        });
                    if copied != Ok(true) {
                        crate::report_error(&"the store's deleted log could not all be copied into hookcli.db yet (a reader still uses it): stop listen with Ctrl-C, which copies the rest, rather than killing it");
                    }
                }
                if let Lost::Database = which {
                    release_log(store);
                }
                store.lost = Some(which);
                Err(Failed::Replaced(which))
            }
            Err(e) => Err(Failed::Write(write_failure(&e))),
        }
    };
    let path = store.path.as_path();
    match written {
        Ok(outcomes) => {
            for (waiter, outcome) in waiters.into_iter().zip(outcomes) {
                match (waiter, outcome) {
                    (Waiter::Capture(reply), Outcome::Capture(c)) => drop(reply.send(Ok(*c))),
                    (Waiter::Exec(reply), Outcome::Exec(result)) => {
                        drop(reply.send(result.map_err(|e| StoreError::from_sqlite(path, e))))
                    }
                    _ => unreachable!("outcomes follow the order of the work"),
                }
            }
        }
        Err(failed) => {
            for waiter in waiters {
                let err = match &failed {
                    Failed::Write(reason) => StoreError::WriteFailed {
                        path: path.to_path_buf(),
                        reason: reason.clone(),
                    },
                    Failed::Replaced(Lost::Database) => StoreError::Replaced(path.to_path_buf()),
                    Failed::Replaced(Lost::Log) => StoreError::LogReplaced(path.to_path_buf()),
                };
                match waiter {
                    Waiter::Capture(reply) => drop(reply.send(Err(err))),
                    Waiter::Exec(reply) => drop(reply.send(Err(err))),
                }
            }
        }
    }
}

/// Why a commit failed, and what to do about it: every request is answered 503 (which
/// Intercom retries) until the store can write again, with no restart needed.
fn write_failure(e: &rusqlite::Error) -> String {
    let remedy = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => "free some space on its disk",
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied) => {
            "make the store directory and its files writable again"
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            "stop whatever holds the store's lock"
        }
        Some(rusqlite::ErrorCode::SystemIoFailure) => {
            "check that its disk is not full and still mounted"
        }
        _ => return format!("{e}: requests are answered 503, which Intercom retries, until the store can write again"),
    };
    format!("{e}; {remedy}: until then requests are answered 503, which Intercom retries")
}

/// Why a group was not saved.
enum Failed {
    /// The transaction failed; SQLite's reason.
    Write(String),
    /// A path of the store no longer names the file the writer has open.
    Replaced(Lost),
}

/// One job's work, split from its reply slot so that a failed transaction can still answer.
enum Work {
    Capture(Box<Row>, Option<Plan>),
    Exec(Exec),
}

/// One job's reply slot.
enum Waiter {
    Capture(Reply),
    Exec(ExecReply),
}

/// What one job's work gave, in the group's order.
enum Outcome {
    Capture(Box<Capture>),
    Exec(rusqlite::Result<()>),
}

/// Write a group in one transaction; `None` (rolled back) when `there` says, just before
/// the commit, that the database file is no longer the one opened.
fn write(
    conn: &mut Connection,
    work: Vec<Work>,
    there: &dyn Fn() -> bool,
) -> rusqlite::Result<Option<Vec<Outcome>>> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(work.len());
    for w in work {
        outcomes.push(match w {
            Work::Capture(row, plan) => {
                Outcome::Capture(Box::new(insert(&tx, *row, plan.as_ref())?))
            }
            Work::Exec(f) => {
                // A failing record must not take the captures beside it down.
                let sp = tx.savepoint()?;
                let result = f(&sp);
                if result.is_ok() {
                    sp.commit()?;
                } // else dropping the savepoint rolls it back
                Outcome::Exec(result)
            }
        });
    }
    if !there() {
        return Ok(None); // dropping the transaction rolls it back
    }
    tx.commit()?;
    Ok(Some(outcomes))
}

/// Record the status a capture's sender got (see [`Writer::record_answer`]).
pub(crate) fn set_answered(conn: &Connection, seq: i64, status: u16) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE captures SET answered = ?1 WHERE seq = ?2")?
        .execute(params![status, seq])
        .map(drop)
}

/// Insert one prepared capture inside an open transaction, flagging redeliveries.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    row: Row,
    plan: Option<&Plan>,
) -> rusqlite::Result<Capture> {
    let Row {
        capture: c,
        id,
        headers,
        answered,
    } = row;
    let n = c.notification.as_ref();
    let redelivery = match n.and_then(|n| n.id.as_deref()) {
        Some(nid) => tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM captures WHERE notification_id = ?1)")?
            .query_row([nid], |r| r.get::<_, bool>(0))?,
        None => false,
    };
    tx.prepare_cached(concat!(
        // Numbered above every capture there ever was, deleted ones included: two lookups
        // at the end of small B-trees.
        "INSERT INTO captures (seq, id, received_at, source, remote_addr, client_addr, method, \
         target, headers, body, signature, signature_reason, topic, notification_id, app_id, \
         created_at, first_sent_at, delivery_attempts, item_type, item_id, redelivery, answered) \
         VALUES (1 + ",
        highest_seq_sql!(),
        ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21)"
    ))?
    .execute(params![
        id,
        c.received_at,
        c.source.code(),
        c.remote_addr,
        c.client_addr,
        c.method,
        c.target,
        headers,
        &c.body[..],
        c.verdict.code(),
        c.verdict.reason().map(|r| r.code()),
        n.and_then(|n| n.topic.as_deref()),
        n.and_then(|n| n.id.as_deref()),
        n.and_then(|n| n.app_id.as_deref()),
        n.and_then(|n| n.created_at),
        n.and_then(|n| n.first_sent_at),
        n.and_then(|n| n.delivery_attempts),
        n.and_then(|n| n.item_type.as_deref()),
        n.and_then(|n| n.item_id.as_deref()),
        redelivery,
        answered,
    ])?;
    let seq = tx.last_insert_rowid();
    if let Some(plan) = plan {
        // Only passthrough stores a capture before knowing what its sender is answered.
        insert_plan(tx, seq, plan, c.received_at, answered.is_none())?;
    }
    let delivery = plan.map(|p| match p {
        Plan::Pending => "pending".to_string(),
        Plan::Skipped(_) => "skipped".to_string(),
    });
    Ok(Capture {
        seq,
        id,
        redelivery,
        delivery,
        answered,
        request: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexing_backs_off_from_1_s_doubling_to_30_s_and_a_success_resets_it() {
        let start = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(b.remaining(start), Duration::ZERO);
        let mut waits = Vec::new();
        for _ in 0..7 {
            b.failed(start);
            waits.push(b.remaining(start).as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(b.remaining(start + Duration::from_secs(31)), Duration::ZERO);
        b.succeeded();
        assert_eq!(b.remaining(start), Duration::ZERO);
        b.failed(start);
        assert_eq!(b.remaining(start), Duration::from_secs(1));
    }

    #[test]
    fn a_full_disk_is_named_with_what_to_do() {
        let conn = Connection::open_in_memory().unwrap();
        // SQLite's own "database or disk is full", as a full disk gives it.
        conn.execute_batch("PRAGMA max_page_count = 2; CREATE TABLE t (b BLOB);")
            .unwrap();
        let full = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        let said = write_failure(&full);
        assert!(
            said.starts_with("database or disk is full; free some space on its disk: until then requests are answered 503"),
            "{said}"
        );
        let store = StoreError::from_sqlite(Path::new("/s/hookcli.db"), full).to_string();
        assert_eq!(
            store,
            "the disk holding the store /s is full: free some space on it and try again (hookcli needs a little room even to delete captures)"
        );
    }
}
