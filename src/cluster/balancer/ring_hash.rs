//! Consistent hashing on a ring (ketama-like), Envoy's `ring_hash`.
//!
//! Every endpoint places points on a 64-bit ring at xxHash64 of
//! `"{address}_{n}"`; a request goes to the first point at or after its
//! hash, wrapping around. Points depend only on the endpoint's own address
//! and its number of points, so removing an endpoint moves only the keys
//! that were on its points (about 1/N of them).
//!
//! Ring size. Envoy scales the points so the ring has at least
//! `minimum_ring_size` entries, which changes every endpoint's count when
//! the set changes and moves extra keys. Here the points per unit of
//! weight are rounded up to a power of two: the ring has between the
//! minimum and twice it (fewer only if `maximum_ring_size` says so), and a
//! set change alters the counts only when it crosses a power of two.
use super::Member;
use crate::config::RingHashConfig;
use std::fmt::Write;
use twox_hash::XxHash64;

pub struct RingHash {
    /// (point, cluster position), sorted by point.
    ring: Box<[(u64, u32)]>,
}

impl RingHash {
    pub fn new(members: &[Member], sizes: RingHashConfig) -> RingHash {
        let total: u64 = members.iter().map(|m| u64::from(m.weight)).sum();
        let per_weight = points_per_weight(total, sizes);
        let mut ring = Vec::with_capacity(usize::try_from(total * per_weight).unwrap_or(0));
        let mut key = String::new();
        for member in members {
            for n in 0..u64::from(member.weight) * per_weight {
                key.clear();
                let _ = write!(key, "{}_{n}", member.key);
                ring.push((XxHash64::oneshot(0, key.as_bytes()), member.index as u32));
            }
        }
        ring.sort_unstable();
        RingHash {
            ring: ring.into_boxed_slice(),
        }
    }

    pub fn pick(&self, hash: u64) -> Option<usize> {
        let at = self.ring.partition_point(|&(point, _)| point < hash);
        let (_, index) = self.ring.get(at).or_else(|| self.ring.first())?;
        Some(*index as usize)
    }
}

/// Smallest power of two such that the ring reaches the minimum size; if
/// that ring would exceed the maximum, as many as the maximum allows
/// (never below one point per unit of weight).
fn points_per_weight(total_weight: u64, sizes: RingHashConfig) -> u64 {
    if total_weight == 0 {
        return 0;
    }
    let minimum = sizes.minimum_ring_size as u64;
    let maximum = sizes.maximum_ring_size as u64;
    let stable = minimum.div_ceil(total_weight).next_power_of_two();
    if stable.saturating_mul(total_weight) <= maximum {
        stable
    } else {
        (maximum / total_weight).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_shares, members, request_keys};
    use super::*;

    const SIZES: RingHashConfig = RingHashConfig {
        minimum_ring_size: 1024,
        maximum_ring_size: 8 * 1024 * 1024,
    };

    fn owners(ring: &RingHash, keys: u64) -> Vec<usize> {
        request_keys(keys)
            .map(|k| ring.pick(k).expect("member"))
            .collect()
    }

    #[test]
    fn ring_reaches_the_minimum_size_within_the_maximum() {
        let ring = RingHash::new(&members(&[1, 1, 1]), SIZES);
        assert_eq!(ring.ring.len(), 3 * 512);
        let small = RingHashConfig {
            minimum_ring_size: 1000,
            maximum_ring_size: 1200,
        };
        assert_eq!(points_per_weight(3, small), 400);
        assert_eq!(points_per_weight(300, small), 4);
        assert_eq!(points_per_weight(5000, small), 1);
    }

    #[test]
    fn the_same_key_always_lands_on_the_same_endpoint() {
        let ring = RingHash::new(&members(&[1, 1, 1, 1]), SIZES);
        let first = owners(&ring, 1000);
        assert_eq!(owners(&ring, 1000), first);
        let rebuilt = RingHash::new(&members(&[1, 1, 1, 1]), SIZES);
        assert_eq!(owners(&rebuilt, 1000), first);
    }

    #[test]
    fn shares_follow_weights() {
        let weights = [1, 2, 3, 2];
        let ring = RingHash::new(&members(&weights), SIZES);
        let mut counts = [0; 4];
        for owner in owners(&ring, 100_000) {
            counts[owner] += 1;
        }
        assert_shares(&counts, &weights, 0.03);
    }

    #[test]
    fn removing_an_endpoint_moves_only_its_keys() {
        let all = members(&[1; 5]);
        let before = owners(&RingHash::new(&all, SIZES), 50_000);
        // Endpoint 2 leaves (ejected, or removed from the config).
        let rest: Vec<_> = all.iter().copied().filter(|m| m.index != 2).collect();
        let after = owners(&RingHash::new(&rest, SIZES), 50_000);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        let were_on_2 = before.iter().filter(|&&b| b == 2).count();
        assert_eq!(moved, were_on_2, "keys of other endpoints moved");
        let share = moved as f64 / 50_000.0;
        assert!((share - 0.2).abs() < 0.05, "moved {share}");
    }

    #[test]
    fn lookup_wraps_around_the_ring() {
        let ring = RingHash::new(&members(&[1, 1]), SIZES);
        let (last_point, _) = *ring.ring.last().expect("points");
        let first = ring.ring[0].1 as usize;
        assert_eq!(ring.pick(0), Some(first));
        if let Some(past_the_end) = last_point.checked_add(1) {
            assert_eq!(ring.pick(past_the_end), Some(first));
        }
        assert_eq!(RingHash::new(&[], SIZES).pick(1), None);
    }
}
