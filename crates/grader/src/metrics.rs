//! The grader's own Prometheus series, registered in its registry (one per grader, so several
//! graders in one test process do not share counters) that `/metrics` renders.

use contracts::Verdict;
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge};

/// Buckets from 50 ms to about 100 s: container start-up through the slowest submissions.
const SECONDS_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 100.0,
];

/// Every metric the grader exports.
#[derive(Clone)]
pub struct Metrics {
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
    /// `grader_duplicates_total`: second entries of a submission, skipped (see `contracts::claim`).
    pub duplicates: IntCounter,
    /// `grader_containers_reaped_total`: abandoned sandbox containers the janitor removed.
    pub containers_reaped: IntCounter,
    /// `grader_queue_backlog_jobs`: jobs not yet acknowledged by any grader (set on scrape).
    pub queue_backlog: IntGauge,
    /// `grader_paused`: 1 while no job is taken because Docker or a sandbox image is missing.
    pub paused: IntGauge,
    /// `grader_pauses_total`: times taking jobs stopped for that reason.
    pub pauses: IntCounter,
}

impl Metrics {
    pub fn new(registry: &http_edge::Metrics) -> Self {
        let metrics = Self {
            jobs_in_flight: registry.gauge("jobs_in_flight", "Jobs being graded now"),
            verdicts: registry.counter_vec(
                "verdicts_total",
                "Graded jobs by verdict",
                &["verdict"],
            ),
            grading_seconds: registry.histogram(
                "grading_seconds",
                "Time from taking a job to publishing its verdict",
                SECONDS_BUCKETS,
            ),
            queue_wait_seconds: registry.histogram(
                "queue_wait_seconds",
                "Time from enqueueing a job to a grader taking it",
                SECONDS_BUCKETS,
            ),
            container_start_seconds: registry.histogram(
                "container_start_seconds",
                "Time to create and start a sandbox container",
                SECONDS_BUCKETS,
            ),
            failures: registry.counter_vec("failures_total", "Failed attempts by cause", &["kind"]),
            dead_letters: registry.counter("dead_letters_total", "Jobs dead-lettered"),
            cancelled: registry.counter("cancelled_total", "Jobs of deleted submissions"),
            duplicates: registry.counter(
                "duplicates_total",
                "Second entries of a submission, not run",
            ),
            containers_reaped: registry.counter(
                "containers_reaped_total",
                "Abandoned sandbox containers removed by the janitor",
            ),
            queue_backlog: registry.gauge(
                "queue_backlog_jobs",
                "Jobs on the submissions stream not yet acknowledged",
            ),
            paused: registry.gauge(
                "paused",
                "1 while no job is taken: Docker is unreachable or a sandbox image is missing",
            ),
            pauses: registry.counter(
                "pauses_total",
                "Times taking jobs stopped because Docker or a sandbox image was missing",
            ),
        };
        for verdict in Verdict::ALL {
            metrics.verdicts.with_label_values(&[verdict.as_str()]);
        }
        metrics
    }

    /// Counts one verdict.
    pub fn verdict(&self, verdict: Verdict) {
        self.verdicts.with_label_values(&[verdict.as_str()]).inc();
    }

    /// Counts one failed attempt.
    pub fn failure(&self, kind: &str) {
        self.failures.with_label_values(&[kind]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_verdict_and_histogram() {
        let registry = http_edge::Metrics::new("grader");
        let metrics = Metrics::new(&registry);
        metrics.verdict(Verdict::Accepted);
        metrics.grading_seconds.observe(0.7);
        let text = registry.render();
        assert!(
            text.contains("grader_verdicts_total{verdict=\"accepted\"} 1"),
            "{text}"
        );
        assert!(text.contains("grader_verdicts_total{verdict=\"time_limit\"} 0"));
        assert!(text.contains("grader_grading_seconds_bucket"));
        assert!(text.contains("grader_jobs_in_flight 0"));
    }
}
