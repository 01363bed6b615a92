//! A CPU-bound batch job: turn a corpus of short documents into fixed-size
//! hashed bag-of-words vectors, the way a search index or a classifier
//! featurizes text, and compare ways of running it.
//!
//! Each document is tokenized (lowercase alphanumeric runs); every word,
//! word pair and character trigram (fastText-style, `<word>` padded) is
//! hashed (FNV-1a) into one of 256 buckets with a hash-chosen sign; the
//! vector is L2-normalized. The corpus (200,000 documents of 8 to 24 words
//! by default) comes from a deterministic generator, so every run sees the
//! same text. The same work runs:
//! - with `pool.map` on a stealpool pool of one worker per core (automatic
//!   chunks, results in input order),
//! - on a simple shared-queue pool (one `Mutex<VecDeque>`, the design
//!   stealpool replaces) fed by hand: chunks of 256 documents, at most 4
//!   chunks per worker in flight, collected in order,
//! - on stealpool fed by hand exactly like the simple pool, to tell the
//!   pool itself apart from `map`'s chunking,
//! - in a sequential loop.
//!
//! The consumer folds every vector, in order, into a checksum; all ways
//! must agree bit for bit. Each way runs 3 times, the rounds interleaved;
//! the best documents/s and the spread are printed. `EMBED_DOCS` sets the
//! corpus size.
//!
//! Run: `cargo run --release --example embedding`

// The peer files mark their API `pub` for their includers; in this binary
// that `pub` reaches nothing, which the crate's lints deny by default.
#[allow(unreachable_pub)]
#[path = "../benches/peers/embed.rs"]
mod embed;
#[allow(unreachable_pub)]
#[path = "../benches/peers/simple_pool.rs"]
mod simple_pool;

use embed::{embed, sequential, Checksum, Vector, DIM};
use simple_pool::{SimpleHandle, SimplePool};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

/// Documents per job on the simple pool.
const SIMPLE_CHUNK: usize = 256;
/// Runs of each way; the best is reported.
const ROUNDS: usize = 3;

fn with_stealpool(
    pool: &ThreadPool,
    corpus: &Arc<Vec<String>>,
) -> Result<Checksum, stealpool::TaskError> {
    let docs = corpus.clone();
    let mut sum = Checksum(0);
    for v in pool.map(move |i: usize| embed(&docs[i]), 0..corpus.len()) {
        sum.add(&v?);
    }
    Ok(sum)
}

fn with_simple_pool(pool: &SimplePool, workers: usize, corpus: &Arc<Vec<String>>) -> Checksum {
    let mut sum = Checksum(0);
    let mut in_flight: VecDeque<SimpleHandle<Vec<Vector>>> = VecDeque::new();
    let mut starts = (0..corpus.len()).step_by(SIMPLE_CHUNK);
    loop {
        while in_flight.len() < 4 * workers {
            let Some(start) = starts.next() else { break };
            let docs = corpus.clone();
            in_flight.push_back(pool.submit(move || {
                let end = (start + SIMPLE_CHUNK).min(docs.len());
                docs[start..end].iter().map(|d| embed(d)).collect()
            }));
        }
        let Some(oldest) = in_flight.pop_front() else {
            break;
        };
        let vectors = oldest
            .result()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        for v in &vectors {
            sum.add(v);
        }
    }
    sum
}

/// Submits the corpus to stealpool by hand exactly as `with_simple_pool`
/// does, to tell the pool's cost apart from `map`'s chunking.
fn with_stealpool_chunks(
    pool: &ThreadPool,
    workers: usize,
    corpus: &Arc<Vec<String>>,
) -> Result<Checksum, Box<dyn std::error::Error>> {
    let mut sum = Checksum(0);
    let mut in_flight = VecDeque::new();
    let mut starts = (0..corpus.len()).step_by(SIMPLE_CHUNK);
    loop {
        while in_flight.len() < 4 * workers {
            let Some(start) = starts.next() else { break };
            let docs = corpus.clone();
            in_flight.push_back(pool.submit(move || {
                let end = (start + SIMPLE_CHUNK).min(docs.len());
                docs[start..end]
                    .iter()
                    .map(|d| embed(d))
                    .collect::<Vec<_>>()
            })?);
        }
        let Some(oldest) = in_flight.pop_front() else {
            break;
        };
        for v in &oldest.result()? {
            sum.add(v);
        }
    }
    Ok(sum)
}

type Way<'a> = Box<dyn FnMut() -> Result<Checksum, Box<dyn std::error::Error>> + 'a>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let docs: usize = std::env::var("EMBED_DOCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());

    let start = Instant::now();
    let corpus: Arc<Vec<String>> = Arc::new(embed::corpus(docs));
    let bytes: usize = corpus.iter().map(String::len).sum();
    println!(
        "corpus: {docs} documents, {bytes} bytes, generated in {:.0?}; e.g. {:?}",
        start.elapsed(),
        corpus.first().map_or("", String::as_str)
    );

    let pool = ThreadPool::new(workers)?;
    let simple = SimplePool::new(workers);
    let mut ways: Vec<(&str, Way)> = vec![
        (
            "stealpool map",
            Box::new(|| Ok(with_stealpool(&pool, &corpus)?)),
        ),
        (
            "simple shared-queue pool",
            Box::new(|| Ok(with_simple_pool(&simple, workers, &corpus))),
        ),
        (
            "stealpool, same chunks",
            Box::new(|| with_stealpool_chunks(&pool, workers, &corpus)),
        ),
        ("sequential loop", Box::new(|| Ok(sequential(&corpus)))),
    ];
    // Rounds interleave the ways, so a change in the machine's load during
    // the run hits every way alike.
    let mut results: Vec<(Checksum, Vec<Duration>)> = vec![(Checksum(0), Vec::new()); ways.len()];
    for _ in 0..ROUNDS {
        for ((_, way), (sum, times)) in ways.iter_mut().zip(&mut results) {
            let start = Instant::now();
            let s = way()?;
            times.push(start.elapsed());
            assert!(
                times.len() == 1 || s == *sum,
                "a run gave a different checksum"
            );
            *sum = s;
        }
    }

    println!(
        "{DIM}-dim vectors, {workers} workers (one per core), best of {ROUNDS} interleaved runs:"
    );
    let rate = |t: &Duration| docs as f64 / t.as_secs_f64();
    for ((name, _), (sum, times)) in ways.iter().zip(&results) {
        let best = times.iter().min().expect("rounds");
        let worst = times.iter().max().expect("rounds");
        println!(
            "  {name:<25} {:>9.0} docs/s  (runs {:>4} to {:>4} ms)  checksum {:016x}",
            rate(best),
            best.as_millis(),
            worst.as_millis(),
            sum.0
        );
    }
    let reference = results[0].0;
    let identical = results.iter().all(|(sum, _)| *sum == reference);
    println!(
        "all ways produced identical vectors: {identical} (checksum {:016x})",
        reference.0
    );
    assert!(identical, "the ways disagree");
    Ok(())
}
