//! stealpool's nested fork-join, shared by benches/forkjoin.rs and
//! examples/compare.rs: fib where every node submits both children through
//! the pool `ThreadPool::with_current` lends (no count touched) and blocks
//! on their results.

use stealpool::ThreadPool;

pub(crate) fn fib_stealpool(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ThreadPool::with_current(|pool| {
        let a = pool.submit(move || fib_stealpool(n - 1)).unwrap();
        let b = pool.submit(move || fib_stealpool(n - 2)).unwrap();
        (a, b)
    })
    .expect("runs on the pool");
    a.result().unwrap() + b.result().unwrap()
}
