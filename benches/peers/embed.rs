//! The embedding workload, shared by benches/embedding.rs and
//! examples/embedding.rs: turn short documents into fixed-size hashed
//! bag-of-words vectors, the way a search index or a classifier
//! featurizes text.
//!
//! Each document is tokenized (lowercase alphanumeric runs); every word,
//! word pair and character trigram (fastText-style, `<word>` padded) is
//! hashed (FNV-1a) into one of 256 buckets with a hash-chosen sign; the
//! vector is L2-normalized. Documents (8 to 24 words) come from a
//! deterministic generator, so every run sees the same text. A consumer
//! folds every vector, in order, into a [`Checksum`], so all ways of
//! running the job can be checked to agree bit for bit.
#![allow(dead_code)]

/// Vector width.
pub(crate) const DIM: usize = 256;

/// One document's vector: 1 KiB.
pub(crate) type Vector = [f32; DIM];

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
pub(crate) fn document(id: u64) -> String {
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

/// The corpus of documents `0..n`.
pub(crate) fn corpus(n: usize) -> Vec<String> {
    (0..n as u64).map(document).collect()
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
pub(crate) fn embed(doc: &str) -> Vector {
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
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Checksum(pub(crate) u64);

impl Checksum {
    pub(crate) fn add(&mut self, v: &Vector) {
        // Each lane's bits are mixed with a lane-dependent constant, so a
        // changed or moved bit changes the sum (and the loop vectorizes).
        let digest = v.iter().zip(1u32..).fold(0u64, |d, (x, k)| {
            d.wrapping_add(u64::from(x.to_bits() ^ k.wrapping_mul(0x9E37_79B9)))
        });
        self.0 = (self.0 ^ digest).wrapping_mul(0x0100_0000_01B3);
    }
}

/// The sequential loop: the baseline every pool must beat.
pub(crate) fn sequential(corpus: &[String]) -> Checksum {
    let mut sum = Checksum(0);
    for doc in corpus {
        sum.add(&embed(doc));
    }
    sum
}
