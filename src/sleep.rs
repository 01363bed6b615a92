//! Idle workers: searching -> sleeping -> woken, with no lost wake-ups.
//! The protocol, its counters and the races it closes are told in DESIGN.md,
//! "Sleep and wake"; each SeqCst fence here is one side of a pair named there.

use crate::sync::{
    fence, park, park_timeout, thread, AtomicBool, AtomicU64, AtomicUsize, Instant, Mutex, Thread,
};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};

// The state word packs four 12-bit counters and three flags:
//   bits  0..12  searching: workers looking for work and not asleep
//   bits 12..24  sleeping: entries in the idle list (main-loop and helpers)
//   bits 24..36  idle: committed main-loop sleepers (a subset of sleeping)
//   bits 36..48  live: worker threads started and not retired
//   bit  48      SHUTDOWN: no submissions from outside the pool
//   bit  49      TERMINATE: workers exit
//   bit  50      BROKEN: an initializer panicked; run nothing
//   bit  51      IDLE_WAITERS: a thread waits in `wait_idle`
// It is only ever changed by RMWs.
const ONE_SEARCHING: u64 = 1;
const ONE_SLEEPING: u64 = 1 << 12;
const ONE_IDLE: u64 = 1 << 24;
const ONE_LIVE: u64 = 1 << 36;
const FIELD: u64 = 0xFFF;
const SHUTDOWN: u64 = 1 << 48;
const TERMINATE: u64 = 1 << 49;
const BROKEN: u64 = 1 << 50;
const IDLE_WAITERS: u64 = 1 << 51;

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

/// What `Sleep::end_if_last` decided.
#[must_use]
enum Ending {
    /// TERMINATE is set (by this call or another): workers exit.
    Terminated,
    /// Some worker is still awake, or the pool is not shut down: park.
    Park,
    /// Every worker is idle in a shut-down pool but a queue holds an entry:
    /// someone must wake up and drain it.
    Drain,
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

/// An idle-list entry. `committed` entries are counted in `idle` too.
#[derive(Clone, Copy, Debug)]
struct Entry {
    index: usize,
    committed: bool,
}

impl Entry {
    /// What the entry adds to the state word.
    fn weight(self) -> u64 {
        ONE_SLEEPING + if self.committed { ONE_IDLE } else { 0 }
    }
}

struct Slot {
    /// Set (under the idle lock) by the notifier that popped this worker.
    notified: AtomicBool,
    /// While the worker is parked inside a task's wait: the worker running
    /// the awaited task (index + 1); 0 otherwise (`worker::help`).
    waits_on: AtomicUsize,
    thread: Mutex<Option<Thread>>,
}

/// The sleep state shared by all workers of one pool.
pub(crate) struct Sleep {
    state: CachePadded<AtomicU64>,
    /// Parked workers, most recent last (woken first: its cache is warmest).
    idle: Mutex<Vec<Entry>>,
    slots: Box<[CachePadded<Slot>]>,
    /// A read-mostly copy of BROKEN for the per-task check.
    broken: AtomicBool,
    /// Threads in `wait_idle`; non-empty exactly when IDLE_WAITERS is set
    /// (both change under this lock).
    idle_waiters: Mutex<Vec<Thread>>,
}

impl Sleep {
    /// Sleep state for `slots` worker slots, of which `live` start now.
    pub(crate) fn new(slots: usize, live: usize) -> Self {
        let slots: Box<[CachePadded<Slot>]> = (0..slots)
            .map(|_| {
                CachePadded::new(Slot {
                    notified: AtomicBool::new(false),
                    waits_on: AtomicUsize::new(0),
                    thread: Mutex::new(None),
                })
            })
            .collect();
        Self {
            idle: Mutex::new(Vec::with_capacity(slots.len())),
            state: CachePadded::new(AtomicU64::new(live as u64 * ONE_LIVE)),
            slots,
            broken: AtomicBool::new(false),
            idle_waiters: Mutex::new(Vec::new()),
        }
    }

    /// Records the thread to unpark for worker `index`; called by the worker
    /// itself before it can ever be on the idle list.
    pub(crate) fn register_thread(&self, index: usize, thread: Thread) {
        *self.slots[index].thread.lock() = Some(thread);
    }

    /// True if the calling thread is (or was) one of this pool's worker
    /// threads, even one past its main loop (in its stop hook), where the
    /// worker thread-local is already cleared. Thread ids are never reused.
    pub(crate) fn is_own_thread(&self) -> bool {
        let me = thread::current().id();
        self.slots
            .iter()
            .any(|slot| slot.thread.lock().as_ref().is_some_and(|t| t.id() == me))
    }

    /// Publishes (or, with 0, withdraws) worker `index`'s wait edge: it is
    /// parked in a wait on a task that worker `runner - 1` runs.
    pub(crate) fn set_waits_on(&self, index: usize, runner: usize) {
        // SeqCst: publishers and walkers race in store-then-load pairs (two
        // workers closing a cycle at once); the total order lets at least
        // one of them see the other's edge.
        self.slots[index].waits_on.store(runner, SeqCst);
    }

    /// Worker `index`'s wait edge (0: none).
    pub(crate) fn waits_on(&self, index: usize) -> usize {
        // SeqCst: see `set_waits_on`.
        self.slots[index].waits_on.load(SeqCst)
    }

    /// The number of worker slots (regular and extra).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn flags(&self) -> Flags {
        Flags(self.state.load(SeqCst))
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.state.load(SeqCst) & TERMINATE != 0
    }

    /// Called after every push of new work: side A of the submit/sleep pair.
    /// Wakes one sleeper if nobody is searching. Returns the flags it read.
    #[inline]
    pub(crate) fn new_work(&self) -> Flags {
        fence(SeqCst);
        let s = self.state.load(SeqCst);
        if searching(s) == 0 && sleeping(s) > 0 {
            self.wake_one_cold();
        }
        Flags(s)
    }

    /// Side A for a submission from outside the pool. If the pool has shut
    /// down, it wakes nobody and returns the flags so the submitter can take
    /// its task back: after shutdown only an already-awake worker may claim
    /// an outside task (see DESIGN.md, "Submit racing shutdown").
    #[inline]
    pub(crate) fn new_outside_work(&self) -> Flags {
        fence(SeqCst);
        let s = self.state.load(SeqCst);
        if s & SHUTDOWN == 0 && searching(s) == 0 && sleeping(s) > 0 {
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
            self.recheck_cold(&has_work);
        }
    }

    #[cold]
    fn recheck_cold(&self, has_work: &dyn Fn() -> bool) {
        fence(SeqCst);
        if has_work() {
            self.wake_one_cold();
        }
    }

    /// Parks worker `index` until it is notified, `cond` holds, `deadline`
    /// passes or the pool terminates. `was_searching` says whether the
    /// caller is counted as searching. On return it is counted as searching
    /// exactly when the result is `Woke::Notified`.
    ///
    /// A main-loop sleeper goes on the idle list in two steps: first as a
    /// sleeper (side B: register, fence, re-check the queues), then, only
    /// if the re-check found nothing, as *committed* idle. Termination
    /// counts committed sleepers only, so a worker that saw work in its
    /// re-check can never be counted out while it goes to run it.
    pub(crate) fn sleep(
        &self,
        index: usize,
        kind: SleepKind,
        was_searching: bool,
        has_work: &dyn Fn() -> bool,
        cond: &dyn Fn() -> bool,
        deadline: Option<Instant>,
    ) -> Woke {
        let sub = if was_searching { ONE_SEARCHING } else { 0 };
        {
            let mut list = self.idle.lock();
            list.push(Entry {
                index,
                committed: false,
            });
            self.state.fetch_add(ONE_SLEEPING.wrapping_sub(sub), SeqCst);
        }
        // Side B of the submit/sleep pair: the registration above is ordered
        // before the re-check below.
        fence(SeqCst);
        if kind == SleepKind::Main && self.is_terminated() {
            return Woke::Terminate;
        }
        if has_work() {
            // A submitter may have skipped waking anyone because this
            // worker was searching: it stays responsible, as a searcher.
            return self.unregister(index, true);
        }
        if cond() {
            return self.unregister(index, false);
        }
        if kind == SleepKind::Main {
            let Some(now) = self.commit_idle(index) else {
                return self.take_notification(index);
            };
            self.tell_idle_waiters(now);
            match self.end_if_last(now, has_work) {
                Ending::Terminated => return Woke::Terminate,
                // Queued work and every worker idle: an outside submitter
                // that raced shutdown wakes nobody, so this worker must
                // drain the queue itself (run it, or skip a retracted entry)
                // before it may terminate the pool.
                Ending::Drain => return self.unregister(index, true),
                Ending::Park => {}
            }
        }
        let slot = &self.slots[index];
        loop {
            // ORDERING: Acquire pairs with the notifier's Release swap.
            if slot.notified.swap(false, Acquire) {
                return Woke::Notified;
            }
            if kind == SleepKind::Main && self.is_terminated() {
                return Woke::Terminate;
            }
            if cond() {
                return self.unregister(index, false);
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return self.unregister(index, false);
                    }
                    park_timeout(d - now);
                }
            }
        }
    }

    /// Marks `index`'s idle-list entry committed and counts it idle; returns
    /// the new word, or `None` if a notifier already popped the entry.
    fn commit_idle(&self, index: usize) -> Option<u64> {
        let mut list = self.idle.lock();
        let entry = list.iter_mut().find(|e| e.index == index)?;
        entry.committed = true;
        Some(self.state.fetch_add(ONE_IDLE, SeqCst) + ONE_IDLE)
    }

    /// After an RMW that made the word `now`: if it left every live worker
    /// committed idle and someone waits for that, wake the waiters (they
    /// check the queues themselves).
    #[inline]
    fn tell_idle_waiters(&self, now: u64) {
        if now & IDLE_WAITERS != 0 && idle(now) == live(now) {
            self.wake_idle_waiters_cold();
        }
    }

    #[cold]
    fn wake_idle_waiters_cold(&self) {
        let waiters = {
            let mut list = self.idle_waiters.lock();
            self.state.fetch_and(!IDLE_WAITERS, SeqCst);
            std::mem::take(&mut *list)
        };
        for thread in waiters {
            thread.unpark();
        }
    }

    /// Blocks the calling thread (not one of the pool's workers) until every
    /// live worker is committed idle and `has_work` finds no queued task, or
    /// the pool has terminated.
    ///
    /// No lost wake-up: the waiter registers (list push and IDLE_WAITERS,
    /// under the waiters' lock) and then, after a fence, reads the word. The
    /// worker whose RMW makes idle == live reads the flag in that RMW's
    /// result. If the worker's RMW came first, the waiter's read sees
    /// idle == live; if the waiter's flag came first, the worker sees it
    /// and wakes every waiter, which then checks again.
    pub(crate) fn wait_idle(&self, has_work: &dyn Fn() -> bool) {
        let me = thread::current();
        loop {
            {
                let mut list = self.idle_waiters.lock();
                list.push(me.clone());
                self.state.fetch_or(IDLE_WAITERS, SeqCst);
            }
            fence(SeqCst);
            let s = self.state.load(SeqCst);
            if s & TERMINATE != 0 || (idle(s) == live(s) && !has_work()) {
                let mut list = self.idle_waiters.lock();
                list.retain(|t| t.id() != me.id());
                if list.is_empty() {
                    self.state.fetch_and(!IDLE_WAITERS, SeqCst);
                }
                return;
            }
            // Parked until a waker takes this thread off the list (a stale
            // unpark token costs one more look at the list).
            while self.idle_waiters.lock().iter().any(|t| t.id() == me.id()) {
                park();
            }
        }
    }

    /// Every live worker is committed idle in a shut-down pool: no task is
    /// running, so none can be submitted from inside, and outside
    /// submissions are refused.
    fn all_idle_after_shutdown(&self, now: u64) -> bool {
        now & SHUTDOWN != 0 && idle(now) == live(now)
    }

    /// Decides, for a thread that just made the word `now`, whether the pool
    /// ends here. If every live worker is committed idle in a shut-down pool
    /// and a re-check after `now` finds no queued work, it sets TERMINATE
    /// (only if the word is still `now`: any RMW in between, a wake, an
    /// unregister, a new extra, fails the CAS, and the decision is made again
    /// on the fresh word with a fresh re-check).
    fn end_if_last(&self, mut now: u64, has_work: &dyn Fn() -> bool) -> Ending {
        loop {
            if now & TERMINATE != 0 {
                return Ending::Terminated;
            }
            if !self.all_idle_after_shutdown(now) {
                return Ending::Park;
            }
            // Pairs with the fence in `new_outside_work`: either this
            // re-check sees a racing push, or that submitter sees SHUTDOWN
            // and takes its task back (DESIGN.md, "Submit racing shutdown").
            fence(SeqCst);
            if has_work() {
                return Ending::Drain;
            }
            match self
                .state
                .compare_exchange(now, now | TERMINATE, SeqCst, SeqCst)
            {
                Ok(_) => {
                    self.wake_all();
                    return Ending::Terminated;
                }
                Err(actual) => now = actual,
            }
        }
    }

    /// A thread is about to start as an extra worker.
    pub(crate) fn add_live(&self) {
        self.state.fetch_add(ONE_LIVE, SeqCst);
    }

    /// An extra worker retires (it is not searching and not on the idle
    /// list). If every remaining worker is committed idle in a shut-down
    /// pool, it terminates the pool, as the last sleeper would.
    #[cold]
    pub(crate) fn remove_live_cold(&self, has_work: &dyn Fn() -> bool) {
        let now = self.state.fetch_sub(ONE_LIVE, SeqCst) - ONE_LIVE;
        self.tell_idle_waiters(now);
        if let Ending::Drain = self.end_if_last(now, has_work) {
            // Every worker sleeps and work is queued: wake one to drain it.
            self.wake_one_cold();
        }
    }

    /// Takes `index` off the idle list, unless a notifier already did. With
    /// `as_searcher`, the worker leaves counted as searching (and the
    /// result is `Woke::Notified`, as if a notifier had woken it).
    fn unregister(&self, index: usize, as_searcher: bool) -> Woke {
        let mut list = self.idle.lock();
        let Some(pos) = list.iter().position(|e| e.index == index) else {
            drop(list);
            return self.take_notification(index);
        };
        let entry = list.remove(pos);
        let add = if as_searcher { ONE_SEARCHING } else { 0 };
        self.state
            .fetch_add(add.wrapping_sub(entry.weight()), SeqCst);
        if as_searcher {
            Woke::Notified
        } else {
            Woke::Unregistered
        }
    }

    /// A notifier popped `index` off the idle list: it counted the worker as
    /// searching and set its flag (under the lock the caller just held).
    fn take_notification(&self, index: usize) -> Woke {
        // ORDERING: Acquire pairs with the notifier's Release swap.
        let was_notified = self.slots[index].notified.swap(false, Acquire);
        debug_assert!(was_notified, "worker left the idle list unnotified");
        Woke::Notified
    }

    /// Pops one sleeper, counts it as searching, and unparks it.
    #[cold]
    fn wake_one_cold(&self) -> bool {
        let index = {
            let mut list = self.idle.lock();
            let Some(entry) = list.pop() else {
                return false;
            };
            self.state
                .fetch_add(ONE_SEARCHING.wrapping_sub(entry.weight()), SeqCst);
            // ORDERING: Release pairs with the sleeper's Acquire swap.
            // A swap rather than a store: only this notifier (under the idle
            // lock) sets the flag, so the two are equivalent, but loom
            // mis-orders a plain store that races an RMW (tokio-rs/loom#254)
            // and then reports a lost wake-up that cannot happen.
            let _ = self.slots[entry.index].notified.swap(true, Release);
            entry.index
        };
        self.unpark(index);
        true
    }

    /// Wakes worker `index` if it is on the idle list (as a main-loop
    /// sleeper or a helper), counting it as searching: a broadcast left it
    /// a copy that only it may run. The idle lock orders this against the
    /// worker's registration, whose re-check then sees the copy
    /// (DESIGN.md, "Broadcast").
    #[cold]
    pub(crate) fn wake_worker(&self, index: usize) {
        {
            let mut list = self.idle.lock();
            let Some(pos) = list.iter().position(|e| e.index == index) else {
                return;
            };
            let entry = list.remove(pos);
            self.state
                .fetch_add(ONE_SEARCHING.wrapping_sub(entry.weight()), SeqCst);
            // ORDERING: Release pairs with the sleeper's Acquire swap; a
            // swap for loom's sake, as in `wake_one_cold`.
            let _ = self.slots[index].notified.swap(true, Release);
        }
        self.unpark(index);
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
        // ORDERING: the RMW below publishes the flag with full ordering; this
        // read-mostly copy only spares the per-task check a contended line.
        self.broken.store(true, Release);
        self.state.fetch_or(BROKEN | SHUTDOWN, SeqCst);
        self.wake_all();
    }

    /// The per-task check. A worker that reads a stale `false` runs one
    /// more task, as if it had started just before the initializer panic.
    #[inline]
    pub(crate) fn is_broken(&self) -> bool {
        // ORDERING: pairs with the Release store in `set_broken`.
        self.broken.load(Acquire)
    }

    /// Tells every worker to exit now, whatever it is doing: only for a
    /// pool whose build failed before anything was submitted.
    pub(crate) fn terminate(&self) {
        self.state.fetch_or(TERMINATE, SeqCst);
        self.wake_all();
    }
}

#[cfg(test)]
#[path = "sleep_tests.rs"]
mod tests;
