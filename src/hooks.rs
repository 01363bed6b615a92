//! Optional callbacks a service installs on the builder: around each task,
//! at worker start and stop, and for each panic the pool catches.
//!
//! The panic handler is kept in a process-wide registry keyed by pool id,
//! not only in the pool: a done callback, a waker or a closure's drop can
//! panic on any thread that finishes or cancels a task, and a task knows its
//! pool's id but holds no reference to the pool (that would cost a shared
//! reference count per task). The registry is read only when a panic is
//! caught; a pool registers its handler when built and takes it out when
//! its shared state is dropped, before its id (an address) can be reused.

use crate::error::{Panic, PanicOrigin};
use crate::sync::{GlobalArc, GlobalMutex};
use crate::unwind;
use std::fmt;

/// A hook that receives the worker index.
pub(crate) type WorkerHook = Box<dyn Fn(usize) + Send + Sync + 'static>;
/// A hook that receives each caught panic.
pub(crate) type PanicHook = GlobalArc<dyn Fn(&Panic) + Send + Sync + 'static>;

/// Pools with a panic handler: (pool id, handler).
static HANDLERS: GlobalMutex<Vec<(usize, PanicHook)>> = GlobalMutex::new(Vec::new());

/// The panic handler of the pool `pool`, if it has one.
pub(crate) fn handler_for(pool: usize) -> Option<PanicHook> {
    HANDLERS
        .lock()
        .iter()
        .find(|(id, _)| *id == pool)
        .map(|(_, handler)| handler.clone())
}

/// Makes `handler` the one [`handler_for`] gives for `pool`.
pub(crate) fn register(pool: usize, handler: PanicHook) {
    HANDLERS.lock().push((pool, handler));
}

/// Takes `pool`'s handler out of the registry (its shared state is going).
pub(crate) fn unregister(pool: usize) {
    let removed = {
        let mut handlers = HANDLERS.lock();
        let found = handlers.iter().position(|(id, _)| *id == pool);
        found.map(|i| handlers.swap_remove(i))
    };
    // Dropped unlocked: the handler's captures are user values.
    drop(removed);
}

/// The hooks of one pool. Every one is optional and costs one branch when
/// unset.
#[derive(Default)]
pub(crate) struct Hooks {
    /// Runs first on each worker thread; a panic here breaks the pool (it is
    /// the initializer).
    pub(crate) on_worker_start: Option<WorkerHook>,
    pub(crate) on_worker_stop: Option<WorkerHook>,
    pub(crate) before_task: Option<WorkerHook>,
    pub(crate) after_task: Option<WorkerHook>,
    pub(crate) on_panic: Option<PanicHook>,
}

impl Hooks {
    /// Runs a worker hook of the pool `pool`, containing (and reporting) a
    /// panic in it.
    #[inline]
    pub(crate) fn call(hook: &Option<WorkerHook>, pool: usize, what: &str, index: usize) {
        if let Some(hook) = hook {
            unwind::contain(pool, PanicOrigin::Hook, what, || hook(index));
        }
    }

    /// Hands a task panic to the panic hook, if one is set (a task's panic
    /// is also in its handle, so without a hook it is not printed).
    pub(crate) fn report_panic(&self, panic: &Panic) {
        if let Some(hook) = &self.on_panic {
            if let Err(again) = unwind::catch(|| hook(panic)) {
                unwind::report_stderr("the panic handler", &again);
            }
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_worker_start", &self.on_worker_start.is_some())
            .field("on_worker_stop", &self.on_worker_stop.is_some())
            .field("before_task", &self.before_task.is_some())
            .field("after_task", &self.after_task.is_some())
            .field("on_panic", &self.on_panic.is_some())
            .finish()
    }
}
