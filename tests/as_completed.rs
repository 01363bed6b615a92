//! `as_completed` and `as_completed_timeout`: completion order forced with
//! latches, already-finished handles first, counts, timeouts, nesting, and
//! clones of one task taken once.

mod support;

use std::time::Duration;
use stealpool::{as_completed, as_completed_timeout, TaskError, TaskHandle, ThreadPool};
use support::{gated, submit_after, Latch};

#[test]
fn handles_come_in_completion_order() {
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 3);
    let mut done = as_completed(handles);
    for i in [2, 0, 1] {
        latches[i].open();
        let h = done.next().unwrap();
        assert!(h.done());
        assert_eq!(h.result().unwrap(), i);
    }
    assert!(done.next().is_none());
    assert!(done.next().is_none(), "fused");
}

#[test]
fn already_finished_handles_come_first_in_input_order() {
    let pool = ThreadPool::new(2).unwrap();
    let (gated_handles, latches) = gated(&pool, 1);
    let finished: Vec<_> = (10..13).map(|i| pool.submit(move || i).unwrap()).collect();
    for h in &finished {
        h.wait();
    }
    let mut input = gated_handles;
    input.splice(0..0, finished);
    // Input: [10, 11, 12, gated]; the three finished ones come first.
    let mut done = as_completed(input);
    let firsts: Vec<usize> = done.by_ref().take(3).map(|h| h.result().unwrap()).collect();
    assert_eq!(firsts, [10, 11, 12]);
    latches[0].open();
    assert_eq!(done.next().unwrap().result().unwrap(), 0);
}

#[test]
fn total_and_remaining_give_a_progress_line() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    let mut done = as_completed(handles);
    assert_eq!((done.total(), done.remaining(), done.len()), (5, 5, 5));
    let mut lines = Vec::new();
    while let Some(h) = done.next() {
        h.result().unwrap();
        lines.push(format!(
            "[{}/{}] done",
            done.total() - done.remaining(),
            done.total()
        ));
    }
    assert_eq!(lines.last().unwrap(), "[5/5] done");
    assert_eq!(lines.len(), 5);
    assert_eq!(done.remaining(), 0);
}

#[test]
fn cancelled_and_panicked_tasks_are_yielded_too() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let queued = pool.submit(|| ()).unwrap();
    let panics = pool.submit(|| panic!("nope")).unwrap();
    assert!(queued.cancel());
    let mut done = as_completed([queued, panics]);
    let first = done.next().unwrap();
    assert!(matches!(first.result(), Err(TaskError::Cancelled)));
    hold.open();
    let second = done.next().unwrap();
    assert!(second.result().unwrap_err().is_panic());
    blocker.result().unwrap();
}

#[test]
fn an_empty_input_yields_nothing() {
    let mut done = as_completed(Vec::<TaskHandle<()>>::new());
    assert_eq!(done.total(), 0);
    assert!(done.next().is_none());
    let mut timed = as_completed_timeout(Vec::<TaskHandle<()>>::new(), Duration::ZERO);
    assert!(timed.next().is_none());
}

#[test]
fn the_timeout_variant_hands_back_the_pending_handles_intact() {
    let pool = ThreadPool::new(3).unwrap(); // a worker per gated task
    let (handles, latches) = gated(&pool, 3);
    latches[1].open();
    let mut done = as_completed_timeout(handles, Duration::from_millis(50));
    assert_eq!(done.total(), 3);
    assert_eq!(done.next().unwrap().unwrap().result().unwrap(), 1);
    let err = done.next().unwrap().unwrap_err();
    assert_eq!(err.pending().len(), 2);
    assert!(err.to_string().contains('2'), "{err}");
    assert!(done.next().is_none(), "ends after the timeout");
    // The pending handles are untouched: they finish and give their values.
    latches[0].open();
    latches[2].open();
    let mut values: Vec<usize> = err
        .into_pending()
        .iter()
        .map(|h| h.result().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, [0, 2]);
}

#[test]
fn a_zero_timeout_yields_only_what_has_finished() {
    let pool = ThreadPool::new(2).unwrap();
    let (mut handles, latches) = gated(&pool, 1);
    let ready = pool.submit(|| 7).unwrap();
    ready.wait();
    handles.push(ready);
    let items: Vec<_> = as_completed_timeout(handles, Duration::ZERO).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().result().unwrap(), 7);
    assert_eq!(items[1].as_ref().unwrap_err().pending().len(), 1);
    latches[0].open();
}

#[test]
fn a_huge_timeout_waits_as_long_as_it_takes() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..4).map(|i| pool.submit(move || i).unwrap()).collect();
    let got: Vec<_> = as_completed_timeout(handles, Duration::MAX)
        .map(|r| r.unwrap().result().unwrap())
        .collect();
    assert_eq!(got.len(), 4);
}

#[test]
fn next_timeout_gives_up_without_losing_anything() {
    let pool = ThreadPool::new(2).unwrap();
    let (handles, latches) = gated(&pool, 2);
    let mut done = as_completed(handles);
    assert!(matches!(
        done.next_timeout(Duration::from_millis(20)),
        Err(TaskError::Timeout)
    ));
    assert_eq!(done.remaining(), 2);
    latches[0].open();
    let h = done.next_timeout(Duration::from_secs(30)).unwrap().unwrap();
    assert_eq!(h.result().unwrap(), 0);
    let rest = done.into_pending();
    assert_eq!(rest.len(), 1);
    latches[1].open();
    assert_eq!(rest[0].result().unwrap(), 1);
}

#[test]
fn consuming_inside_a_task_on_one_worker_runs_the_children() {
    let pool = ThreadPool::new(1).unwrap();
    let inner = pool.clone();
    let sum = pool
        .submit(move || {
            let children: Vec<_> = (1..=20u64)
                .map(|i| inner.submit(move || i).unwrap())
                .collect();
            as_completed(children)
                .map(|h| h.result().unwrap())
                .sum::<u64>()
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(sum, 210);
}

#[test]
fn dropping_early_leaves_the_tasks_running() {
    let pool = ThreadPool::new(2).unwrap();
    let (handles, latches) = gated(&pool, 2);
    let keep = handles.clone();
    drop(as_completed(handles));
    for l in &latches {
        l.open();
    }
    assert_eq!(keep[0].result().unwrap(), 0);
    assert_eq!(keep[1].result().unwrap(), 1);
}

#[test]
fn clones_of_one_task_are_yielded_once_and_counted_once() {
    // Python takes the futures as a set (its issue 20367).
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 3).unwrap();
    let mut done = as_completed([h.clone(), h.clone(), h.clone()]);
    assert_eq!((done.total(), done.remaining()), (1, 1));
    let got: Vec<_> = done.by_ref().collect();
    assert_eq!(got.len(), 1);
    assert!(got[0].ptr_eq(&h));
    assert_eq!(got[0].result().unwrap(), 3, "no clone took the value first");
    assert_eq!(done.remaining(), 0);
}

#[test]
fn clones_among_distinct_tasks_keep_the_first_place_in_input_order() {
    let pool = ThreadPool::new(2).unwrap();
    let (a, b, c) = (
        pool.submit(|| 'a').unwrap(),
        pool.submit(|| 'b').unwrap(),
        pool.submit(|| 'c').unwrap(),
    );
    for h in [&a, &b, &c] {
        h.wait();
    }
    // All finished: they come out in input order, each task once.
    let input = [b.clone(), a.clone(), b.clone(), c.clone(), a.clone()];
    let got: Vec<char> = as_completed(input).map(|h| h.result().unwrap()).collect();
    assert_eq!(got, ['b', 'a', 'c']);
}

#[test]
fn a_pending_task_given_twice_is_yielded_once_when_it_finishes() {
    let pool = ThreadPool::new(1).unwrap();
    let latch = Latch::new();
    let h = submit_after(&pool, &latch, || 5);
    let mut done = as_completed([h.clone(), h.clone()]);
    assert_eq!(done.total(), 1);
    latch.open();
    assert_eq!(done.next().unwrap().result().unwrap(), 5);
    assert!(done.next().is_none());
}

#[test]
fn the_timeout_error_counts_distinct_tasks_and_says_how_many_of_how_many() {
    // Python: "2 (of 4) futures unfinished".
    let pool = ThreadPool::new(3).unwrap();
    let (handles, latches) = gated(&pool, 4);
    latches[1].open();
    latches[3].open();
    handles[1].wait();
    handles[3].wait();
    let mut input = handles.clone();
    input.push(handles[0].clone()); // a clone counts once
    let mut timed = as_completed_timeout(input, Duration::ZERO);
    assert_eq!(timed.total(), 4);
    let items: Vec<_> = timed.by_ref().collect();
    assert_eq!(items.len(), 3);
    let err = items[2].as_ref().unwrap_err();
    assert_eq!(err.pending().len(), 2);
    assert!(err.pending()[0].ptr_eq(&handles[0]));
    assert!(err.pending()[1].ptr_eq(&handles[2]));
    assert_eq!(
        err.to_string(),
        "timed out with 2 of 4 task(s) still pending"
    );
    latches[0].open();
    latches[2].open();
}

#[test]
fn many_tasks_from_many_threads_each_yielded_once() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..2_000usize)
        .map(|i| pool.submit(move || i).unwrap())
        .collect();
    let mut seen = vec![false; 2_000];
    for h in as_completed(handles) {
        let i = h.result().unwrap();
        assert!(!seen[i], "{i} yielded twice");
        seen[i] = true;
    }
    assert!(seen.into_iter().all(|s| s));
}
