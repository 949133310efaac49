//! Memory for request bodies: a large body takes its size from a shared budget before a
//! byte of it is read, so that many senders of large bodies at once cannot take more
//! memory than the budget, whatever `--max-body` allows each one.
//!
//! 512 connections each sending a 10 MiB body held 5 GiB before this. Bodies up to
//! `SMALL` (every Intercom notification) never wait: at most 512 of them are read at once,
//! 32 MiB in all. A larger one waits for room, holding nothing, so waiters cannot starve
//! each other by each holding part of what they need.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Bodies up to this size are read without taking from the budget.
const SMALL: u64 = 64 * 1024;
/// The least budget for large bodies.
const FLOOR: u64 = 256 * 1024 * 1024;
/// The budget is counted in KiB, so that any size fits a permit count.
const UNIT: u64 = 1024;
/// The longest a body waits for room. Intercom gives up after 5 s; waiting as long as the
/// body read may take (30 s) would only outlast every holder, and never say no.
pub(super) const WAIT: Duration = Duration::from_secs(10);

/// The budget shared by every request's large body.
#[derive(Debug)]
pub struct Bodies {
    room: Arc<Semaphore>,
    /// The whole budget, in bytes.
    total: u64,
}

/// A large body's share of the budget (none for a small one), given back on drop.
pub(super) struct Room {
    _share: Option<OwnedSemaphorePermit>,
}

impl Bodies {
    /// A budget for bodies of at most `max_body` bytes each: 256 MiB, or room for two of
    /// the largest when that is more.
    pub fn new(max_body: u64) -> Bodies {
        let total = FLOOR.max(max_body.saturating_mul(2));
        let units = usize::try_from(total.div_ceil(UNIT))
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Bodies {
            room: Arc::new(Semaphore::new(units)),
            total,
        }
    }

    /// The whole budget in bytes.
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Room for a body of `declared` bytes (`None`: not declared, so up to `max_body`),
    /// waiting for `WAIT` and until `deadline` at most; `None` when there was none in time.
    pub(super) async fn room_for(
        &self,
        declared: Option<u64>,
        max_body: u64,
        deadline: Instant,
    ) -> Option<Room> {
        let need = declared.unwrap_or(max_body).min(max_body);
        if need <= SMALL {
            return Some(Room { _share: None });
        }
        let units = u32::try_from(need.div_ceil(UNIT)).unwrap_or(u32::MAX);
        let wait = self.room.clone().acquire_many_owned(units);
        match tokio::time::timeout_at(deadline.min(Instant::now() + WAIT), wait).await {
            Ok(Ok(share)) => Some(Room {
                _share: Some(share),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_bodies_wait_for_room_and_small_ones_never_do() {
        let bodies = Bodies::new(10 * 1024 * 1024);
        assert_eq!(bodies.total(), FLOOR);
        let max = 200 * 1024 * 1024;
        let soon = || Instant::now() + Duration::from_millis(50);
        let big = bodies.room_for(Some(200 * 1024 * 1024), max, soon()).await;
        assert!(big.is_some());
        // 56 MiB left: a 100 MiB body waits and gives up at its deadline; a body of
        // undeclared length counts as the largest allowed.
        assert!(bodies
            .room_for(Some(100 << 20), max, soon())
            .await
            .is_none());
        assert!(bodies.room_for(None, max, soon()).await.is_none());
        let _half = bodies.room_for(Some(50 << 20), max, soon()).await.unwrap();
        let _rest = bodies.room_for(Some(6 << 20), max, soon()).await.unwrap();
        assert_eq!(bodies.room.available_permits(), 0);
        // Full: a notification-sized body still goes through, taking nothing.
        assert!(bodies.room_for(Some(1), max, soon()).await.is_some());
        assert!(bodies.room_for(Some(SMALL), max, soon()).await.is_some());
        assert!(bodies
            .room_for(Some(SMALL + 1), max, soon())
            .await
            .is_none());
        // Given back, it is there again.
        drop(big);
        assert!(bodies
            .room_for(Some(100 << 20), max, soon())
            .await
            .is_some());
        // A --max-body past the floor still fits two of the largest.
        assert_eq!(Bodies::new(1 << 30).total(), 2 << 30);
    }
}
