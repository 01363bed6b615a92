//! `ThreadPool::scope`: tasks that borrow, with handles; the scope returns
//! only after every task finished, re-raises untaken panics, nests, and
//! survives shutdown and cancel.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;
use stealpool::{Scope, ShutdownOptions, TaskError, ThreadPool};
use support::{eventually, Latch, Watchdog, HANG};

fn caught<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

/// Counts its own drops into a borrowed counter: a value that borrows.
struct Marker<'a>(&'a AtomicUsize);

impl Drop for Marker<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn tasks_borrow_disjoint_parts_and_return_values() {
    let pool = ThreadPool::new(2).unwrap();
    let mut parts = vec![0u64; 8];
    let total = pool.scope(|s| {
        let hs: Vec<_> = parts
            .chunks_mut(2)
            .map(|c| {
                s.submit(move || {
                    c[0] = 1;
                    c.len()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.result().unwrap()).sum::<usize>()
    });
    assert_eq!(total, 8);
    assert_eq!(parts, [1, 0, 1, 0, 1, 0, 1, 0]);
}

#[test]
fn scope_returns_only_after_detached_tasks_finished() {
    for workers in [1, 2] {
        let pool = ThreadPool::new(workers).unwrap();
        let finished = AtomicBool::new(false);
        let closure_returned = AtomicBool::new(false);
        let go = Latch::new();
        thread::scope(|t| {
            // Opens the gate only once the scope's closure has returned, so
            // the task is still blocked when `scope` starts waiting.
            t.spawn(|| {
                assert!(eventually(|| closure_returned.load(SeqCst)));
                go.open();
            });
            pool.scope(|s| {
                s.submit(|| {
                    go.wait();
                    finished.store(true, SeqCst);
                });
                closure_returned.store(true, SeqCst);
            });
            assert!(finished.load(SeqCst), "scope returned before its task");
        });
    }
}

#[test]
fn untaken_values_are_dropped_before_the_scope_returns() {
    let pool = ThreadPool::new(2).unwrap();
    let drops = AtomicUsize::new(0);
    let gate = Latch::new();
    pool.scope(|s| {
        // Handle dropped before the task finishes: the task disposes.
        for _ in 0..10 {
            let g = gate.clone();
            let d = &drops;
            drop(s.submit(move || {
                g.wait();
                Marker(d)
            }));
        }
        // Their handles are gone: the tasks dispose of their values.
        gate.open();
        // Handle dropped after the task finished, value not taken.
        for _ in 0..10 {
            let h = s.submit(|| Marker(&drops));
            h.wait();
            drop(h);
        }
        // Value taken and dropped by the caller.
        drop(s.submit(|| Marker(&drops)).result().unwrap());
    });
    assert_eq!(drops.load(SeqCst), 21);
}

#[test]
fn an_untaken_panic_is_raised_after_every_task_finished() {
    for workers in [1, 2] {
        let pool = ThreadPool::new(workers).unwrap();
        let slow_done = AtomicBool::new(false);
        let panicked = Latch::new();
        let err = caught(|| {
            pool.scope(|s| {
                let p = panicked.clone();
                drop(s.submit(move || -> () {
                    p.open();
                    panic!("task failed")
                }));
                s.submit(|| {
                    panicked.wait();
                    slow_done.store(true, SeqCst);
                });
            })
        })
        .unwrap_err();
        assert_eq!(err, "task failed");
        assert!(slow_done.load(SeqCst));
    }
}

#[test]
fn a_panic_taken_by_result_is_not_raised_again() {
    let pool = ThreadPool::new(2).unwrap();
    let outcome = pool.scope(|s| {
        let h = s.submit(|| -> u32 { panic!("mine") });
        h.result().unwrap_err().panic_message().map(str::to_owned)
    });
    assert_eq!(outcome.as_deref(), Some("mine"));
    // `wait` does not take it: the scope re-raises it.
    let err = caught(|| {
        pool.scope(|s| {
            let h = s.submit(|| -> u32 { panic!("waited on") });
            h.wait();
            assert!(h.failed() && h.done());
        })
    })
    .unwrap_err();
    assert_eq!(err, "waited on");
}

#[test]
fn a_panic_of_the_closure_waits_for_tasks_and_wins() {
    let pool = ThreadPool::new(2).unwrap();
    let task_done = AtomicBool::new(false);
    let err = caught(|| {
        pool.scope(|s| {
            drop(s.submit(|| -> () { panic!("task") }));
            s.submit(|| {
                thread::yield_now();
                task_done.store(true, SeqCst);
            });
            panic!("closure");
        })
    })
    .unwrap_err();
    assert_eq!(err, "closure");
    assert!(task_done.load(SeqCst));
}

fn fib_scope(s: &Scope<'_, '_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    s.pool().scope(|inner| {
        let a = inner.submit(move || fib_scope(inner, n - 1));
        let b = inner.submit(move || fib_scope(inner, n - 2));
        let _ = s; // the outer scope is still borrowed here
        a.result().unwrap() + b.result().unwrap()
    })
}

#[test]
fn scopes_nest_from_outside_and_inside_tasks_on_one_worker() {
    let _dog = Watchdog::new("nested scopes on one worker", HANG);
    for workers in [1, 2] {
        let pool = ThreadPool::new(workers).unwrap();
        let v = pool.scope(|s| fib_scope(s, 15));
        assert_eq!(v, 610);
        // A scope opened inside a plain task.
        let h = pool
            .submit(|| {
                let pool = ThreadPool::current().unwrap();
                let data = [1u64, 2, 3, 4];
                pool.scope(|s| {
                    let hs: Vec<_> = data.iter().map(|x| s.submit(move || x * 10)).collect();
                    hs.into_iter().map(|h| h.result().unwrap()).sum::<u64>()
                })
            })
            .unwrap();
        assert_eq!(h.result().unwrap(), 100);
    }
}

#[test]
fn tasks_submit_more_tasks_through_the_scope() {
    let pool = ThreadPool::new(2).unwrap();
    let count = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..8 {
            s.submit(|| {
                for _ in 0..8 {
                    s.submit(|| count.fetch_add(1, SeqCst));
                }
            });
        }
    });
    assert_eq!(count.load(SeqCst), 64);
}

#[test]
fn a_handle_moves_into_another_task_of_the_scope() {
    let pool = ThreadPool::new(1).unwrap();
    let x = 20;
    let v = pool.scope(|s| {
        let first = s.submit(|| x + 1);
        let second = s.submit(move || first.result().unwrap() * 2);
        second.result().unwrap()
    });
    assert_eq!(v, 42);
}

#[test]
fn after_shutdown_submit_returns_a_handle_that_resolves_shutdown() {
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    let ran = AtomicBool::new(false);
    let drops = AtomicUsize::new(0);
    pool.scope(|s| {
        let marker = Marker(&drops);
        let h = s.submit(|| {
            let _m = marker;
            ran.store(true, SeqCst);
        });
        assert!(matches!(h.result(), Err(TaskError::Shutdown)));
        assert!(h.done() && h.failed() && !h.cancelled());
    });
    assert!(!ran.load(SeqCst));
    assert_eq!(drops.load(SeqCst), 1, "the closure was dropped once");
}

#[test]
fn from_a_worker_after_shutdown_scoped_tasks_still_run() {
    let pool = ThreadPool::new(1).unwrap();
    let (started, go) = (Latch::new(), Latch::new());
    let (s2, g2) = (started.clone(), go.clone());
    let h = pool
        .submit(move || {
            s2.open();
            g2.wait();
            let pool = ThreadPool::current().unwrap();
            let x = 2;
            pool.scope(|s| s.submit(|| x * 21).result())
        })
        .unwrap();
    started.wait();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(false));
    go.open();
    assert_eq!(h.result().unwrap().unwrap(), 42);
}

#[test]
fn cancelling_a_queued_scoped_task_cancels_only_it() {
    let pool = ThreadPool::new(1).unwrap();
    let drops = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let (busy, free) = (Latch::new(), Latch::new());
    pool.scope(|s| {
        let blocker = s.submit(|| {
            busy.open();
            free.wait();
        });
        busy.wait();
        let marker = Marker(&drops);
        let victim = s.submit(|| {
            let _m = marker;
            ran.fetch_add(1, SeqCst);
        });
        let other = s.submit(|| ran.fetch_add(1, SeqCst));
        assert!(victim.cancel());
        assert!(victim.cancelled() && victim.done() && !victim.failed());
        assert_eq!(drops.load(SeqCst), 1, "closure dropped by cancel");
        assert!(victim.result().unwrap_err().is_cancelled());
        free.open();
        blocker.result().unwrap();
        other.result().unwrap();
        assert!(!victim.cancel() || victim.cancelled());
    });
    assert_eq!(ran.load(SeqCst), 1);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn queries_timeouts_and_taking_twice() {
    let pool = ThreadPool::new(1).unwrap();
    let (started, go) = (Latch::new(), Latch::new());
    pool.scope(|s| {
        let h = s.submit(|| {
            started.open();
            go.wait();
            7
        });
        started.wait();
        assert!(h.running() && !h.done());
        assert!(matches!(
            h.result_timeout(Duration::from_millis(1)),
            Err(TaskError::Timeout)
        ));
        assert!(!h.wait_timeout(Duration::from_millis(1)));
        go.open();
        assert_eq!(h.result_timeout(HANG).unwrap(), 7);
        assert!(matches!(h.result(), Err(TaskError::ResultTaken)));
        assert!(h.done() && !h.running() && !h.failed() && !h.cancelled());
        assert!(format!("{h:?}").contains("Done"));
    });
}

#[test]
fn an_outside_scope_blocks_while_the_pool_runs_its_tasks() {
    let pool = ThreadPool::new(1).unwrap();
    let worker = pool
        .submit(|| thread::current().id())
        .unwrap()
        .result()
        .unwrap();
    let me = thread::current().id();
    let mut ids = Vec::new();
    pool.scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.submit(|| thread::current().id()))
            .collect();
        ids = hs.into_iter().map(|h| h.result().unwrap()).collect();
    });
    assert!(ids.iter().all(|&id| id == worker && id != me));
}

#[test]
fn a_scope_on_another_pool_from_a_worker() {
    let a = ThreadPool::new(1).unwrap();
    let b = ThreadPool::new(1).unwrap();
    let b2 = b.clone();
    let v = a
        .submit(move || {
            let xs = [1u32, 2, 3];
            b2.scope(|s| {
                let hs: Vec<_> = xs.iter().map(|x| s.submit(move || x + 1)).collect();
                hs.into_iter().map(|h| h.result().unwrap()).sum::<u32>()
            })
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(v, 9);
}

#[test]
fn scoped_tasks_are_counted_as_tasks() {
    let pool = ThreadPool::new(2).unwrap();
    pool.scope(|s| {
        for i in 0..5 {
            s.submit(move || i);
        }
        drop(s.submit(|| -> () { panic!("counted") }).result());
    });
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.completed, stats.panicked),
        (6, 5, 1)
    );
}
