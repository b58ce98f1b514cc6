//! The OpenAPI 3 document, generated from the handlers' annotations and completed with the
//! runtime catalogue the api runs with, and a page that shows it.

use crate::domain::assignment::Bounds;
use crate::domain::code::Code;
use crate::routes::{accounts, assignments, courses, submissions, teachers, trials};
use crate::state::AppState;
use crate::ui;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use contracts::RuntimeCatalog;
use http_edge::openapi::{BearerAuth, CommonErrors};
use serde_json::Value;
use std::sync::LazyLock;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Code platform api", description = "Accounts, courses, assignments and graded submissions."),
    paths(
        accounts::register, accounts::login, accounts::guest, accounts::refresh, accounts::logout,
        accounts::me,
        courses::list, courses::create, courses::update, courses::enrol, courses::assignments,
        courses::create_assignment, courses::reorder,
        teachers::list, teachers::invite, teachers::accept, teachers::remove,
        assignments::get, assignments::update, assignments::delete, assignments::preview,
        trials::create, trials::get,
        submissions::create, submissions::list_mine, submissions::get, submissions::delete,
    ),
    components(schemas(Code)),
    modifiers(&BearerAuth, &CommonErrors),
)]
pub struct ApiDoc;

/// Request fields (schema, property) that name a runtime. The catalogue is data, loaded at
/// start (`runtimes_file`), so their list of names is filled in from it rather than derived.
const RUNTIME_FIELDS: &[(&str, &str)] = &[
    ("AssignmentRequest", "runtime"),
    ("SubmissionRequest", "runtime"),
];

/// The document as this api instance answers: runtime fields list exactly the names in
/// `runtimes`, submitted code (the `Code` schema) is bounded by `max_code_bytes` and
/// assignments by the operator's `bounds`.
pub fn document(
    runtimes: &RuntimeCatalog,
    max_code_bytes: usize,
    bounds: &Bounds,
) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let Some(components) = doc.components.as_mut() else {
        return doc;
    };
    for (schema, property) in RUNTIME_FIELDS {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema) else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(*property) else {
            continue;
        };
        let nullable =
            matches!(&field.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
        let names = runtimes.names().map(Value::from);
        field.enum_values = Some(names.chain(nullable.then_some(Value::Null)).collect());
    }
    if let Some(RefOr::T(Schema::Object(code))) = components.schemas.get_mut("Code") {
        code.max_length = Some(max_code_bytes);
    }
    if let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut("AssignmentRequest")
    {
        bounds.narrow(request);
    }
    doc
}

/// `GET /api/openapi.json`
pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(
        &state.runtimes,
        state.max_code_bytes,
        &state.bounds,
    ))
}

const PAGE: &str = include_str!("docs.html");

/// The page's own Content-Security-Policy: its inline script and style by their hashes.
static PAGE_POLICY: LazyLock<String> = LazyLock::new(|| ui::policy(PAGE, &["'self'".into()]));

/// `GET /api/docs`: a readable list of the operations, rendered from the document.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY.as_str()))
        .body(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bounds() -> Bounds {
        Bounds::new(7, 3_000, 200, 100, 9_000).unwrap()
    }

    #[test]
    fn runtime_fields_list_the_catalogue() {
        let catalog = RuntimeCatalog::parse(
            "[python3]\nimage = \"i\"\nfile_name = \"a\"\nrun = [\"x\"]\n\
             [java]\nimage = \"i\"\nfile_name = \"A.java\"\nrun = [\"x\"]\n",
        )
        .unwrap();
        let doc = serde_json::to_value(document(&catalog, 10, &bounds())).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, property) in RUNTIME_FIELDS {
            let field = &schemas[schema]["properties"][property];
            let expected = if field["type"].is_array() {
                json!(["java", "python3", null])
            } else {
                json!(["java", "python3"])
            };
            assert_eq!(field["enum"], expected, "{schema}.{property}: {field}");
        }
    }

    #[test]
    fn code_is_bounded_by_the_configured_limit() {
        let doc =
            serde_json::to_value(document(&RuntimeCatalog::builtin(), 10, &bounds())).unwrap();
        assert_eq!(doc["components"]["schemas"]["Code"]["maxLength"], json!(10));
    }

    #[test]
    fn assignments_are_bounded_by_the_configured_bounds() {
        let doc =
            serde_json::to_value(document(&RuntimeCatalog::builtin(), 10, &bounds())).unwrap();
        let request = &doc["components"]["schemas"]["AssignmentRequest"];
        assert_eq!(request["properties"]["tests"]["maxItems"], json!(7));
        assert_eq!(
            request["properties"]["time_limit_ms"]["maximum"],
            json!(3_000)
        );
        assert!(request["description"].as_str().unwrap().contains("9000 ms"));
    }

    #[test]
    fn the_built_in_document_offers_python() {
        let doc =
            serde_json::to_value(document(&RuntimeCatalog::builtin(), 10, &bounds())).unwrap();
        let field = &doc["components"]["schemas"]["AssignmentRequest"]["properties"]["runtime"];
        assert_eq!(field["enum"], json!(["python3"]));
    }
}
