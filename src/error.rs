//! Typed errors, one per operation: building a pool, submitting to it, and
//! waiting on a task. None of them requires `T: Debug` or `F: Debug`.

use std::any::Any;
use std::fmt;
use std::io;

/// Why [`ThreadPool::submit`](crate::ThreadPool::submit) refused a closure.
/// The closure is handed back, unrun, through [`into_inner`](Self::into_inner).
///
/// ```
/// let pool = stealpool::ThreadPool::new(1)?;
/// pool.shutdown();
/// let err = pool.submit(|| 42).unwrap_err();
/// assert!(err.is_shutdown());
/// let f = err.into_inner();
/// assert_eq!(f(), 42);
/// # Ok::<(), stealpool::BuildError>(())
/// ```
///
/// `?` turns it into a [`TaskError`] (dropping the closure), so one error
/// type covers submitting and waiting; an application error type needs a
/// `From<TaskError>` and a one-line generic `From<SubmitError<F>>` (the
/// closure's type has no name to write):
///
/// ```
/// use stealpool::{SubmitError, TaskError, ThreadPool};
///
/// fn square_on(pool: &ThreadPool, x: u64) -> Result<u64, TaskError> {
///     pool.submit(move || x * x)?.result()
/// }
///
/// #[derive(Debug)]
/// enum AppError {
///     Task(TaskError),
///     Parse(std::num::ParseIntError),
/// }
/// impl From<TaskError> for AppError {
///     fn from(e: TaskError) -> Self {
///         AppError::Task(e)
///     }
/// }
/// impl<F> From<SubmitError<F>> for AppError {
///     fn from(e: SubmitError<F>) -> Self {
///         AppError::Task(e.into())
///     }
/// }
/// impl From<std::num::ParseIntError> for AppError {
///     fn from(e: std::num::ParseIntError) -> Self {
///         AppError::Parse(e)
///     }
/// }
///
/// fn parse_on(pool: &ThreadPool, text: &'static str) -> Result<u64, AppError> {
///     Ok(pool.submit(move || text.parse::<u64>())?.result()??)
/// }
///
/// let pool = ThreadPool::new(1)?;
/// assert_eq!(square_on(&pool, 7)?, 49);
/// assert!(matches!(parse_on(&pool, "12"), Ok(12)));
/// assert!(matches!(parse_on(&pool, "x"), Err(AppError::Parse(_))));
/// pool.shutdown();
/// assert!(square_on(&pool, 7).unwrap_err().is_shutdown());
/// assert!(matches!(parse_on(&pool, "12"), Err(AppError::Task(TaskError::Shutdown))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub enum SubmitError<F> {
    /// The pool was shut down: it accepts no work from outside its workers.
    Shutdown(F),
    /// A worker's initializer panicked, so the pool runs nothing.
    Broken(F),
}

impl<F> SubmitError<F> {
    /// Gives back the closure that was not submitted.
    #[must_use = "dropping the returned closure drops the task; to discard it, drop the error"]
    pub fn into_inner(self) -> F {
        match self {
            Self::Shutdown(f) | Self::Broken(f) => f,
        }
    }

    /// True if the pool had been shut down.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::Shutdown(_))
    }

    /// True if the pool is broken (an initializer panicked).
    #[must_use]
    pub fn is_broken(&self) -> bool {
        matches!(self, Self::Broken(_))
    }
}

/// For `?`: [`SubmitError::Shutdown`] becomes [`TaskError::Shutdown`] and
/// [`SubmitError::Broken`] becomes [`TaskError::PoolBroken`]; the closure is
/// dropped unrun. Use [`SubmitError::into_inner`] first to keep it.
impl<F> From<SubmitError<F>> for TaskError {
    fn from(err: SubmitError<F>) -> Self {
        match err {
            SubmitError::Shutdown(_) => TaskError::Shutdown,
            SubmitError::Broken(_) => TaskError::PoolBroken,
        }
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown(_) => f.write_str("Shutdown(..)"),
            Self::Broken(_) => f.write_str("Broken(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown(_) => f.write_str("submit after shutdown"),
            Self::Broken(_) => f.write_str("pool is broken: a worker initializer panicked"),
        }
    }
}

impl<F> std::error::Error for SubmitError<F> {}

// SAFETY: no method hands out `&F`: the closure can only be moved out by
// value (`into_inner`), so sharing a `&SubmitError<F>` between threads never
// shares the closure. This makes `?` into `Send + Sync` error boxes work for
// closures that are `Send` but not `Sync`.
unsafe impl<F: Send> Sync for SubmitError<F> {}

/// Why a task produced no value.
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled before it started; it never ran.
    Cancelled,
    /// The task panicked; the worker that ran it carried on.
    Panicked(Panic),
    /// A `*_timeout` wait gave up; the task and the handle are untouched, and
    /// waiting again is fine.
    Timeout,
    /// The value was already moved out of this handle by an earlier wait.
    ResultTaken,
    /// The pool could not run the task: a worker initializer panicked (also
    /// what `?` makes of a [`SubmitError::Broken`]).
    PoolBroken,
    /// The work was never submitted: the pool had shut down (an item of
    /// [`ThreadPool::map`](crate::ThreadPool::map) reached after shutdown,
    /// a refused [`ThreadPool::broadcast`](crate::ThreadPool::broadcast),
    /// or a [`SubmitError::Shutdown`] turned into a `TaskError` by `?`).
    Shutdown,
    /// The wait could never end: a task waited on its own handle (or on a
    /// task further down the same worker's stack, which cannot resume until
    /// the waiter returns). Returned at once instead of hanging. Cycles
    /// through tasks on other threads are not detected, as in Python.
    Deadlock,
}

impl TaskError {
    /// True for [`TaskError::Cancelled`].
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    /// True for [`TaskError::Panicked`].
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }

    /// True for [`TaskError::Timeout`].
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// True for [`TaskError::ResultTaken`].
    #[must_use]
    pub fn is_result_taken(&self) -> bool {
        matches!(self, Self::ResultTaken)
    }

    /// True for [`TaskError::PoolBroken`].
    #[must_use]
    pub fn is_pool_broken(&self) -> bool {
        matches!(self, Self::PoolBroken)
    }

    /// True for [`TaskError::Shutdown`].
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::Shutdown)
    }

    /// True for [`TaskError::Deadlock`].
    #[must_use]
    pub fn is_deadlock(&self) -> bool {
        matches!(self, Self::Deadlock)
    }

    /// The panic message, if the task panicked with a string.
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            Self::Panicked(p) => Some(p.message()),
            _ => None,
        }
    }

    /// The panic payload, to re-raise with [`std::panic::resume_unwind`].
    #[must_use = "dropping the payload loses the panic; to discard it, drop the error"]
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            Self::Panicked(p) => Some(p.into_payload()),
            _ => None,
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("Cancelled"),
            Self::Panicked(p) => f.debug_tuple("Panicked").field(&p.message()).finish(),
            Self::Timeout => f.write_str("Timeout"),
            Self::ResultTaken => f.write_str("ResultTaken"),
            Self::PoolBroken => f.write_str("PoolBroken"),
            Self::Shutdown => f.write_str("Shutdown"),
            Self::Deadlock => f.write_str("Deadlock"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("task was cancelled"),
            Self::Panicked(p) => write!(f, "task panicked: {}", p.message()),
            Self::Timeout => f.write_str("timed out waiting for task"),
            Self::ResultTaken => f.write_str("task result was already taken"),
            Self::PoolBroken => f.write_str("pool is broken: a worker initializer panicked"),
            Self::Shutdown => f.write_str("not submitted: the pool was shut down"),
            Self::Deadlock => f.write_str("deadlock: the task waits on itself"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The deadline of [`as_completed_timeout`](crate::as_completed_timeout)
/// passed: the handles still pending, untouched, to wait on, cancel or drop.
///
/// ```
/// use std::time::Duration;
/// let pool = stealpool::ThreadPool::new(1)?;
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let stuck = pool.submit(move || rx.recv().is_ok())?;
/// let mut it = stealpool::as_completed_timeout([stuck], Duration::from_millis(10));
/// let timeout = it.next().expect("one item").unwrap_err();
/// assert_eq!(timeout.pending().len(), 1);
/// tx.send(())?;
/// assert!(timeout.into_pending()[0].result()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TimeoutError<T> {
    pending: Vec<crate::TaskHandle<T>>,
    /// How many distinct tasks were watched, for the message.
    total: usize,
}

impl<T> TimeoutError<T> {
    pub(crate) fn new(pending: Vec<crate::TaskHandle<T>>, total: usize) -> Self {
        Self { pending, total }
    }

    /// The handles that had not finished, in input order.
    #[must_use]
    pub fn pending(&self) -> &[crate::TaskHandle<T>] {
        &self.pending
    }

    /// Takes the pending handles.
    #[must_use = "dropping the handles detaches their tasks (they still run)"]
    pub fn into_pending(self) -> Vec<crate::TaskHandle<T>> {
        self.pending
    }
}

impl<T> fmt::Debug for TimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutError")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<T> fmt::Display for TimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out with {} of {} task(s) still pending",
            self.pending.len(),
            self.total
        )
    }
}

impl<T> std::error::Error for TimeoutError<T> {}

/// A caught panic: its message, and its payload for re-raising.
///
/// One pointer wide, so that a `Result<T, TaskError>` (in every task's
/// result slot, and per item in [`ThreadPool::map`](crate::ThreadPool::map)
/// chunks) is barely larger than `T`: panics are rare, their box is cheap.
pub struct Panic(Box<PanicInner>);

struct PanicInner {
    message: String,
    payload: Box<dyn Any + Send + 'static>,
    origin: PanicOrigin,
}

/// Which user code a caught panic came from: what
/// [`Builder::panic_handler`](crate::Builder::panic_handler) is told
/// besides the panic itself.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PanicOrigin {
    /// A task's closure; the task's handle resolves
    /// [`TaskError::Panicked`] with it.
    Task,
    /// A done callback (`add_done_callback`); the other callbacks still ran.
    DoneCallback,
    /// An async waker's `wake` or drop; the task's other waiters were still
    /// told.
    Waker,
    /// A hook: `on_worker_start` (the initializer: the pool is now
    /// broken), `on_worker_stop`, `before_task` or `after_task`.
    Hook,
    /// Dropping a task's closure (cancelled or never run) or its value.
    Drop,
}

impl Panic {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        Self::from(payload, PanicOrigin::Task)
    }

    /// A panic caught from user code of the given origin.
    pub(crate) fn from(payload: Box<dyn Any + Send + 'static>, origin: PanicOrigin) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_owned()
        };
        Self(Box::new(PanicInner {
            message,
            payload,
            origin,
        }))
    }

    /// The same panic, said to come from `origin`.
    pub(crate) fn with_origin(mut self, origin: PanicOrigin) -> Self {
        self.0.origin = origin;
        self
    }

    /// Which user code panicked. A panic in a task's handle is always
    /// [`PanicOrigin::Task`]; the panic handler also sees the others.
    #[must_use]
    pub fn origin(&self) -> PanicOrigin {
        self.0.origin
    }

    /// The message the task panicked with (`"Box<dyn Any>"` for a payload
    /// that is not a string).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The original payload, for [`std::panic::resume_unwind`].
    #[must_use = "dropping the payload loses the panic"]
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.0.payload
    }
}

/// The panic message alone, as `panic!` was given it.
///
/// ```
/// let pool = stealpool::ThreadPool::new(1)?;
/// let err = pool.submit(|| -> u32 { panic!("disk full") })?.result().unwrap_err();
/// match err {
///     stealpool::TaskError::Panicked(p) => assert_eq!(p.to_string(), "disk full"),
///     other => panic!("expected a panic, got {other}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panic")
            .field("message", &self.0.message)
            .field("origin", &self.0.origin)
            .finish()
    }
}

// SAFETY: the payload is only reachable by value (`into_payload(self)`); no
// `&self` method touches it, so a shared `&Panic` never shares the payload,
// which is `Send` but not necessarily `Sync`.
unsafe impl Sync for Panic {}

/// Why a pool could not be built. Opaque: print it, or look at its
/// [`source`](std::error::Error::source).
///
/// ```
/// let err = stealpool::ThreadPool::new(0).unwrap_err();
/// assert_eq!(err.to_string(), "max_workers must be at least 1");
/// ```
pub struct BuildError {
    kind: BuildErrorKind,
}

enum BuildErrorKind {
    ZeroWorkers,
    TooManyWorkers(usize),
    TooManyThreads { workers: usize, max_blocking: usize },
    NulInThreadName,
    StackTooSmall(usize),
    Spawn(io::Error),
}

impl BuildError {
    pub(crate) fn zero_workers() -> Self {
        Self {
            kind: BuildErrorKind::ZeroWorkers,
        }
    }

    pub(crate) fn too_many_workers(requested: usize) -> Self {
        Self {
            kind: BuildErrorKind::TooManyWorkers(requested),
        }
    }

    pub(crate) fn too_many_threads(workers: usize, max_blocking: usize) -> Self {
        Self {
            kind: BuildErrorKind::TooManyThreads {
                workers,
                max_blocking,
            },
        }
    }

    pub(crate) fn nul_in_thread_name() -> Self {
        Self {
            kind: BuildErrorKind::NulInThreadName,
        }
    }

    pub(crate) fn stack_too_small(requested: usize) -> Self {
        Self {
            kind: BuildErrorKind::StackTooSmall(requested),
        }
    }

    pub(crate) fn spawn(err: io::Error) -> Self {
        Self {
            kind: BuildErrorKind::Spawn(err),
        }
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildError({self})")
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::ZeroWorkers => f.write_str("max_workers must be at least 1"),
            BuildErrorKind::TooManyWorkers(n) => write!(
                f,
                "max_workers must be at most {} (got {n})",
                crate::builder::MAX_WORKERS
            ),
            BuildErrorKind::TooManyThreads {
                workers,
                max_blocking,
            } => write!(
                f,
                "max_workers + max_blocking must be at most {} (got {workers} + {max_blocking})",
                crate::sleep::MAX_THREADS
            ),
            BuildErrorKind::NulInThreadName => {
                f.write_str("thread_name_prefix must not contain a NUL byte")
            }
            BuildErrorKind::StackTooSmall(n) => write!(
                f,
                "stack_size must be at least {} bytes (got {n})",
                crate::builder::MIN_STACK_SIZE
            ),
            BuildErrorKind::Spawn(e) => write!(f, "failed to spawn a worker thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod size_tests {
    use super::TaskError;
    use std::mem::size_of;

    #[test]
    fn a_task_result_is_two_words_for_a_word_sized_value() {
        assert_eq!(size_of::<TaskError>(), 16);
        assert_eq!(size_of::<Result<u64, TaskError>>(), 16);
    }
}
