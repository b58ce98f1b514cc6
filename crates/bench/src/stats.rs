//! Latency summaries.

use std::time::Duration;

/// Percentiles and throughput of a set of samples.
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub per_second: f64,
}

impl Summary {
    /// Summarises `samples` taken over `elapsed` wall-clock time.
    pub fn of(mut samples: Vec<Duration>, elapsed: Duration) -> Self {
        samples.sort();
        let at = |q: f64| {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index]
        };
        Self {
            count: samples.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            per_second: samples.len() as f64 / elapsed.as_secs_f64(),
        }
    }

    /// One aligned table row.
    pub fn row(&self, label: &str) -> String {
        format!(
            "{label:<34} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>10.1}",
            self.count,
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            self.per_second
        )
    }

    pub fn header() -> String {
        format!(
            "{:<34} {:>6} {:>9} {:>9} {:>9} {:>10}",
            "", "n", "p50 ms", "p95 ms", "p99 ms", "per sec"
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let summary = Summary::of(samples, Duration::from_secs(10));
        assert_eq!(summary.p50, Duration::from_millis(50));
        assert_eq!(summary.p95, Duration::from_millis(95));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert!((summary.per_second - 10.0).abs() < 1e-9);
    }
}
