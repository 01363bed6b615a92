//! Soak: 2,000,000 tasks by default from four submitter threads and from
//! inside tasks, with random cancels, panics, timed waits, done callbacks and
//! every kind of consumer. Every handle must resolve exactly once with the
//! outcome its kind and its cancel call imply, every callback must run once,
//! and every closure, value and callback must be dropped.
//!
//! Sized by `STEALPOOL_STRESS_SCALE`; seeded by `STEALPOOL_SEED`.

mod support;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;
use stealpool::{as_completed, as_completed_timeout, wait, ReturnWhen, TaskError, TaskHandle};
use support::{Census, Counted, Rng};

/// Task ids at scale 1 (each id is at most one task).
const DEFAULT_TASKS: usize = 2_000_000;
const SUBMITTERS: usize = 4;
const WORKERS: usize = 3;
/// Handles a submitter holds before it consumes them.
const BATCH: usize = 256;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Returns a `Counted` holding its id.
    Value,
    /// Panics with "soak {id}".
    Panic,
    /// Submits `children` tasks (ids `id + 1 ..= id + children`) from inside
    /// the pool, waits on and checks them, then returns like `Value`.
    Nested { children: usize },
}

/// Everything the tasks, callbacks and consumers count.
struct Soak {
    seed: u64,
    /// How often each task's closure ran (must end 0 or 1).
    runs: Vec<AtomicU8>,
    /// Done callbacks added to, and run for, each task.
    callbacks_added: Vec<AtomicU8>,
    callbacks_run: Vec<AtomicU8>,
    /// One `Counted` inside every closure, every value, every callback.
    closures: Census,
    values: Census,
    callback_tokens: Census,
    submitted: AtomicUsize,
    ok: AtomicUsize,
    panicked: AtomicUsize,
    cancelled: AtomicUsize,
}

/// A submitted task as its checker knows it.
struct Tracked {
    id: usize,
    kind: Kind,
    /// What `cancel` returned, if it was called.
    cancel: Option<bool>,
    handle: TaskHandle<Counted>,
}

impl Soak {
    fn new(seed: u64, ids: usize) -> Self {
        let table = || (0..ids).map(|_| AtomicU8::new(0)).collect::<Vec<_>>();
        Self {
            seed,
            runs: table(),
            callbacks_added: table(),
            callbacks_run: table(),
            closures: Census::new(),
            values: Census::new(),
            callback_tokens: Census::new(),
            submitted: AtomicUsize::new(0),
            ok: AtomicUsize::new(0),
            panicked: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        }
    }

    /// The closure of task `id`.
    fn closure(self: &Arc<Self>, id: usize, kind: Kind) -> impl FnOnce() -> Counted + Send {
        let soak = self.clone();
        let token = self.closures.make(id as u64);
        move || {
            let _token = token; // dropped on return and on unwind alike
            soak.runs[id].fetch_add(1, SeqCst);
            match kind {
                Kind::Value => {}
                // resume_unwind skips the panic hook: no stderr line per task.
                Kind::Panic => std::panic::resume_unwind(Box::new(format!("soak {id}"))),
                Kind::Nested { children } => soak.nested(id, children),
            }
            soak.values.make(id as u64)
        }
    }

    /// Submits `kind` as task `id` on `pool`, maybe cancels it and adds a
    /// callback, as `rng` decides.
    fn submit(
        self: &Arc<Self>,
        pool: &ThreadPool,
        rng: &mut Rng,
        id: usize,
        kind: Kind,
    ) -> Tracked {
        let handle = pool.submit(self.closure(id, kind)).expect("pool is open");
        self.submitted.fetch_add(1, SeqCst);
        if rng.one_in(4) {
            self.add_callback(&handle, id);
        }
        let cancel = rng.one_in(8).then(|| handle.cancel());
        Tracked {
            id,
            kind,
            cancel,
            handle,
        }
    }

    fn add_callback(self: &Arc<Self>, handle: &TaskHandle<Counted>, id: usize) {
        self.callbacks_added[id].fetch_add(1, SeqCst);
        let soak = self.clone();
        let token = self.callback_tokens.make(id as u64);
        handle.add_done_callback(move |h| {
            let _token = token;
            assert!(h.done(), "task {id}: callback before completion");
            soak.callbacks_run[id].fetch_add(1, SeqCst);
        });
    }

    /// The body of a nested task: children from inside the pool, consumed
    /// in a random way, each checked.
    fn nested(self: &Arc<Self>, id: usize, children: usize) {
        let pool = ThreadPool::current().expect("a task runs on its pool");
        let mut rng = Rng::new(self.seed, id as u64);
        let tracked: Vec<Tracked> = (1..=children)
            .map(|j| {
                let kind = if rng.one_in(4) {
                    Kind::Panic
                } else {
                    Kind::Value
                };
                self.submit(&pool, &mut rng, id + j, kind)
            })
            .collect();
        self.consume(tracked, &mut rng);
    }

    /// Waits for `tracked` in one of several ways, then checks each.
    fn consume(self: &Arc<Self>, tracked: Vec<Tracked>, rng: &mut Rng) {
        let n = tracked.len();
        let handles = || tracked.iter().map(|t| t.handle.clone());
        match rng.below(6) {
            // Plain result() below.
            0 => {}
            // Short timed waits first: a value taken here is checked here.
            1 => {
                let mut rest = Vec::with_capacity(n);
                for t in tracked {
                    let timeout = Duration::from_micros(rng.below(50));
                    match t.handle.result_timeout(timeout) {
                        Err(TaskError::Timeout) => rest.push(t),
                        outcome => self.check(&t, outcome),
                    }
                }
                for t in &rest {
                    self.check(t, t.handle.result());
                }
                return;
            }
            2 => {
                let mut it = as_completed(handles());
                assert_eq!(it.total(), n);
                let mut yielded = 0;
                while let Some(h) = it.next() {
                    assert!(h.done(), "as_completed yielded an unfinished task");
                    yielded += 1;
                    assert_eq!(it.remaining(), n - yielded);
                }
                assert_eq!(yielded, n);
            }
            3 => {
                let w = wait(handles(), ReturnWhen::AllCompleted, None);
                assert_eq!((w.done.len(), w.not_done.len()), (n, 0));
                assert!(w.done.iter().all(TaskHandle::done));
            }
            4 => {
                // FirstCompleted with short timeouts until nothing is left.
                let mut pending: Vec<_> = handles().collect();
                while !pending.is_empty() {
                    let timeout = Duration::from_micros(rng.below(100));
                    let w = wait(pending, ReturnWhen::FirstCompleted, Some(timeout));
                    assert!(w.done.iter().all(TaskHandle::done));
                    pending = w.not_done;
                }
            }
            _ => {
                // as_completed with a deadline, then the rest with none.
                let timeout = Duration::from_micros(rng.below(200));
                let mut seen = 0;
                for item in as_completed_timeout(handles(), timeout) {
                    match item {
                        Ok(h) => {
                            assert!(h.done());
                            seen += 1;
                        }
                        Err(timeout) => {
                            seen += timeout.pending().len();
                            for h in timeout.into_pending() {
                                h.wait();
                            }
                        }
                    }
                }
                assert_eq!(seen, n);
            }
        }
        for t in &tracked {
            self.check(t, t.handle.result());
        }
    }

    /// Checks one outcome (the first take) against what `t` implies, and
    /// that a second take sees it taken.
    fn check(&self, t: &Tracked, outcome: Result<Counted, TaskError>) {
        let id = t.id;
        let runs = self.runs[id].load(SeqCst);
        if t.cancel == Some(true) {
            assert!(
                matches!(outcome, Err(TaskError::Cancelled)),
                "task {id}: cancel won but the outcome is {:?}",
                outcome.map(|c| c.value)
            );
            assert_eq!(runs, 0, "task {id}: cancelled but ran");
            assert!(t.handle.cancelled());
            assert!(matches!(t.handle.result(), Err(TaskError::Cancelled)));
            self.cancelled.fetch_add(1, SeqCst);
            return;
        }
        assert_eq!(runs, 1, "task {id} ({:?}): ran {runs} times", t.kind);
        match (t.kind, outcome) {
            (Kind::Value | Kind::Nested { .. }, Ok(v)) => {
                assert_eq!(v.value, id as u64, "task {id}: another task's value");
                self.ok.fetch_add(1, SeqCst);
            }
            (Kind::Panic, Err(TaskError::Panicked(p))) => {
                assert_eq!(p.message(), format!("soak {id}"));
                self.panicked.fetch_add(1, SeqCst);
            }
            (kind, Ok(v)) => panic!("task {id} ({kind:?}): value {}", v.value),
            (kind, Err(e)) => panic!("task {id} ({kind:?}): unexpected {e}"),
        }
        assert!(!t.handle.cancelled() && t.handle.done());
        assert!(
            matches!(t.handle.result(), Err(TaskError::ResultTaken)),
            "task {id}: the value moved out twice"
        );
    }
}

/// One submitter: `target` tasks (its own and their children) with ids from
/// `range`, in batches, each batch consumed at random.
fn submitter(
    soak: Arc<Soak>,
    pool: ThreadPool,
    stream: u64,
    range: std::ops::Range<usize>,
    target: usize,
) {
    let mut rng = Rng::new(soak.seed, stream);
    let mut batch = Vec::with_capacity(BATCH);
    let mut id = range.start;
    // Tasks that will exist: a nested task whose cancel won has no children.
    let mut planned = 0;
    while planned < target && id < range.end {
        let left = range.end - id - 1;
        let kind = match rng.below(16) {
            0 => Kind::Panic,
            1 | 2 if left > 0 => Kind::Nested {
                children: 1 + rng.below(left.min(4) as u64) as usize,
            },
            _ => Kind::Value,
        };
        let t = soak.submit(&pool, &mut rng, id, kind);
        let children = match kind {
            Kind::Nested { children } => children,
            _ => 0,
        };
        id += 1 + children;
        planned += 1 + if t.cancel == Some(true) { 0 } else { children };
        batch.push(t);
        if batch.len() == BATCH || planned >= target || id >= range.end {
            let tracked = std::mem::take(&mut batch);
            let late: Vec<_> = tracked
                .iter()
                .filter(|_| rng.one_in(16))
                .map(|t| (t.id, t.handle.clone()))
                .collect();
            soak.consume(tracked, &mut rng);
            // A callback added after completion runs at once, here.
            for (id, h) in late {
                soak.add_callback(&h, id);
                let here = Arc::new(AtomicU8::new(0));
                let seen = here.clone();
                h.add_done_callback(move |_| {
                    seen.fetch_add(1, SeqCst);
                });
                assert_eq!(
                    here.load(SeqCst),
                    1,
                    "task {id}: late callback did not run at once"
                );
            }
        }
    }
}

#[test]
fn soak_every_handle_resolves_once_and_everything_is_dropped() {
    let seed = support::seed(0x50A6_2026);
    let target = support::scaled(DEFAULT_TASKS, SUBMITTERS * 8) / SUBMITTERS;
    // Ids to spare: the children of a cancelled nested task are never used.
    let span = 2 * target;
    let ids = span * SUBMITTERS;
    let soak = Arc::new(Soak::new(seed.0, ids));
    let pool = ThreadPool::new(WORKERS).unwrap();
    let _watchdog = support::Watchdog::new("the soak test", Duration::from_secs(600));
    let start = Instant::now();
    let threads: Vec<_> = (0..SUBMITTERS)
        .map(|t| {
            let (soak, pool) = (soak.clone(), pool.clone());
            std::thread::spawn(move || {
                submitter(
                    soak,
                    pool,
                    1000 + t as u64,
                    t * span..(t + 1) * span,
                    target,
                )
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a submitter failed");
    }
    pool.shutdown();
    drop(pool);
    let elapsed = start.elapsed();

    let s = &*soak;
    let submitted = s.submitted.load(SeqCst);
    let (ok, panicked, cancelled) = (
        s.ok.load(SeqCst),
        s.panicked.load(SeqCst),
        s.cancelled.load(SeqCst),
    );
    println!(
        "{submitted} tasks in {elapsed:?}: {ok} values, {panicked} panics, {cancelled} cancelled, {} callbacks",
        s.callback_tokens.created()
    );
    assert_eq!(
        ok + panicked + cancelled,
        submitted,
        "every handle resolved once"
    );
    assert!(
        submitted >= target * SUBMITTERS,
        "ran out of ids: {submitted} tasks"
    );
    let ran = s.runs.iter().filter(|r| r.load(SeqCst) == 1).count();
    assert!(
        s.runs.iter().all(|r| r.load(SeqCst) <= 1),
        "a task ran twice"
    );
    assert_eq!(ran + cancelled, submitted);
    for id in 0..ids {
        assert_eq!(
            s.callbacks_run[id].load(SeqCst),
            s.callbacks_added[id].load(SeqCst),
            "task {id}: callbacks run != added"
        );
    }
    // Every closure, value and callback was dropped, exactly once each.
    assert_eq!(s.closures.created(), submitted);
    for (what, census) in [
        ("closures", &s.closures),
        ("values", &s.values),
        ("callbacks", &s.callback_tokens),
    ] {
        assert_eq!(
            census.live(),
            0,
            "{what}: {} created, {} dropped",
            census.created(),
            census.dropped()
        );
    }
    assert_eq!(s.values.created(), ok);
}
