//! Schemathesis over the hub's own OpenAPI document, as a teacher with a course, a project
//! and a file to find: nothing it generates gets a 5xx or an undocumented answer, every valid
//! request is accepted and every invalid one refused (per-operation exceptions, each with
//! its reason, in `schemathesis.toml` beside this file).

use crate::classroom::{Classroom, Store};
use std::path::Path;
use testkit::{spawn, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_exactly_what_the_hub_accepts() {
    let scratch = Scratch::new("hub").await;
    let hub = spawn::hub(&scratch, |_| {}).await;
    let classroom = Classroom::new(&Store::of(&scratch), &hub).await;
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/schemathesis.toml");
    testkit::schemathesis::assert_conforms(
        hub.url("/hub/openapi.json"),
        &classroom.teacher.1,
        &config,
        20,
    )
    .await;
}
