//! stealpool itself: `submit` and `TaskHandle::result`.

use super::{Join, Pool, Submit};
use stealpool::{TaskHandle, ThreadPool};

impl Submit for ThreadPool {
    type Handle<T: Send + 'static> = TaskHandle<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        ThreadPool::submit(self, f).unwrap_or_else(|_| panic!("pool shut down"))
    }
}

impl<T: Send + 'static> Join<T> for TaskHandle<T> {
    #[inline]
    fn join(self) -> T {
        self.result().unwrap()
    }
}

pub(crate) fn new(workers: usize) -> Pool<ThreadPool> {
    let pool = ThreadPool::new(workers).unwrap();
    Pool::new("stealpool", pool, ())
}
