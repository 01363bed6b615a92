//! tokio's multi-thread runtime: `spawn` (a task per closure) and
//! `spawn_blocking`, joined through their own `JoinHandle`s by a minimal
//! thread-parking `block_on`.

use super::{Join, Pool, Submit};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

#[derive(Clone)]
pub(crate) struct TokioSpawn(pub(crate) Handle);

#[derive(Clone)]
pub(crate) struct TokioBlocking(pub(crate) Handle);

impl Submit for TokioSpawn {
    type Handle<T: Send + 'static> = JoinHandle<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn(async move { f() })
    }
}

impl Submit for TokioBlocking {
    type Handle<T: Send + 'static> = JoinHandle<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn_blocking(f)
    }
}

impl<T> Join<T> for JoinHandle<T> {
    #[inline]
    fn join(self) -> T {
        block_on(self).unwrap()
    }
}

struct Unparker(std::thread::Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(Unparker(std::thread::current())));
}

/// Polls `fut` on this thread, parking between polls.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    })
}

/// `spawn` on `workers` runtime threads.
pub(crate) fn spawn(workers: usize) -> Pool<TokioSpawn> {
    let rt = Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    Pool::new("tokio spawn", TokioSpawn(rt.handle().clone()), rt)
}

/// `spawn_blocking` on at most `workers` blocking threads (one core
/// thread for the runtime itself).
pub(crate) fn blocking(workers: usize) -> Pool<TokioBlocking> {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    Pool::new(
        "tokio spawn_blocking",
        TokioBlocking(rt.handle().clone()),
        rt,
    )
}
