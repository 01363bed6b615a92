//! The sequential loop, for context: `submit` runs the closure at once.

use super::{Join, Pool, Submit};

#[derive(Clone, Copy)]
pub(crate) struct Inline;

pub(crate) struct Ready<T>(T);

impl Submit for Inline {
    type Handle<T: Send + 'static> = Ready<T>;

    #[inline]
    fn submit<T, F>(&self, f: F) -> Ready<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Ready(f())
    }
}

impl<T> Join<T> for Ready<T> {
    #[inline]
    fn join(self) -> T {
        self.0
    }
}

pub(crate) fn new() -> Pool<Inline> {
    Pool::new("sequential", Inline, ())
}
