//! Prometheus metrics of the hub, rendered at `/metrics`.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

const LATENCY_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Every series the hub exports; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Documents held in memory.
    pub open_documents: IntGauge,
    /// Document sockets open.
    pub connections: IntGauge,
    /// Document updates applied, by source (`local` socket or `remote` replica).
    pub updates: IntCounterVec,
    /// From receiving a client's update to handing it to the other local sockets (`local`), or
    /// from another replica's append to that hand-over here (`remote`).
    pub fanout_latency: prometheus::HistogramVec,
    /// From a document's first unsynced change to its write to Postgres.
    pub sync_lag: Histogram,
    /// Failed writes to Postgres or reads of the logs.
    pub storage_errors: IntCounterVec,
    /// Sockets closed, by reason (see [`crate::close::Close::label`]).
    pub sockets_closed: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let open_documents =
            IntGauge::new("hub_open_documents", "Documents held in memory").expect("valid metric");
        let connections =
            IntGauge::new("hub_connections", "Document sockets open").expect("valid metric");
        let updates = IntCounterVec::new(
            Opts::new(
                "hub_updates_total",
                "Document updates applied, by source (local or remote)",
            ),
            &["source"],
        )
        .expect("valid metric");
        let fanout_latency = prometheus::HistogramVec::new(
            HistogramOpts::new(
                "hub_fanout_latency_seconds",
                "From an update's arrival (local) or append (remote) to its hand-over to sockets",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["source"],
        )
        .expect("valid metric");
        let sync_lag = Histogram::with_opts(
            HistogramOpts::new(
                "hub_sync_lag_seconds",
                "From a document's first unsynced change to its write to Postgres",
            )
            .buckets(vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0]),
        )
        .expect("valid metric");
        let storage_errors = IntCounterVec::new(
            Opts::new(
                "hub_storage_errors_total",
                "Failed log reads and Postgres writes, by operation",
            ),
            &["operation"],
        )
        .expect("valid metric");
        let sockets_closed = IntCounterVec::new(
            Opts::new("hub_sockets_closed_total", "Sockets closed, by reason"),
            &["reason"],
        )
        .expect("valid metric");
        // Present from the start, so a dashboard shows 0 rather than nothing.
        for source in ["local", "remote"] {
            updates.with_label_values(&[source]);
            fanout_latency.with_label_values(&[source]);
        }
        let collectors: [Box<dyn Collector>; 7] = [
            Box::new(open_documents.clone()),
            Box::new(connections.clone()),
            Box::new(updates.clone()),
            Box::new(fanout_latency.clone()),
            Box::new(sync_lag.clone()),
            Box::new(storage_errors.clone()),
            Box::new(sockets_closed.clone()),
        ];
        for collector in collectors {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Self {
            registry,
            open_documents,
            connections,
            updates,
            fanout_latency,
            sync_lag,
            storage_errors,
            sockets_closed,
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
