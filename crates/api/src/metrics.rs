//! The api's own Prometheus series, registered in the shared registry that `/metrics`
//! renders (the HTTP series come with [`http_edge::Metrics`]).

use prometheus::{IntCounter, IntCounterVec, IntGauge};

#[derive(Clone)]
pub struct Metrics {
    pub cache_lookups: IntCounterVec,
    pub submissions_created: IntCounterVec,
    pub results_recorded: IntCounterVec,
    /// Jobs the graders have not finished, sampled at scrape time.
    pub queue_backlog: IntGauge,
    /// Jobs put on the submissions stream.
    pub jobs_dispatched: IntCounter,
    /// Jobs put back to waiting because the stream lost them.
    pub jobs_requeued: IntCounter,
}

impl Metrics {
    pub fn new(registry: &http_edge::Metrics) -> Self {
        Self {
            cache_lookups: registry.counter_vec(
                "cache_lookups_total",
                "Read-cache lookups by outcome",
                &["outcome"],
            ),
            submissions_created: registry.counter_vec(
                "submissions_total",
                "Submissions accepted for grading",
                &["runtime"],
            ),
            results_recorded: registry.counter_vec(
                "results_recorded_total",
                "Grader events recorded, by status",
                &["status"],
            ),
            queue_backlog: registry.gauge(
                "queue_backlog_jobs",
                "Submissions queued or grading, per the graders' consumer group",
            ),
            jobs_dispatched: registry.counter(
                "jobs_dispatched_total",
                "Jobs put on the submissions stream",
            ),
            jobs_requeued: registry.counter(
                "jobs_requeued_total",
                "Jobs dispatched again because the stream lost them",
            ),
        }
    }
}
