//! `ThreadPool::broadcast`, `current_thread_index` and `current_num_threads`:
//! every regular worker runs the closure exactly once, values come back in
//! worker order, from outside the pool and from its tasks (one worker
//! included), a panic comes back only after every copy finished, a
//! shut-down pool refuses it, and busy workers are waited for.

mod support;

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use stealpool::{current_num_threads, current_thread_index, TaskError, ThreadPool};
use support::{eventually, Census, Latch, Watchdog, HANG};

#[test]
fn values_come_back_in_worker_order() {
    let _watchdog = Watchdog::new("broadcast in worker order", HANG);
    let pool = ThreadPool::new(4).unwrap();
    let indices = pool.broadcast(current_thread_index).unwrap();
    assert_eq!(indices, [Some(0), Some(1), Some(2), Some(3)]);
}

#[test]
fn each_worker_runs_it_exactly_once_on_its_own_thread() {
    let _watchdog = Watchdog::new("broadcast once per worker", HANG);
    // The start hook records which thread each worker index is.
    let started: Arc<Mutex<HashMap<usize, ThreadId>>> = Arc::default();
    let record = started.clone();
    let pool = ThreadPool::builder()
        .max_workers(4)
        .on_worker_start(move |index| {
            record.lock().unwrap().insert(index, thread::current().id());
        })
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    for round in 0..20 {
        let ids = pool
            .broadcast(|| {
                calls.fetch_add(1, SeqCst);
                thread::current().id()
            })
            .unwrap();
        assert_eq!(calls.load(SeqCst), 4 * (round + 1));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 4, "{ids:?}");
        assert!(!ids.contains(&thread::current().id()));
        let started = started.lock().unwrap();
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(started.get(&index), Some(id), "worker {index}");
        }
    }
}

#[test]
fn the_closure_may_borrow_and_return_borrows() {
    let _watchdog = Watchdog::new("borrowing broadcast", HANG);
    let pool = ThreadPool::new(3).unwrap();
    let words = [String::from("alpha"), String::from("beta")];
    let firsts: Vec<&str> = pool.broadcast(|| words[0].as_str()).unwrap();
    assert_eq!(firsts, ["alpha"; 3]);
    let seen = Mutex::new(Vec::new());
    pool.broadcast(|| seen.lock().unwrap().push(current_thread_index()))
        .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, [Some(0), Some(1), Some(2)]);
}

#[test]
fn from_a_task_the_caller_runs_its_own_copy() {
    let _watchdog = Watchdog::new("broadcast from a task", HANG);
    let pool = ThreadPool::new(3).unwrap();
    let h = pool
        .submit(|| -> Result<_, TaskError> {
            let pool = ThreadPool::current().expect("on a worker");
            let me = (current_thread_index(), thread::current().id());
            let all = pool.broadcast(|| (current_thread_index(), thread::current().id()))?;
            Ok((me, all))
        })
        .unwrap();
    let ((me, my_thread), all) = h.result().unwrap().unwrap();
    let me = me.expect("a worker has an index");
    assert_eq!(
        all[me],
        (Some(me), my_thread),
        "the caller's copy ran inline"
    );
    let indices: Vec<_> = all.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, [Some(0), Some(1), Some(2)]);
}

#[test]
fn from_a_task_on_a_one_worker_pool() {
    let _watchdog = Watchdog::new("broadcast on one worker", HANG);
    let pool = ThreadPool::new(1).unwrap();
    for _ in 0..100 {
        let h = pool
            .submit(|| {
                ThreadPool::current()
                    .unwrap()
                    .broadcast(current_thread_index)
            })
            .unwrap();
        assert_eq!(h.result().unwrap().unwrap(), [Some(0)]);
    }
    // And nested: a copy that broadcasts again.
    let h = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            pool.broadcast(|| pool.broadcast(|| 5).unwrap())
        })
        .unwrap();
    assert_eq!(h.result().unwrap().unwrap(), [vec![5]]);
}

#[test]
fn nested_broadcasts_on_every_worker_do_not_deadlock() {
    // Each worker's copy broadcasts again while the other workers' copies
    // do the same: each waits for the others' inner copies, and runs them
    // while it waits.
    let _watchdog = Watchdog::new("nested broadcasts", HANG);
    let pool = ThreadPool::new(3).unwrap();
    for _ in 0..20 {
        let inner = pool
            .broadcast(|| {
                let pool = ThreadPool::current().unwrap();
                pool.broadcast(current_thread_index).unwrap()
            })
            .unwrap();
        assert_eq!(inner, vec![vec![Some(0), Some(1), Some(2)]; 3]);
    }
}

#[test]
fn a_panic_is_resumed_once_every_copy_finished() {
    let _watchdog = Watchdog::new("panicking broadcast", HANG);
    let pool = ThreadPool::new(3).unwrap();
    let census = Census::new();
    let panicked = Latch::new();
    let finished = AtomicUsize::new(0);
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.broadcast(|| {
            if current_thread_index() == Some(1) {
                panicked.open();
                panic!("boom on 1");
            }
            // Still running when worker 1 has panicked.
            panicked.wait();
            let value = census.make(0);
            finished.fetch_add(1, SeqCst);
            value
        })
    }));
    let Err(payload) = result else {
        panic!("the panic is resumed on the caller");
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom on 1"));
    assert_eq!(
        finished.load(SeqCst),
        2,
        "resumed before every copy finished"
    );
    assert_eq!((census.created(), census.live()), (2, 0), "values dropped");
    // The pool carries on.
    assert_eq!(pool.broadcast(|| 1).unwrap(), [1, 1, 1]);
}

#[test]
fn several_panics_resume_the_lowest_index() {
    let _watchdog = Watchdog::new("broadcast panics", HANG);
    let pool = ThreadPool::new(3).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.broadcast(|| -> () {
            let index = current_thread_index().unwrap();
            if index > 0 {
                panic!("boom on {index}");
            }
        })
    }));
    let payload = result.expect_err("resumed");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("boom on 1")
    );
}

#[test]
fn after_shutdown_it_is_refused_from_outside_and_never_runs() {
    let _watchdog = Watchdog::new("broadcast after shutdown", HANG);
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    let ran = AtomicUsize::new(0);
    let err = pool
        .broadcast(|| {
            ran.fetch_add(1, SeqCst);
        })
        .unwrap_err();
    assert!(err.is_shutdown(), "{err:?}");
    assert_eq!(ran.load(SeqCst), 0);
}

#[test]
fn from_a_task_it_is_accepted_after_shutdown() {
    // As submit from a task is: the pool cannot finish while the task runs,
    // so every worker, the sleeping one too, still runs its copy.
    let _watchdog = Watchdog::new("broadcast from a task after shutdown", HANG);
    let pool = ThreadPool::new(2).unwrap();
    let (started, go) = (Latch::new(), Latch::new());
    let (s, g) = (started.clone(), go.clone());
    let h = pool
        .submit(move || {
            s.open();
            g.wait();
            ThreadPool::current()
                .unwrap()
                .broadcast(current_thread_index)
        })
        .unwrap();
    started.wait();
    pool.shutdown_with(stealpool::ShutdownOptions::new().wait(false));
    go.open();
    assert_eq!(h.result().unwrap().unwrap(), [Some(0), Some(1)]);
    pool.shutdown();
}

#[test]
fn it_waits_for_a_busy_worker_which_runs_its_copy_after_its_task() {
    let _watchdog = Watchdog::new("broadcast waits for a busy worker", HANG);
    let pool = ThreadPool::new(2).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let busy_done = Arc::new(AtomicBool::new(false));
    let (s, r, d) = (started.clone(), release.clone(), busy_done.clone());
    let busy = pool
        .submit(move || {
            s.open();
            r.wait();
            d.store(true, SeqCst);
            current_thread_index().unwrap()
        })
        .unwrap();
    started.wait();
    let copies = Arc::new(AtomicUsize::new(0));
    let returned = Arc::new(AtomicBool::new(false));
    let caller = {
        let (pool, copies, returned, busy_done) = (
            pool.clone(),
            copies.clone(),
            returned.clone(),
            busy_done.clone(),
        );
        thread::spawn(move || {
            let seen = pool
                .broadcast(|| {
                    copies.fetch_add(1, SeqCst);
                    busy_done.load(SeqCst)
                })
                .unwrap();
            returned.store(true, SeqCst);
            seen
        })
    };
    // The idle worker runs its copy; the busy one cannot until its task
    // returns, so the broadcast cannot have returned.
    assert!(eventually(|| copies.load(SeqCst) == 1));
    assert!(!returned.load(SeqCst));
    release.open();
    let seen = caller.join().unwrap();
    let busy_index = busy.result().unwrap();
    assert!(
        seen[busy_index],
        "the busy worker ran its copy after its task"
    );
    assert!(!seen[1 - busy_index]);
}

#[test]
fn a_worker_in_a_helping_wait_runs_its_copy_meanwhile() {
    // Task Z broadcasts while task X, on the other worker, waits for Z:
    // X's wait runs X's worker's copy, or neither could finish.
    let _watchdog = Watchdog::new("broadcast into a helping wait", HANG);
    let pool = ThreadPool::new(2).unwrap();
    let (started, go) = (Latch::new(), Latch::new());
    let (s, g) = (started.clone(), go.clone());
    let z = pool
        .submit(move || {
            s.open();
            g.wait();
            ThreadPool::current()
                .unwrap()
                .broadcast(current_thread_index)
        })
        .unwrap();
    started.wait(); // Z holds one worker
    let waiting = Arc::new(AtomicBool::new(false));
    let w = waiting.clone();
    let z2 = z.clone();
    let x = pool
        .submit(move || {
            w.store(true, SeqCst);
            z2.wait(); // Z runs elsewhere: this wait helps, then parks
            current_thread_index()
        })
        .unwrap();
    assert!(eventually(|| waiting.load(SeqCst)));
    go.open();
    assert_eq!(z.result().unwrap().unwrap(), [Some(0), Some(1)]);
    assert!(x.result().unwrap().is_some());
}

#[test]
fn copies_are_not_tasks_but_an_outside_call_is_carried_by_one() {
    let _watchdog = Watchdog::new("broadcast and hooks", HANG);
    let before = Arc::new(AtomicUsize::new(0));
    let b = before.clone();
    let pool = ThreadPool::builder()
        .max_workers(3)
        .before_task(move |_| {
            b.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    pool.broadcast(|| ()).unwrap();
    assert_eq!(
        before.load(SeqCst),
        1,
        "one carrier task, no hooks per copy"
    );
}

#[test]
fn current_thread_index_numbers_extra_workers_after_the_regular_ones() {
    let _watchdog = Watchdog::new("index of an extra worker", HANG);
    let pool = ThreadPool::builder()
        .max_workers(1)
        .max_blocking(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Option<usize>>();
    // The only regular worker blocks in a blocking section...
    let reader = pool
        .submit(move || {
            let outer = current_thread_index();
            (
                outer,
                stealpool::blocking(|| rx.recv_timeout(HANG).unwrap()),
            )
        })
        .unwrap();
    // ...so an extra worker, slot 1, runs this one.
    pool.submit(move || tx.send(current_thread_index()).unwrap())
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(reader.result().unwrap(), (Some(0), Some(1)));
    assert_eq!(current_thread_index(), None);
}

#[test]
fn current_num_threads_counts_the_regular_workers_of_the_callers_pool() {
    let _watchdog = Watchdog::new("current_num_threads", HANG);
    let pool = ThreadPool::builder()
        .max_workers(3)
        .max_blocking(2)
        .build()
        .unwrap();
    assert_eq!(pool.current_num_threads(), 3);
    assert_eq!(pool.current_num_threads(), pool.max_workers());
    assert_eq!(current_num_threads(), None);
    let other = ThreadPool::new(2).unwrap();
    let inner = pool
        .submit(move || {
            let mine = current_num_threads();
            let theirs = other.submit(current_num_threads).unwrap().result().unwrap();
            (mine, theirs)
        })
        .unwrap();
    assert_eq!(inner.result().unwrap(), (Some(3), Some(2)));
    pool.shutdown();
    assert_eq!(pool.current_num_threads(), 3, "fixed at build");
}
