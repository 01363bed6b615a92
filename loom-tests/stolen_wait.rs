//! Model 7: a worker waiting on a task that another worker stole.
//!
//! Proves: the waiter returns with the value. The parent pushes its child to
//! its own deque and waits; either it claims the child and runs it inline,
//! or the other worker stole and claimed it, and then the parent helps,
//! parks as a waiter and a sleeper, and the child's completion wakes it.

use crate::model;
use stealpool::ThreadPool;

#[test]
fn waiter_gets_value_of_stolen_child() {
    model("stolen_wait", || {
        let pool = ThreadPool::new(2).unwrap();
        let parent = pool
            .submit(|| {
                let pool = ThreadPool::current().unwrap();
                let child = pool.submit(|| 40u32).unwrap();
                child.result().unwrap() + 2
            })
            .unwrap();
        assert_eq!(parent.result().unwrap(), 42);
        drop(pool);
    });
}
