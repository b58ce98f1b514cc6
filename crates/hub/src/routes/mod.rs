//! The HTTP surface under `/hub`: templates, projects, files, members and the document
//! sockets; plus `/healthz`, `/readyz` and `/metrics`.

pub mod caller;
pub mod files;
pub mod health;
pub mod projects;
pub mod socket;
pub mod templates;

use crate::error::HubError;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};

/// Largest JSON body (file and member requests are tiny).
const MAX_JSON_BYTES: usize = 16 * 1024;

/// Registers every route and extractor rule.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_JSON_BYTES)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .service(web::resource("/healthz").get(health::healthz))
    .service(web::resource("/readyz").get(health::readyz))
    .service(web::resource("/metrics").get(health::metrics))
    .service(
        web::scope("/hub")
            .service(
                web::resource("/courses/{course}/template")
                    .route(web::put().to(templates::upload))
                    .route(web::get().to(templates::list)),
            )
            .service(web::resource("/courses/{course}/project").post(projects::open))
            .service(web::resource("/projects").get(projects::list))
            .service(web::resource("/projects/{project}").get(projects::get))
            .service(web::resource("/projects/{project}/files").post(files::create))
            .service(
                web::resource("/projects/{project}/files/{file}")
                    .route(web::get().to(files::read))
                    .route(web::patch().to(files::relocate))
                    .route(web::delete().to(files::delete)),
            )
            .service(
                web::resource("/projects/{project}/members/{user}")
                    .route(web::put().to(projects::grant))
                    .route(web::delete().to(projects::revoke)),
            )
            .service(web::resource("/projects/{project}/docs/{file}").get(socket::upgrade))
            .default_service(web::to(unknown_route)),
    );
}

async fn unknown_route() -> Result<HttpResponse, HubError> {
    Err(HubError::NotFound("endpoint for this method"))
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => HubError::PayloadTooLarge(
            format!("the body is {length} bytes; the limit is {limit} bytes"),
        ),
        JsonPayloadError::Overflow { limit } => {
            HubError::PayloadTooLarge(format!("the body is over the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            HubError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => HubError::Invalid(e.to_string()),
        other => HubError::BadRequest(format!("malformed JSON: {other}")),
    }
    .into()
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    tracing::debug!(%err, "unparsable path");
    HubError::NotFound("resource (ids are whole numbers)").into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    HubError::BadRequest(err.to_string()).into()
}
