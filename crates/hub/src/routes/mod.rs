//! The HTTP surface under `/hub`: templates, projects, files, members and the document
//! sockets (the edge adds `/healthz`, `/readyz`, `/metrics` and the extractor rules).

pub mod docs;
pub mod files;
pub mod projects;
pub mod socket;
pub mod templates;
pub mod threads;

use actix_web::web;

/// Largest JSON body (file and member requests are tiny).
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/hub")
            .service(web::resource("/openapi.json").get(docs::openapi))
            .service(
                web::resource("/courses/{course}/template")
                    .route(web::put().to(templates::upload))
                    .route(web::get().to(templates::list)),
            )
            .service(web::resource("/courses/{course}/project").post(projects::open))
            .service(web::resource("/courses/{course}/presence").get(crate::class::socket::upgrade))
            .service(web::resource("/projects").get(projects::list))
            .service(web::resource("/projects/{project}").get(projects::get))
            .service(web::resource("/projects/{project}/events").get(socket::events))
            .service(web::resource("/projects/{project}/members").post(projects::share))
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
            .configure(threads::configure),
    );
}
