//! The grader's Prometheus metrics, in a registry of their own (so several graders in one test
//! process do not share counters), rendered as text by `/metrics`.

use contracts::Verdict;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Buckets from 50 ms to about 100 s: container start-up through the slowest submissions.
const SECONDS_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 100.0,
];

/// Every metric the grader exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `grader_jobs_in_flight`: jobs being graded now.
    pub jobs_in_flight: IntGauge,
    /// `grader_verdicts_total{verdict}`: graded jobs by verdict.
    pub verdicts: IntCounterVec,
    /// `grader_grading_seconds`: from taking a job to publishing its verdict.
    pub grading_seconds: Histogram,
    /// `grader_queue_wait_seconds`: from enqueueing to a grader taking the job.
    pub queue_wait_seconds: Histogram,
    /// `grader_container_start_seconds`: creating and starting a sandbox container.
    pub container_start_seconds: Histogram,
    /// `grader_failures_total{kind}`: attempts that failed for the grader's own reasons.
    pub failures: IntCounterVec,
    /// `grader_dead_letters_total`: jobs given up and moved to the dead-letter stream.
    pub dead_letters: IntCounter,
    /// `grader_cancelled_total`: jobs skipped because their submission was deleted.
    pub cancelled: IntCounter,
    /// `grader_containers_reaped_total`: abandoned sandbox containers the janitor removed.
    pub containers_reaped: IntCounter,
    /// `grader_queue_backlog_jobs`: jobs not yet acknowledged by any grader (set on scrape).
    pub queue_backlog: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let seconds = |name: &str, help: &str| {
            let opts = HistogramOpts::new(name, help).buckets(SECONDS_BUCKETS.to_vec());
            Histogram::with_opts(opts).expect("valid histogram")
        };
        let metrics = Self {
            jobs_in_flight: IntGauge::new("grader_jobs_in_flight", "Jobs being graded now")
                .expect("valid gauge"),
            verdicts: IntCounterVec::new(
                Opts::new("grader_verdicts_total", "Graded jobs by verdict"),
                &["verdict"],
            )
            .expect("valid counter"),
            grading_seconds: seconds(
                "grader_grading_seconds",
                "Time from taking a job to publishing its verdict",
            ),
            queue_wait_seconds: seconds(
                "grader_queue_wait_seconds",
                "Time from enqueueing a job to a grader taking it",
            ),
            container_start_seconds: seconds(
                "grader_container_start_seconds",
                "Time to create and start a sandbox container",
            ),
            failures: IntCounterVec::new(
                Opts::new("grader_failures_total", "Failed attempts by cause"),
                &["kind"],
            )
            .expect("valid counter"),
            dead_letters: IntCounter::new("grader_dead_letters_total", "Jobs dead-lettered")
                .expect("valid counter"),
            cancelled: IntCounter::new("grader_cancelled_total", "Jobs of deleted submissions")
                .expect("valid counter"),
            containers_reaped: IntCounter::new(
                "grader_containers_reaped_total",
                "Abandoned sandbox containers removed by the janitor",
            )
            .expect("valid counter"),
            queue_backlog: IntGauge::new(
                "grader_queue_backlog_jobs",
                "Jobs on the submissions stream not yet acknowledged",
            )
            .expect("valid gauge"),
            registry,
        };
        for collector in metrics.collectors() {
            metrics
                .registry
                .register(collector)
                .expect("metric names are unique");
        }
        for verdict in ALL_VERDICTS {
            metrics.verdicts.with_label_values(&[verdict.as_str()]);
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.jobs_in_flight.clone()),
            Box::new(self.verdicts.clone()),
            Box::new(self.grading_seconds.clone()),
            Box::new(self.queue_wait_seconds.clone()),
            Box::new(self.container_start_seconds.clone()),
            Box::new(self.failures.clone()),
            Box::new(self.dead_letters.clone()),
            Box::new(self.cancelled.clone()),
            Box::new(self.containers_reaped.clone()),
            Box::new(self.queue_backlog.clone()),
        ]
    }

    /// Counts one verdict.
    pub fn verdict(&self, verdict: Verdict) {
        self.verdicts.with_label_values(&[verdict.as_str()]).inc();
    }

    /// Counts one failed attempt.
    pub fn failure(&self, kind: &str) {
        self.failures.with_label_values(&[kind]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

const ALL_VERDICTS: [Verdict; 8] = [
    Verdict::Accepted,
    Verdict::WrongAnswer,
    Verdict::CompileError,
    Verdict::RuntimeError,
    Verdict::TimeLimit,
    Verdict::MemoryLimit,
    Verdict::OutputLimit,
    Verdict::InternalError,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_verdict_and_histogram() {
        let metrics = Metrics::new();
        metrics.verdict(Verdict::Accepted);
        metrics.grading_seconds.observe(0.7);
        let text = metrics.render();
        assert!(
            text.contains("grader_verdicts_total{verdict=\"accepted\"} 1"),
            "{text}"
        );
        assert!(text.contains("grader_verdicts_total{verdict=\"time_limit\"} 0"));
        assert!(text.contains("grader_grading_seconds_bucket"));
        assert!(text.contains("grader_jobs_in_flight 0"));
    }
}
