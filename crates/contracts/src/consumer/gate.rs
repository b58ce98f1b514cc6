//! A [`Gate`] says whether a consumer may take entries now. A service closes it while what its
//! handler needs is down (the grader: Docker, the sandbox image), so that entries wait in the
//! stream, unread and undelivered, instead of being taken and given back over and over; it
//! opens it when that is back. Closed, the consumer neither reads new entries nor takes over
//! stale ones; the entries in flight finish as they may.

use std::fmt;
use tokio::sync::watch;

/// Open, or closed for a reason. Clones share one state.
#[derive(Clone)]
pub struct Gate {
    state: watch::Sender<Option<String>>,
}

impl Gate {
    /// An open gate.
    pub fn open_now() -> Self {
        Self {
            state: watch::Sender::new(None),
        }
    }

    /// Lets the consumer take entries again.
    pub fn open(&self) {
        self.state.send_if_modified(|state| state.take().is_some());
    }

    /// Stops the consumer taking entries until [`Gate::open`]; `reason` says why.
    pub fn close(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.state.send_if_modified(|state| {
            let changed = state.as_deref() != Some(reason.as_str());
            *state = Some(reason);
            changed
        });
    }

    /// Why it is closed; `None` while open.
    pub fn closed_because(&self) -> Option<String> {
        self.state.borrow().clone()
    }

    pub fn is_open(&self) -> bool {
        self.state.borrow().is_none()
    }

    /// Resolves once the gate is open.
    pub async fn opened(&self) {
        let mut state = self.state.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = state.wait_for(Option::is_none).await;
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.closed_because() {
            None => f.write_str("Gate(open)"),
            Some(reason) => write!(f, "Gate(closed: {reason})"),
        }
    }
}
