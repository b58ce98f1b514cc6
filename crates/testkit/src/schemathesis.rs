//! Schemathesis (PyPI; `deploy/test.sh` installs it and sets `SCHEMATHESIS`) against a
//! service's own OpenAPI document: it generates valid and invalid requests, sends them to the
//! real service and runs every check: no 5xx, every answer as documented, every valid request
//! accepted, every invalid one refused.

use std::path::Path;
use std::process::Command;

/// Runs Schemathesis on the document at `schema` as the bearer of `token`, with the checks of
/// `config` (a `schemathesis.toml`: every check, and the exceptions the service needs, each
/// with its reason). Panics unless it found nothing and tested `operations` operations.
pub async fn assert_conforms(schema: String, token: &str, config: &Path, operations: usize) {
    let program = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let mut command = Command::new(&program);
    // The checks come from the file: any named on the command line would override its
    // per-operation settings.
    command
        .arg("--config-file")
        .arg(config)
        .args(["run", &schema]);
    command
        // One worker: with two, Hypothesis (6.x on Python 3.11) now and then fails inside its
        // own lambda-description cache ("AST constructor recursion depth mismatch").
        .args(["--max-examples", "15", "--workers", "1", "--seed", "1"])
        .args(["--request-timeout", "10"])
        .args(["-H", &format!("Authorization: Bearer {token}")]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the Schemathesis task")
        .unwrap_or_else(|e| panic!("cannot run {program} (deploy/test.sh installs it): {e}"));
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report
        .rsplit_once("SUMMARY")
        .map_or(report.as_ref(), |(_, tail)| tail);
    println!("Schemathesis on {schema}:{summary}");
    assert!(
        output.status.success(),
        "Schemathesis found problems:\n{report}"
    );
    assert!(
        summary.contains(&format!("Tested: {operations}")),
        "not every operation was tested:\n{summary}"
    );
}
