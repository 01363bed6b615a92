//! The CPU work items of the map and blocking workloads: a dependent chain
//! of multiply-rotate-xor steps the optimizer cannot skip.

use std::hint::black_box;

/// Steps of [`spin`] in about 100 ns on the development machine.
pub(crate) const STEPS_100NS: u32 = 85;

/// `steps` dependent multiply-rotate-xor steps on `x`.
#[inline]
pub(crate) fn spin(x: u64, steps: u32) -> u64 {
    let mut h = black_box(x);
    for _ in 0..steps {
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x;
    }
    h
}

/// About 100 ns of arithmetic: the ordered-map item.
#[inline]
pub(crate) fn item(x: u64) -> u64 {
    spin(x, STEPS_100NS)
}
