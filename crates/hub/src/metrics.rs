//! The hub's own Prometheus series, registered in the shared registry that `/metrics`
//! renders (the HTTP series come with [`http_edge::Metrics`]).

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge};

const LATENCY_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Every series the hub exports; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    /// Documents held in memory.
    pub open_documents: IntGauge,
    /// Document sockets open.
    pub connections: IntGauge,
    /// Document updates applied, by source (`local` socket or `remote` replica).
    pub updates: IntCounterVec,
    /// From receiving a client's update to handing it to the other local sockets (`local`), or
    /// from another replica's append to that hand-over here (`remote`).
    pub fanout_latency: HistogramVec,
    /// From a document's first unsynced change to its write to Postgres.
    pub sync_lag: Histogram,
    /// Failed writes to Postgres or reads of the logs.
    pub storage_errors: IntCounterVec,
    /// Sockets closed, by reason (see [`crate::close::Close::label`]).
    pub sockets_closed: IntCounterVec,
    /// Messages refused and sockets closed because they went over a budget, by budget.
    pub budget_exceeded: IntCounterVec,
    /// Loaded documents whose last sync to Postgres failed (retried with backoff).
    pub documents_sync_failing: IntGauge,
    /// Whole documents appended again to logs that had lost entries (Redis lost its data).
    pub reseeds: IntCounter,
}

/// The budgets of [`Metrics::budget_exceeded`], present from the start.
pub const BUDGETS: [&str; 5] = [
    "send_buffer",
    "update_rate",
    "document_size",
    "awareness_states",
    "awareness_bytes",
];

impl Metrics {
    pub fn new(registry: &http_edge::Metrics) -> Self {
        let metrics = Self {
            open_documents: registry.gauge("open_documents", "Documents held in memory"),
            connections: registry.gauge("connections", "Document sockets open"),
            updates: registry.counter_vec(
                "updates_total",
                "Document updates applied, by source (local or remote)",
                &["source"],
            ),
            fanout_latency: registry.histogram_vec(
                "fanout_latency_seconds",
                "From an update's arrival (local) or append (remote) to its hand-over to sockets",
                &LATENCY_BUCKETS,
                &["source"],
            ),
            sync_lag: registry.histogram(
                "sync_lag_seconds",
                "From a document's first unsynced change to its write to Postgres",
                &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0],
            ),
            storage_errors: registry.counter_vec(
                "storage_errors_total",
                "Failed log reads and Postgres writes, by operation",
                &["operation"],
            ),
            sockets_closed: registry.counter_vec(
                "sockets_closed_total",
                "Sockets closed, by reason",
                &["reason"],
            ),
            budget_exceeded: registry.counter_vec(
                "budget_exceeded_total",
                "Messages refused or sockets closed for going over a budget, by budget",
                &["budget"],
            ),
            documents_sync_failing: registry.gauge(
                "documents_sync_failing",
                "Loaded documents whose last sync to Postgres failed",
            ),
            reseeds: registry.counter(
                "log_reseeds_total",
                "Documents appended whole to a log that had lost entries",
            ),
        };
        // Present from the start, so a dashboard shows 0 rather than nothing.
        for source in ["local", "remote"] {
            metrics.updates.with_label_values(&[source]);
            metrics.fanout_latency.with_label_values(&[source]);
        }
        for budget in BUDGETS {
            metrics.budget_exceeded.with_label_values(&[budget]);
        }
        metrics
    }
}
