//! Optional callbacks a service installs on the builder: around each task,
//! at worker start and stop, and for each panic the pool catches.
//!
//! A contained panic can happen on any thread that finishes or cancels a
//! task (a done callback, a waker, a closure's drop), and a task knows only
//! its pool's id: `unwind::report` finds the pool's panic handler through
//! the registry of live pools (`crate::pools`), read only when a panic is
//! caught.

use crate::error::{Panic, PanicOrigin};
use crate::unwind;
use std::fmt;

/// A hook that receives the worker index.
pub(crate) type WorkerHook = Box<dyn Fn(usize) + Send + Sync + 'static>;
/// A hook that receives each caught panic.
pub(crate) type PanicHook = Box<dyn Fn(&Panic) + Send + Sync + 'static>;

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
