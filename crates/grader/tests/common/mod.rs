//! Helpers shared by the grader's integration tests: the sandbox image, a Redis key prefix of
//! the test's own (deleted at the end), jobs, and bounded waits on the results stream.
#![allow(dead_code)] // each test binary uses a different part of this module

mod running;
mod test_redis;

#[allow(unused_imports)] // not every test binary uses both
pub use self::running::{GraderProcess, RunningGrader};
pub use self::test_redis::TestRedis;

use chrono::Utc;
use contracts::{
    AssignmentId, Limits, SubmissionId, SubmissionJob, TestCase, UserId, MESSAGE_VERSION,
};
use std::path::Path;
use std::sync::OnceLock;

/// The image repository of the built-in `python3` runtime.
const SANDBOX_REPO: &str = "code-platform/sandbox";

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The sandbox image to test with: `SANDBOX_IMAGE`, or what `deploy/sandbox/build.sh` builds.
pub fn sandbox_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if let Ok(image) = std::env::var("SANDBOX_IMAGE") {
                return image.trim().to_owned();
            }
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/sandbox/build.sh");
            let output = std::process::Command::new("bash")
                .arg(&script)
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("run deploy/sandbox/build.sh");
            assert!(output.status.success(), "deploy/sandbox/build.sh failed");
            let stdout = String::from_utf8_lossy(&output.stdout);
            stdout
                .lines()
                .last()
                .expect("build.sh prints the image reference last")
                .trim()
                .to_owned()
        })
        .clone()
}

/// The tag part of [`sandbox_image`].
pub fn sandbox_tag() -> String {
    let image = sandbox_image();
    let (repo, tag) = image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("SANDBOX_IMAGE `{image}` has no tag"));
    assert_eq!(
        repo, SANDBOX_REPO,
        "the python3 runtime uses {SANDBOX_REPO}"
    );
    tag.to_owned()
}

/// Tests of the `add` exercise every solution below is graded against.
pub fn add_tests() -> Vec<TestCase> {
    vec![
        TestCase::Call {
            name: "adds".into(),
            call: "add(2, 3)".into(),
            expected: Some("5".into()),
            raises: None,
        },
        TestCase::Call {
            name: "adds negatives".into(),
            call: "add(-2, -4)".into(),
            expected: Some("-6".into()),
            raises: None,
        },
        TestCase::Io {
            name: "prints the sum".into(),
            stdin: "2 3\n".into(),
            expected_stdout: "5\n".into(),
        },
    ]
}

/// A right solution of the `add` exercise.
pub const RIGHT_ADD: &str = "\
def add(a, b):
    return a + b


if __name__ == \"__main__\":
    a, b = map(int, input().split())
    print(add(a, b))
";

/// A job for `code` against `tests`.
pub fn job(submission: i64, code: &str, tests: Vec<TestCase>, limits: Limits) -> SubmissionJob {
    SubmissionJob {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission),
        user_id: UserId(1_000 + submission),
        assignment_id: AssignmentId(7),
        runtime: "python3".into(),
        code: code.into(),
        tests,
        limits,
        enqueued_at: Utc::now(),
    }
}

/// Sandbox containers (running or not) whose grader label is `consumer`.
pub async fn containers_of(consumer: &str) -> usize {
    let output = tokio::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=code-platform.grader={consumer}"),
        ])
        .output()
        .await
        .expect("docker ps");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

/// A solution that takes `seconds` to import, for catching a grader mid-job.
pub fn slow_add(seconds: f64) -> String {
    format!("import time\ntime.sleep({seconds})\n\n\ndef add(a, b):\n    return a + b\n")
}

/// Just the first of [`add_tests`].
pub fn one_add_test() -> Vec<TestCase> {
    add_tests().into_iter().take(1).collect()
}
