//! Token-bucket rate limiting, keyed (per viewer, per client), and what a
//! client is: an IPv4 address, or an IPv6 /64 (one subscriber's network).
//!
//! Pure: every call takes the current [`Instant`], so tests drive the clock
//! instead of sleeping. State stays bounded: a bucket that has refilled to
//! full is indistinguishable from a fresh one, so such idle buckets are
//! dropped whenever the table reaches its capacity.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// One client, as limits count them: an IPv4 address, or the /64 network of
/// an IPv6 address (a subscriber gets a whole /64 and may use any address
/// in it, so counting single IPv6 addresses would limit nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 client (IPv4-mapped IPv6 addresses included).
    V4(Ipv4Addr),
    /// An IPv6 client's /64 prefix.
    V6Prefix(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Prefix((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

/// New rooms one client may make: 10 at once, then one every 6 s. A
/// streamer needs one; inventing room names by the thousand is refused.
pub const ROOM_CREATION_RATE: Rate = Rate {
    per_second: 1.0 / 6.0,
    burst: 10.0,
};

/// How fast posting allowance comes back and how much can be saved up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_second: f64,
    burst: f64,
}

/// Viewer tokens one client may get: 20 at once (a household, a classroom
/// behind one address), then one every 3 s. Minting tokens to get fresh
/// allowances still meets the client's own posting allowance.
pub const VIEWER_TOKEN_RATE: Rate = Rate {
    per_second: 1.0 / 3.0,
    burst: 20.0,
};

/// Posts allowed per viewer and per client by default: 5 at once, then 2 a second.
pub const POSTING_RATE: Rate = Rate {
    per_second: 2.0,
    burst: 5.0,
};

/// Moderation requests allowed per client address: 20 at once, then 2 a
/// second; plenty for a moderator, hopeless for guessing a token.
pub const MODERATION_RATE: Rate = Rate {
    per_second: 2.0,
    burst: 20.0,
};

impl Rate {
    /// `per_second` posts on average with bursts of up to `burst` at once;
    /// `None` unless `per_second` is finite and positive and `burst` at least 1.
    pub fn new(per_second: f64, burst: u32) -> Option<Self> {
        (per_second.is_finite() && per_second > 0.0 && burst >= 1).then_some(Self {
            per_second,
            burst: f64::from(burst),
        })
    }

    /// Time for one post's allowance to come back.
    fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.burst,
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        // Callers may pass slightly older instants (taken before a lock): never go back.
        if now > self.updated {
            let earned = (now - self.updated).as_secs_f64() * rate.per_second;
            self.tokens = (self.tokens + earned).min(rate.burst);
            self.updated = now;
        }
    }

    /// How long until one token is available (zero when one is).
    fn wait(&self, rate: Rate) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / rate.per_second)
        }
    }

    fn is_full(&self, rate: Rate) -> bool {
        self.tokens >= rate.burst
    }
}

/// Token buckets by key, at most `capacity` of them.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: Rate,
    capacity: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// An empty limiter keeping at most `capacity` buckets.
    pub fn new(rate: Rate, capacity: usize) -> Self {
        Self {
            rate,
            capacity,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token from the bucket of each of `keys` when every one has
    /// a token; otherwise takes nothing and returns how long to wait.
    ///
    /// When the table is full of busy buckets, new keys are refused (for one
    /// token's interval) rather than letting memory grow.
    pub fn admit(&mut self, keys: &[K], now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        let mut wait = Duration::ZERO;
        let mut new_keys = 0;
        for key in keys {
            match self.buckets.get_mut(key) {
                Some(bucket) => {
                    bucket.refill(rate, now);
                    wait = wait.max(bucket.wait(rate));
                }
                None => new_keys += 1,
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        if self.buckets.len() + new_keys > self.capacity {
            self.drop_idle(now);
            if self.buckets.len() + new_keys > self.capacity {
                return Err(rate.interval());
            }
        }
        for key in keys {
            let bucket = self
                .buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(rate, now));
            bucket.tokens -= 1.0;
        }
        Ok(())
    }

    /// Forgets buckets that have refilled completely.
    fn drop_idle(&mut self, now: Instant) {
        let rate = self.rate;
        self.buckets.retain(|_, bucket| {
            bucket.refill(rate, now);
            !bucket.is_full(rate)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_64_network_ipv4_their_address() {
        let key = |text: &str| ClientKey::from(text.parse::<IpAddr>().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }

    fn limiter(per_second: f64, burst: u32, capacity: usize) -> RateLimiter<&'static str> {
        RateLimiter::new(Rate::new(per_second, burst).unwrap(), capacity)
    }

    #[test]
    fn rates_must_be_positive() {
        assert!(Rate::new(0.0, 5).is_none());
        assert!(Rate::new(f64::NAN, 5).is_none());
        assert!(Rate::new(2.0, 0).is_none());
        assert!(Rate::new(0.5, 1).is_some());
    }

    #[test]
    fn allows_a_burst_then_refills_at_the_rate() {
        let mut limits = limiter(2.0, 3, 10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limits.admit(&["ann"], t0), Ok(()));
        }
        assert_eq!(limits.admit(&["ann"], t0), Err(Duration::from_millis(500)));
        // Another key has its own bucket.
        assert_eq!(limits.admit(&["bob"], t0), Ok(()));
        let later = t0 + Duration::from_millis(250);
        assert_eq!(
            limits.admit(&["ann"], later),
            Err(Duration::from_millis(250))
        );
        assert_eq!(
            limits.admit(&["ann"], t0 + Duration::from_millis(500)),
            Ok(())
        );
        // A long pause refills only up to the burst.
        let much_later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limits.admit(&["ann"], much_later), Ok(()));
        }
        assert!(limits.admit(&["ann"], much_later).is_err());
    }

    #[test]
    fn several_keys_are_charged_together_or_not_at_all() {
        let mut limits = limiter(1.0, 2, 10);
        let now = Instant::now();
        assert_eq!(limits.admit(&["ip"], now), Ok(()));
        assert_eq!(limits.admit(&["ip"], now), Ok(()));
        // The address is out of tokens, so the viewer's bucket is left untouched.
        assert_eq!(
            limits.admit(&["ann", "ip"], now),
            Err(Duration::from_secs(1))
        );
        assert_eq!(limits.admit(&["ann"], now), Ok(()));
        assert_eq!(limits.admit(&["ann"], now), Ok(()));
        assert!(limits.admit(&["ann"], now).is_err());
    }

    #[test]
    fn an_older_instant_never_takes_tokens_back() {
        let mut limits = limiter(1.0, 1, 10);
        let now = Instant::now() + Duration::from_secs(10);
        assert_eq!(limits.admit(&["ann"], now), Ok(()));
        assert!(
            limits
                .admit(&["ann"], now - Duration::from_secs(5))
                .is_err()
        );
        assert_eq!(limits.admit(&["ann"], now + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn stays_bounded_by_dropping_idle_buckets() {
        let mut limits = limiter(1.0, 2, 2);
        let t0 = Instant::now();
        assert_eq!(limits.admit(&["a"], t0), Ok(()));
        assert_eq!(limits.admit(&["b"], t0), Ok(()));
        // Full of busy buckets: a newcomer waits one interval.
        assert_eq!(limits.admit(&["c"], t0), Err(Duration::from_secs(1)));
        assert_eq!(limits.buckets.len(), 2);
        // Once "a" and "b" have refilled they are forgotten and "c" fits.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(limits.admit(&["c"], later), Ok(()));
        assert_eq!(limits.buckets.len(), 1);
    }
}
