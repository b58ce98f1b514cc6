//! Schemathesis (from PyPI) generates requests from the api's own OpenAPI document, valid
//! and invalid, and sends them to the real service: none may get a 5xx, and every answer must
//! match the document. `deploy/test.sh` installs it and sets `SCHEMATHESIS`.

use crate::app::TestApp;
use reqwest::{Method, StatusCode};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_never_get_a_server_error() {
    let schemathesis = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let app = TestApp::spawn().await;
    let session = app
        .expect(
            Method::POST,
            "/api/auth/guest",
            None,
            None,
            StatusCode::CREATED,
        )
        .await;
    let token = session["token"].as_str().unwrap().to_owned();
    let schema = app.url("/api/openapi.json");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&schemathesis)
            .args(["run", &schema, "--checks", "all"])
            .args([
                "--max-examples",
                "15",
                "--workers",
                "2",
                "--seed",
                "1",
                "--request-timeout",
                "10",
            ])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {schemathesis} (deploy/test.sh installs it): {e}")
            })
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report
        .rsplit_once("SUMMARY")
        .map_or(report.as_ref(), |(_, tail)| tail);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
    assert!(
        summary.contains("Tested: 17"),
        "not every operation was tested:\n{summary}"
    );
}
