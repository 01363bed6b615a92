//! A panicking task resolves its handle with an error; the worker survives.

use stealpool::{TaskError, ThreadPool};

#[test]
fn panic_is_reported_with_its_message() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| -> u8 { panic!("bad input {}", 7) }).unwrap();
    let err = h.result().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("bad input 7"));
    assert_eq!(err.to_string(), "task panicked: bad input 7");
}

#[test]
fn the_single_worker_survives_many_panics() {
    let pool = ThreadPool::new(1).unwrap();
    for i in 0..100 {
        let h = pool
            .submit(move || if i % 2 == 0 { panic!("even") } else { i })
            .unwrap();
        match h.result() {
            Ok(v) => assert_eq!(v, i),
            Err(e) => assert!(i % 2 == 0 && e.is_panic()),
        }
    }
    assert_eq!(pool.submit(|| "alive").unwrap().result().unwrap(), "alive");
}

#[test]
fn payload_can_be_resumed() {
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| std::panic::panic_any(Custom(9))).unwrap();
    let err: TaskError = h.result().unwrap_err();
    assert_eq!(err.panic_message(), Some("Box<dyn Any>"));
    let payload = err.into_panic().expect("a panic payload");
    assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(9)));
    let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::panic::resume_unwind(payload)
    }));
    assert_eq!(
        resumed.unwrap_err().downcast_ref::<Custom>(),
        Some(&Custom(9))
    );
}

#[test]
fn nested_child_panic_reaches_the_parent_as_a_value() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            let child = pool.submit(|| -> u8 { panic!("child") }).unwrap();
            child.result().map_err(|e| e.to_string())
        })
        .unwrap();
    assert_eq!(h.result().unwrap(), Err("task panicked: child".to_owned()));
}
