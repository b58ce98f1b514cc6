//! The api's routes under `/api` (the edge adds `/healthz`, `/readyz`, `/metrics` and the
//! extractor rules).

pub mod accounts;
pub mod assignments;
pub mod courses;
pub mod docs;
pub mod submissions;
pub mod teachers;
pub mod trials;

use actix_web::{web, HttpResponse};

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .service(web::resource("/openapi.json").get(docs::openapi))
            .service(web::resource("/docs").get(docs::page))
            .service(web::resource("/config").get(client_config))
            .service(web::resource("/auth/register").post(accounts::register))
            .service(web::resource("/auth/login").post(accounts::login))
            .service(web::resource("/auth/guest").post(accounts::guest))
            .service(web::resource("/auth/refresh").post(accounts::refresh))
            .service(web::resource("/auth/logout").post(accounts::logout))
            .service(web::resource("/me").get(accounts::me))
            .service(
                web::resource("/courses")
                    .route(web::get().to(courses::list))
                    .route(web::post().to(courses::create)),
            )
            .service(web::resource("/courses/{id}").patch(courses::update))
            .service(web::resource("/courses/{id}/enrol").post(courses::enrol))
            .service(
                web::resource("/courses/{id}/teachers")
                    .route(web::get().to(teachers::list))
                    .route(web::post().to(teachers::invite)),
            )
            .service(web::resource("/courses/{id}/teachers/{user}").delete(teachers::remove))
            .service(web::resource("/courses/{id}/invitation").post(teachers::accept))
            .service(
                web::resource("/courses/{id}/assignments")
                    .route(web::get().to(courses::assignments))
                    .route(web::post().to(courses::create_assignment)),
            )
            .service(web::resource("/courses/{id}/assignment-order").put(courses::reorder))
            .service(web::resource("/courses/{id}/trials").post(trials::create))
            .service(web::resource("/trials/{id}").get(trials::get))
            .service(web::resource("/handout-preview").post(assignments::preview))
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
            ),
    );
}

/// What the web UI needs to know about the deployment.
async fn client_config(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "relay_url": state.relay_url }))
}
