//! The store's single writer: one thread owns the SQLite connection and commits in groups.
//!
//! Every request handler sends its capture down a bounded channel with a reply slot and
//! waits. The thread takes whatever is queued, writes it all in one transaction, commits
//! (one fsync for the whole group) and only then answers each waiter. A 2xx is therefore
//! never sent for a capture that is not durably on disk, and durability does not cap
//! throughput at one fsync per request.

use super::delivery::{insert_plan, Plan};
use super::model::{headers_to_json, new_id, Capture, NewCapture};
use super::{open_write, query::index_pending, StoreError};
use rusqlite::{params, Connection, Transaction};
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

/// How many waiting captures one transaction takes at most.
const MAX_GROUP: usize = 1024;
/// How many captures one idle-time search-index step takes (a few milliseconds of work).
const INDEX_STEP: usize = 64;
/// Index only after this long without a capture to write.
const INDEX_AFTER_IDLE: std::time::Duration = std::time::Duration::from_millis(200);
/// How long shutdown may spend finishing the index.
const INDEX_AT_EXIT: std::time::Duration = std::time::Duration::from_secs(1);

type Reply = oneshot::Sender<Result<Capture, StoreError>>;
type Exec = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;

/// What the writer thread does for one waiter.
enum Job {
    /// Store a capture (and its delivery plan).
    Capture(Box<NewCapture>, Option<Plan>, Reply),
    /// Any other write (delivery records): run inside the group, in a savepoint of its own.
    Exec(Exec, oneshot::Sender<Result<(), StoreError>>),
}

/// Handle to the writer thread.
pub struct Writer {
    tx: mpsc::Sender<Job>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Open (or create) the store in `dir` and start the writer thread.
    pub fn open(dir: &Path) -> Result<Writer, StoreError> {
        let conn = open_write(dir)?;
        let path = dir.join(super::DB_FILE);
        let (tx, rx) = mpsc::channel(MAX_GROUP);
        let thread = std::thread::Builder::new()
            .name("hookcli-store".into())
            .spawn(move || run(conn, path, rx))
            .map_err(|e| StoreError::NotWritable {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Writer { tx, thread })
    }

    /// Store one capture (and its delivery plan, when forwarding); returns once it is
    /// committed to disk.
    pub async fn insert(
        &self,
        capture: NewCapture,
        plan: Option<Plan>,
    ) -> Result<Capture, StoreError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job::Capture(Box::new(capture), plan, reply))
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

fn run(mut conn: Connection, path: PathBuf, mut rx: mpsc::Receiver<Job>) {
    // A small runtime of its own, only so that waiting for work can time out: the search
    // index is filled after a lull in captures, never while anyone waits for a commit.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        let next = rt.block_on(async { tokio::time::timeout(INDEX_AFTER_IDLE, rx.recv()).await });
        let first = match next {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(_) => {
                let _ = index_pending(&conn, INDEX_STEP);
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
        if let Err(e) = write_group(&mut conn, &mut group, &path) {
            let reason = e.to_string();
            for job in group.drain(..) {
                let err = StoreError::WriteFailed {
                    path: path.clone(),
                    reason: reason.clone(),
                };
                match job {
                    Job::Capture(_, _, reply) => drop(reply.send(Err(err))),
                    Job::Exec(_, reply) => drop(reply.send(Err(err))),
                }
            }
        }
    }
    // On the way out, index for a moment; whatever is left is searched directly and
    // indexed by the next run.
    let deadline = std::time::Instant::now() + INDEX_AT_EXIT;
    while std::time::Instant::now() < deadline
        && matches!(index_pending(&conn, INDEX_STEP), Ok(INDEX_STEP))
    {}
}

/// Write a group in one transaction and, once it is committed, answer every waiter.
fn write_group(
    conn: &mut Connection,
    group: &mut Vec<Job>,
    path: &std::path::Path,
) -> rusqlite::Result<()> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut captures = Vec::with_capacity(group.len());
    let mut execs = Vec::new();
    for (i, job) in group.iter_mut().enumerate() {
        match job {
            Job::Capture(c, plan, _) => {
                captures.push((i, insert(&tx, c, new_id(c.received_at), plan.as_ref())?))
            }
            Job::Exec(f, _) => {
                // A failing record must not take the captures beside it down.
                let f = std::mem::replace(f, Box::new(|_| Ok(())));
                let sp = tx.savepoint()?;
                let result = f(&sp);
                if result.is_ok() {
                    sp.commit()?;
                } // else dropping the savepoint rolls it back

                execs.push((i, result));
            }
        }
    }
    tx.commit()?;
    let mut stored: std::collections::HashMap<usize, Capture> = captures.into_iter().collect();
    let mut results: std::collections::HashMap<usize, rusqlite::Result<()>> =
        execs.into_iter().collect();
    for (i, job) in group.drain(..).enumerate() {
        match job {
            Job::Capture(_, _, reply) => {
                let _ = reply.send(stored.remove(&i).ok_or(StoreError::WriterGone));
            }
            Job::Exec(_, reply) => {
                let result = results.remove(&i).unwrap_or(Ok(()));
                let _ = reply.send(result.map_err(|e| StoreError::from_sqlite(path, e)));
            }
        }
    }
    Ok(())
}

/// Insert one capture under `id` inside an open transaction, flagging redeliveries.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    c: &NewCapture,
    id: String,
    plan: Option<&Plan>,
) -> rusqlite::Result<Capture> {
    let n = c.notification.clone().unwrap_or_default();
    let redelivery = match &n.id {
        Some(nid) => tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM captures WHERE notification_id = ?1)")?
            .query_row([nid], |r| r.get::<_, bool>(0))?,
        None => false,
    };
    tx.prepare_cached(
        "INSERT INTO captures (id, received_at, source, remote_addr, client_addr, method, \
         target, headers, body, signature, signature_reason, topic, notification_id, app_id, \
         created_at, first_sent_at, delivery_attempts, item_type, item_id, redelivery) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20)",
    )?
    .execute(params![
        id,
        c.received_at,
        c.source.code(),
        c.remote_addr,
        c.client_addr,
        c.method,
        c.target,
        headers_to_json(&c.headers),
        &c.body[..],
        c.verdict.code(),
        c.verdict.reason().map(|r| r.code()),
        n.topic,
        n.id,
        n.app_id,
        n.created_at,
        n.first_sent_at,
        n.delivery_attempts,
        n.item_type,
        n.item_id,
        redelivery,
    ])?;
    let seq = tx.last_insert_rowid();
    if let Some(plan) = plan {
        insert_plan(tx, seq, plan, c.received_at)?;
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
        request: c.clone(),
    })
}
