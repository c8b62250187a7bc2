//! Smooth weighted round robin, as nginx (and Envoy's equal-weight round
//! robin) do it: heavy endpoints are interleaved with light ones rather
//! than served in bursts (weights 5, 1, 1 give a a b a c a a).
//!
//! nginx updates every endpoint's running weight on each pick, which would
//! need a lock. The sequence is periodic with period = sum of weights, so
//! it is computed once into a schedule and walked with one atomic cursor.
use super::{gcd, Member};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct RoundRobin {
    /// Cluster positions in smooth order, one period long.
    schedule: Box<[u32]>,
    cursor: AtomicUsize,
}

impl RoundRobin {
    /// Builds one period. Cost is weights-sum × members, once per build
    /// (a thousand equal-weight endpoints: a million steps).
    pub fn new(members: &[Member]) -> RoundRobin {
        let divisor = members.iter().fold(0, |g, m| gcd(m.weight, g)).max(1);
        let weights: Vec<i64> = (members.iter())
            .map(|m| i64::from(m.weight / divisor))
            .collect();
        let total: i64 = weights.iter().sum();
        let mut current = vec![0i64; members.len()];
        let mut schedule = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for _ in 0..total {
            let mut best = 0;
            for (i, weight) in weights.iter().enumerate() {
                current[i] += weight;
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            schedule.push(members[best].index as u32);
        }
        RoundRobin {
            schedule: schedule.into_boxed_slice(),
            cursor: AtomicUsize::new(0),
        }
    }

    pub fn pick(&self) -> Option<usize> {
        if self.schedule.is_empty() {
            return None;
        }
        let turn = self.cursor.fetch_add(1, Ordering::Relaxed);
        Some(self.schedule[turn % self.schedule.len()] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_shares, counts, members};
    use super::*;

    fn sequence(rr: &RoundRobin, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'a' + rr.pick().expect("member") as u8))
            .collect()
    }

    #[test]
    fn smooth_order_for_five_one_one_is_nginx_s() {
        let rr = RoundRobin::new(&members(&[5, 1, 1]));
        assert_eq!(sequence(&rr, 14), "aabacaaaabacaa");
    }

    #[test]
    fn equal_weights_take_turns_in_list_order() {
        let rr = RoundRobin::new(&members(&[1, 1, 1]));
        assert_eq!(sequence(&rr, 6), "abcabc");
        let scaled = RoundRobin::new(&members(&[4, 4, 4]));
        assert_eq!(scaled.schedule.len(), 3, "weights reduced by their gcd");
    }

    #[test]
    fn weights_are_honoured_exactly_over_whole_periods() {
        let weights = [3, 2, 1];
        let rr = RoundRobin::new(&members(&weights));
        let counts = counts(3, 600, || rr.pick());
        assert_eq!(counts, [300, 200, 100]);
        assert_shares(&counts, &weights, 0.0);
    }

    #[test]
    fn no_burst_longer_than_needed() {
        // 2:1 interleaves as a b a, never a a b.
        let rr = RoundRobin::new(&members(&[2, 1]));
        assert_eq!(sequence(&rr, 6), "abaaba");
    }
}
