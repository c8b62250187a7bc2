//! Weighted random: each endpoint with probability weight / total.
//!
//! Also the fallback of the hashing policies for requests without a hash
//! key. A prefix-sum table is built once; a pick is one random number and
//! a binary search, or a plain index when all weights are equal.
use super::{rng, Member};

pub struct WeightedRandom {
    /// Cluster positions, parallel to `ends`.
    indices: Box<[u32]>,
    /// Running sums of weights: member i owns `ends[i-1]..ends[i]`.
    /// Empty when every weight is the same (a uniform pick suffices).
    ends: Box<[u64]>,
}

impl WeightedRandom {
    pub fn new(members: &[Member]) -> WeightedRandom {
        let equal = members.windows(2).all(|w| w[0].weight == w[1].weight);
        let ends = if equal {
            Vec::new()
        } else {
            (members.iter())
                .scan(0u64, |sum, m| {
                    *sum += u64::from(m.weight);
                    Some(*sum)
                })
                .collect()
        };
        WeightedRandom {
            indices: members.iter().map(|m| m.index as u32).collect(),
            ends: ends.into_boxed_slice(),
        }
    }

    pub fn pick(&self) -> Option<usize> {
        let slot = match self.ends.last() {
            None if self.indices.is_empty() => return None,
            None => rng::below(self.indices.len() as u64) as usize,
            Some(&total) => {
                let point = rng::below(total);
                self.ends.partition_point(|&end| end <= point)
            }
        };
        self.indices.get(slot).map(|&i| i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_shares, counts, members};
    use super::*;

    #[test]
    fn shares_follow_weights() {
        let weights = [5, 3, 1, 1];
        let random = WeightedRandom::new(&members(&weights));
        let counts = counts(4, 100_000, || random.pick());
        assert_shares(&counts, &weights, 0.01);
    }

    #[test]
    fn equal_weights_are_uniform() {
        let weights = [2, 2, 2];
        let random = WeightedRandom::new(&members(&weights));
        assert!(random.ends.is_empty());
        let counts = counts(3, 60_000, || random.pick());
        assert_shares(&counts, &weights, 0.01);
    }

    #[test]
    fn the_lightest_member_still_gets_picked() {
        let weights = [128, 1];
        let random = WeightedRandom::new(&members(&weights));
        let counts = counts(2, 129_000, || random.pick());
        assert!((600..1400).contains(&counts[1]), "{counts:?}");
    }
}
