//! Outages pause grading, they do not fail it: while Docker is unreachable or the sandbox
//! image is missing the grader takes no job (and says so in `/readyz` and `grader_paused`),
//! jobs keep their attempts, and every one is graded once it is back; when Redis loses its
//! data, the api dispatches the jobs it lost again, and each is graded once; when Postgres
//! failed mid-dispatch and the api put one submission on the stream twice, it is graded once.

use crate::support::grader::{self, remove_containers_of};
use crate::support::jobs::right_add;
use crate::support::queue::{is_error, is_graded, is_grading, Queue};
use crate::support::student::Student;
use contracts::keys::GRADERS_GROUP;
use contracts::{ResultEvent, SubmissionId, Verdict};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testkit::{spawn, Proxy, RedisServer, Scratch, Service};

/// How long Docker stays away.
const OUTAGE: Duration = Duration::from_secs(60);

/// The submissions that have a `grading` event among `events`.
fn taken(events: &[ResultEvent]) -> BTreeSet<SubmissionId> {
    events
        .iter()
        .filter(|e| is_grading(&e.kind))
        .map(|e| e.submission_id)
        .collect()
}

/// `/readyz`'s status and JSON body.
async fn readiness(grader: &Service) -> (u16, serde_json::Value) {
    let ready = grader.get("/readyz").await;
    let status = ready.status().as_u16();
    (status, ready.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_outage_pauses_grading_and_every_job_is_graded_afterwards() {
    let scratch = Scratch::new("grader-outage").await;
    let queue = Queue::of(&scratch);
    let docker = Proxy::unix("/var/run/docker.sock");
    let mut settings = grader::settings(&scratch);
    settings.docker_host = Some(docker.unix_url());
    settings.concurrency = 2;
    let consumer = settings.consumer_name();
    let grader = spawn::grader_with(settings).await;

    const JOBS: i64 = 20;
    let first = SubmissionId(1);
    let mut entries = Vec::new();
    for submission in 1..=JOBS {
        entries.push(queue.submit(&right_add(submission)).await);
    }
    queue
        .wait_for(first, Duration::from_secs(30), is_grading)
        .await
        .unwrap();
    docker.cut();
    let cut = Instant::now();

    // Within a few seconds the grader notices, stops taking jobs and says so.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = readiness(&grader).await;
        if body["grading"]
            .as_str()
            .unwrap_or_default()
            .starts_with("paused")
        {
            break (status, body);
        }
        assert!(Instant::now() < deadline, "never paused: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert!(
        body["grading"]
            .as_str()
            .unwrap()
            .contains("Docker is unreachable"),
        "{body}"
    );
    assert_eq!(grader.metric("grader_paused").await, 1.0);
    // The jobs in flight when Docker went away are given back; nothing more is taken.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let taken_early = taken(&queue.results().await);
    for entry in &entries {
        assert_eq!(queue.deliveries(entry).await, 0, "{entry} spent an attempt");
    }
    tokio::time::sleep(OUTAGE.saturating_sub(cut.elapsed())).await;
    let events = queue.results().await;
    assert_eq!(
        taken(&events),
        taken_early,
        "no job taken while Docker is away"
    );
    assert!(taken_early.len() < JOBS as usize, "{taken_early:?}");
    assert!(!events.iter().any(|e| is_error(&e.kind)), "{events:?}");

    docker.restore();
    let restored = Instant::now();
    for submission in 1..=JOBS {
        let (verdict, feedback, _) = queue
            .graded(SubmissionId(submission), Duration::from_secs(180))
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Accepted, "{submission}: {feedback}");
    }
    println!(
        "{} jobs taken before the outage; all {JOBS} graded {:.1} s after Docker came back",
        taken_early.len(),
        restored.elapsed().as_secs_f64()
    );
    let events = queue.results().await;
    assert!(
        !events.iter().any(|e| is_error(&e.kind)),
        "none is an error"
    );
    for submission in 1..=JOBS {
        let verdicts = events
            .iter()
            .filter(|e| e.submission_id == SubmissionId(submission) && is_graded(&e.kind))
            .count();
        assert_eq!(verdicts, 1, "submission {submission}");
    }
    assert!(queue.dead_letters().await.is_empty());
    queue.drained(Duration::from_secs(10)).await;
    assert_eq!(grader.metric("grader_paused").await, 0.0);
    assert!(grader.metric("grader_pauses_total").await >= 1.0);
    let (status, body) = readiness(&grader).await;
    assert_eq!(status, 200, "{body}");

    grader.stop().await;
    remove_containers_of(&consumer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_pauses_grading_until_it_is_built() {
    let scratch = Scratch::new("grader-image").await;
    let queue = Queue::of(&scratch);
    let tag = format!(
        "missing-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let image = format!("code-platform/sandbox:{tag}");
    let mut settings = grader::settings(&scratch);
    settings.sandbox_tag = tag.clone();
    settings.max_attempts = 1;
    let grader = spawn::grader_alive(settings).await;

    let submission = SubmissionId(1);
    let entry = queue.submit(&right_add(submission.0)).await;
    // Longer than a claim idle time, a read and the watcher's re-check together.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = readiness(&grader).await;
    assert_eq!(status, 503);
    let missing = format!("sandbox image {image} is missing: run deploy/sandbox/build.sh");
    assert_eq!(body["grading"], format!("paused: {missing}"), "{body}");
    assert!(
        queue.results_of(submission).await.is_empty(),
        "not taken, not failed"
    );
    assert!(!queue.is_pending(&entry).await, "never delivered");
    assert_eq!(grader.metric("grader_paused").await, 1.0);

    // Building the image (here: tagging the real one) is all it takes.
    let tagged = std::process::Command::new("docker")
        .args(["tag", &testkit::sandbox::image(), &image])
        .status()
        .expect("docker tag");
    assert!(tagged.success());
    let graded = queue.graded(submission, Duration::from_secs(60)).await;
    let _ = std::process::Command::new("docker")
        .args(["rmi", &image])
        .stdout(std::process::Stdio::null())
        .status();
    let (verdict, feedback, _) = graded.unwrap();
    assert_eq!(verdict, Verdict::Accepted, "{feedback}");
    assert!(queue.dead_letters().await.is_empty());
    assert_eq!(grader.metric("grader_paused").await, 0.0);

    grader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_loses_its_data_every_job_is_graded_once() {
    // A Redis of the test's own: FLUSHALL on the shared one would wipe every other test's keys.
    let redis = RedisServer::start();
    let scratch = Scratch::on_redis("grader-lost", &redis.url()).await;
    let queue = Queue::of(&scratch);
    let api = spawn::api(&scratch, |s| s.dispatch_sweep_ms = 500).await;
    let first = Student::sign_in(&api).await;
    let second = Student::sign_in(&api).await;
    let hello = first.assignment("Hello, World!").await;
    let code = "print('Hello, World!')\n";

    // No grader yet: two jobs of each student on the stream, one more waiting in Postgres.
    let mut submitted = Vec::new();
    for student in [&first, &first, &first, &second, &second] {
        submitted.push((student, student.submit(hello, code).await));
    }
    let on_stream = || async {
        queue
            .streams
            .backlog(&queue.keys.submissions(), GRADERS_GROUP)
            .await
            .unwrap()
    };
    assert_eq!(on_stream().await, 4);

    queue.flush_redis().await;
    let flushed = Instant::now();
    let grader = spawn::grader_with(grader::settings(&scratch)).await;
    submitted.push((&second, second.submit(hello, code).await));

    for (student, id) in &submitted {
        let graded = student
            .wait_status(*id, "graded", Duration::from_secs(60))
            .await;
        assert_eq!(graded["verdict"], "accepted", "{graded}");
    }
    println!(
        "all {} graded {:.1} s after FLUSHALL",
        submitted.len(),
        flushed.elapsed().as_secs_f64()
    );
    let events = queue.results().await;
    for (_, id) in &submitted {
        let verdicts = events
            .iter()
            .filter(|e| e.submission_id == SubmissionId(*id) && is_graded(&e.kind))
            .count();
        assert_eq!(verdicts, 1, "submission {id} graded once");
    }
    assert_eq!(api.metric("api_jobs_requeued_total").await, 4.0);

    grader.stop().await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_dispatched_twice_is_graded_once() {
    let scratch = Scratch::new("grader-twice").await;
    let queue = Queue::of(&scratch);
    let mut settings = grader::settings(&scratch);
    settings.concurrency = 2;
    let grader = spawn::grader_with(settings).await;
    let submission = SubmissionId(1);
    // The api dispatching it again sends the same job: same submission, same creation time.
    let job = right_add(submission.0);

    // Two entries at once, so both slots may take one at the same moment.
    for _ in 0..2 {
        queue.submit(&job).await;
    }
    let (verdict, feedback, _) = queue
        .graded(submission, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Accepted, "{feedback}");
    queue.drained(Duration::from_secs(30)).await;
    // A third, after the first was graded, is skipped too.
    queue.submit(&job).await;
    queue.drained(Duration::from_secs(30)).await;

    let events = queue.results_of(submission).await;
    assert_eq!(
        events.iter().filter(|e| is_graded(&e.kind)).count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| is_grading(&e.kind)).count(),
        1,
        "{events:?}"
    );
    assert_eq!(grader.metric("grader_duplicates_total").await, 2.0);
    grader.stop().await;
}
