//! Peer pools behind one submit/join shape, so every workload runs the same
//! code on each of them. One small file per peer; `slot.rs` is the result
//! slot that pools without their own handles (threadpool, rayon's spawn)
//! report through.
#![allow(dead_code)]

pub(crate) mod embed;
pub(crate) mod fib;
pub(crate) mod hop;
pub(crate) mod inline;
pub(crate) mod measure;
pub(crate) mod rayon_spawn;
pub(crate) mod simple;
pub(crate) mod simple_pool;
pub(crate) mod slot;
pub(crate) mod stealpool;
pub(crate) mod threadpool;
pub(crate) mod tokio;
pub(crate) mod wavefront;
pub(crate) mod work;

/// A cloneable way to submit work to one pool. Clones may be moved into
/// tasks (nested and chained submission); dropping one never shuts the
/// pool down or joins it (the [`Pool`] owner does that).
pub(crate) trait Submit: Clone + Send + Sync + 'static {
    /// The per-task result handle.
    type Handle<T: Send + 'static>: Join<T> + Send + 'static;

    fn submit<T, F>(&self, f: F) -> Self::Handle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
}

/// Blocks until the task ran and returns its value.
pub(crate) trait Join<T> {
    fn join(self) -> T;
}

/// One peer pool: its submitter, and whatever owns its threads (dropped,
/// and so shut down, last).
pub(crate) struct Pool<S> {
    pub(crate) name: &'static str,
    pub(crate) sub: S,
    owner: Option<Box<dyn Send>>,
}

impl<S: Submit> Pool<S> {
    pub(crate) fn new(name: &'static str, sub: S, owner: impl Send + 'static) -> Self {
        Pool {
            name,
            sub,
            owner: Some(Box::new(owner)),
        }
    }

    /// Never shuts the pool down: for pools left deadlocked by a probe.
    pub(crate) fn leak(mut self) {
        std::mem::forget(self.owner.take());
    }
}

impl<S> std::ops::Deref for Pool<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.sub
    }
}

/// Runs `f` on a helper thread and waits at most `timeout` for it. `None`
/// if it did not finish in time: the thread (and whatever it holds) is
/// left behind, parked, so a deadlocked peer is reported instead of hanging
/// the bench.
pub(crate) fn with_timeout<T: Send + 'static>(
    timeout: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout).ok()
}
