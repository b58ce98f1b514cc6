//! The relay's own Prometheus series, registered in the shared registry that `/metrics`
//! renders (the HTTP series come with [`http_edge::Metrics`]).

use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge};

/// Every series the relay exports; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    /// WebSocket sessions open, authenticated or not.
    pub open_sockets: IntGauge,
    /// Users with at least one authenticated socket on this relay.
    pub connected_users: IntGauge,
    /// Entries read from the `results` stream by the live reader.
    pub events_read: IntCounter,
    /// Entries the reader could not relay, by reason.
    pub events_skipped: IntCounterVec,
    /// Event frames written to sockets, by path (`live` or `resume`).
    pub events_delivered: IntCounterVec,
    /// From the grader's stamp to the moment the frame is handed to the socket (live events).
    pub delivery_latency: Histogram,
    /// Sockets closed because their buffer filled.
    pub slow_consumers_closed: IntCounter,
    /// Sockets closed, by reason (see [`crate::close::Close::label`]).
    pub sockets_closed: IntCounterVec,
    /// Resumes answered with `resync`, by reason.
    pub resyncs: IntCounterVec,
    /// Failed reads of the `results` stream.
    pub reader_errors: IntCounter,
}

impl Metrics {
    pub fn new(registry: &http_edge::Metrics) -> Self {
        let metrics = Self {
            open_sockets: registry.gauge("open_sockets", "WebSocket sessions open"),
            connected_users: registry.gauge(
                "connected_users",
                "Users with at least one authenticated socket",
            ),
            events_read: registry
                .counter("events_read_total", "Entries read from the results stream"),
            events_skipped: registry.counter_vec(
                "events_skipped_total",
                "Stream entries not relayed, by reason",
                &["reason"],
            ),
            events_delivered: registry.counter_vec(
                "events_delivered_total",
                "Event frames sent to sockets, by path (live or resume)",
                &["path"],
            ),
            delivery_latency: registry.histogram(
                "delivery_latency_seconds",
                "From the grader's stamp (started_at or finished_at) to the frame being sent",
                &[
                    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            slow_consumers_closed: registry.counter(
                "slow_consumers_closed_total",
                "Sockets closed because their send buffer filled",
            ),
            sockets_closed: registry.counter_vec(
                "sockets_closed_total",
                "Sockets closed, by reason",
                &["reason"],
            ),
            resyncs: registry.counter_vec(
                "resyncs_total",
                "Resumes answered with resync, by reason",
                &["reason"],
            ),
            reader_errors: registry
                .counter("reader_errors_total", "Failed reads of the results stream"),
        };
        // Present from the start, so a dashboard shows 0 rather than nothing.
        for path in ["live", "resume"] {
            metrics.events_delivered.with_label_values(&[path]);
        }
        metrics
    }
}
