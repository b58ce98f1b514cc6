//! Who is calling: the `Authorization: Bearer` token of a request, verified locally with the
//! keys in [`crate::Edge`] (no service asks another who a caller is).

use crate::error::EdgeError;
use crate::Edge;
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use contracts::UserId;
use std::future::{ready, Ready};
use tokens::Claims;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn id(&self) -> UserId {
        self.0.sub
    }
}

impl FromRequest for Caller {
    type Error = EdgeError;
    type Future = Ready<Result<Self, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, EdgeError> {
    let token = bearer(req).ok_or(EdgeError::MissingToken)?;
    let keys = req
        .app_data::<web::Data<Edge>>()
        .and_then(|edge| edge.tokens.as_ref())
        .expect("a service with authenticated routes gives its Edge the token keys");
    Ok(Caller(keys.verify(token)?))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
}
