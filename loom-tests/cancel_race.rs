//! Model 1: `cancel` racing the worker that claims the task.
//!
//! Proves: exactly one of the two wins the task's PENDING state. If cancel
//! won, the closure never runs, it has already been dropped when `cancel`
//! returns, and the handle resolves `Cancelled`. If the worker won, cancel
//! returns false and the handle resolves with the value. Either way the
//! closure is dropped exactly once.

use crate::{model, DropFlag, Tally};
use stealpool::{TaskError, ThreadPool};

#[test]
fn cancel_races_worker_claim() {
    model("cancel_race", || {
        let (ran, dropped) = (Tally::default(), Tally::default());
        let pool = ThreadPool::new(1).unwrap();
        let (r, guard) = (ran.clone(), DropFlag(dropped.clone()));
        let h = pool
            .submit(move || {
                let _guard = guard;
                r.bump();
                7u32
            })
            .unwrap();
        let won = h.cancel();
        if won {
            assert_eq!(dropped.get(), 1, "a cancelled closure is dropped at once");
        }
        match h.result() {
            Ok(v) => {
                assert!(!won, "cancel won but the task ran");
                assert_eq!(v, 7);
            }
            Err(TaskError::Cancelled) => assert!(won, "cancel lost but the task is cancelled"),
            Err(e) => panic!("unexpected outcome: {e}"),
        }
        drop(pool);
        assert_eq!(ran.get(), usize::from(!won));
        assert_eq!(dropped.get(), 1);
    });
}
