//! One Prometheus registry per service, its HTTP series (requests by route and status,
//! latency by route) and one renderer for `/metrics`. A service creates its own series through
//! the registry, so every name is `<service>_<what>_<unit>`.

use crate::Edge;
use actix_web::{web, HttpResponse};
use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use std::time::Duration;

/// Latency buckets for requests and hops, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The registry of one service and its HTTP series; cheap to clone. The series a service
/// adds come from the [`Series`] methods it derefs to.
#[derive(Clone)]
pub struct Metrics {
    series: Series,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
}

/// Creates series named `<service>_<what>` and registers them.
#[derive(Clone)]
pub struct Series {
    service: &'static str,
    registry: Registry,
}

impl std::ops::Deref for Metrics {
    type Target = Series;

    fn deref(&self) -> &Series {
        &self.series
    }
}

impl Series {
    fn name(&self, what: &str) -> String {
        format!("{}_{what}", self.service)
    }

    fn register<C: Collector + Clone + 'static>(&self, collector: C) -> C {
        self.registry
            .register(Box::new(collector.clone()))
            .expect("each series is registered once");
        collector
    }

    pub fn counter(&self, what: &str, help: &str) -> IntCounter {
        self.register(IntCounter::new(self.name(what), help).expect("valid metric"))
    }

    pub fn counter_vec(&self, what: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(
            IntCounterVec::new(Opts::new(self.name(what), help), labels).expect("valid metric"),
        )
    }

    pub fn gauge(&self, what: &str, help: &str) -> IntGauge {
        self.register(IntGauge::new(self.name(what), help).expect("valid metric"))
    }

    pub fn histogram(&self, what: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(self.name(what), help).buckets(buckets.to_vec());
        self.register(Histogram::with_opts(opts).expect("valid metric"))
    }

    pub fn histogram_vec(
        &self,
        what: &str,
        help: &str,
        buckets: &[f64],
        labels: &[&str],
    ) -> HistogramVec {
        let opts = HistogramOpts::new(self.name(what), help).buckets(buckets.to_vec());
        self.register(HistogramVec::new(opts, labels).expect("valid metric"))
    }
}

impl Metrics {
    /// A registry whose series are named `<service>_…`.
    pub fn new(service: &'static str) -> Self {
        let series = Series {
            service,
            registry: Registry::new(),
        };
        let http_requests = series.counter_vec(
            "http_requests_total",
            "HTTP requests by route and status",
            &["method", "route", "status"],
        );
        let http_duration = series.histogram_vec(
            "http_request_duration_seconds",
            "HTTP request latency",
            LATENCY_BUCKETS,
            &["method", "route"],
        );
        Self {
            series,
            http_requests,
            http_duration,
        }
    }

    /// Counts and times one request under its route pattern (never the raw path, which
    /// would make one series per id).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.series.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("Prometheus text is UTF-8")
    }
}

/// `/metrics`: samples what needs sampling, then renders.
pub async fn scrape(edge: web::Data<Edge>) -> HttpResponse {
    if let Some(hook) = &edge.before_scrape {
        hook().await;
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(edge.metrics.render())
}
