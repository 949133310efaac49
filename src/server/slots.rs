//! Connection slots: at most `MAX_CONNECTIONS` served at once (fewer when the open-file
//! limit leaves room for fewer), and when every slot is taken, the connection that has
//! gone longest without finishing a request gives its slot up.
//!
//! A cap alone lets whoever holds every slot shut everyone else out: 512 clients that
//! each send half a request, or trickle one byte a second, keep a webhook waiting until
//! the read timeouts (10 s for a head, 30 s for a body) cut them off, and then can do it
//! again. So when a new client arrives and nothing is free, a connection that has not
//! finished a request for `IDLE_FOR` (since it opened, or since its last answer) and is
//! not waiting on its own answer (a commit, or the app in `--passthrough`) is closed to
//! make room: an idle keep-alive connection, or a client stalled or crawling mid-request.
//! Intercom sends a notification in one go, well within that time.

use crate::render::{Event, Output};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// How long a connection must have gone without finishing a request before it may be
/// closed to make room.
const IDLE_FOR: Duration = Duration::from_secs(2);
/// How often a full server looks again for a connection to close.
const RECHECK: Duration = Duration::from_millis(250);

/// File descriptors kept for all but client connections: the store's files (three per
/// SQLite connection), the terminal, the runtime, connections to the app.
const RESERVED_FILES: u64 = 64;
/// The fewest connections served at once, however low the open-file limit.
const FEWEST: usize = 8;

/// How many connections the open-file limit leaves room for, at most `max`, each taking
/// `per_client` descriptors (two with `--passthrough`: the client's and the app's). The
/// soft limit is raised toward the hard one first, as servers do (macOS starts at 256).
/// Past the limit, accepting fails, and the connections served hold every descriptor
/// while none of them may be closed to make room. Also returns the limit when it is what
/// keeps the number below `max`.
pub(super) fn room_for_connections(max: usize, per_client: u64) -> (usize, Option<u64>) {
    #[cfg(unix)]
    {
        let wanted = RESERVED_FILES + max as u64 * per_client;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return (max, None);
        }
        let mut soft = limit.rlim_cur;
        if soft < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                soft = raised.rlim_cur;
            }
        }
        if soft >= wanted {
            return (max, None);
        }
        let room = usize::try_from(soft.saturating_sub(RESERVED_FILES) / per_client).unwrap_or(max);
        (room.clamp(FEWEST, max), Some(soft))
    }
    #[cfg(not(unix))]
    {
        let _ = per_client;
        (max, None)
    }
}

/// One served connection, as its slot sees it.
pub(super) struct Conn {
    peer: SocketAddr,
    /// Milliseconds since the slots' epoch when it opened or last finished a request.
    progressed: AtomicU64,
    /// A request of this connection has its whole body and is being answered.
    answering: AtomicBool,
    /// Told to close, to make room.
    close: Notify,
    epoch: Instant,
}

impl Conn {
    /// A request was answered.
    pub(super) fn finished(&self) {
        self.progressed.store(millis(self.epoch), Ordering::Relaxed);
    }

    /// Mark a request as being answered until the guard drops: it is not idle, it waits.
    pub(super) fn answering(self: &Arc<Self>) -> Answering {
        self.answering.store(true, Ordering::Release);
        Answering(self.clone())
    }

    /// Resolves when the connection is to be closed to make room.
    pub(super) async fn closed(&self) {
        self.close.notified().await;
    }
}

/// While alive, its connection is answering a request.
pub(super) struct Answering(Arc<Conn>);

impl Drop for Answering {
    fn drop(&mut self) {
        // Progress first: between the two, the answer is not yet written, and a look at
        // the slots must not find the connection both idle and not answering.
        self.0.finished();
        self.0.answering.store(false, Ordering::Release);
    }
}

/// A connection's hold on its slot, released on drop.
pub(super) struct Slot {
    id: u64,
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// Every slot, and the connections holding them.
pub(super) struct Slots {
    permits: Arc<Semaphore>,
    /// How many there are.
    max: usize,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    epoch: Instant,
    output: Output,
    /// Connections closed to make room, told of once in a while.
    told: super::throttle::Throttle,
}

impl Slots {
    /// `max` slots, all free; closing a connection to make room is told to `output`.
    pub(super) fn new(max: usize, output: Output) -> Arc<Slots> {
        Arc::new(Slots {
            permits: Arc::new(Semaphore::new(max)),
            max,
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
            output,
            told: Default::default(),
        })
    }

    /// A slot for a connection from `peer`: a free one, or one given up by the connection
    /// idle longest; waits while every connection is answering or made progress lately.
    pub(super) async fn take(self: &Arc<Self>, peer: SocketAddr) -> (Slot, Arc<Conn>) {
        let permit = loop {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => break permit,
                Err(TryAcquireError::Closed) => unreachable!("the semaphore is never closed"),
                Err(TryAcquireError::NoPermits) => {}
            }
            self.close_idle();
            // A closed connection frees its slot once its task has wound down.
            if let Ok(Ok(permit)) =
                tokio::time::timeout(RECHECK, self.permits.clone().acquire_owned()).await
            {
                break permit;
            }
        };
        let conn = Arc::new(Conn {
            peer,
            progressed: AtomicU64::new(millis(self.epoch)),
            answering: AtomicBool::new(false),
            close: Notify::new(),
            epoch: self.epoch,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, conn.clone());
        }
        let slot = Slot {
            id,
            slots: self.clone(),
            _permit: permit,
        };
        (slot, conn)
    }

    /// Tell the connection idle longest (if any has been for `IDLE_FOR`) to close.
    fn close_idle(&self) {
        let now = millis(self.epoch);
        let chosen = self.open.lock().ok().and_then(|mut open| {
            let candidates = open.iter().map(|(id, c)| {
                // In the opposite order to `Answering::drop`'s stores.
                let answering = c.answering.load(Ordering::Acquire);
                let idle = now.saturating_sub(c.progressed.load(Ordering::Relaxed));
                (*id, idle, answering)
            });
            let id = idle_longest(candidates, IDLE_FOR)?;
            // Out of the table at once, so the next look does not pick it again.
            let conn = open.remove(&id)?;
            let idle = now.saturating_sub(conn.progressed.load(Ordering::Relaxed));
            Some((conn, idle))
        });
        if let Some((conn, idle)) = chosen {
            conn.close.notify_one();
            self.tell(conn.peer, Duration::from_millis(idle));
        }
    }

    fn tell(&self, peer: SocketAddr, idle: Duration) {
        let Some(closed) = self.told.count() else {
            return;
        };
        let more = match closed {
            1 => String::new(),
            n => format!(" ({} closed like this since the last notice)", n - 1),
        };
        self.output.emit(Event::Notice(format!(
            "all {} connections are in use: closed the one from {peer}, {:.1} s without finishing a request, to make room{more}",
            self.max,
            idle.as_secs_f64()
        )));
    }
}

/// Of `(id, idle for ms, answering)`, the connection not answering that has been idle
/// longest, if for at least `min`.
fn idle_longest(conns: impl Iterator<Item = (u64, u64, bool)>, min: Duration) -> Option<u64> {
    let min = u64::try_from(min.as_millis()).unwrap_or(u64::MAX);
    conns
        .filter(|&(_, idle, answering)| !answering && idle >= min)
        .max_by_key(|&(id, idle, _)| (idle, std::cmp::Reverse(id)))
        .map(|(id, _, _)| id)
}

fn millis(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_idle_longest_goes_unless_it_is_answering_or_made_progress_lately() {
        let min = Duration::from_secs(2);
        let pick = |c: &[(u64, u64, bool)]| idle_longest(c.iter().copied(), min);
        assert_eq!(
            pick(&[(1, 2_500, false), (2, 9_000, false), (3, 100, false)]),
            Some(2)
        );
        // Waiting on its own answer (a commit, the app) is not silence.
        assert_eq!(pick(&[(1, 2_500, false), (2, 9_000, true)]), Some(1));
        // Progress within `min`: nobody goes, the new client waits.
        assert_eq!(pick(&[(1, 1_999, false), (2, 60_000, true)]), None);
        assert_eq!(pick(&[]), None);
        // Equally idle: the older connection.
        assert_eq!(pick(&[(7, 3_000, false), (4, 3_000, false)]), Some(4));
    }
}
