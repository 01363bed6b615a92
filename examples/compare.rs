//! stealpool against the pool it replaces (one `Mutex<VecDeque>` + `Condvar`
//! queue shared by every worker), on short versions of the benchmark
//! workloads, in one process:
//!
//! ```sh
//! cargo run --release --example compare          # under a minute
//! COMPARE_SHORT=1 cargo run --release --example compare   # a few seconds
//! ```
//!
//! Each figure is the median of a few runs. `cargo bench` has the full
//! suite with more peers (threadpool, rayon, tokio).

#[path = "../benches/peers/embed.rs"]
mod embed;
#[path = "../benches/peers/fib.rs"]
mod fib;
#[path = "../benches/peers/hop.rs"]
mod hop;
#[path = "../benches/peers/simple_pool.rs"]
mod simple_pool;

use embed::{embed, Checksum, Vector};
use fib::fib_stealpool;
use hop::hop_stealpool;
use simple_pool::{SimpleHandle, SimplePool, SimpleSpawner};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

/// Workload sizes: the full ones, or a tenth-ish for CI.
struct Sizes {
    runs: usize,
    docs: usize,
    tiny: u64,
    fib: u64,
    map: u64,
    round_trips: usize,
    io_tasks: usize,
    chain: u64,
}

impl Sizes {
    fn pick() -> Sizes {
        if std::env::var_os("COMPARE_SHORT").is_some_and(|v| v != "0") {
            Sizes {
                runs: 3,
                docs: 5_000,
                tiny: 20_000,
                fib: 18,
                map: 100_000,
                round_trips: 2_000,
                io_tasks: 256,
                chain: 2_000,
            }
        } else {
            Sizes {
                runs: 5,
                docs: 100_000,
                tiny: 200_000,
                fib: 25,
                map: 1_000_000,
                round_trips: 20_000,
                io_tasks: 2_000,
                chain: 10_000,
            }
        }
    }
}

/// The median of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..runs).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// About 100 ns of dependent arithmetic.
fn item(x: u64) -> u64 {
    let mut h = black_box(x);
    for _ in 0..85 {
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x;
    }
    h
}

// 1. Embedding: 1 KiB vectors of short documents (benches/peers/embed.rs),
// folded in order into a checksum; `pool.map` as is, the simple pool fed
// by hand in chunks of 256 documents, 4 chunks per worker in flight.

fn embed_stealpool(pool: &ThreadPool, corpus: &Arc<Vec<String>>) -> (f64, Checksum) {
    let start = Instant::now();
    let docs = corpus.clone();
    let mut sum = Checksum(0);
    for v in pool.map(move |i: usize| embed(&docs[i]), 0..corpus.len()) {
        sum.add(&v.unwrap());
    }
    (start.elapsed().as_secs_f64() * 1e3, sum)
}

fn embed_simple(pool: &SimplePool, workers: usize, corpus: &Arc<Vec<String>>) -> (f64, Checksum) {
    const CHUNK: usize = 256;
    let start = Instant::now();
    let mut sum = Checksum(0);
    let mut in_flight: VecDeque<SimpleHandle<Vec<Vector>>> = VecDeque::new();
    let mut starts = (0..corpus.len()).step_by(CHUNK);
    loop {
        while in_flight.len() < 4 * workers {
            let Some(first) = starts.next() else { break };
            let docs = corpus.clone();
            in_flight.push_back(pool.submit(move || {
                let end = (first + CHUNK).min(docs.len());
                docs[first..end].iter().map(|d| embed(d)).collect()
            }));
        }
        let Some(oldest) = in_flight.pop_front() else {
            break;
        };
        for v in &oldest.result().unwrap() {
            sum.add(v);
        }
    }
    (start.elapsed().as_secs_f64() * 1e3, sum)
}

// 2. Tiny tasks: submit n no-ops from outside, then collect every result.

fn tiny_stealpool(pool: &ThreadPool, n: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| pool.submit(move || i).unwrap()).collect();
    for h in handles {
        black_box(h.result().unwrap());
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn tiny_simple(pool: &SimplePool, n: u64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| pool.submit(move || i)).collect();
    for h in handles {
        black_box(h.result().unwrap());
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

// 3. Nested fork-join: fib where every node submits both children and
// blocks on them.

fn fib_simple(pool: &SimpleSpawner, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (p1, p2) = (pool.clone(), pool.clone());
    let a = pool.submit(move || fib_simple(&p1, n - 1));
    let b = pool.submit(move || fib_simple(&p2, n - 2));
    a.result().unwrap() + b.result().unwrap()
}

/// Runs fib(n) on a fresh simple pool on a helper thread; `None` if it
/// has not finished by `timeout` (it deadlocked: every worker waits on a
/// child nobody can run). The stuck pool and thread are left parked.
fn fib_simple_probe(workers: usize, n: u64, timeout: Duration) -> Option<f64> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let pool = SimplePool::new(workers);
        let spawner = pool.spawner();
        let start = Instant::now();
        let root = spawner.clone();
        let v = spawner.submit(move || fib_simple(&root, n)).result();
        let _ = tx.send((v, start.elapsed()));
    });
    let (_, took) = rx.recv_timeout(timeout).ok()?;
    Some(took.as_secs_f64() * 1e3)
}

fn nodes(n: u64) -> u64 {
    // fib(n) makes 2 * fib(n + 1) - 1 calls.
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n + 1 {
        (a, b) = (b, a + b);
    }
    2 * a - 1
}

// 4. Ordered map: results in input order.

fn map_stealpool(pool: &ThreadPool, n: u64) -> f64 {
    let start = Instant::now();
    let out: Vec<u64> = pool.map(item, 0..n).collect::<Result<_, _>>().unwrap();
    black_box(out);
    start.elapsed().as_secs_f64() * 1e3
}

fn map_simple(pool: &SimplePool, n: u64) -> f64 {
    const CHUNK: u64 = 10_000;
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .step_by(CHUNK as usize)
        .map(|lo| {
            let hi = (lo + CHUNK).min(n);
            pool.submit(move || (lo..hi).map(item).collect::<Vec<u64>>())
        })
        .collect();
    let mut out = Vec::with_capacity(n as usize);
    for h in handles {
        out.extend(h.result().unwrap());
    }
    black_box(out);
    start.elapsed().as_secs_f64() * 1e3
}

// 5. Round trip: submit one task and block on it, p50 in microseconds.

fn p50(mut samples: Vec<Duration>) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn round_trip_stealpool(pool: &ThreadPool, n: usize) -> f64 {
    p50((0..n)
        .map(|_| {
            let start = Instant::now();
            black_box(pool.submit(|| 1).unwrap().result().unwrap());
            start.elapsed()
        })
        .collect())
}

fn round_trip_simple(pool: &SimplePool, n: usize) -> f64 {
    p50((0..n)
        .map(|_| {
            let start = Instant::now();
            black_box(pool.submit(|| 1).result().unwrap());
            start.elapsed()
        })
        .collect())
}

// 6. Simulated I/O: tasks that sleep 1 ms each on 64 workers.

const IO_WORKERS: usize = 64;

fn io_stealpool(pool: &ThreadPool, n: usize) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            pool.submit(|| std::thread::sleep(Duration::from_millis(1)))
                .unwrap()
        })
        .collect();
    for h in stealpool::as_completed(handles) {
        h.result().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e3
}

fn io_simple(pool: &SimplePool, n: usize) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| pool.submit(|| std::thread::sleep(Duration::from_millis(1))))
        .collect();
    for h in handles {
        h.result().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e3
}

// 7. Chained submission: each task submits the next; ns per hop.

fn chain_stealpool(pool: &ThreadPool, depth: u64) -> f64 {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let done = move || {
        let _ = tx.send(());
    };
    drop(pool.submit(move || hop_stealpool(depth - 1, done)));
    rx.recv().unwrap();
    start.elapsed().as_nanos() as f64 / depth as f64
}

fn hop_simple(pool: SimpleSpawner, left: u64, done: mpsc::Sender<()>) {
    if left == 0 {
        let _ = done.send(());
        return;
    }
    let next = pool.clone();
    drop(pool.submit(move || hop_simple(next, left - 1, done)));
}

fn chain_simple(pool: &SimplePool, depth: u64) -> f64 {
    let (tx, rx) = mpsc::channel();
    let spawner = pool.spawner();
    let start = Instant::now();
    drop(pool.submit(move || hop_simple(spawner, depth - 1, tx)));
    rx.recv().unwrap();
    start.elapsed().as_nanos() as f64 / depth as f64
}

fn row(workload: &str, unit: &str, ours: f64, theirs: Option<f64>) {
    let (theirs, ratio) = match theirs {
        Some(t) => (format!("{t:.2} {unit}"), format!("{:.2}x", t / ours)),
        None => ("deadlocks".to_string(), "-".to_string()),
    };
    println!(
        "| {workload:<38} | {:>14} | {theirs:>14} | {ratio:>8} |",
        format!("{ours:.2} {unit}")
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s = Sizes::pick();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let pool = ThreadPool::new(workers)?;
    let simple = SimplePool::new(workers);

    println!(
        "stealpool vs a Mutex<VecDeque> + Condvar pool, {workers} workers, median of {} runs",
        s.runs
    );
    println!("speedup = simple pool's figure / stealpool's (higher is better for stealpool)\n");
    println!(
        "| {:<38} | {:>14} | {:>14} | {:>8} |",
        "workload", "stealpool", "simple pool", "speedup"
    );
    println!("|{:-<40}|{:-<16}|{:-<16}|{:-<10}|", "", "", "", "");

    let corpus = Arc::new(embed::corpus(s.docs));
    let expected = embed::sequential(&corpus);
    let ours = median(s.runs, || {
        let (ms, sum) = embed_stealpool(&pool, &corpus);
        assert_eq!(sum, expected, "map's vectors differ from the loop's");
        ms
    });
    let theirs = median(s.runs, || {
        let (ms, sum) = embed_simple(&simple, workers, &corpus);
        assert_eq!(sum, expected, "the simple pool's vectors differ");
        ms
    });
    let label = format!("1. embedding, map ({} docs)", s.docs);
    row(&label, "ms", ours, Some(theirs));

    let ours = median(s.runs, || tiny_stealpool(&pool, s.tiny));
    let theirs = median(s.runs, || tiny_simple(&simple, s.tiny));
    row(
        &format!("2. tiny tasks ({})", s.tiny),
        "ns",
        ours,
        Some(theirs),
    );

    let n = s.fib;
    let ours = median(s.runs, || {
        let start = Instant::now();
        black_box(
            pool.submit(move || fib_stealpool(n))
                .unwrap()
                .result()
                .unwrap(),
        );
        start.elapsed().as_secs_f64() * 1e3
    });
    let theirs = fib_simple_probe(workers, n, Duration::from_secs(1));
    let label = format!("3. fork-join fib({n}), {} nodes", nodes(n));
    row(&label, "ms", ours, theirs);

    let ours = median(s.runs, || map_stealpool(&pool, s.map));
    let theirs = median(s.runs, || map_simple(&simple, s.map));
    row(
        &format!("4. ordered map ({} items)", s.map),
        "ms",
        ours,
        Some(theirs),
    );

    std::thread::sleep(Duration::from_millis(20)); // idle pools, as specified
    let ours = median(s.runs, || round_trip_stealpool(&pool, s.round_trips));
    let theirs = median(s.runs, || round_trip_simple(&simple, s.round_trips));
    row("5. round trip, p50", "us", ours, Some(theirs));

    let io_pool = ThreadPool::new(IO_WORKERS)?;
    let io_simple_pool = SimplePool::new(IO_WORKERS);
    let ours = median(s.runs, || io_stealpool(&io_pool, s.io_tasks));
    let theirs = median(s.runs, || io_simple(&io_simple_pool, s.io_tasks));
    let label = format!("6. simulated I/O ({} x 1 ms, 64 w)", s.io_tasks);
    row(&label, "ms", ours, Some(theirs));

    let ours = median(s.runs, || chain_stealpool(&pool, s.chain));
    let theirs = median(s.runs, || chain_simple(&simple, s.chain));
    row(
        &format!("7. chained submission ({} deep)", s.chain),
        "ns",
        ours,
        Some(theirs),
    );

    println!(
        "\nideal for 6: {:.2} ms; finished in {:.1?}",
        s.io_tasks as f64 / IO_WORKERS as f64,
        started.elapsed()
    );
    Ok(())
}
