//! Endpoint selection: one immutable balancer per cluster, built from the
//! endpoints that may currently receive traffic.
//!
//! Each policy is a small value built once (a schedule, a prefix-sum table,
//! a hash ring, a Maglev table) and read concurrently by every worker: the
//! only shared mutable state on the pick path is round robin's atomic
//! cursor and the endpoints' active-request counters, so picks never lock.
//!
//! Balancers work on [`Member`]s (an endpoint's position in its cluster and
//! its weight) and return that position. Excluding endpoints (health
//! checks, outlier ejection) means building a new balancer over the
//! remaining members and swapping it in, as Envoy rebuilds its load
//! balancers when a host set changes; the consistent-hashing tables are
//! keyed by address, so a rebuild moves only the keys of the members that
//! left.
mod least_request;
mod maglev;
mod random;
mod ring_hash;
pub(super) mod rng;
mod round_robin;

use crate::config::LbPolicy;
use least_request::LeastRequest;
use maglev::Maglev;
use random::WeightedRandom;
use ring_hash::RingHash;
use round_robin::RoundRobin;

/// One endpoint as a balancer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Position in the cluster's endpoint list; what a pick returns.
    pub index: usize,
    /// 1-128.
    pub weight: u32,
    /// What consistent hashing places on the ring or table: the address,
    /// so placement does not depend on list order.
    pub key: &'a str,
}

/// Active requests of the endpoint at a position, for `least_request`.
pub type ActiveOf<'a> = &'a dyn Fn(usize) -> u64;

pub struct Balancer {
    kind: Kind,
    /// Random picks for the hashing policies when a request yields no hash
    /// key (Envoy's behaviour), and the whole of `random`.
    random: WeightedRandom,
}

enum Kind {
    RoundRobin(RoundRobin),
    LeastRequest(LeastRequest),
    Random,
    RingHash(RingHash),
    Maglev(Maglev),
}

impl Balancer {
    /// A balancer for `policy` over `members`; with no members every pick
    /// is `None`.
    pub fn build(policy: LbPolicy, members: &[Member]) -> Balancer {
        let kind = match policy {
            LbPolicy::RoundRobin => Kind::RoundRobin(RoundRobin::new(members)),
            LbPolicy::LeastRequest => Kind::LeastRequest(LeastRequest::new(members)),
            LbPolicy::Random => Kind::Random,
            LbPolicy::RingHash(sizes) => Kind::RingHash(RingHash::new(members, sizes)),
            LbPolicy::Maglev => Kind::Maglev(Maglev::new(members)),
        };
        Balancer {
            kind,
            random: WeightedRandom::new(members),
        }
    }

    /// The position of the endpoint for one request. `hash` is the
    /// request's hash key, read only by the consistent-hashing policies.
    pub fn pick(&self, hash: Option<u64>, active: ActiveOf) -> Option<usize> {
        match (&self.kind, hash) {
            (Kind::RoundRobin(rr), _) => rr.pick(),
            (Kind::LeastRequest(lr), _) => lr.pick(active),
            (Kind::RingHash(ring), Some(hash)) => ring.pick(hash),
            (Kind::Maglev(table), Some(hash)) => table.pick(hash),
            (Kind::Random | Kind::RingHash(_) | Kind::Maglev(_), _) => self.random.pick(),
        }
    }
}

/// Greatest common divisor, to shrink weight tables (weights 2, 4 behave
/// as 1, 2).
fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared by the balancers' tests: members and pick counting.
    use super::Member;

    pub const KEYS: [&str; 10] = [
        "10.0.0.1:80",
        "10.0.0.2:80",
        "10.0.0.3:80",
        "10.0.0.4:80",
        "10.0.0.5:80",
        "10.0.0.6:80",
        "10.0.0.7:80",
        "10.0.0.8:80",
        "10.0.0.9:80",
        "10.0.0.10:80",
    ];

    /// Members at positions 0.. with these weights and addresses.
    pub fn members(weights: &[u32]) -> Vec<Member<'static>> {
        weights
            .iter()
            .enumerate()
            .map(|(index, &weight)| Member {
                index,
                weight,
                key: KEYS[index],
            })
            .collect()
    }

    /// How often each position came out of `picks` calls.
    pub fn counts(n: usize, picks: usize, mut pick: impl FnMut() -> Option<usize>) -> Vec<usize> {
        let mut counts = vec![0; n];
        for _ in 0..picks {
            counts[pick().expect("a member")] += 1;
        }
        counts
    }

    /// Asserts each share is within `tolerance` (absolute) of its weight's.
    pub fn assert_shares(counts: &[usize], weights: &[u32], tolerance: f64) {
        let total: usize = counts.iter().sum();
        let weight_sum: u32 = weights.iter().sum();
        for (count, weight) in counts.iter().zip(weights) {
            let share = *count as f64 / total as f64;
            let expected = f64::from(*weight) / f64::from(weight_sum);
            assert!(
                (share - expected).abs() <= tolerance,
                "share {share:.3} vs expected {expected:.3}: counts {counts:?}, weights {weights:?}"
            );
        }
    }

    /// Pseudo-random request keys, the same in every run.
    pub fn request_keys(n: u64) -> impl Iterator<Item = u64> {
        (0..n).map(|i| twox_hash::XxHash64::oneshot(42, &i.to_le_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::members;
    use super::*;

    #[test]
    fn no_members_no_pick() {
        for policy in [
            LbPolicy::RoundRobin,
            LbPolicy::LeastRequest,
            LbPolicy::Random,
            LbPolicy::Maglev,
        ] {
            let balancer = Balancer::build(policy, &[]);
            assert_eq!(balancer.pick(Some(7), &|_| 0), None, "{policy:?}");
            assert_eq!(balancer.pick(None, &|_| 0), None, "{policy:?}");
        }
    }

    #[test]
    fn hashing_without_a_key_picks_at_random() {
        let balancer = Balancer::build(LbPolicy::Maglev, &members(&[1, 1, 1]));
        let mut seen = [false; 3];
        for _ in 0..300 {
            seen[balancer.pick(None, &|_| 0).expect("member")] = true;
        }
        assert_eq!(seen, [true; 3]);
        let keyed = balancer.pick(Some(99), &|_| 0);
        assert!((0..50).all(|_| balancer.pick(Some(99), &|_| 0) == keyed));
    }

    #[test]
    fn picks_return_cluster_positions_not_member_slots() {
        let only = [Member {
            index: 7,
            weight: 3,
            key: "10.0.0.7:80",
        }];
        for policy in [
            LbPolicy::RoundRobin,
            LbPolicy::LeastRequest,
            LbPolicy::Maglev,
        ] {
            let balancer = Balancer::build(policy, &only);
            assert_eq!(balancer.pick(Some(1), &|_| 0), Some(7), "{policy:?}");
        }
    }

    #[test]
    fn gcd_of_weights() {
        assert_eq!(gcd(4, 6), 2);
        assert_eq!(gcd(5, 0), 5);
        assert_eq!(gcd(7, 3), 1);
    }
}
