//! Loom models of stealpool's concurrency protocol. Each module checks one
//! protocol against the crate's real code, built with `--cfg stealpool_loom`
//! so that every atomic, lock, cell and park in the pool is loom's.
//!
//! Run: `.ci/loom` (or `RUSTFLAGS="--cfg stealpool_loom" cargo test --release
//! --test loom`, with `LOOM_MAX_PREEMPTIONS` to bound the search).
#![cfg(stealpool_loom)]

mod async_waker;
mod blocking_wait;
mod broadcast;
mod callbacks;
mod cancel_race;
mod extra_retire;
mod scope;
mod shutdown_race;
mod sleep_wake;
mod stolen_wait;
mod then;
mod wait_idle;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Runs `f` under loom's explorer (bounds from the `LOOM_*` environment) and
/// prints how many interleavings it checked, so a model that stopped
/// exploring (one interleaving) shows up in the log.
///
/// The counters in the models are `std` atomics on purpose: they are
/// oracles, not part of the protocol, and loom runs one modelled thread at a
/// time on one OS thread, so they are always exact.
pub(crate) fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    run_model(name, loom::model::Builder::new(), f);
}

/// [`model`] with at least `min` preemptions, whatever the environment asks
/// for: for a model whose bug needs that many to show (each such model says
/// which mutation it was checked against).
pub(crate) fn model_preempting(name: &str, min: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(min, |n| n.max(min)));
    run_model(name, builder, f);
}

fn run_model(name: &str, builder: loom::model::Builder, f: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    eprintln!("loom model {name}: {} interleavings", runs.load(Relaxed));
}

/// Counts runs and drops of the things a model creates.
#[derive(Clone, Default)]
pub(crate) struct Tally(Arc<AtomicUsize>);

impl Tally {
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Relaxed)
    }
}

/// Bumps its tally when dropped: moved into a closure, it tells when the
/// closure was dropped.
pub(crate) struct DropFlag(pub(crate) Tally);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.bump();
    }
}
