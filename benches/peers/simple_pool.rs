//! The design stealpool replaces: one `Mutex<VecDeque>` + `Condvar` queue
//! shared by every worker, with the same submit/result shape.
//!
//! Benches and the `compare`/`embedding` examples include this file with
//! `#[path]`, so every comparison runs against the same peer.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send>;

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    available: Condvar,
}

/// A fixed set of threads pulling boxed jobs from one locked queue.
pub(crate) struct SimplePool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// A handle that submits to a pool without owning it: tasks can hold one
/// (chained and nested submission), and dropping it never joins the pool.
#[derive(Clone)]
pub(crate) struct SimpleSpawner {
    shared: Arc<Shared>,
}

/// The result slot of one submitted job.
pub(crate) struct SimpleHandle<T> {
    slot: Arc<(Mutex<Option<std::thread::Result<T>>>, Condvar)>,
}

impl SimplePool {
    /// Starts `workers` threads (at least one).
    pub(crate) fn new(workers: usize) -> SimplePool {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            available: Condvar::new(),
        });
        let threads = (0..workers.max(1))
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || run(&shared))
            })
            .collect();
        SimplePool { shared, threads }
    }

    /// Queues `f` and returns its result slot.
    pub(crate) fn submit<T, F>(&self, f: F) -> SimpleHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        submit(&self.shared, f)
    }

    /// A submitter that tasks may keep.
    pub(crate) fn spawner(&self) -> SimpleSpawner {
        SimpleSpawner {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl SimpleSpawner {
    /// Queues `f` and returns its result slot.
    pub(crate) fn submit<T, F>(&self, f: F) -> SimpleHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        submit(&self.shared, f)
    }
}

fn submit<T, F>(shared: &Shared, f: F) -> SimpleHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new((Mutex::new(None), Condvar::new()));
    let filler = Arc::clone(&slot);
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        *filler.0.lock().unwrap() = Some(out);
        filler.1.notify_one();
    });
    let mut queue = shared.queue.lock().unwrap();
    queue.jobs.push_back(job);
    drop(queue);
    shared.available.notify_one();
    SimpleHandle { slot }
}

impl<T> SimpleHandle<T> {
    /// Blocks until the job ran; `Err` carries the panic payload.
    pub(crate) fn result(self) -> std::thread::Result<T> {
        let (lock, ready) = &*self.slot;
        let mut guard = lock.lock().unwrap();
        loop {
            if let Some(out) = guard.take() {
                return out;
            }
            guard = ready.wait(guard).unwrap();
        }
    }
}

fn run(shared: &Shared) {
    loop {
        let mut queue = shared.queue.lock().unwrap();
        let job = loop {
            if let Some(job) = queue.jobs.pop_front() {
                break job;
            }
            if queue.closed {
                return;
            }
            queue = shared.available.wait(queue).unwrap();
        };
        drop(queue);
        job();
    }
}

impl Drop for SimplePool {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap().closed = true;
        self.shared.available.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
