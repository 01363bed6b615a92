//! The shared-queue pool of `simple_pool.rs` (the design stealpool
//! replaces), submitting through a spawner so tasks can submit too.

use super::simple_pool::{SimpleHandle, SimplePool, SimpleSpawner};
use super::{Join, Pool, Submit};

impl Submit for SimpleSpawner {
    type Handle<T: Send + 'static> = SimpleHandle<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> SimpleHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        SimpleSpawner::submit(self, f)
    }
}

impl<T> Join<T> for SimpleHandle<T> {
    #[inline]
    fn join(self) -> T {
        self.result().unwrap()
    }
}

pub(crate) fn new(workers: usize) -> Pool<SimpleSpawner> {
    let pool = SimplePool::new(workers);
    Pool::new("simple pool", pool.spawner(), pool)
}
