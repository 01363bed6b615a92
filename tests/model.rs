//! The model-based randomized test of issue 21: random programs of pool
//! operations, run against a real pool and checked against a reference
//! model of what each operation promises.
//!
//! A seeded generator (`STEALPOOL_SEED` replays; the seed is printed) drives
//! each case: a pool of 1, 2 or 3 workers with `max_blocking` 0 or the
//! default, then random steps (submit plain, panicking, framed, blocking,
//! nested and sibling-waiting tasks, self-waits and waves of large frames;
//! cancel; done callbacks; polls with well-behaved and panicking wakers,
//! re-polls and dropped futures; blocking and timed waits; detaching and
//! cloning handles) and one of every shutdown form at a random step
//! (`shutdown()`, `shutdown_with` wait/no-wait x cancel_pending or not,
//! dropping the last pool clone here or inside a task). Checked:
//! - every handle resolves exactly once with the kind of outcome its task
//!   allows (value, panic, cancelled, refused at submit), and later takes
//!   see `ResultTaken`;
//! - every done callback runs exactly once, after completion;
//! - nothing runs after a successful cancel, nothing runs twice, and a task
//!   not cancelled runs;
//! - every closure and every value is dropped exactly once, and every
//!   waker is released once the pool is gone;
//! - a waker registered while pending is woken;
//! - no thread outlives the pool.
//!
//! Size: `STEALPOOL_MODEL_CASES` cases (default 6,000) of
//! `STEALPOOL_MODEL_STEPS` steps (default 100), but no case starts after
//! `STEALPOOL_MODEL_SECS` seconds (default 60): about a minute of a debug
//! `cargo test` on 2 cores; raise both for a longer run.
//! `STEALPOOL_MODEL_CASE=k` runs case k alone (a failure names it), and
//! `STEALPOOL_MODEL_TRACE=1` prints each step as it runs.
//! A failure or a hang (a case running past `support::HANG`) reports the
//! seed, the case, its pool and the step it was at.
//!
//! Operations that hit a defect the issue names are on by default; for
//! checking the rest of the model while a fix is pending,
//! `STEALPOOL_MODEL_OFF=name,name` turns some off (names in [`GATES`]).

mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};
use stealpool::{ShutdownOptions, SubmitError, TaskError, TaskHandle, ThreadPool};
use support::{eventually_for, poll_once, quiet_panic, Latch, Rng, WakerProbe, HANG};

/// Cases run by default (case k always runs the same program for a seed).
const DEFAULT_CASES: usize = 6000;
/// No case starts after this many seconds by default, so a slow machine
/// still finishes in about a minute.
const DEFAULT_SECS: u64 = 60;
/// Steps per case by default.
const DEFAULT_STEPS: usize = 100;

/// Operations that hit a defect of issue 21, each with its defect. All on
/// unless named in `STEALPOOL_MODEL_OFF`.
const GATES: [(&str, &str); 7] = [
    ("panicking_wakers", "defect 1: a waker whose wake panics"),
    (
        "big_frames",
        "defect 5: waves of tasks with 64 KiB frames waiting on one running task",
    ),
    (
        "waker_release",
        "defect 6: a dropped or re-polled future releases its waker at once",
    ),
    (
        "stop_hook_submit",
        "defect 8: on_worker_stop submits after shutdown",
    ),
    ("self_wait", "also verify: a task waits on its own handle"),
    (
        "wait_on_sibling",
        "also verify: an untimed wait on an earlier task, which helping may have put \
         below the waiter on the same stack (the Deadlock variant's second case)",
    ),
    (
        "cancel_snapshot",
        "also verify: tasks pending when a cancelling shutdown returns end cancelled",
    ),
];

#[derive(Clone, Copy, Debug)]
struct Gates {
    panicking_wakers: bool,
    big_frames: bool,
    waker_release: bool,
    stop_hook_submit: bool,
    self_wait: bool,
    wait_on_sibling: bool,
    cancel_snapshot: bool,
}

impl Gates {
    fn from_env() -> Self {
        let off = std::env::var("STEALPOOL_MODEL_OFF").unwrap_or_default();
        let off: Vec<&str> = off
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for name in &off {
            assert!(
                GATES.iter().any(|(gate, _)| gate == name),
                "STEALPOOL_MODEL_OFF: unknown gate {name:?}; the gates are {:?}",
                GATES.map(|(gate, _)| gate)
            );
        }
        let on = |name: &str| !off.contains(&name);
        Self {
            panicking_wakers: on("panicking_wakers"),
            big_frames: on("big_frames"),
            waker_release: on("waker_release"),
            stop_hook_submit: on("stop_hook_submit"),
            self_wait: on("self_wait"),
            wait_on_sibling: on("wait_on_sibling"),
            cancel_snapshot: on("cancel_snapshot"),
        }
    }
}

// ---------------------------------------------------------------------
// The ledger: what happened to every task, counted by the tasks themselves.
// ---------------------------------------------------------------------

/// Task ids one case may use.
const MAX_IDS: usize = 1 << 15;

struct Ledger {
    next: AtomicUsize,
    /// Times each task's closure started.
    runs: Box<[AtomicU8]>,
    closures_dropped: Box<[AtomicU8]>,
    values_made: Box<[AtomicU8]>,
    values_dropped: Box<[AtomicU8]>,
    /// Set when a submission was refused (the closure came back unrun).
    refused: Box<[AtomicBool]>,
    /// A cancelling shutdown has started: any still-queued task may end
    /// cancelled from now on.
    cancelling: AtomicBool,
    /// A task of this case waits on a handle it did not submit (a sibling,
    /// untimed). Helping can then build a wait cycle across workers in a
    /// program without one, and the pool ends it by giving one wait in it
    /// `TaskError::Deadlock` (DESIGN.md section 6), which may be any wait of
    /// the cycle, a parent's on its own child included. Without such a
    /// task, a tree-shaped wait must never see `Deadlock`.
    sibling_waits: AtomicBool,
    violations: Mutex<Vec<String>>,
}

fn counters<T: Default>() -> Box<[T]> {
    (0..MAX_IDS).map(|_| T::default()).collect()
}

impl Ledger {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            next: AtomicUsize::new(0),
            runs: counters(),
            closures_dropped: counters(),
            values_made: counters(),
            values_dropped: counters(),
            refused: counters(),
            cancelling: AtomicBool::new(false),
            sibling_waits: AtomicBool::new(false),
            violations: Mutex::new(Vec::new()),
        })
    }

    fn new_id(&self) -> usize {
        let id = self.next.fetch_add(1, SeqCst);
        assert!(id < MAX_IDS, "a case used more than {MAX_IDS} task ids");
        id
    }

    fn ids(&self) -> usize {
        self.next.load(SeqCst).min(MAX_IDS)
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }
}

/// Lives in a task's closure: counts the closure's drop.
struct Token {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.ledger.closures_dropped[self.id].fetch_add(1, SeqCst);
    }
}

/// A task's value: counts its making and its drop.
struct Value {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Value {
    fn new(id: usize, ledger: &Arc<Ledger>) -> Self {
        ledger.values_made[id].fetch_add(1, SeqCst);
        Self {
            id,
            ledger: ledger.clone(),
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        self.ledger.values_dropped[self.id].fetch_add(1, SeqCst);
    }
}

// ---------------------------------------------------------------------
// Task bodies.
// ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Order {
    OldestFirst,
    NewestFirst,
    /// Short timed waits first, then a plain one.
    Timed,
}

enum Body {
    Plain,
    Panic,
    /// A stack frame of this many bytes.
    Frame(usize),
    /// A blocking section that sleeps this long.
    Blocking(Duration),
    /// Submits `fanout` children (nested further while `depth > 1`) and
    /// waits on them in `order`, in a frame of `frame` bytes.
    Nested {
        depth: u32,
        fanout: u32,
        frame: usize,
        order: Order,
        seed: u64,
    },
    /// Waits (without taking) on an earlier task (its id last); a timed
    /// wait if `Some`.
    WaitOn(TaskHandle<Value>, Option<Duration>, usize),
    /// Waits on its own handle, which the driver stores once submitted.
    SelfWait(Arc<OnceLock<TaskHandle<Value>>>),
    /// One of a wave: waits on a task running elsewhere in a large frame.
    WaveMember(TaskHandle<Value>, usize),
}

impl Body {
    fn panics(&self) -> bool {
        matches!(self, Body::Panic)
    }

    fn describe(&self) -> String {
        match self {
            Body::Plain => "plain".into(),
            Body::Panic => "panics".into(),
            Body::Frame(n) => format!("frame {n} B"),
            Body::Blocking(d) => format!("blocking {d:?}"),
            Body::Nested {
                depth,
                fanout,
                frame,
                order,
                ..
            } => format!("nested depth {depth} fanout {fanout} frame {frame} B {order:?}"),
            Body::WaitOn(_, t, target) => format!("waits on task {target} (timeout {t:?})"),
            Body::SelfWait(_) => "waits on itself".into(),
            Body::WaveMember(_, n) => format!("wave member, frame {n} B"),
        }
    }
}

/// Runs `f` below a stack frame of about `bytes` bytes.
fn with_frame<R>(bytes: usize, f: impl FnOnce() -> R) -> R {
    if bytes == 0 {
        return f();
    }
    let mut frame = [0u8; 4096];
    black_box(&mut frame);
    let r = with_frame(bytes.saturating_sub(frame.len()), f);
    black_box(&frame);
    r
}

/// A new task id and its closure.
fn task(ledger: &Arc<Ledger>, body: Body) -> (usize, impl FnOnce() -> Value + Send + 'static) {
    let id = ledger.new_id();
    let token = Token {
        id,
        ledger: ledger.clone(),
    };
    let closure = move || {
        let token = token; // dropped on return and on unwind alike
        let ledger = token.ledger.clone();
        ledger.runs[id].fetch_add(1, SeqCst);
        run_body(&ledger, id, body);
        Value::new(id, &ledger)
    };
    (id, closure)
}

fn run_body(ledger: &Arc<Ledger>, id: usize, body: Body) {
    match body {
        Body::Plain => {}
        Body::Panic => quiet_panic("model: a task that panics"),
        Body::Frame(bytes) => with_frame(bytes, || ()),
        Body::Blocking(d) => stealpool::blocking(|| std::thread::sleep(d)),
        Body::Nested {
            depth,
            fanout,
            frame,
            order,
            seed,
        } => with_frame(frame, || {
            nested(ledger, id, depth, fanout, order, seed);
        }),
        Body::WaitOn(target, timeout, _) => match timeout {
            // Untimed in effect: false only if the pool finds the target
            // below this task on its own stack, where it cannot end first
            // (and then at once; a hang fails the case by its bound).
            None => {
                if target.wait_timeout(HANG * 4) && !target.done() {
                    ledger.violation(format!("task {id}: wait_timeout() true but not done"));
                }
            }
            Some(t) => {
                if target.wait_timeout(t) && !target.done() {
                    ledger.violation(format!("task {id}: wait_timeout() true but not done"));
                }
            }
        },
        Body::SelfWait(cell) => {
            if !eventually_for(HANG, || cell.get().is_some()) {
                ledger.violation(format!("task {id}: its handle never arrived"));
                return;
            }
            let me = cell.get().unwrap();
            match me.result() {
                Err(TaskError::Deadlock) => {}
                other => ledger.violation(format!(
                    "task {id}: result() on its own handle gave {:?}, not Deadlock",
                    other.map(|v| v.id)
                )),
            }
            me.wait();
            if me.wait_timeout(Duration::from_secs(3600)) {
                ledger.violation(format!("task {id}: wait_timeout on itself was true"));
            }
        }
        Body::WaveMember(gate, bytes) => with_frame(bytes, || {
            gate.wait();
            if !gate.done() && !ledger.sibling_waits.load(SeqCst) {
                ledger.violation(format!(
                    "task {id}: wait() on the wave's gate returned early"
                ));
            }
        }),
    }
}

/// A random body for a child task (no waits on siblings: the tree stays
/// acyclic).
fn child_body(rng: &mut Rng, depth: u32) -> Body {
    match rng.below(10) {
        0 => Body::Panic,
        1 => Body::Blocking(Duration::from_micros(rng.below(300))),
        2 | 3 => Body::Frame(rng.below(16 << 10) as usize),
        4 | 5 if depth > 1 => Body::Nested {
            depth: depth - 1,
            fanout: 1 + rng.below(3) as u32,
            frame: rng.below(8 << 10) as usize,
            order: random_order(rng),
            seed: rng.next_u64(),
        },
        _ => Body::Plain,
    }
}

fn random_order(rng: &mut Rng) -> Order {
    match rng.below(3) {
        0 => Order::OldestFirst,
        1 => Order::NewestFirst,
        _ => Order::Timed,
    }
}

/// The body of a nested task: children submitted from inside the pool,
/// waited on in `order` (one in five left detached), each outcome checked.
fn nested(ledger: &Arc<Ledger>, parent: usize, depth: u32, fanout: u32, order: Order, seed: u64) {
    let mut rng = Rng::new(seed, parent as u64);
    let mut children = Vec::new();
    for _ in 0..fanout {
        let body = child_body(&mut rng, depth);
        let panics = body.panics();
        let (id, f) = task(ledger, body);
        // Lent, not cloned: a task holds no counted pool handle, so the
        // driver's drop of its clone is the last one.
        let submitted =
            ThreadPool::with_current(|pool| pool.submit(f)).expect("a task runs on its pool");
        match submitted {
            Ok(h) if rng.one_in(5) => drop(h), // detached: still runs
            Ok(h) => children.push((id, panics, h)),
            Err(e) => {
                ledger.refused[id].store(true, SeqCst);
                ledger.violation(format!("task {parent}: its child {id} was refused: {e}"));
                drop(e.into_inner());
            }
        }
    }
    if let Order::NewestFirst = order {
        children.reverse();
    }
    for (id, panics, h) in &children {
        let outcome = match order {
            Order::Timed => match h.result_timeout(Duration::from_micros(rng.below(200))) {
                Err(TaskError::Timeout) => h.result(),
                outcome => outcome,
            },
            _ => h.result(),
        };
        let fine = match &outcome {
            Ok(v) => v.id == *id && !panics,
            Err(TaskError::Panicked(_)) => *panics,
            Err(TaskError::Cancelled) => ledger.cancelling.load(SeqCst),
            Err(TaskError::Deadlock) => ledger.sibling_waits.load(SeqCst),
            Err(_) => false,
        };
        if !fine {
            ledger.violation(format!(
                "task {parent}: child {id} (panics: {panics}) gave {:?}",
                outcome.map(|v| v.id)
            ));
        }
    }
}

// ---------------------------------------------------------------------
// The driver: one case.
// ---------------------------------------------------------------------

/// What the model knows of one task the driver submitted.
struct Rec {
    id: usize,
    what: String,
    panics: bool,
    /// Clones of its handle the driver holds (none once detached).
    views: Vec<TaskHandle<Value>>,
    /// `cancel()` returned true / false.
    cancel_won: bool,
    cancel_lost: bool,
    /// The value or the panic was moved out.
    taken: bool,
}

/// A future the driver polled and still holds.
struct Polled {
    rec: usize,
    future: TaskHandle<Value>,
    /// Made the waker of its last poll, which was `Pending`: a
    /// registration the task must honour.
    probe: WakerProbe,
}

/// Handles (with task ids) the stop hook got for its submissions.
type HookStash = Arc<Mutex<Vec<(usize, TaskHandle<Value>)>>>;

/// A done callback and its run count.
struct Callback {
    rec: usize,
    runs: Arc<AtomicUsize>,
}

/// How the case ends the pool.
#[derive(Clone, Copy, Debug)]
enum End {
    Shutdown,
    With(ShutdownOptions),
    DropLast,
    DropLastInTask,
}

fn random_end(rng: &mut Rng) -> End {
    match rng.below(7) {
        0 => End::Shutdown,
        1..=4 => {
            let k = rng.below(4);
            End::With(
                ShutdownOptions::new()
                    .wait(k & 1 == 0)
                    .cancel_pending(k & 2 != 0),
            )
        }
        5 => End::DropLast,
        _ => End::DropLastInTask,
    }
}

struct Case {
    index: usize,
    rng: Rng,
    gates: Gates,
    ledger: Arc<Ledger>,
    /// The driver's pool; `None` once its last clone was dropped.
    pool: Option<ThreadPool>,
    /// Shutdown has started (submissions from here must be refused).
    shut: bool,
    recs: Vec<Rec>,
    polled: Vec<Polled>,
    callbacks: Vec<Callback>,
    /// Every probe whose wakers the pool may hold, to check they are all
    /// released once the pool is gone.
    probes: Vec<WakerProbe>,
    /// Handles the stop hook got for its submissions.
    hook_handles: HookStash,
    progress: Arc<Mutex<String>>,
    /// `STEALPOOL_MODEL_TRACE`: print every step (for a replay).
    trace: bool,
    /// Whether this case has panicking callbacks and wakers: the pool
    /// reports each contained panic on stderr, uncaptured, so only one
    /// case in 32 has them, to keep CI logs readable.
    noisy: bool,
}

/// Describes a case's pool: workers, max_blocking.
fn config(index: usize) -> (usize, Option<usize>) {
    let workers = 1 + index % 3;
    let max_blocking = if (index / 3) % 2 == 0 { Some(0) } else { None };
    (workers, max_blocking)
}

impl Case {
    fn note(&self, what: String) {
        if self.trace {
            eprintln!("case {}: {what}", self.index);
        }
        *self.progress.lock().unwrap() = what;
    }

    fn violation(&self, what: String) {
        self.ledger.violation(what);
    }

    fn build(&mut self) {
        let (workers, max_blocking) = config(self.index);
        let mut builder = ThreadPool::builder()
            .max_workers(workers)
            .thread_name_prefix("model");
        if let Some(m) = max_blocking {
            builder = builder.max_blocking(m);
        }
        if self.gates.stop_hook_submit {
            let (ledger, stash) = (self.ledger.clone(), self.hook_handles.clone());
            builder = builder.on_worker_stop(move |_| {
                let Some(pool) = ThreadPool::current() else {
                    return;
                };
                let (id, f) = task(&ledger, Body::Plain);
                match pool.submit(f) {
                    Ok(h) => stash.lock().unwrap().push((id, h)),
                    Err(SubmitError::Shutdown(f)) => {
                        ledger.refused[id].store(true, SeqCst);
                        drop(f);
                    }
                    Err(other) => {
                        ledger.refused[id].store(true, SeqCst);
                        ledger.violation(format!("stop hook: task {id} refused: {other}"));
                        drop(other.into_inner());
                    }
                }
            });
        }
        self.pool = Some(builder.build().expect("build the pool"));
    }

    /// Submits `body` from the driver; refused after shutdown.
    fn submit(&mut self, body: Body, self_cell: Option<&Arc<OnceLock<TaskHandle<Value>>>>) {
        let what = body.describe();
        let panics = body.panics();
        let (id, f) = task(&self.ledger, body);
        let Some(pool) = &self.pool else {
            // No pool left to submit to: the closure is just dropped.
            self.ledger.refused[id].store(true, SeqCst);
            drop(f);
            return;
        };
        match pool.submit(f) {
            Ok(h) => {
                if self.shut {
                    self.violation(format!("task {id}: accepted from outside after shutdown"));
                }
                if let Some(cell) = self_cell {
                    let _ = cell.set(h.clone());
                }
                self.recs.push(Rec {
                    id,
                    what,
                    panics,
                    views: vec![h],
                    cancel_won: false,
                    cancel_lost: false,
                    taken: false,
                });
            }
            Err(SubmitError::Shutdown(f)) => {
                self.ledger.refused[id].store(true, SeqCst);
                if !self.shut {
                    self.violation(format!("task {id}: refused before shutdown"));
                }
                drop(f);
            }
            Err(other) => {
                self.ledger.refused[id].store(true, SeqCst);
                self.violation(format!("task {id}: refused: {other}"));
                drop(other.into_inner());
            }
        }
    }

    /// An outcome the driver got for record `r` by `how`; checks it.
    fn observe(&mut self, r: usize, how: &str, outcome: Result<Value, TaskError>) {
        let cancelling = self.ledger.cancelling.load(SeqCst);
        let rec = &mut self.recs[r];
        let (id, what) = (rec.id, rec.what.clone());
        let problem = match outcome {
            Ok(v) => {
                let p = if v.id != id {
                    Some(format!("got task {}'s value", v.id))
                } else if rec.panics {
                    Some("a value from a task that panics".to_owned())
                } else if rec.taken {
                    Some("a second value".to_owned())
                } else if rec.cancel_won {
                    Some("a value after a successful cancel".to_owned())
                } else {
                    None
                };
                rec.taken = true;
                p
            }
            Err(TaskError::Panicked(p)) => {
                let problem = if !rec.panics {
                    Some(format!("a panic: {}", p.message()))
                } else if rec.taken {
                    Some("a second panic".to_owned())
                } else if rec.cancel_won {
                    Some("a panic after a successful cancel".to_owned())
                } else {
                    None
                };
                rec.taken = true;
                problem
            }
            Err(TaskError::Cancelled) => {
                if rec.taken || rec.cancel_lost {
                    Some("Cancelled after it ran".to_owned())
                } else if !(rec.cancel_won || cancelling) {
                    Some("Cancelled without a cancel".to_owned())
                } else {
                    None
                }
            }
            Err(TaskError::ResultTaken) => {
                (!rec.taken).then(|| "ResultTaken before anything was taken".to_owned())
            }
            Err(TaskError::Timeout) => None,
            Err(other) => Some(format!("{other:?}")),
        };
        if let Some(problem) = problem {
            self.violation(format!("task {id} ({what}), {how}: {problem}"));
        }
    }

    fn pick(&mut self) -> Option<usize> {
        let live: Vec<usize> = (0..self.recs.len())
            .filter(|&r| !self.recs[r].views.is_empty())
            .collect();
        (!live.is_empty()).then(|| live[self.rng.below(live.len() as u64) as usize])
    }

    fn view(&mut self, r: usize) -> TaskHandle<Value> {
        let views = &self.recs[r].views;
        views[self.rng.below(views.len() as u64) as usize].clone()
    }

    /// One random step.
    fn step(&mut self) {
        let roll = self.rng.below(100);
        match roll {
            0..=34 => self.submit_random(),
            35..=41 => {
                if let Some(r) = self.pick() {
                    let h = self.view(r);
                    self.note(format!("cancel task {}", self.recs[r].id));
                    if h.cancel() {
                        self.recs[r].cancel_won = true;
                    } else {
                        self.recs[r].cancel_lost = true;
                    }
                }
            }
            42..=48 => self.add_callback(),
            49..=60 => self.poll_step(),
            61..=74 => self.wait_step(),
            75..=78 => {
                if let Some(r) = self.pick() {
                    self.note(format!("detach task {}", self.recs[r].id));
                    self.recs[r].views.clear();
                }
            }
            79..=82 => {
                if let Some(r) = self.pick() {
                    let h = self.view(r);
                    self.recs[r].views.push(h);
                }
            }
            83..=85 => self.wave(),
            _ => self.submit_random(),
        }
    }

    fn submit_random(&mut self) {
        let body = match self.rng.below(20) {
            0..=4 => Body::Plain,
            5 | 6 => Body::Panic,
            7 | 8 => Body::Frame(self.rng.below(32 << 10) as usize),
            9 | 10 => Body::Blocking(Duration::from_micros(self.rng.below(2000))),
            11..=15 => Body::Nested {
                depth: 1 + self.rng.below(3) as u32,
                fanout: 1 + self.rng.below(3) as u32,
                frame: self.rng.below(16 << 10) as usize,
                order: random_order(&mut self.rng),
                seed: self.rng.next_u64(),
            },
            16..=18 => match self.pick() {
                Some(r) => {
                    let h = self.view(r);
                    let untimed = self.gates.wait_on_sibling && self.rng.one_in(2);
                    if untimed {
                        self.ledger.sibling_waits.store(true, SeqCst);
                    }
                    let timeout = (!untimed).then(|| Duration::from_micros(self.rng.below(500)));
                    Body::WaitOn(h, timeout, self.recs[r].id)
                }
                None => Body::Plain,
            },
            _ if self.gates.self_wait => {
                let cell: Arc<OnceLock<TaskHandle<Value>>> = Arc::default();
                self.note("submit a self-waiting task".to_owned());
                self.submit(Body::SelfWait(cell.clone()), Some(&cell));
                return;
            }
            _ => Body::Plain,
        };
        self.note(format!("submit ({})", body.describe()));
        self.submit(body, None);
    }

    fn add_callback(&mut self) {
        let Some(r) = self.pick() else { return };
        let h = self.view(r);
        let runs = Arc::new(AtomicUsize::new(0));
        let (counted, ledger, id) = (runs.clone(), self.ledger.clone(), self.recs[r].id);
        let panics = self.noisy && self.rng.one_in(4);
        self.note(format!("add a done callback to task {id}"));
        h.add_done_callback(move |h| {
            counted.fetch_add(1, SeqCst);
            if !h.done() {
                ledger.violation(format!("task {id}: a callback ran before it ended"));
            }
            if panics {
                quiet_panic("model: a done callback that panics");
            }
        });
        self.callbacks.push(Callback { rec: r, runs });
    }

    fn poll_step(&mut self) {
        // Re-poll or drop a future polled earlier, or poll a new one.
        if !self.polled.is_empty() && self.rng.one_in(3) {
            let i = self.rng.below(self.polled.len() as u64) as usize;
            let mut p = self.polled.swap_remove(i);
            let id = self.recs[p.rec].id;
            let watch = p.future.clone(); // never polled: registers nothing
            if self.rng.one_in(2) {
                self.note(format!("drop a future of task {id}"));
                drop(p.future);
                if self.gates.waker_release {
                    self.expect_released(&p.probe, &watch, id, "its future was dropped");
                }
            } else {
                let probe = WakerProbe::new();
                self.note(format!("re-poll a future of task {id} with a new waker"));
                let outcome = poll_once(&mut p.future, &probe.waker());
                self.probes.push(probe.clone());
                if self.gates.waker_release {
                    self.expect_released(&p.probe, &watch, id, "its future was re-polled");
                }
                self.after_poll(p.rec, p.future, probe, outcome);
            }
            return;
        }
        let Some(r) = self.pick() else { return };
        let future = self.view(r);
        let probe = WakerProbe::new();
        let panics = self.noisy && self.gates.panicking_wakers && self.rng.one_in(3);
        let waker = if panics {
            probe.panicking_waker()
        } else {
            probe.waker()
        };
        self.note(format!(
            "poll task {} with a {} waker",
            self.recs[r].id,
            if panics { "panicking" } else { "good" }
        ));
        let mut future = future;
        let outcome = poll_once(&mut future, &waker);
        drop(waker);
        self.probes.push(probe.clone());
        self.after_poll(r, future, probe, outcome);
    }

    fn after_poll(
        &mut self,
        r: usize,
        future: TaskHandle<Value>,
        probe: WakerProbe,
        outcome: Poll<Result<Value, TaskError>>,
    ) {
        match outcome {
            Poll::Ready(outcome) => self.observe(r, "poll", outcome),
            Poll::Pending => self.polled.push(Polled {
                rec: r,
                future,
                probe,
            }),
        }
    }

    /// A registration given up (future dropped, or replaced by a re-poll)
    /// is released at once, unless the task has ended (its completer may be
    /// waking it just now). `watch` is another handle to the task. Read in
    /// this order, a waker still held while the task is not done was held
    /// before any completion began.
    fn expect_released(&self, probe: &WakerProbe, watch: &TaskHandle<Value>, id: usize, why: &str) {
        let held = probe.held();
        if held != 0 && !watch.done() {
            self.violation(format!(
                "task {id}: {why} while pending, but the pool still holds its waker"
            ));
        }
    }

    fn wait_step(&mut self) {
        let Some(r) = self.pick() else { return };
        let h = self.view(r);
        let id = self.recs[r].id;
        let t = Duration::from_micros(self.rng.below(1500));
        match self.rng.below(4) {
            0 => {
                self.note(format!("result() of task {id}"));
                let outcome = h.result();
                self.observe(r, "result()", outcome);
            }
            1 => {
                self.note(format!("result_timeout({t:?}) of task {id}"));
                let outcome = h.result_timeout(t);
                self.observe(r, "result_timeout()", outcome);
            }
            2 => {
                self.note(format!("wait() on task {id}"));
                h.wait();
                if !h.done() {
                    self.violation(format!("task {id}: wait() returned before it ended"));
                }
            }
            _ => {
                self.note(format!("wait_timeout({t:?}) on task {id}"));
                if h.wait_timeout(t) && !h.done() {
                    self.violation(format!("task {id}: wait_timeout() true, not ended"));
                }
            }
        }
    }

    /// A wave: a task runs a few milliseconds while many tasks, each with a
    /// frame on its stack, wait on it (helping workers nest them).
    fn wave(&mut self) {
        let (count, frame) = if self.gates.big_frames {
            (120 + self.rng.below(80) as usize, 64 << 10)
        } else {
            (
                8 + self.rng.below(56) as usize,
                self.rng.below(8 << 10) as usize,
            )
        };
        let hold = Duration::from_micros(500 + self.rng.below(3000));
        self.note(format!("wave of {count} tasks with {frame} B frames"));
        let before = self.recs.len();
        self.submit(Body::Blocking(hold), None);
        if self.recs.len() == before {
            return; // refused: the pool is shut down
        }
        let gate = self.recs[before].views[0].clone();
        for _ in 0..count {
            self.submit(Body::WaveMember(gate.clone(), frame), None);
        }
    }

    /// Ends the pool in the form `end`.
    fn end(&mut self, end: End) {
        if self.trace {
            for rec in &self.recs {
                if let Some(h) = rec.views.first() {
                    eprintln!(
                        "  task {} ({}): done {} running {} cancelled {}",
                        rec.id,
                        rec.what,
                        h.done(),
                        h.running(),
                        h.cancelled()
                    );
                }
            }
            if let Some(pool) = &self.pool {
                eprintln!("  {:?}", pool.stats());
            }
        }
        self.note(format!("end: {end:?}"));
        self.shut = true;
        match end {
            End::Shutdown => {
                self.pool.as_ref().unwrap().shutdown();
                self.all_done_after_a_waiting_shutdown();
            }
            End::With(options) => {
                if options.cancel_pending {
                    self.ledger.cancelling.store(true, SeqCst);
                }
                let known: Vec<(usize, TaskHandle<Value>)> = self
                    .recs
                    .iter()
                    .enumerate()
                    .filter_map(|(r, rec)| rec.views.first().map(|h| (r, h.clone())))
                    .collect();
                self.pool.as_ref().unwrap().shutdown_with(options);
                if options.wait {
                    self.all_done_after_a_waiting_shutdown();
                } else if options.cancel_pending && self.gates.cancel_snapshot {
                    // Pending now: not done, not running, still not done.
                    let pending: Vec<_> = known
                        .into_iter()
                        .filter(|(_, h)| !h.done() && !h.running() && !h.done())
                        .collect();
                    for (r, h) in pending {
                        if h.wait_timeout(HANG) && !h.cancelled() {
                            self.violation(format!(
                                "task {} ({}): pending when shutdown_with(cancel_pending) \
                                 returned, then ran",
                                self.recs[r].id, self.recs[r].what
                            ));
                        }
                    }
                }
            }
            End::DropLast => {
                drop(self.pool.take());
                self.all_done_after_a_waiting_shutdown();
            }
            End::DropLastInTask => {
                let last = self.pool.take().unwrap();
                let runner = last.clone();
                let gate = Latch::new();
                let g = gate.clone();
                // Held until the driver's clone is gone, so the task's drop
                // is the last one.
                let dropper = runner
                    .submit(move || {
                        g.wait();
                        drop(last);
                    })
                    .expect("the pool is open");
                drop(runner);
                gate.open();
                if !dropper.wait_timeout(HANG) {
                    self.violation("the task dropping the last pool clone never ran".into());
                }
            }
        }
    }

    /// After a waiting shutdown returns, every task the driver knows of
    /// has ended.
    fn all_done_after_a_waiting_shutdown(&self) {
        for rec in &self.recs {
            if let Some(h) = rec.views.first() {
                if !h.done() {
                    self.violation(format!(
                        "task {} ({}): still not done when a waiting shutdown returned",
                        rec.id, rec.what
                    ));
                }
            }
        }
    }

    /// Resolves every handle, ends the pool and checks the whole ledger.
    fn finish(&mut self, threads_before: usize) {
        self.note("finish: resolve every handle".into());
        let deadline = Instant::now() + HANG / 2;
        for r in 0..self.recs.len() {
            let Some(h) = self.recs[r].views.first().cloned() else {
                continue;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if !h.wait_timeout(left) {
                self.violation(format!(
                    "task {} ({}): never resolved",
                    self.recs[r].id, self.recs[r].what
                ));
                continue;
            }
            let outcome = h.result();
            self.observe(r, "final result()", outcome);
            if !self.recs[r].taken && !h.cancelled() {
                self.violation(format!(
                    "task {}: ended neither taken nor cancelled",
                    self.recs[r].id
                ));
            }
        }
        // Wakers registered while pending are woken (the task has ended;
        // its completer may still be waking them).
        let _ = eventually_for(Duration::from_secs(5), || {
            self.polled.iter().all(|p| p.probe.wakes() >= 1)
        });
        for p in &self.polled {
            if p.probe.wakes() == 0 {
                self.violation(format!(
                    "task {}: a waker registered while pending was never woken",
                    self.recs[p.rec].id
                ));
            }
        }
        if !self.ledger.violations().is_empty() {
            // The pool may be stuck: do not wait for it.
            std::mem::forget(self.pool.take());
            return;
        }
        self.note("finish: drop the pool".into());
        drop(self.pool.take());
        self.polled.clear();
        for rec in &mut self.recs {
            rec.views.clear();
        }
        self.note("finish: threads".into());
        if !eventually_for(HANG / 2, || support::thread_count() <= threads_before) {
            self.violation(format!(
                "{} threads outlived the pool",
                support::thread_count() - threads_before
            ));
        }
        // A stop hook's submission was refused or runs.
        let stashed = std::mem::take(&mut *self.hook_handles.lock().unwrap());
        for (id, h) in stashed {
            if !h.wait_timeout(Duration::from_secs(5)) {
                self.violation(format!(
                    "stop hook: task {id} was accepted after shutdown and never ran"
                ));
            } else if let Err(e) = h.result() {
                self.violation(format!("stop hook: task {id} ended {e:?}"));
            }
        }
        self.note("finish: callbacks and drops".into());
        // Effects that land just after completion (a callback run by the
        // completer, a value dropped by a worker): one shared wait.
        let l = &self.ledger;
        let _ = eventually_for(Duration::from_secs(5), || {
            self.callbacks.iter().all(|c| c.runs.load(SeqCst) >= 1)
                && self.probes.iter().all(|p| p.held() == 0)
                && (0..l.ids()).all(|id| {
                    l.closures_dropped[id].load(SeqCst) >= 1
                        && l.values_dropped[id].load(SeqCst) >= l.values_made[id].load(SeqCst)
                })
        });
        for c in &self.callbacks {
            let runs = c.runs.load(SeqCst);
            if runs != 1 {
                self.violation(format!(
                    "task {}: a done callback ran {runs} times",
                    self.recs[c.rec].id
                ));
            }
        }
        self.check_ledger();
        for (i, probe) in self.probes.iter().enumerate() {
            if probe.held() != 0 {
                self.violation(format!(
                    "waker probe {i}: {} waker(s) outlived the pool",
                    probe.held()
                ));
            }
        }
    }

    fn check_ledger(&self) {
        let l = &self.ledger;
        let cancelled: std::collections::HashSet<usize> = self
            .recs
            .iter()
            .filter(|r| r.cancel_won)
            .map(|r| r.id)
            .collect();
        let cancelling = l.cancelling.load(SeqCst);
        for id in 0..l.ids() {
            let runs = l.runs[id].load(SeqCst);
            let closures = l.closures_dropped[id].load(SeqCst);
            let (made, dropped) = (
                l.values_made[id].load(SeqCst),
                l.values_dropped[id].load(SeqCst),
            );
            let refused = l.refused[id].load(SeqCst);
            let mut problems = Vec::new();
            if runs > 1 {
                problems.push(format!("ran {runs} times"));
            }
            if runs > 0 && (refused || cancelled.contains(&id)) {
                problems.push("ran after a successful cancel or a refused submit".to_owned());
            }
            if runs == 0 && !(refused || cancelled.contains(&id) || cancelling) {
                problems.push("never ran, and nothing cancelled it".to_owned());
            }
            if closures != 1 {
                problems.push(format!("closure dropped {closures} times"));
            }
            if made > 1 || dropped != made {
                problems.push(format!("{made} value(s) made, {dropped} dropped"));
            }
            if !problems.is_empty() {
                self.violation(format!("task {id}: {}", problems.join(", ")));
            }
        }
    }

    fn run(&mut self, steps: usize) {
        self.noisy = self.rng.one_in(32);
        let threads_before = support::thread_count();
        self.build();
        let end_at = steps / 2 + self.rng.below(steps as u64 / 2 + 1) as usize;
        let end = random_end(&mut self.rng);
        for step in 0..steps {
            if step == end_at {
                self.end(end);
            }
            self.step();
            if !self.ledger.violations().is_empty() {
                break;
            }
        }
        if !self.shut {
            self.end(end);
        }
        self.finish(threads_before);
        let violations = self.ledger.violations();
        assert!(
            violations.is_empty(),
            "{} violation(s), the first: {}",
            violations.len(),
            violations.join("\n  ")
        );
    }
}

/// Runs case `index` on a thread of its own; a panic or a hang (past
/// `HANG`) fails with the seed, the case and the step it was at.
fn run_case(seed: u64, index: usize, steps: usize, gates: Gates) {
    let progress = Arc::new(Mutex::new("building the pool".to_owned()));
    let (tx, rx) = mpsc::channel();
    let p = progress.clone();
    let thread = std::thread::Builder::new()
        .name(format!("model case {index}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut case = Case {
                    index,
                    rng: Rng::new(seed, index as u64),
                    gates,
                    ledger: Ledger::new(),
                    pool: None,
                    shut: false,
                    recs: Vec::new(),
                    polled: Vec::new(),
                    callbacks: Vec::new(),
                    probes: Vec::new(),
                    hook_handles: Arc::default(),
                    progress: p,
                    trace: std::env::var_os("STEALPOOL_MODEL_TRACE").is_some(),
                    noisy: false,
                };
                case.run(steps);
            }));
            let _ = tx.send(outcome.err().map(|payload| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a non-string panic".to_owned())
            }));
        })
        .expect("spawn a case thread");
    let (workers, max_blocking) = config(index);
    let where_ = |what: &str| {
        format!(
            "seed {seed} case {index} (workers {workers}, max_blocking {max_blocking:?}) at \
             {:?}: {what}\nreplay: STEALPOOL_SEED={seed} STEALPOOL_MODEL_CASE={index} \
             cargo test --test model",
            progress.lock().unwrap()
        )
    };
    match rx.recv_timeout(HANG) {
        Ok(None) => {
            let _ = thread.join();
        }
        Ok(Some(message)) => panic!("{}", where_(&message)),
        Err(_) => panic!(
            "{}",
            where_(&format!("still running after {HANG:?} (a hang)"))
        ),
    }
}

#[test]
fn random_programs_match_the_model() {
    let seed = support::seed(0x0DE1_2021);
    // Also straight to stderr, uncaptured: a case that aborts the process
    // (a stack overflow) still leaves the seed to replay.
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "model: seed {} (an abort below replays with STEALPOOL_SEED={})",
            seed.0,
            seed.0
        );
    }
    let gates = Gates::from_env();
    let steps = support::env_usize("STEALPOOL_MODEL_STEPS", DEFAULT_STEPS);
    let cases: Vec<usize> = match std::env::var("STEALPOOL_MODEL_CASE") {
        Ok(k) => vec![k.parse().expect("STEALPOOL_MODEL_CASE is a case index")],
        Err(_) => (0..support::env_usize("STEALPOOL_MODEL_CASES", DEFAULT_CASES)).collect(),
    };
    let budget = Duration::from_secs(support::env_usize(
        "STEALPOOL_MODEL_SECS",
        DEFAULT_SECS as usize,
    ) as u64);
    let start = Instant::now();
    let mut ran = 0;
    for &index in &cases {
        if start.elapsed() >= budget {
            break;
        }
        run_case(seed.0, index, steps, gates);
        ran += 1;
    }
    println!(
        "{ran} of {} cases of {steps} steps in {:?}, gates {gates:?}",
        cases.len(),
        start.elapsed()
    );
}
