//! The OpenAPI 3 document, generated from the handlers' annotations, and a page that shows it.

use crate::routes::{accounts, assignments, courses, submissions};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Code platform api", description = "Accounts, courses, assignments and graded submissions."),
    paths(
        accounts::register, accounts::login, accounts::guest, accounts::refresh, accounts::me,
        courses::list, courses::create, courses::enrol, courses::assignments,
        courses::create_assignment,
        assignments::get, assignments::update, assignments::delete,
        submissions::create, submissions::list_mine, submissions::get, submissions::delete,
    ),
    modifiers(&BearerAuth, &CommonErrors),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Errors any operation can answer with, documented once rather than on every handler.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let with_body = operation.request_body.is_some();
                let secured = operation.security.is_some();
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if with_body {
                    add("400", "the body is not valid JSON");
                    add("413", "the body or the code is too large");
                    add("415", "the body is not JSON");
                    add("422", "a field is invalid (`field` names it)");
                }
                if secured {
                    add("401", "missing, invalid or expired token");
                }
                add("404", "no such resource");
                add("503", "Postgres or Redis is unavailable (retry later)");
            }
        }
    }
}

/// `GET /api/openapi.json`
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// `GET /api/docs`: a readable list of the operations, rendered from the document.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("docs.html"))
}
