//! The IDE's pure modules (web/js/ide: text ops, tree, presence, zip, connection rules) and
//! the import map, under Node's test runner (`crates/api/tests/web/*.test.mjs`).

use super::*;

#[test]
fn the_ide_modules_pass_their_node_tests() -> Result<()> {
    run_script("deploy/web/vendor.sh")?;
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let output = std::process::Command::new(node)
        .arg("--test")
        .arg(repo_root().join("crates/api/tests/web"))
        .env(
            "NODE_PATH",
            std::env::var("NODE_PATH").unwrap_or_else(|_| "/usr/share/nodejs".into()),
        )
        .output()
        .context("run node --test")?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the Node tests failed:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    check(
        report.contains("# fail 0") && !report.contains("# pass 0"),
        "Node ran the tests and none failed",
        &json!(report),
    )?;
    Ok(())
}
