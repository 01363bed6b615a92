//! Idle workers: searching -> sleeping -> woken, with no lost wake-ups.
//! The protocol, its counters and the races it closes are told in DESIGN.md,
//! "Sleep and wake"; each SeqCst fence here is one side of a pair named there.

use crate::sync::{fence, park, park_timeout, AtomicBool, AtomicU64, Instant, Mutex, Thread};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};

// The state word packs four 12-bit counters and three flags:
//   bits  0..12  searching: workers looking for work and not asleep
//   bits 12..24  sleeping: entries in the idle list (main-loop and helpers)
//   bits 24..36  idle: main-loop sleepers (a subset of sleeping)
//   bits 36..48  live: worker threads started and not retired
//   bit  48      SHUTDOWN: no submissions from outside the pool
//   bit  49      TERMINATE: workers exit
//   bit  50      BROKEN: an initializer panicked; run nothing
// It is only ever changed by RMWs.
const ONE_SEARCHING: u64 = 1;
const ONE_SLEEPING: u64 = 1 << 12;
const ONE_IDLE: u64 = 1 << 24;
const ONE_LIVE: u64 = 1 << 36;
const FIELD: u64 = 0xFFF;
const SHUTDOWN: u64 = 1 << 48;
const TERMINATE: u64 = 1 << 49;
const BROKEN: u64 = 1 << 50;

/// The most worker threads (regular plus blocking-section extras) the
/// counters can hold.
pub(crate) const MAX_THREADS: usize = FIELD as usize;

fn searching(s: u64) -> u64 {
    s & FIELD
}

fn sleeping(s: u64) -> u64 {
    (s >> 12) & FIELD
}

fn idle(s: u64) -> u64 {
    (s >> 24) & FIELD
}

fn live(s: u64) -> u64 {
    (s >> 36) & FIELD
}

/// What kind of sleeper is parking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SleepKind {
    /// A worker in its main loop with nothing to do.
    Main,
    /// A worker blocked in a wait inside a task; it is not idle.
    Helper,
}

/// Why a sleeper returned.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Woke {
    /// A notifier took it off the idle list and counted it as searching.
    Notified,
    /// It took itself off the idle list (work appeared, its condition came
    /// true, or its deadline passed); it is not counted as searching.
    Unregistered,
    /// The pool is terminating: the worker must exit.
    Terminate,
}

/// A snapshot of the pool-wide flags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flags(u64);

impl Flags {
    pub(crate) fn shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }

    pub(crate) fn broken(self) -> bool {
        self.0 & BROKEN != 0
    }
}

struct Slot {
    /// Set (under the idle lock) by the notifier that popped this worker.
    notified: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

/// The sleep state shared by all workers of one pool.
pub(crate) struct Sleep {
    state: CachePadded<AtomicU64>,
    /// Parked workers, most recent last (woken first: its cache is warmest).
    idle: Mutex<Vec<(usize, SleepKind)>>,
    slots: Box<[CachePadded<Slot>]>,
}

impl Sleep {
    /// Sleep state for `slots` worker slots, of which `live` start now.
    pub(crate) fn new(slots: usize, live: usize) -> Self {
        let slots: Box<[CachePadded<Slot>]> = (0..slots)
            .map(|_| {
                CachePadded::new(Slot {
                    notified: AtomicBool::new(false),
                    thread: Mutex::new(None),
                })
            })
            .collect();
        Self {
            idle: Mutex::new(Vec::with_capacity(slots.len())),
            state: CachePadded::new(AtomicU64::new(live as u64 * ONE_LIVE)),
            slots,
        }
    }

    /// Records the thread to unpark for worker `index`; called by the worker
    /// itself before it can ever be on the idle list.
    pub(crate) fn register_thread(&self, index: usize, thread: Thread) {
        *self.slots[index].thread.lock() = Some(thread);
    }

    pub(crate) fn flags(&self) -> Flags {
        Flags(self.state.load(SeqCst))
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.state.load(SeqCst) & TERMINATE != 0
    }

    /// Called after every push of new work: side A of the submit/sleep pair.
    /// Wakes one sleeper if nobody is searching. Returns the flags it read,
    /// for submit's shutdown check.
    #[inline]
    pub(crate) fn new_work(&self) -> Flags {
        fence(SeqCst);
        let s = self.state.load(SeqCst);
        if searching(s) == 0 && sleeping(s) > 0 {
            self.wake_one_cold();
        }
        Flags(s)
    }

    pub(crate) fn start_searching(&self) {
        self.state.fetch_add(ONE_SEARCHING, SeqCst);
    }

    /// A searcher stops searching (it found work, or returns to its task).
    /// If it was the last one, it re-checks for queued work that a submitter
    /// left to it and wakes a sleeper for that work.
    pub(crate) fn stop_searching(&self, has_work: impl Fn() -> bool) {
        let prev = self.state.fetch_sub(ONE_SEARCHING, SeqCst);
        debug_assert!(searching(prev) > 0, "searching count underflow");
        if searching(prev) == 1 && sleeping(prev) > 0 {
            fence(SeqCst);
            if has_work() {
                self.wake_one_cold();
            }
        }
    }

    /// Parks worker `index` until it is notified, `cond` holds, `deadline`
    /// passes or the pool terminates. `was_searching` says whether the
    /// caller is counted as searching (it no longer is on return, except
    /// after `Woke::Notified`).
    pub(crate) fn sleep(
        &self,
        index: usize,
        kind: SleepKind,
        was_searching: bool,
        has_work: &dyn Fn() -> bool,
        cond: &dyn Fn() -> bool,
        deadline: Option<Instant>,
    ) -> Woke {
        let add = ONE_SLEEPING + if kind == SleepKind::Main { ONE_IDLE } else { 0 };
        let sub = if was_searching { ONE_SEARCHING } else { 0 };
        let now = {
            let mut list = self.idle.lock();
            list.push((index, kind));
            self.state
                .fetch_add(add.wrapping_sub(sub), SeqCst)
                .wrapping_add(add)
                .wrapping_sub(sub)
        };
        // Side B of the submit/sleep pair: the registration above is ordered
        // before the re-check below.
        fence(SeqCst);
        if now & TERMINATE != 0 {
            return Woke::Terminate;
        }
        if has_work() || cond() {
            return self.unregister(index);
        }
        if kind == SleepKind::Main && self.all_idle_after_shutdown(now) {
            self.terminate();
            return Woke::Terminate;
        }
        let slot = &self.slots[index];
        loop {
            // ORDERING: Acquire pairs with the notifier's Release store.
            if slot.notified.swap(false, Acquire) {
                return Woke::Notified;
            }
            if kind == SleepKind::Main && self.is_terminated() {
                return Woke::Terminate;
            }
            if cond() {
                return self.unregister(index);
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return self.unregister(index);
                    }
                    park_timeout(d - now);
                }
            }
        }
    }

    /// Every live worker is idle in a shut-down pool: no task is running, so
    /// none can be submitted from inside, and outside submissions are
    /// refused. The caller has just changed the word and re-checked the
    /// queues after a fence, so if nothing is queued the pool may terminate.
    fn all_idle_after_shutdown(&self, now: u64) -> bool {
        now & SHUTDOWN != 0 && idle(now) == live(now)
    }

    /// A thread is about to start as an extra worker.
    pub(crate) fn add_live(&self) {
        self.state.fetch_add(ONE_LIVE, SeqCst);
    }

    /// An extra worker retires (it is not searching and not on the idle
    /// list). If it was the last one awake in a shut-down pool, it
    /// terminates the pool, as the last sleeper would.
    pub(crate) fn remove_live(&self, has_work: &dyn Fn() -> bool) {
        let now = self.state.fetch_sub(ONE_LIVE, SeqCst) - ONE_LIVE;
        fence(SeqCst);
        if self.all_idle_after_shutdown(now) && !has_work() {
            self.terminate();
        }
    }

    /// Takes `index` off the idle list, unless a notifier already did.
    fn unregister(&self, index: usize) -> Woke {
        let mut list = self.idle.lock();
        match list.iter().position(|&(i, _)| i == index) {
            Some(pos) => {
                let (_, kind) = list.remove(pos);
                self.state.fetch_sub(Self::sleeper_weight(kind), SeqCst);
                Woke::Unregistered
            }
            None => {
                drop(list);
                // The notifier set `notified` under the lock we just held.
                // ORDERING: Acquire pairs with the notifier's Release store.
                let was_notified = self.slots[index].notified.swap(false, Acquire);
                debug_assert!(was_notified, "worker left the idle list unnotified");
                Woke::Notified
            }
        }
    }

    fn sleeper_weight(kind: SleepKind) -> u64 {
        ONE_SLEEPING + if kind == SleepKind::Main { ONE_IDLE } else { 0 }
    }

    /// Pops one sleeper, counts it as searching, and unparks it.
    #[cold]
    fn wake_one_cold(&self) -> bool {
        let index = {
            let mut list = self.idle.lock();
            let Some((index, kind)) = list.pop() else {
                return false;
            };
            self.state.fetch_add(
                ONE_SEARCHING.wrapping_sub(Self::sleeper_weight(kind)),
                SeqCst,
            );
            // ORDERING: Release pairs with the sleeper's Acquire swap.
            self.slots[index].notified.store(true, Release);
            index
        };
        self.unpark(index);
        true
    }

    fn unpark(&self, index: usize) {
        if let Some(thread) = self.slots[index].thread.lock().as_ref() {
            thread.unpark();
        }
    }

    /// Wakes every sleeper (shutdown, termination).
    pub(crate) fn wake_all(&self) {
        while self.wake_one_cold() {}
    }

    /// Stops outside submissions; sleepers wake to re-check for termination.
    pub(crate) fn shutdown(&self) {
        self.state.fetch_or(SHUTDOWN, SeqCst);
        self.wake_all();
    }

    /// Marks the pool broken (and shut down).
    pub(crate) fn set_broken(&self) {
        self.state.fetch_or(BROKEN | SHUTDOWN, SeqCst);
        self.wake_all();
    }

    /// Tells every worker to exit as soon as it is idle.
    pub(crate) fn terminate(&self) {
        self.state.fetch_or(TERMINATE, SeqCst);
        self.wake_all();
    }
}
