//! stealpool's chained submission, shared by benches/chain.rs and
//! examples/compare.rs: each task submits the next through the pool
//! `ThreadPool::with_current` lends (no handle cloned or moved), and the
//! last one calls `done`.

use stealpool::ThreadPool;

pub(crate) fn hop_stealpool<D: FnOnce() + Send + 'static>(left: u64, done: D) {
    if left == 0 {
        done();
        return;
    }
    ThreadPool::with_current(|pool| drop(pool.submit(move || hop_stealpool(left - 1, done))))
        .expect("runs on the pool");
}
