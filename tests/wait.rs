//! `stealpool::wait`: the three modes, failures (panic, `Err`, cancel),
//! timeouts (none, zero, short, huge), an empty input, nesting, and clones
//! of one task taken once.

mod support;

use std::time::Duration;
use stealpool::{wait, ReturnWhen, TaskHandle, ThreadPool};
use support::{gated, submit_after, Latch};

fn values(handles: &[TaskHandle<usize>]) -> Vec<usize> {
    handles.iter().map(|h| h.result().unwrap()).collect()
}

#[test]
fn first_completed_returns_after_one_task() {
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 3);
    latches[1].open();
    let w = wait(handles, ReturnWhen::FirstCompleted, None);
    assert_eq!(values(&w.done), [1]);
    assert_eq!(w.not_done.len(), 2);
    assert!(w.not_done.iter().all(|h| !h.done()));
    latches[0].open();
    latches[2].open();
    assert_eq!(values(&w.not_done), [0, 2], "not_done keeps input order");
}

#[test]
fn all_completed_waits_for_every_task_and_keeps_input_order() {
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 3);
    let opener = std::thread::spawn(move || {
        for i in [2, 0, 1] {
            latches[i].open();
        }
    });
    let w = wait(handles, ReturnWhen::AllCompleted, None);
    opener.join().unwrap();
    assert!(w.not_done.is_empty());
    assert_eq!(values(&w.done), [0, 1, 2]);
}

#[test]
fn first_error_stops_at_a_panic() {
    let pool = ThreadPool::new(2).unwrap();
    let (mut handles, latches) = gated(&pool, 1);
    handles.push(pool.submit(|| -> usize { panic!("broken") }).unwrap());
    let w = wait(handles, ReturnWhen::FirstError, None);
    assert_eq!(w.done.len(), 1);
    assert!(w.done[0].failed());
    assert_eq!(
        w.done[0].result().unwrap_err().panic_message(),
        Some("broken")
    );
    assert_eq!(w.not_done.len(), 1);
    latches[0].open();
}

#[test]
fn first_error_stops_at_an_err_from_submit_fallible() {
    let pool = ThreadPool::new(2).unwrap();
    let hold = Latch::new();
    let h = hold.clone();
    let slow = pool
        .submit_fallible(move || {
            h.wait();
            Ok::<u32, String>(1)
        })
        .unwrap();
    let ok = pool.submit_fallible(|| Ok::<u32, String>(2)).unwrap();
    let bad = pool
        .submit_fallible(|| Err::<u32, String>("bad row".into()))
        .unwrap();
    let w = wait([slow.clone(), ok, bad], ReturnWhen::FirstError, None);
    let failed: Vec<_> = w.done.iter().filter(|h| h.failed()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].result().unwrap(), Err("bad row".to_string()));
    // `ok` may or may not have run by then; the slow task cannot have.
    assert!(!slow.done());
    assert!(w.not_done.iter().any(|h| !h.done()));
    hold.open();
}

#[test]
fn first_error_treats_cancelled_as_finished_not_failed() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let queued = pool.submit(|| ()).unwrap();
    assert!(queued.cancel());
    assert!(!queued.failed());
    let opener = {
        let hold = hold.clone();
        std::thread::spawn(move || hold.open())
    };
    // With no failure, FirstError behaves like AllCompleted.
    let w = wait([blocker, queued], ReturnWhen::FirstError, None);
    opener.join().unwrap();
    assert_eq!(w.done.len(), 2);
    assert!(w.not_done.is_empty());
    assert!(w.done[1].cancelled());
}

#[test]
fn a_plain_err_value_is_not_a_failure_without_submit_fallible() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool
        .submit(|| Err::<(), &str>("value, not failure"))
        .unwrap();
    let w = wait([h], ReturnWhen::FirstError, None);
    assert!(!w.done[0].failed());
}

#[test]
fn a_timeout_returns_the_split_so_far() {
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 3);
    latches[0].open();
    handles[0].wait();
    let w = wait(
        handles,
        ReturnWhen::AllCompleted,
        Some(Duration::from_millis(30)),
    );
    assert_eq!(values(&w.done), [0]);
    assert_eq!(w.not_done.len(), 2);
    latches[1].open();
    latches[2].open();
    assert_eq!(values(&w.not_done), [1, 2]);
}

#[test]
fn a_zero_timeout_only_polls() {
    let pool = ThreadPool::new(2).unwrap();
    let (mut handles, latches) = gated(&pool, 1);
    let ready = pool.submit(|| 9).unwrap();
    ready.wait();
    handles.push(ready);
    let w = wait(handles, ReturnWhen::AllCompleted, Some(Duration::ZERO));
    assert_eq!(values(&w.done), [9]);
    assert_eq!(w.not_done.len(), 1);
    latches[0].open();
}

#[test]
fn a_zero_timeout_on_a_worker_does_not_run_the_awaited_task() {
    let pool = ThreadPool::new(1).unwrap();
    let inner = pool.clone();
    let (done, not_done) = pool
        .submit(move || {
            let child = inner.submit(|| 1).unwrap();
            let w = wait(
                [child.clone()],
                ReturnWhen::AllCompleted,
                Some(Duration::ZERO),
            );
            let split = (w.done.len(), w.not_done.len());
            child.result().unwrap();
            split
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!((done, not_done), (0, 1));
}

#[test]
fn a_huge_timeout_waits_as_long_as_it_takes() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..10).map(|i| pool.submit(move || i).unwrap()).collect();
    let w = wait(handles, ReturnWhen::AllCompleted, Some(Duration::MAX));
    assert_eq!(w.done.len(), 10);
}

#[test]
fn an_empty_input_returns_at_once_with_nothing() {
    for mode in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstError,
        ReturnWhen::AllCompleted,
    ] {
        let w = wait(Vec::<TaskHandle<()>>::new(), mode, None);
        assert!(w.done.is_empty() && w.not_done.is_empty());
    }
}

#[test]
fn waiting_inside_a_task_on_one_worker_runs_the_children() {
    let pool = ThreadPool::new(1).unwrap();
    let inner = pool.clone();
    let n = pool
        .submit(move || {
            let children: Vec<_> = (0..50).map(|i| inner.submit(move || i).unwrap()).collect();
            let w = wait(children, ReturnWhen::AllCompleted, None);
            assert!(w.not_done.is_empty());
            w.done.len()
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(n, 50);
}

#[test]
fn handles_stay_usable_after_wait() {
    let pool = ThreadPool::new(2).unwrap();
    let h = pool.submit(|| 5).unwrap();
    let w = wait([h.clone()], ReturnWhen::FirstCompleted, None);
    assert_eq!(w.done[0].result().unwrap(), 5);
    assert!(matches!(h.result(), Err(stealpool::TaskError::ResultTaken)));
}

#[test]
fn clones_of_one_task_are_one_entry() {
    // Python's issue 20369: wait([f, f]) gives done == {f}.
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 2usize).unwrap();
    let w = wait([h.clone(), h.clone()], ReturnWhen::AllCompleted, None);
    assert_eq!(w.done.len(), 1);
    assert!(w.done[0].ptr_eq(&h));
    assert!(w.not_done.is_empty());
    assert_eq!(values(&w.done), [2]);
}

#[test]
fn clones_are_one_entry_in_not_done_too_and_distinct_tasks_keep_input_order() {
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 3);
    latches[1].open();
    handles[1].wait();
    let input = [
        handles[2].clone(),
        handles[1].clone(),
        handles[2].clone(),
        handles[0].clone(),
        handles[1].clone(),
        handles[0].clone(),
    ];
    let w = wait(input, ReturnWhen::FirstCompleted, None);
    assert_eq!(w.done.len(), 1);
    assert!(w.done[0].ptr_eq(&handles[1]));
    assert_eq!(w.not_done.len(), 2);
    assert!(
        w.not_done[0].ptr_eq(&handles[2]),
        "first place of each task"
    );
    assert!(w.not_done[1].ptr_eq(&handles[0]));
    latches[0].open();
    latches[2].open();
    let w = wait(w.not_done, ReturnWhen::AllCompleted, Some(support::HANG));
    assert_eq!(values(&w.done), [2, 0]);
}

#[test]
fn first_error_with_a_failed_task_given_twice_reports_it_once() {
    let pool = ThreadPool::new(2).unwrap();
    let bad = pool.submit(|| -> usize { panic!("bad") }).unwrap();
    bad.wait();
    let latch = Latch::new();
    let slow = submit_after(&pool, &latch, || 1);
    let w = wait(
        [bad.clone(), slow.clone(), bad.clone()],
        ReturnWhen::FirstError,
        None,
    );
    assert_eq!(w.done.len(), 1);
    assert!(w.done[0].ptr_eq(&bad));
    assert_eq!(w.not_done.len(), 1);
    latch.open();
    assert_eq!(slow.result().unwrap(), 1);
}
