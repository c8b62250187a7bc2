//! Least request, as Envoy does it.
//!
//! Equal weights: power of two choices — two endpoints drawn at random,
//! the one with fewer active requests wins (the first on a tie). Nearly as
//! good as scanning every endpoint, at the cost of two counter reads.
//!
//! Unequal weights: each endpoint's effective weight is
//! `weight / (active + 1)` (Envoy's `active_request_bias` of 1.0), and the
//! pick is random in proportion to it. Envoy keeps these weights in an
//! earliest-deadline-first scheduler that it mutates on every pick; drawing
//! from the same proportions with one pass over the endpoints' atomic
//! counters gives the same long-run shares without a lock. The pass is
//! O(endpoints), fine for the tens to hundreds a cluster has.
use super::{rng, ActiveOf, Member};

pub struct LeastRequest {
    /// (cluster position, weight).
    members: Box<[(u32, u32)]>,
    equal: bool,
}

impl LeastRequest {
    pub fn new(members: &[Member]) -> LeastRequest {
        LeastRequest {
            members: (members.iter())
                .map(|m| (m.index as u32, m.weight))
                .collect(),
            equal: members.windows(2).all(|w| w[0].weight == w[1].weight),
        }
    }

    pub fn pick(&self, active: ActiveOf) -> Option<usize> {
        match self.members.len() {
            0 => None,
            1 => Some(self.members[0].0 as usize),
            _ if self.equal => Some(self.two_choices(active)),
            _ => Some(self.weighted(active)),
        }
    }

    fn two_choices(&self, active: ActiveOf) -> usize {
        let n = self.members.len() as u64;
        let first = self.members[rng::below(n) as usize].0 as usize;
        let second = self.members[rng::below(n) as usize].0 as usize;
        if active(second) < active(first) {
            second
        } else {
            first
        }
    }

    fn weighted(&self, active: ActiveOf) -> usize {
        let effective = |&(index, weight): &(u32, u32)| {
            f64::from(weight) / (active(index as usize) as f64 + 1.0)
        };
        let total: f64 = self.members.iter().map(effective).sum();
        let mut point = rng::unit() * total;
        for member in self.members.iter() {
            point -= effective(member);
            if point < 0.0 {
                return member.0 as usize;
            }
        }
        // Counters moved between the two passes or rounding left a sliver.
        self.members[self.members.len() - 1].0 as usize
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_shares, counts, members};
    use super::*;

    #[test]
    fn idle_endpoints_share_by_weight() {
        let weights = [3, 2, 1];
        let lr = LeastRequest::new(&members(&weights));
        let counts = counts(3, 60_000, || lr.pick(&|_| 0));
        assert_shares(&counts, &weights, 0.01);
    }

    #[test]
    fn equal_weights_spread_evenly_when_idle() {
        let weights = [1, 1, 1, 1];
        let lr = LeastRequest::new(&members(&weights));
        let counts = counts(4, 40_000, || lr.pick(&|_| 0));
        assert_shares(&counts, &weights, 0.01);
    }

    #[test]
    fn two_choices_avoid_the_busiest_endpoint() {
        // Endpoint 0 is busy: it wins only when drawn twice (1/9).
        let lr = LeastRequest::new(&members(&[1, 1, 1]));
        let busy = |i: usize| if i == 0 { 10 } else { 0 };
        let counts = counts(3, 90_000, || lr.pick(&busy));
        let share = counts[0] as f64 / 90_000.0;
        assert!((share - 1.0 / 9.0).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn unequal_weights_divide_by_active_plus_one() {
        // Weights 2 and 1; endpoint 0 has 3 active: 2/4 vs 1/1 → 1:2.
        let lr = LeastRequest::new(&members(&[2, 1]));
        let load = |i: usize| if i == 0 { 3 } else { 0 };
        let counts = counts(2, 60_000, || lr.pick(&load));
        assert_shares(&counts, &[1, 2], 0.01);
    }

    #[test]
    fn a_single_member_is_always_picked() {
        let lr = LeastRequest::new(&members(&[5]));
        assert_eq!(lr.pick(&|_| 100), Some(0));
    }
}
