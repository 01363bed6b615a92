//! The live pools by id: how a task's continuation reaches its pool from a
//! thread that is not one of the pool's workers.
//!
//! A task records only its pool's id (`Header::pool_id`), not the pool: a
//! reference per task would cost every `submit` a shared-counter RMW. A
//! continuation registered on a finished task, or whose parent was
//! cancelled from outside the pool, must still be queued on that pool, so
//! `then` looks the pool up here; so does a contained panic on its way to
//! the pool's panic handler (`unwind::report`). A pool is registered when it is built
//! and deregistered when its last `ThreadPool` handle is dropped (it has
//! shut down then: a continuation meeting it from outside is refused as
//! after a shutdown). Ids are serial numbers, never reused, so a task of a
//! pool that is gone can never name another pool (an address could be).

use crate::shared::Shared;
use crate::sync::{Arc, GlobalMutex, TaskArc};
use std::ops::DerefMut;

/// Entries hold the pool's `Arc` inside a std one, so the critical sections
/// below clone and drop only std `Arc`s: under loom the pool's own `Arc` is
/// loom's, and a loom operation must not run while a std lock is held.
struct Registry {
    next: usize,
    // Not redundant under loom, where the inner `Arc` is loom's (above).
    #[allow(clippy::redundant_allocation)]
    live: Vec<(usize, TaskArc<Arc<Shared>>)>,
}

static REGISTRY: GlobalMutex<Registry> = GlobalMutex::new(Registry {
    next: 1,
    live: Vec::new(),
});

fn registry() -> impl DerefMut<Target = Registry> {
    // Nothing panics under this lock; a poisoned one is still consistent.
    REGISTRY.lock()
}

/// A new pool's id (never 0, never reused).
pub(crate) fn next_serial() -> usize {
    let mut r = registry();
    let id = r.next;
    r.next += 1;
    id
}

/// Makes a freshly built pool findable by its id.
pub(crate) fn register(shared: &Arc<Shared>) {
    let entry = TaskArc::new(shared.clone());
    registry().live.push((shared.id(), entry));
}

/// The pool's last handle is gone: it is no longer found. Idempotent.
pub(crate) fn deregister(id: usize) {
    let gone = {
        let mut r = registry();
        r.live
            .iter()
            .position(|(i, _)| *i == id)
            .map(|at| r.live.swap_remove(at))
    };
    // Dropped outside the lock: this may be the pool's last reference.
    drop(gone);
}

/// The pool with this id, while it has a handle.
pub(crate) fn find(id: usize) -> Option<Arc<Shared>> {
    let entry = registry()
        .live
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, entry)| entry.clone())?;
    Some(Arc::clone(&entry))
}
