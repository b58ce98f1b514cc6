//! What happens around every request: it gets an id (the caller's `x-request-id` when it is a
//! sensible one, else a new one), echoed in the response; it runs in a span carrying that id;
//! it is counted and timed under its route pattern; a 5xx is logged with its cause; and a
//! bodyless 404 or 405 (actix's own, for an unknown path or method) becomes the JSON envelope.

use crate::error::EdgeError;
use crate::request_id::{RequestId, REQUEST_ID_HEADER};
use crate::Edge;
use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use std::time::Instant;
use tracing::Instrument;

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
    let response = id
        .clone()
        .scope(next.call(req))
        .instrument(span.clone())
        .await
        .inspect_err(|error| span.in_scope(|| tracing::error!(%error, "request failed")))?
        .map_into_left_body();
    let mut response = id.clone().sync_scope(|| with_json_body(response));
    let status = response.status();
    if status.is_server_error() {
        let cause = response
            .response()
            .error()
            .map_or_else(|| "no error recorded".to_owned(), ToString::to_string);
        span.in_scope(|| tracing::error!(status = status.as_u16(), %cause, "request failed"));
    }
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
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
