//! A per-thread pseudo-random source for the balancers.
//!
//! Picks need speed and rough uniformity, not unpredictability: a SplitMix64
//! sequence per thread, seeded from std's per-process random hasher keys
//! and the thread, costs a few arithmetic operations, takes no lock and
//! shares no cache line between worker threads.
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    std::thread::current().id().hash(&mut hasher);
    hasher.finish()
}

/// The next 64 random bits of this thread's sequence.
pub fn next_u64() -> u64 {
    STATE.with(|state| {
        let x = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(x);
        let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_4776_D1CE_4E5B);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// Uniform in `0..bound` (`bound > 0`) by multiply-and-shift; the bias is
/// below `bound / 2^64`, far under anything a balancer could notice.
pub fn below(bound: u64) -> u64 {
    ((u128::from(next_u64()) * u128::from(bound)) >> 64) as u64
}

/// Uniform in `[0, 1)` with 53 bits of precision.
pub fn unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let i = below(7) as usize;
            seen[i] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn unit_is_in_the_half_open_interval() {
        for _ in 0..1000 {
            let u = unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
