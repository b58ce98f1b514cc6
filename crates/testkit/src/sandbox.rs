//! The sandbox image the grader runs submissions in: `SANDBOX_IMAGE`, or whatever
//! `deploy/sandbox/build.sh` builds (idempotent; its last line is the reference).

use crate::env::repo_root;
use std::sync::OnceLock;

/// The image repository of the built-in `python3` runtime.
const SANDBOX_REPO: &str = "code-platform/sandbox";

/// The sandbox image reference, `code-platform/sandbox:<tag>`.
pub fn image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if let Ok(image) = std::env::var("SANDBOX_IMAGE") {
                return image.trim().to_owned();
            }
            let output = std::process::Command::new("bash")
                .arg(repo_root().join("deploy/sandbox/build.sh"))
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("run deploy/sandbox/build.sh");
            assert!(output.status.success(), "deploy/sandbox/build.sh failed");
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .expect("build.sh prints the image reference last")
                .trim()
                .to_owned()
        })
        .clone()
}

/// The tag part of [`image`], which is what the grader's `sandbox_tag` takes.
pub fn tag() -> String {
    let image = image();
    let (repo, tag) = image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("SANDBOX_IMAGE `{image}` has no tag"));
    assert_eq!(
        repo, SANDBOX_REPO,
        "the python3 runtime uses {SANDBOX_REPO}"
    );
    tag.to_owned()
}
