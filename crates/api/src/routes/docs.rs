//! The OpenAPI 3 document, generated from the handlers' annotations, and a page that shows it.

use crate::routes::{accounts, assignments, courses, submissions};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    modifiers(&BearerAuth),
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
