//! Prometheus metrics of the relay, rendered at `/metrics`.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every series the relay exports; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
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
    pub fn new() -> Self {
        let registry = Registry::new();
        let open_sockets =
            IntGauge::new("relay_open_sockets", "WebSocket sessions open").expect("valid metric");
        let connected_users = IntGauge::new(
            "relay_connected_users",
            "Users with at least one authenticated socket",
        )
        .expect("valid metric");
        let events_read = IntCounter::new(
            "relay_events_read_total",
            "Entries read from the results stream",
        )
        .expect("valid metric");
        let events_skipped = IntCounterVec::new(
            Opts::new(
                "relay_events_skipped_total",
                "Stream entries not relayed, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let events_delivered = IntCounterVec::new(
            Opts::new(
                "relay_events_delivered_total",
                "Event frames sent to sockets, by path (live or resume)",
            ),
            &["path"],
        )
        .expect("valid metric");
        let delivery_latency = Histogram::with_opts(
            HistogramOpts::new(
                "relay_delivery_latency_seconds",
                "From the grader's stamp (started_at or finished_at) to the frame being sent",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("valid metric");
        let slow_consumers_closed = IntCounter::new(
            "relay_slow_consumers_closed_total",
            "Sockets closed because their send buffer filled",
        )
        .expect("valid metric");
        let sockets_closed = IntCounterVec::new(
            Opts::new("relay_sockets_closed_total", "Sockets closed, by reason"),
            &["reason"],
        )
        .expect("valid metric");
        let resyncs = IntCounterVec::new(
            Opts::new(
                "relay_resyncs_total",
                "Resumes answered with resync, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let reader_errors = IntCounter::new(
            "relay_reader_errors_total",
            "Failed reads of the results stream",
        )
        .expect("valid metric");
        let collectors: [Box<dyn Collector>; 10] = [
            Box::new(open_sockets.clone()),
            Box::new(connected_users.clone()),
            Box::new(events_read.clone()),
            Box::new(events_skipped.clone()),
            Box::new(events_delivered.clone()),
            Box::new(delivery_latency.clone()),
            Box::new(slow_consumers_closed.clone()),
            Box::new(sockets_closed.clone()),
            Box::new(resyncs.clone()),
            Box::new(reader_errors.clone()),
        ];
        // Present from the start, so a dashboard shows 0 rather than nothing.
        for path in ["live", "resume"] {
            events_delivered.with_label_values(&[path]);
        }
        for collector in collectors {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Self {
            registry,
            open_sockets,
            connected_users,
            events_read,
            events_skipped,
            events_delivered,
            delivery_latency,
            slow_consumers_closed,
            sockets_closed,
            resyncs,
            reader_errors,
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
