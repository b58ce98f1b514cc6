//! The hub's OpenAPI 3 document, generated from the handlers' annotations; the edge's
//! modifiers add the bearer scheme and the error answers every operation shares.

use crate::class::socket as class;
use crate::routes::{files, projects, socket, templates, threads};
use actix_web::HttpResponse;
use http_edge::openapi::{BearerAuth, CommonErrors};
use http_edge::ErrorBody;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Code platform hub", description = "Course templates, multi-file projects \
        and their sharing, the live document sockets, and questions pinned to code."),
    paths(
        templates::upload, templates::list,
        projects::open, projects::list, projects::get, projects::share, projects::grant,
        projects::revoke,
        files::create, files::read, files::relocate, files::delete,
        socket::upgrade, socket::events, class::upgrade,
        threads::list, threads::create, threads::get, threads::update, threads::comment,
        threads::edit, threads::delete, threads::inbox,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &CommonErrors),
)]
pub struct HubDoc;

/// `GET /hub/openapi.json`
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(HubDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::RefOr;

    fn operations() -> Vec<(String, utoipa::openapi::path::Operation)> {
        let doc = HubDoc::openapi();
        let mut all = Vec::new();
        for (path, item) in doc.paths.paths {
            let methods = [item.get, item.put, item.post, item.patch, item.delete];
            all.extend(methods.into_iter().flatten().map(|op| (path.clone(), op)));
        }
        all
    }

    #[test]
    fn every_operation_has_its_own_id_and_the_hub_tag() {
        let operations = operations();
        assert_eq!(operations.len(), 23);
        let mut ids = HashSet::new();
        for (path, operation) in &operations {
            let id = operation.operation_id.clone().expect("an operation id");
            assert!(ids.insert(id.clone()), "{id} twice");
            assert_eq!(
                operation.tags.as_deref(),
                Some(&["hub".to_owned()][..]),
                "{path}"
            );
        }
    }

    #[test]
    fn every_path_id_is_a_whole_number_of_at_least_one() {
        for (path, operation) in operations() {
            for parameter in operation.parameters.unwrap_or_default() {
                if parameter.parameter_in != ParameterIn::Path {
                    continue;
                }
                assert!(path.contains(&format!("{{{}}}", parameter.name)), "{path}");
                let Some(RefOr::T(schema)) = parameter.schema else {
                    panic!("{path}: no inline schema for {}", parameter.name);
                };
                let schema = serde_json::to_value(schema).unwrap();
                assert_eq!(schema["type"], "integer", "{path}");
                assert_eq!(schema["minimum"], 1.0, "{path}");
            }
        }
    }
}
