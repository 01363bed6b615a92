//! Builder hooks: worker start/stop, around each task, task panics; a
//! panicking hook is contained and the pool keeps serving.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use stealpool::ThreadPool;

#[derive(Default)]
struct Seen {
    starts: AtomicUsize,
    stops: AtomicUsize,
    before: AtomicUsize,
    after: AtomicUsize,
    panics: Mutex<Vec<String>>,
}

#[test]
fn every_hook_fires_the_right_number_of_times() {
    let seen = Arc::new(Seen::default());
    let (a, b, c, d, e) = (
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
    );
    let pool = ThreadPool::builder()
        .max_workers(3)
        .on_worker_start(move |i| {
            assert!(i < 3);
            a.starts.fetch_add(1, SeqCst);
        })
        .on_worker_stop(move |_| {
            b.stops.fetch_add(1, SeqCst);
        })
        .before_task(move |_| {
            c.before.fetch_add(1, SeqCst);
        })
        .after_task(move |_| {
            d.after.fetch_add(1, SeqCst);
        })
        .panic_handler(move |p| e.panics.lock().unwrap().push(p.message().to_owned()))
        .build()
        .unwrap();
    let ok: Vec<_> = (0..20).map(|i| pool.submit(move || i).unwrap()).collect();
    let bad = pool.submit(|| -> u8 { panic!("handled") }).unwrap();
    ok.iter().for_each(|h| assert!(h.result().is_ok()));
    assert_eq!(bad.result().unwrap_err().panic_message(), Some("handled"));
    assert_eq!(
        *seen.panics.lock().unwrap(),
        ["handled"],
        "handler saw it before the handle did"
    );
    pool.shutdown();
    assert_eq!(seen.starts.load(SeqCst), 3);
    assert_eq!(seen.stops.load(SeqCst), 3);
    assert_eq!(seen.before.load(SeqCst), 21);
    assert_eq!(seen.after.load(SeqCst), 21);
}

#[test]
fn before_and_after_bracket_the_task_on_its_thread() {
    thread_local!(static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    let pool = ThreadPool::builder()
        .max_workers(2)
        .before_task(|_| IN_TASK.with(|t| t.set(true)))
        .after_task(|_| IN_TASK.with(|t| t.set(false)))
        .build()
        .unwrap();
    let hs: Vec<_> = (0..50)
        .map(|_| pool.submit(|| IN_TASK.with(|t| t.get())).unwrap())
        .collect();
    assert!(hs.iter().all(|h| h.result().unwrap()));
}

#[test]
fn panicking_hooks_are_contained() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .before_task(|_| panic!("before hook"))
        .after_task(|_| panic!("after hook"))
        .on_worker_stop(|_| panic!("stop hook"))
        .panic_handler(|_| panic!("handler"))
        .build()
        .unwrap();
    assert_eq!(
        pool.submit(|| 7).unwrap().result().unwrap(),
        7,
        "task runs despite hooks"
    );
    assert!(pool
        .submit(|| -> u8 { panic!("task") })
        .unwrap()
        .result()
        .unwrap_err()
        .is_panic());
    assert_eq!(
        pool.submit(|| 8).unwrap().result().unwrap(),
        8,
        "the worker survived"
    );
    pool.shutdown(); // the stop hook panics on the way out; shutdown still returns
}

/// A pool clone the stop hook can reach (the hook is built before the pool).
type Slot = Arc<Mutex<Option<ThreadPool>>>;

#[test]
fn a_submit_from_the_stop_hook_is_refused_after_shutdown_never_lost() {
    let slot: Slot = Arc::default();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let (s, o) = (slot.clone(), outcomes.clone());
    let pool = ThreadPool::builder()
        .max_workers(2)
        .on_worker_stop(move |_| {
            let pool = s.lock().unwrap().clone();
            let Some(pool) = pool else { return };
            assert!(ThreadPool::current().is_none(), "not a worker any more");
            let outcome = match pool.submit(|| 5) {
                Err(e) => format!("refused: {}", e.is_shutdown()),
                Ok(h) => match h.result_timeout(std::time::Duration::from_secs(30)) {
                    Ok(v) => format!("ran: {v}"),
                    Err(e) => format!("lost: {e}"),
                },
            };
            o.lock().unwrap().push(outcome);
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(pool.clone());
    pool.shutdown();
    slot.lock().unwrap().take();
    let outcomes = outcomes.lock().unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes.iter().all(|o| o == "refused: true"),
        "{outcomes:?}"
    );
}

#[test]
fn dropping_the_last_pool_handle_in_the_stop_hook_does_not_wait_for_itself() {
    let slot: Slot = Arc::default();
    let main_dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s, m) = (slot.clone(), main_dropped.clone());
    let pool = ThreadPool::builder()
        .max_workers(2)
        .on_worker_stop(move |_| {
            while !m.load(SeqCst) {
                std::thread::yield_now();
            }
            drop(s.lock().unwrap().take());
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(pool.clone());
    // Not waiting: the workers exit on their own, and the first stop hook
    // drops the last handle, which runs a waiting shutdown on a pool thread.
    pool.shutdown_with(
        stealpool::ShutdownOptions::new()
            .wait(false)
            .cancel_pending(false),
    );
    drop(pool);
    main_dropped.store(true, SeqCst);
    let done = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while slot.lock().unwrap().is_some() {
        assert!(std::time::Instant::now() < done, "the stop hook never ran");
        std::thread::yield_now();
    }
}

/// A value whose drop panics.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop");
    }
}

#[test]
fn the_panic_handler_receives_every_contained_panic_with_its_origin() {
    use stealpool::PanicOrigin;
    let seen: Arc<Mutex<Vec<(PanicOrigin, String)>>> = Arc::default();
    let log = seen.clone();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .before_task(|_| panic!("before"))
        .panic_handler(move |p| log.lock().unwrap().push((p.origin(), p.to_string())))
        .build()
        .unwrap();
    // A task panic, and the before_task hook's on every run.
    let failed = pool.submit(|| -> u8 { panic!("task") }).unwrap();
    failed.wait();
    // A done callback run by the worker, one run here (task finished), and
    // one run by a cancel on this thread.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocker = pool.submit(move || rx.recv().is_ok()).unwrap();
    blocker.add_done_callback(|_| panic!("callback on the worker"));
    failed.add_done_callback(|_| panic!("callback here"));
    let queued = pool.submit(|| ()).unwrap();
    queued.add_done_callback(|_| panic!("callback on cancel"));
    assert!(queued.cancel());
    // A cancelled closure whose drop panics, dropped by this thread.
    let owned = PanicOnDrop;
    let dropped = pool.submit(move || drop(owned)).unwrap();
    assert!(dropped.cancel());
    tx.send(()).unwrap();
    blocker.wait();
    pool.shutdown();
    let seen = seen.lock().unwrap();
    let has =
        |origin: PanicOrigin, message: &str| seen.iter().any(|(o, m)| *o == origin && m == message);
    assert!(has(PanicOrigin::Task, "task"), "{seen:?}");
    assert!(has(PanicOrigin::Hook, "before"), "{seen:?}");
    assert!(
        has(PanicOrigin::DoneCallback, "callback on the worker"),
        "{seen:?}"
    );
    assert!(has(PanicOrigin::DoneCallback, "callback here"), "{seen:?}");
    assert!(
        has(PanicOrigin::DoneCallback, "callback on cancel"),
        "{seen:?}"
    );
    assert!(has(PanicOrigin::Drop, "drop"), "{seen:?}");
}
