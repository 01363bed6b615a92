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

// The peer file marks its API `pub` for its includers; in this binary
// that `pub` reaches nothing, which the crate's lints deny by default.
#[allow(unreachable_pub)]
#[path = "../benches/peers/simple_pool.rs"]
mod simple_pool;

use simple_pool::{SimpleHandle, SimplePool};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

/// Vector width.
const DIM: usize = 256;
/// Documents per job on the simple pool.
const SIMPLE_CHUNK: usize = 256;
/// Runs of each way; the best is reported.
const ROUNDS: usize = 3;

type Vector = [f32; DIM];

/// A small deterministic generator (splitmix64): no `rand` crate needed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Document `id`: 8 to 24 words from a vocabulary of syllable compounds,
/// with a capital letter, commas and a full stop for the tokenizer to strip.
fn document(id: u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ner", "tor", "va", "qui", "sen", "dra", "pel", "ux", "ri", "bo", "shan",
        "te", "gol",
    ];
    let mut rng = SplitMix(id);
    let words = 8 + rng.below(17);
    let mut doc = String::new();
    for w in 0..words {
        // Skewed word lengths and syllables, so some words are common.
        let syllables = 1 + rng.below(3).min(rng.below(3));
        let start = doc.len();
        for _ in 0..syllables {
            let s = rng.below(16).min(rng.below(16)) as usize;
            doc.push_str(SYLLABLES[s]);
        }
        if w == 0 {
            doc[start..start + 1].make_ascii_uppercase();
        }
        doc.push_str(match rng.below(10) {
            0 => ", ",
            _ if w + 1 == words => ".",
            _ => " ",
        });
    }
    doc
}

/// FNV-1a over `bytes`, lowercased, from `seed`.
fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01B3)
    })
}

const WORD_SEED: u64 = 0xCBF2_9CE4_8422_2325;
const TRIGRAM_SEED: u64 = 0x8422_2325_CBF2_9CE4;
/// Longest word whose trigrams are hashed; longer words keep their start.
const MAX_WORD: usize = 30;

/// The hashed bag-of-words vector of one document, L2-normalized.
fn embed(doc: &str) -> Vector {
    let mut v = [0f32; DIM];
    let mut add = |h: u64| {
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[(h as usize) % DIM] += sign;
    };
    let mut previous: Option<u64> = None;
    for word in doc.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let h = fnv1a(WORD_SEED, word.as_bytes());
        add(h);
        let mut padded = [b'<'; MAX_WORD + 2];
        let len = word.len().min(MAX_WORD);
        padded[1..=len].copy_from_slice(&word.as_bytes()[..len]);
        padded[len + 1] = b'>';
        for trigram in padded[..len + 2].windows(3) {
            add(fnv1a(TRIGRAM_SEED, trigram));
        }
        if let Some(p) = previous {
            add((p ^ h.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)); // the pair
        }
        previous = Some(h);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Folds vectors in order into one number; equal only for equal bits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Checksum(u64);

impl Checksum {
    fn add(&mut self, v: &Vector) {
        // Each lane's bits are mixed with a lane-dependent constant, so a
        // changed or moved bit changes the sum (and the loop vectorizes).
        let digest = v.iter().zip(1u32..).fold(0u64, |d, (x, k)| {
            d.wrapping_add(u64::from(x.to_bits() ^ k.wrapping_mul(0x9E37_79B9)))
        });
        self.0 = (self.0 ^ digest).wrapping_mul(0x0100_0000_01B3);
    }
}

fn sequential(corpus: &[String]) -> Checksum {
    let mut sum = Checksum(0);
    for doc in corpus {
        sum.add(&embed(doc));
    }
    sum
}

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
    let corpus: Arc<Vec<String>> = Arc::new((0..docs as u64).map(document).collect());
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
