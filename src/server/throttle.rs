//! Notices about things a flood of clients can cause, said at most once in a while, with a
//! count of what happened since, so bad input cannot flood the terminal.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two notices of one kind.
pub(super) const EVERY: Duration = Duration::from_secs(10);

/// Events of one kind since its last notice, and when that was.
#[derive(Default)]
pub struct Throttle(Mutex<(Option<Instant>, u64)>);

impl Throttle {
    /// Count one more; when a notice is due, how many it covers (this one included).
    pub(super) fn count(&self) -> Option<u64> {
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        told.1 += 1;
        let due = told.0.map_or(true, |at| at.elapsed() >= EVERY);
        due.then(|| {
            told.0 = Some(Instant::now());
            std::mem::take(&mut told.1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_is_told_and_the_rest_wait_their_turn() {
        let t = Throttle::default();
        assert_eq!(t.count(), Some(1));
        assert_eq!(t.count(), None);
        assert_eq!(t.count(), None);
        // Once the time has passed, the next notice covers all three.
        t.0.lock().unwrap().0 = Some(Instant::now() - EVERY);
        assert_eq!(t.count(), Some(3));
    }
}
