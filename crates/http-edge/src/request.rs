//! What happens around every request: it gets an id (the caller's `x-request-id` when it is a
//! sensible one, else a new one), echoed in the response; it runs in a span carrying that id;
//! it is counted and timed under its route pattern; a 5xx is logged with its cause; and a
//! bodyless 404 or 405 (actix's own, for an unknown path or method) becomes the JSON envelope.

use crate::error::EdgeError;
use crate::Edge;
use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use std::fmt;
use std::time::Instant;
use tracing::Instrument;

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
    fn from_request(req: &ServiceRequest) -> Self {
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

/// The middleware; wrap every service's `App` in `from_fn(middleware)`.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let started = Instant::now();
    let id = RequestId::from_request(&req);
    let edge = req.app_data::<web::Data<Edge>>().cloned();
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", request_id = %id, %method, %route);

    // Handlers' and extractors' errors are responses by now; an `Err` here comes from the
    // framework itself and is answered by it.
    let response = CURRENT
        .scope(id.clone(), next.call(req))
        .instrument(span.clone())
        .await
        .inspect_err(|error| span.in_scope(|| tracing::error!(%error, "request failed")))?
        .map_into_left_body();
    let mut response = CURRENT.sync_scope(id.clone(), || with_json_body(response));
    let status = response.status();
    if status.is_server_error() {
        let cause = response
            .response()
            .error()
            .map_or_else(|| "no error recorded".to_owned(), ToString::to_string);
        span.in_scope(|| tracing::error!(status = status.as_u16(), %cause, "request failed"));
    }
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    if let Some(edge) = edge {
        edge.metrics
            .observe_request(&method, &route, status.as_u16(), started.elapsed());
    }
    Ok(response)
}

/// actix answers an unknown path (404) or an unknown method (405) with an empty body; those
/// get the envelope, the 405 keeping its `Allow` header.
fn with_json_body<B: MessageBody + 'static>(
    response: ServiceResponse<EitherBody<B>>,
) -> ServiceResponse<EitherBody<B>> {
    let status = response.status();
    let bodyless = matches!(
        response.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    let error = match status {
        StatusCode::NOT_FOUND if bodyless => EdgeError::NoRoute(response.request().path().into()),
        StatusCode::METHOD_NOT_ALLOWED if bodyless => {
            EdgeError::MethodNotAllowed(response.request().method().to_string())
        }
        _ => return response,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut replacement = error.error_response();
    if let Some(allow) = allow {
        replacement.headers_mut().insert(header::ALLOW, allow);
    }
    response.into_response(replacement.map_into_right_body())
}
