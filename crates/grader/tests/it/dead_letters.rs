//! Entries that cannot be handled are dead-lettered, never lost and never fatal: undecodable
//! jobs at once, jobs whose container Docker refuses to start after `max_attempts` tries,
//! result events Postgres refuses after `result_max_deliveries`; deleted submissions are
//! acknowledged without running; and a failing entry never holds up the ones behind it. (A
//! missing image is not the job's fault: see `outages`.)

use crate::support::grader;
use crate::support::jobs::right_add;
use crate::support::queue::{is_error, is_grading, reason_of, Queue};
use crate::support::student::Student;
use chrono::{DateTime, TimeZone, Utc};
use contracts::{
    AssignmentId, ResultEvent, ResultKind, SubmissionId, UserId, Verdict, MESSAGE_VERSION,
};
use std::time::{Duration, Instant};
use testkit::{spawn, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_entries_are_dead_lettered_and_grading_goes_on() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let grader = spawn::grader_with(grader::settings(&scratch)).await;

    let garbage = queue.submit_raw("this is not json").await;
    // Valid ids, but no code, tests or limits: the student still hears about it.
    let partial = queue
        .submit_raw(r#"{"v":1,"submission_id":42,"user_id":5,"assignment_id":7,"enqueued_at":"2024-01-01T00:00:00Z","runtime":"python3"}"#)
        .await;
    let mut unknown = right_add(43);
    unknown.runtime = "cobol".into();
    let unknown_entry = queue.submit(&unknown).await;
    queue.submit(&right_add(44)).await;

    let (verdict, _, _) = queue
        .graded(SubmissionId(44), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Accepted);
    queue.drained(Duration::from_secs(10)).await;

    // Two slots work concurrently, so the letters may come in any order.
    let mut letters = queue.dead_letters().await;
    letters.sort_by(|a, b| a.original_id.cmp(&b.original_id));
    let ids: Vec<&str> = letters.iter().map(|l| l.original_id.as_str()).collect();
    let mut expected = [&garbage, &partial, &unknown_entry];
    expected.sort();
    assert_eq!(ids, expected);
    let letter = |id: &str| letters.iter().find(|l| l.original_id == id).unwrap();
    assert_eq!(letter(&garbage).payload, "this is not json");
    assert!(
        letter(&garbage).reason.contains("undecodable"),
        "{letters:?}"
    );
    assert!(
        letter(&partial).reason.contains("undecodable"),
        "{letters:?}"
    );
    assert!(
        letter(&unknown_entry).reason.contains("cobol"),
        "{letters:?}"
    );

    let error = queue
        .wait_for(SubmissionId(42), Duration::from_secs(5), is_error)
        .await
        .unwrap();
    assert!(!reason_of(&error.kind).is_empty());
    let error = queue
        .wait_for(SubmissionId(43), Duration::from_secs(5), is_error)
        .await
        .unwrap();
    assert!(reason_of(&error.kind).contains("cobol"), "{error:?}");

    grader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_submission_is_acknowledged_without_running() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let grader = spawn::grader_with(grader::settings(&scratch)).await;
    let submission = SubmissionId(9);
    contracts::cancellation::mark(queue.streams.pool(), &queue.keys, submission)
        .await
        .unwrap();
    queue.submit(&right_add(submission.0)).await;
    queue.drained(Duration::from_secs(10)).await;
    assert!(queue.results_of(submission).await.is_empty());
    assert!(queue.dead_letters().await.is_empty());
    assert_eq!(grader.metric("grader_cancelled_total").await, 1.0);
    grader.stop().await;
}

/// An image Docker refuses to start a container of (its entry point does not exist), made
/// from the sandbox image under a name of its own with the sandbox's tag; removed when dropped.
struct BrokenImage {
    repository: String,
}

impl BrokenImage {
    fn build() -> Self {
        let repository = format!(
            "code-platform/sandbox-broken-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let docker = |args: &[&str]| {
            let output = std::process::Command::new("docker")
                .args(args)
                .output()
                .expect("docker runs");
            assert!(output.status.success(), "docker {args:?}: {output:?}");
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        let container = docker(&["create", &testkit::sandbox::image()]);
        let image = format!("{repository}:{}", testkit::sandbox::tag());
        docker(&[
            "commit",
            "--change",
            r#"ENTRYPOINT ["/nonexistent"]"#,
            &container,
            &image,
        ]);
        docker(&["rm", &container]);
        Self { repository }
    }

    /// The built-in runtime catalogue plus `python3-broken` in this image: every delivery of a
    /// job in it fails in the grader's handler (Docker refuses to start the container) and is
    /// left for a retry, while `python3` jobs run normally.
    fn catalogue(&self) -> String {
        let builtin = testkit::env::repo_root().join("crates/contracts/runtimes.toml");
        let builtin = std::fs::read_to_string(builtin).expect("the built-in runtimes.toml");
        format!(
            "{builtin}\n[python3-broken]\nimage = \"{}\"\n\
             file_name = \"solution.py\"\nrun = [\"python3\", \"-I\", \"solution.py\"]\n",
            self.repository
        )
    }
}

impl Drop for BrokenImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args([
                "rmi",
                &format!("{}:{}", self.repository, testkit::sandbox::tag()),
            ])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_is_dead_lettered_while_later_ones_are_graded() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let catalogue = std::env::temp_dir().join(format!(
        "runtimes-{}.toml",
        scratch.prefix().trim_end_matches(':')
    ));
    let broken = BrokenImage::build();
    std::fs::write(&catalogue, broken.catalogue()).unwrap();
    let mut settings = grader::settings(&scratch);
    settings.runtimes_file = Some(catalogue.clone());
    settings.concurrency = 2;
    settings.max_attempts = 3;
    settings.claim_idle_ms = 1_500;
    let grader = spawn::grader_with(settings).await;
    std::fs::remove_file(&catalogue).unwrap();

    let failing = SubmissionId(1);
    let mut job = right_add(failing.0);
    job.runtime = "python3-broken".into();
    let entry = queue.submit_until_grading(&job).await;

    // Published after the failing job was first delivered, while it keeps failing.
    let later: Vec<SubmissionId> = (2..=4).map(SubmissionId).collect();
    let published = Instant::now();
    for submission in &later {
        queue.submit(&right_add(submission.0)).await;
    }
    let (verdict, feedback, _) = queue
        .graded(later[0], Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Accepted, "{feedback}");
    let first_graded = published.elapsed();
    assert!(
        queue.is_pending(&entry).await && queue.dead_letters().await.is_empty(),
        "the first later job was graded while the failing one was still being retried"
    );
    for submission in &later[1..] {
        let (verdict, feedback, _) = queue
            .graded(*submission, Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Accepted, "{feedback}");
    }
    let all_graded = published.elapsed();

    let error = queue
        .wait_for(failing, Duration::from_secs(30), is_error)
        .await
        .unwrap();
    let dead_after = published.elapsed();
    assert!(
        reason_of(&error.kind).contains("sandbox is unavailable"),
        "the student is told: {error:?}"
    );
    let letters = queue.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].original_id, entry);
    assert_eq!(letters[0].attempts, 3);
    assert!(
        letters[0]
            .reason
            .contains("Docker refused to start a sandbox container"),
        "{letters:?}"
    );
    // Acknowledged once given up.
    queue
        .wait_acknowledged(&entry, Duration::from_secs(5))
        .await;
    let events = queue.results_of(failing).await;
    let tries = events.iter().filter(|e| is_grading(&e.kind)).count();
    assert_eq!(tries, 3, "one `grading` per delivery: {events:?}");
    assert_eq!(events.iter().filter(|e| is_error(&e.kind)).count(), 1);
    assert_eq!(grader.metric("grader_dead_letters_total").await, 1.0);
    assert_eq!(
        grader
            .metric("grader_failures_total{kind=\"docker\"}")
            .await,
        3.0
    );
    queue.drained(Duration::from_secs(5)).await;
    println!(
        "after the failing job: first later job graded in {:.2} s, all {} in {:.2} s; \
         the failing one dead-lettered after {:.2} s",
        first_graded.as_secs_f64(),
        later.len(),
        all_graded.as_secs_f64(),
        dead_after.as_secs_f64()
    );

    grader.stop().await;
}

/// A `graded` event for `submission` of `user` with `feedback`, finished at `finished_at`, as
/// a grader would publish it.
fn graded_event(
    submission: i64,
    user: i64,
    assignment: i64,
    feedback: &str,
    finished_at: DateTime<Utc>,
) -> ResultEvent {
    let now = Utc::now();
    ResultEvent {
        v: MESSAGE_VERSION,
        submission_id: SubmissionId(submission),
        user_id: UserId(user),
        assignment_id: AssignmentId(assignment),
        enqueued_at: now,
        kind: ResultKind::Graded {
            verdict: Verdict::Accepted,
            tests: Vec::new(),
            feedback: feedback.into(),
            started_at: now,
            finished_at,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_event_postgres_refuses_is_dead_lettered_while_later_ones_are_recorded() {
    let scratch = Scratch::new("grader").await;
    let queue = Queue::of(&scratch);
    let api = spawn::api(&scratch, |settings| {
        settings.result_claim_idle_ms = 1_000;
        settings.result_max_deliveries = 3;
    })
    .await;
    // No grader runs: the submissions stay queued until the events below arrive.
    let student = Student::sign_in(&api).await;
    let hello = student.assignment("Hello, World!").await;
    let refused = student.submit(hello, "print('Hello, World!')\n").await;
    let recorded = student.submit(hello, "print('Hello, World!')\n").await;

    // Postgres refuses a time before 4713 BC, on every delivery. (Text it would refuse, such
    // as a NUL, can no longer reach it: every reader decodes shown text.)
    let long_ago = Utc.with_ymd_and_hms(-5000, 1, 1, 0, 0, 0).unwrap();
    let poisoned = graded_event(refused, student.id, hello, "all passed", long_ago);
    let entry = queue.publish_result(&poisoned).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !queue.is_result_pending(&entry).await {
        assert!(Instant::now() < deadline, "the api never read {entry}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    queue
        .publish_result(&graded_event(
            recorded,
            student.id,
            hello,
            "all passed",
            Utc::now(),
        ))
        .await;
    let published = Instant::now();
    let graded = student
        .wait_status(recorded, "graded", Duration::from_secs(5))
        .await;
    let took = published.elapsed();
    assert_eq!(graded["verdict"], "accepted", "{graded}");
    assert_eq!(graded["feedback"], "all passed", "{graded}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let letters = loop {
        let letters = queue.dead_results().await;
        if !letters.is_empty() {
            break letters;
        }
        assert!(Instant::now() < deadline, "{entry} was never dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let dead_after = published.elapsed();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].original_id, entry);
    assert_eq!(letters[0].attempts, 3);
    assert!(letters[0].reason.contains("out of range"), "{letters:?}");
    let kept: ResultEvent = serde_json::from_str(&letters[0].payload).unwrap();
    assert_eq!(kept, poisoned, "the event is kept as it was");
    queue
        .wait_result_acknowledged(&entry, Duration::from_secs(5))
        .await;
    let untouched = student.submission(refused).await;
    assert_eq!(untouched["status"], "queued", "{untouched}");
    assert_eq!(
        api.metric("api_results_recorded_total{status=\"dead_letter\"}")
            .await,
        1.0
    );
    println!(
        "the later event was recorded in {:.2} s; the refused one dead-lettered after {:.2} s",
        took.as_secs_f64(),
        dead_after.as_secs_f64()
    );

    api.stop().await;
}
