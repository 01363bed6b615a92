//! rayon's `ThreadPool::spawn` with a per-task result slot. (rayon's
//! `scope`, `join` and `par_iter` have no submit/handle shape: workloads
//! call them directly on [`RayonSpawn::pool`].)

use super::slot::{self, Waiter};
use super::{Pool, Submit};
use std::sync::Arc;

#[derive(Clone)]
pub(crate) struct RayonSpawn(pub Arc<rayon::ThreadPool>);

impl RayonSpawn {
    pub(crate) fn pool(&self) -> &rayon::ThreadPool {
        &self.0
    }
}

impl Submit for RayonSpawn {
    type Handle<T: Send + 'static> = Waiter<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> Waiter<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (filler, waiter) = slot::new();
        self.0.spawn(move || filler.fill(f()));
        waiter
    }
}

pub(crate) fn new(workers: usize) -> Pool<RayonSpawn> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .unwrap();
    Pool::new("rayon spawn", RayonSpawn(Arc::new(pool)), ())
}
