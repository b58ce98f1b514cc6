//! The HTTP surface: every route, and the extractor configuration that turns malformed input
//! into the api's JSON errors.

pub mod accounts;
pub mod assignments;
pub mod courses;
pub mod docs;
pub mod health;
pub mod submissions;
pub mod views;

use crate::error::ApiError;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};

/// Registers every route and extractor rule; `max_body_bytes` bounds JSON bodies.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
    )
    .app_data(web::PayloadConfig::new(max_body_bytes))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .service(web::resource("/healthz").get(health::healthz))
    .service(web::resource("/readyz").get(health::readyz))
    .service(web::resource("/metrics").get(health::metrics))
    .service(
        web::scope("/api")
            .service(web::resource("/openapi.json").get(docs::openapi))
            .service(web::resource("/docs").get(docs::page))
            .service(web::resource("/config").get(client_config))
            .service(web::resource("/auth/register").post(accounts::register))
            .service(web::resource("/auth/login").post(accounts::login))
            .service(web::resource("/auth/guest").post(accounts::guest))
            .service(web::resource("/auth/refresh").post(accounts::refresh))
            .service(web::resource("/me").get(accounts::me))
            .service(
                web::resource("/courses")
                    .route(web::get().to(courses::list))
                    .route(web::post().to(courses::create)),
            )
            .service(web::resource("/courses/{id}/enrol").post(courses::enrol))
            .service(
                web::resource("/courses/{id}/assignments")
                    .route(web::get().to(courses::assignments))
                    .route(web::post().to(courses::create_assignment)),
            )
            .service(
                web::resource("/assignments/{id}")
                    .route(web::get().to(assignments::get))
                    .route(web::put().to(assignments::update))
                    .route(web::delete().to(assignments::delete)),
            )
            .service(
                web::resource("/assignments/{id}/submissions")
                    .route(web::get().to(submissions::list_mine))
                    .route(web::post().to(submissions::create)),
            )
            .service(
                web::resource("/submissions/{id}")
                    .route(web::get().to(submissions::get))
                    .route(web::delete().to(submissions::delete)),
            )
            .default_service(web::to(unknown_api_route)),
    );
}

/// What the web UI needs to know about the deployment.
async fn client_config(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "relay_url": state.relay_url }))
}

async fn unknown_api_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(if req.method() == "GET" {
        "endpoint"
    } else {
        "endpoint for this method"
    }))
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::PayloadTooLarge(
            format!("the body is {length} bytes; the limit is {limit} bytes"),
        ),
        JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("the body is over the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::invalid("body", e.to_string()),
        other => ApiError::MalformedJson(other.to_string()),
    }
    .into()
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    // A path id that is not a number names nothing that exists.
    tracing::debug!(%err, "unparsable path");
    ApiError::NotFound("resource (ids are whole numbers)").into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(err.to_string()).into()
}
