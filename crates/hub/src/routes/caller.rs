//! Who is calling: the bearer token of an HTTP request, verified locally.

use crate::error::HubError;
use crate::state::AppState;
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
    type Error = HubError;
    type Future = Ready<Result<Self, HubError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, HubError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| HubError::Internal("application state missing".into()))?;
    let token = bearer(req).ok_or(HubError::MissingToken)?;
    Ok(Caller(state.tokens.verify(token)?))
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
