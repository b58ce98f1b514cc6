//! What the HTTP handlers and every socket share: the fan-out, the streams (for resumes), the
//! token keys, metrics, the reader's health and the shutdown signal.

use crate::fanout::Fanout;
use crate::metrics::Metrics;
use crate::reader::ReaderHealth;
use crate::resume::ScanLimits;
use contracts::{Keys, Streams};
use std::sync::Arc;
use std::time::Duration;
use tokens::Verifier;
use tokio_util::sync::CancellationToken;

/// Shared state of one relay process.
pub struct AppState {
    pub fanout: Arc<Fanout>,
    pub streams: Streams,
    pub keys: Keys,
    pub tokens: Verifier,
    pub metrics: Metrics,
    pub reader: Arc<ReaderHealth>,
    /// Cancelled when the relay stops: every socket closes with 1001.
    pub shutdown: CancellationToken,
    pub sessions: SessionConfig,
}

/// The per-socket rules, from the settings.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    pub auth_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub idle_timeout: Duration,
    pub max_frame_bytes: usize,
    /// How much history one resume may scan.
    pub resume: ScanLimits,
}
