//! Prometheus metrics of the api, rendered at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub cache_lookups: IntCounterVec,
    pub submissions_created: IntCounterVec,
    pub results_recorded: IntCounterVec,
    /// Jobs the graders have not finished, sampled at scrape time.
    pub queue_backlog: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "api_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("api_http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let cache_lookups = IntCounterVec::new(
            Opts::new("api_cache_lookups_total", "Read-cache lookups by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let submissions_created = IntCounterVec::new(
            Opts::new("api_submissions_total", "Submissions accepted for grading"),
            &["runtime"],
        )
        .expect("valid metric");
        let results_recorded = IntCounterVec::new(
            Opts::new(
                "api_results_recorded_total",
                "Grader events recorded, by status",
            ),
            &["status"],
        )
        .expect("valid metric");
        let queue_backlog = IntGauge::new(
            "api_queue_backlog_jobs",
            "Submissions queued or grading, per the graders' consumer group",
        )
        .expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(cache_lookups.clone()),
            Box::new(submissions_created.clone()),
            Box::new(results_recorded.clone()),
            Box::new(queue_backlog.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            cache_lookups,
            submissions_created,
            results_recorded,
            queue_backlog,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("Prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
