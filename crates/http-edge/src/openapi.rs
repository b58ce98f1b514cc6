//! What every service's OpenAPI document shares: the bearer-token scheme and the error
//! answers any operation can give, documented once rather than on every handler.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::Modify;

/// The `bearer` security scheme (a JWT from the api).
pub struct BearerAuth;

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

/// Adds the edge's answers to every operation: 400/413/415/422 where it takes a JSON body, 401
/// where a token is needed, 404 everywhere, and 503 everywhere but on a protocol switch (a
/// WebSocket upgrade touches no backing service before it answers 101). Needs `ErrorBody`
/// among the components.
pub struct CommonErrors;

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
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                let secured = operation.security.is_some();
                let responses = &mut operation.responses.responses;
                let upgrade = responses.contains_key("101");
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if json_body {
                    add("400", "the body is not valid JSON");
                    add("413", "the body is too large");
                    add("415", "the body is not JSON");
                    add("422", "a field is invalid (`field` names it)");
                }
                if secured {
                    add("401", "missing, invalid or expired token");
                }
                add("404", "no such resource");
                if !upgrade {
                    add("503", "Postgres or Redis is unavailable (retry later)");
                }
            }
        }
    }
}
