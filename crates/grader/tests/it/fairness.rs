//! Graders serve users fairly: however many jobs one user queued, another user's verdict comes
//! after at most a few of them (the api dispatches a few jobs per user at a time).

use crate::support::grader;
use crate::support::queue::Queue;
use crate::support::student::Student;
use chrono::{DateTime, Utc};
use contracts::keys::GRADERS_GROUP;
use contracts::{ResultKind, UserId};
use serde_json::Value;
use std::time::Duration;
use testkit::{spawn, Scratch};

const CODE: &str = "print('Hello, World!')\n";

fn time(value: &Value) -> DateTime<Utc> {
    serde_json::from_value(value.clone()).expect("a time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_flood_delays_anothers_verdict_by_a_few_jobs_at_most() {
    let scratch = Scratch::new("grader-fair").await;
    let queue = Queue::of(&scratch);
    let api = spawn::api(&scratch, |s| s.max_unfinished_per_user = 1_000).await;
    let mut settings = grader::settings(&scratch);
    settings.concurrency = 2;
    let grader = spawn::grader_with(settings).await;
    let flooder = Student::sign_in(&api).await;
    let other = Student::sign_in(&api).await;
    let hello = flooder.assignment("Hello, World!").await;

    const FLOOD: usize = 300;
    for _ in 0..FLOOD {
        flooder.submit(hello, CODE).await;
    }
    let on_stream = queue
        .streams
        .backlog(&queue.keys.submissions(), GRADERS_GROUP)
        .await
        .unwrap();
    assert!(
        on_stream <= 2,
        "{on_stream} of the flood's jobs on the stream"
    );

    let mine = other.submit(hello, CODE).await;
    let submitted = time(&other.submission(mine).await["created_at"]);
    let graded = other
        .wait_status(mine, "graded", Duration::from_secs(120))
        .await;
    assert_eq!(graded["verdict"], "accepted", "{graded}");
    let started = time(&graded["started_at"]);

    // The flood's jobs a grader took after the other user's job was submitted and before it.
    let flood_started: Vec<DateTime<Utc>> = queue
        .results()
        .await
        .into_iter()
        .filter(|e| e.user_id == UserId(flooder.id))
        .filter_map(|e| match e.kind {
            ResultKind::Grading { started_at } => Some(started_at),
            _ => None,
        })
        .collect();
    let overtaking = flood_started
        .iter()
        .filter(|at| **at > submitted && **at < started)
        .count();
    println!(
        "{overtaking} of the flood's jobs started between the other user's submission and its \
         grading; {} of {FLOOD} had started by then",
        flood_started.iter().filter(|at| **at < started).count()
    );
    assert!(overtaking <= 4, "{overtaking} jobs went first");

    grader.stop().await;
    api.stop().await;
}
