//! Workload 2: nested fork-join, fib(25), where every node submits both
//! children and blocks on their results. Criterion reports time per fib
//! node (one iteration = one node; whole fib(25) runs are timed).
//!
//! stealpool runs it five ways: `with_current` (the lent pool), `current()`
//! (an owned handle per node), a captured pool clone per child, a scope per
//! node (`s.submit` + `result`), and `stealpool::join`; rayon with `join`
//! and with `scope` + `spawn`, in the same run.
//!
//! Pools whose workers block in a wait (the simple pool, threadpool,
//! rayon's spawn + slot, tokio) deadlock once every worker waits: each is
//! probed once on a helper thread with a timeout and reported as
//! "deadlocked (timed out)"; its threads are left parked.

use criterion::{criterion_group, criterion_main, Criterion};
use peers::fib::fib_stealpool;
use peers::{Join, Pool, Submit};
use std::hint::black_box;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

mod peers;

const N: u64 = 25;
/// Calls made by fib(N): 2 * fib(N + 1) - 1.
const NODES: u64 = 242_785;
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn fib_seq(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

/// `peers::fib::fib_stealpool` (stealpool's idiom) with
/// `ThreadPool::current()` instead, which returns an owned handle (two
/// shared-counter increments and decrements per node).
fn fib_stealpool_owned(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let pool = ThreadPool::current().expect("runs on the pool");
    let a = pool.submit(move || fib_stealpool_owned(n - 1)).unwrap();
    let b = pool.submit(move || fib_stealpool_owned(n - 2)).unwrap();
    a.result().unwrap() + b.result().unwrap()
}

/// `stealpool::join`: both halves may run in parallel, neither is a heap
/// task.
fn fib_stealpool_join(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = stealpool::join(|| fib_stealpool_join(n - 1), || fib_stealpool_join(n - 2));
    a + b
}

/// A scope per node: both children scoped tasks, waited on with `result`.
fn fib_stealpool_scope(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    ThreadPool::with_current(|pool| {
        pool.scope(|s| {
            let a = s.submit(|| fib_stealpool_scope(n - 1));
            let b = s.submit(|| fib_stealpool_scope(n - 2));
            a.result().unwrap() + b.result().unwrap()
        })
    })
    .expect("runs on the pool")
}

/// The code users write first: every task captures a clone of the pool
/// and submits through it (`ThreadPool::clone` in every node).
fn fib_stealpool_captured(pool: ThreadPool, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (p1, p2) = (pool.clone(), pool.clone());
    let a = pool
        .submit(move || fib_stealpool_captured(p1, n - 1))
        .unwrap();
    let b = pool
        .submit(move || fib_stealpool_captured(p2, n - 2))
        .unwrap();
    a.result().unwrap() + b.result().unwrap()
}

/// The same shape on any peer: submit both children, block on both.
fn fib_peer<S: Submit>(sub: &S, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (s1, s2) = (sub.clone(), sub.clone());
    let a = sub.submit(move || fib_peer(&s1, n - 1));
    let b = sub.submit(move || fib_peer(&s2, n - 2));
    a.join() + b.join()
}

fn fib_join(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = rayon::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

fn fib_scope(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (mut a, mut b) = (0, 0);
    rayon::scope(|s| {
        s.spawn(|_| a = fib_scope(n - 1));
        s.spawn(|_| b = fib_scope(n - 2));
    });
    a + b
}

/// Times whole fib(N) runs covering `iters` nodes; returns the time scaled
/// to exactly `iters` nodes.
fn per_node(iters: u64, mut run: impl FnMut() -> u64) -> Duration {
    let runs = iters.div_ceil(NODES).max(1);
    let start = Instant::now();
    for _ in 0..runs {
        assert_eq!(black_box(run()), 75_025);
    }
    start
        .elapsed()
        .mul_f64(iters as f64 / (runs * NODES) as f64)
}

/// One fib(N) on a fresh `pool`, on a helper thread, with a timeout.
fn probe<S: Submit>(pool: Pool<S>) {
    let name = pool.name;
    let sub = pool.sub.clone();
    let start = Instant::now();
    let outcome = peers::with_timeout(PROBE_TIMEOUT, move || {
        let root = sub.clone();
        sub.submit(move || fib_peer(&root, N)).join()
    });
    match outcome {
        Some(v) => {
            assert_eq!(v, 75_025);
            let took = start.elapsed();
            let what = format!(
                "completed in {took:.2?} ({:.1} ns/node)",
                took.as_nanos() as f64 / NODES as f64
            );
            peers::measure::report("fork-join fib(25)", name, &what);
            println!("fork_join/{name}: {what}");
        }
        None => {
            peers::measure::report("fork-join fib(25)", name, "deadlocked (timed out)");
            println!("fork_join/{name}: deadlocked (timed out after {PROBE_TIMEOUT:?})");
            pool.leak();
        }
    }
}

fn fork_join(c: &mut Criterion) {
    let workers = peers::measure::cpus();
    let mut group = c.benchmark_group("fork_join_per_node");
    peers::measure::flat(&mut group);
    let pool = ThreadPool::new(workers).unwrap();
    group.bench_function("stealpool", |b| {
        b.iter_custom(|iters| {
            per_node(iters, || {
                pool.submit(|| fib_stealpool(N)).unwrap().result().unwrap()
            })
        })
    });
    group.bench_function("stealpool current()", |b| {
        b.iter_custom(|iters| {
            per_node(iters, || {
                pool.submit(|| fib_stealpool_owned(N))
                    .unwrap()
                    .result()
                    .unwrap()
            })
        })
    });
    group.bench_function("stealpool join", |b| {
        b.iter_custom(|iters| {
            per_node(iters, || {
                pool.submit(|| fib_stealpool_join(N))
                    .unwrap()
                    .result()
                    .unwrap()
            })
        })
    });
    group.bench_function("stealpool scope", |b| {
        b.iter_custom(|iters| {
            per_node(iters, || {
                pool.submit(|| fib_stealpool_scope(N))
                    .unwrap()
                    .result()
                    .unwrap()
            })
        })
    });
    group.bench_function("stealpool captured clone", |b| {
        b.iter_custom(|iters| {
            per_node(iters, || {
                let p = pool.clone();
                pool.submit(move || fib_stealpool_captured(p, N))
                    .unwrap()
                    .result()
                    .unwrap()
            })
        })
    });
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .unwrap();
    group.bench_function("rayon join", |b| {
        b.iter_custom(|iters| per_node(iters, || rayon.install(|| fib_join(N))))
    });
    group.bench_function("rayon scope", |b| {
        b.iter_custom(|iters| per_node(iters, || rayon.install(|| fib_scope(N))))
    });
    group.bench_function("sequential", |b| {
        b.iter_custom(|iters| per_node(iters, || fib_seq(black_box(N))))
    });
    group.finish();

    probe(peers::simple::new(workers));
    probe(peers::threadpool::new(workers));
    probe(peers::rayon_spawn::new(workers));
    probe(peers::tokio::spawn(workers));
    probe(peers::tokio::blocking(workers));
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = fork_join
}
criterion_main!(benches);
