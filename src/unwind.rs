//! Catching panics from user code, and aborting on panics from our own.
//!
//! User code (task closures, done callbacks, wakers, hooks, the drop of a
//! task's closure or value) runs inside [`catch`] or [`contain`], so a panic
//! there never unwinds through a worker's bookkeeping. A panic inside that bookkeeping is a bug in the
//! pool: [`AbortOnPanic`] turns it into an abort rather than a half-updated
//! state word or a worker that silently vanished.

use crate::error::{Panic, PanicOrigin};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into a [`Panic`] value.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    // Unwind safety: the closure's captures are the user's, and a panicking
    // task's partial effects are reported to the user through the `Panic`.
    catch_unwind(AssertUnwindSafe(f)).map_err(Panic::new)
}

/// Runs user code whose panic has no handle to report to (a done callback,
/// a waker, a hook, a value's `Drop`), on behalf of the pool `pool` (its
/// id): contain it and report it (see [`report`]).
pub(crate) fn contain(pool: usize, origin: PanicOrigin, what: &str, f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        report(pool, what, Panic::from(panic, origin));
    }
}

/// Reports a contained panic: to the pool's panic handler if it has one
/// and is still live (`crate::pools`: it has a handle), else on stderr.
/// Write errors are ignored: a closed stderr must not turn a contained
/// panic into an abort (`eprintln!` would panic).
#[cold]
pub(crate) fn report(pool: usize, what: &str, panic: Panic) {
    match crate::pools::find(pool) {
        Some(shared) if shared.hooks.on_panic.is_some() => shared.hooks.report_panic(&panic),
        _ => report_stderr(what, &panic),
    }
}

/// Says on stderr that `what` panicked.
#[cold]
pub(crate) fn report_stderr(what: &str, panic: &Panic) {
    let _ = writeln!(
        std::io::stderr(),
        "stealpool: {what} panicked: {}",
        panic.message()
    );
}

/// Reports an I/O error the pool carries on after, on stderr.
#[cold]
pub(crate) fn report_io(what: &str, err: &std::io::Error) {
    let _ = writeln!(std::io::stderr(), "stealpool: {what} failed: {err}");
}

/// A drop guard held across pool bookkeeping: if that code panics, the
/// process aborts instead of unwinding with a broken invariant.
pub(crate) struct AbortOnPanic(pub(crate) &'static str);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            invariant_broken(self.0);
        }
    }
}

/// An internal invariant does not hold: print it and abort.
#[cold]
pub(crate) fn invariant_broken(what: &str) -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "stealpool: internal invariant broken: {what}; aborting"
    );
    std::process::abort()
}
