//! Finishing a request's committed work even when its sender hangs up, without paying
//! for a task per request.
//!
//! hyper drops a request's future when the client goes away. Once a capture is on its way
//! to the store, what follows (printing it, handing it to forwarding) must still happen.
//! Spawning that work as a task for every request would do it, but costs a cross-thread
//! hand-off per request: over a third of the listener's CPU per request once the store's
//! own cost is taken out (docs/performance.md). [`Detached`] runs the work inline and only
//! when it is dropped unfinished moves the rest of it into a task.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future polled in place that, if dropped before it completes, is finished by a task.
pub(super) struct Detached<F: Future<Output: Send + 'static> + Send + 'static> {
    work: Option<Pin<Box<F>>>,
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Detached<F> {
    /// Wrap `work`; the caller awaits the result as usual.
    pub(super) fn new(work: F) -> Self {
        Detached {
            work: Some(Box::pin(work)),
        }
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Future for Detached<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(work) = self.work.as_mut() else {
            return Poll::Pending; // polled after completion: never resolves again
        };
        let out = work.as_mut().poll(cx);
        if out.is_ready() {
            self.work = None;
        }
        out
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Drop for Detached<F> {
    fn drop(&mut self) {
        if let Some(work) = self.work.take() {
            // Outside a runtime (shutdown) there is nobody left to finish it for.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(work);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn completes_inline() {
        assert_eq!(Detached::new(async { 7 }).await, 7);
    }

    #[tokio::test]
    async fn a_dropped_future_is_finished_in_a_task() {
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let flag = done.clone();
        let mut work = Box::pin(Detached::new(async move {
            let _ = rx.await;
            flag.store(true, Ordering::SeqCst);
        }));
        // Poll once so it is under way, then drop it, as hyper does when a sender hangs up.
        let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        drop(work);
        tx.send(()).unwrap();
        for _ in 0..100 {
            if done.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the dropped work was never finished");
    }
}
