//! The `threadpool` crate (one shared channel) with a per-task result slot.

use super::slot::{self, Waiter};
use super::{Pool, Submit};

#[derive(Clone)]
pub(crate) struct Threadpool(threadpool::ThreadPool);

impl Submit for Threadpool {
    type Handle<T: Send + 'static> = Waiter<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> Waiter<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (filler, waiter) = slot::new();
        self.0.execute(move || filler.fill(f()));
        waiter
    }
}

pub(crate) fn new(workers: usize) -> Pool<Threadpool> {
    let pool = threadpool::ThreadPool::new(workers);
    Pool::new("threadpool", Threadpool(pool.clone()), pool)
}
