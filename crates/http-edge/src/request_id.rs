//! The id of a request: the caller's `x-request-id` when it is a sensible one, else a new one.
//! While a request is handled it is the task's [`RequestId::current`], so that an error body
//! can carry it without being handed it.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderName;
use std::fmt;

/// The request id header, accepted from callers and always set on responses.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a caller.
const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of one request, in its logs, its response header and its 5xx body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// A caller's id if it is 1–128 characters of letters, digits, `-`, `_`, `.` and `:`
    /// (anything else could forge log lines), else a new one.
    pub(crate) fn from_request(req: &ServiceRequest) -> Self {
        req.headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| Self::acceptable(id))
            .map(|id| Self(id.to_owned()))
            .unwrap_or_else(|| Self(uuid::Uuid::new_v4().simple().to_string()))
    }

    fn acceptable(id: &str) -> bool {
        (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    }

    /// Runs `work` as the handling of this request: [`RequestId::current`] is this id in it.
    pub(crate) async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// Runs `work` as [`RequestId::scope`] does, synchronously.
    pub(crate) fn sync_scope<T>(self, work: impl FnOnce() -> T) -> T {
        CURRENT.sync_scope(self, work)
    }

    /// The id of the request being handled on this task, if any.
    pub fn current() -> Option<RequestId> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
