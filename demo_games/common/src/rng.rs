//! A small deterministic PRNG for game randomness.

use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::Resource;

/// A small deterministic PRNG (xorshift64*), seeded from the clock.
#[derive(Resource, Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 once, so close seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    /// A generator seeded from the wall clock.
    pub fn from_time() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::new(nanos ^ u64::from(std::process::id()))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((f64::from(self.unit()) * n as f64) as usize).min(n.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_bounds_and_varies() {
        let mut rng = Rng::new(0);
        let mut seen = [false; 7];
        for _ in 0..10_000 {
            let n = rng.below(7);
            assert!(n < 7);
            seen[n] = true;
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
        assert!(seen.iter().all(|s| *s), "every value of 0..7 comes up");
        assert_eq!(rng.below(0), 0);
        assert_eq!(Rng::new(42).below(1000), Rng::new(42).below(1000));
    }
}
