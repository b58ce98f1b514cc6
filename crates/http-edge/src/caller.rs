//! Who is calling: the `Authorization: Bearer` token of a request, verified locally with the
//! keys in [`crate::Edge`] (no service asks another who a caller is), and refused when its
//! session was signed out ([`tokens::Verifier`]).

use crate::error::EdgeError;
use crate::Edge;
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use contracts::UserId;
use futures_util::future::LocalBoxFuture;
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
    type Future = LocalBoxFuture<'static, Result<Self, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let edge = req
            .app_data::<web::Data<Edge>>()
            .cloned()
            .expect("a service with authenticated routes puts its Edge in the app data");
        Box::pin(async move {
            let token = token.ok_or(EdgeError::MissingToken)?;
            let verifier = edge
                .tokens
                .as_ref()
                .expect("a service with authenticated routes gives its Edge the token keys");
            Ok(Caller(verifier.verify(&token).await?))
        })
    }
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
