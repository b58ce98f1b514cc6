//! How fast one socket may send: a token bucket of bytes, full when the socket opens, refilled
//! at `update_bytes_per_second` up to `update_burst_bytes`. Typing and pasting stay far below
//! it; a client that floods the document (and so Redis, Postgres and every other editor) is
//! closed with 4010 before its message is applied or logged.

use std::time::Instant;

pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_second: u64, burst: u64, now: Instant) -> Self {
        Self {
            per_second: per_second as f64,
            burst: burst as f64,
            tokens: burst as f64,
            refilled: now,
        }
    }

    /// Takes `bytes` if the bucket holds them; says whether it did.
    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled = now;
        if self.tokens < bytes as f64 {
            return false;
        }
        self.tokens -= bytes as f64;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_only_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, 300, start);
        assert!(bucket.take(300, start));
        assert!(!bucket.take(1, start));
        let later = start + Duration::from_millis(500);
        assert!(bucket.take(50, later));
        assert!(!bucket.take(1, later));
    }

    #[test]
    fn refills_stop_at_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, 300, start);
        let much_later = start + Duration::from_secs(60);
        assert!(bucket.take(300, much_later));
        assert!(!bucket.take(1, much_later));
    }
}
