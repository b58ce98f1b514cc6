//! Schemathesis over the api's own OpenAPI document, as a guest: nothing it generates gets a
//! 5xx or an undocumented answer, every valid request is accepted and every invalid one
//! refused (a 413 counts as refused: `schemathesis.toml` beside this file).

use crate::app::TestApp;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_exactly_what_the_api_accepts() {
    let app = TestApp::spawn().await;
    let (token, _) = app.guest().await;
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/schemathesis.toml");
    testkit::schemathesis::assert_conforms(app.url("/api/openapi.json"), &token, &config, 26).await;
}
