//! `bench class`: a course of N online students on two hub replicas (release binaries as child
//! processes, one scratch database and key prefix), each on the class presence socket and
//! moving to another file of their project every few seconds. Prints move-to-arrival latency
//! at the other students (p50/p95/p99), Redis commands per second over the run (from
//! `INFO stats`; the Redis is the machine's, so others' work counts too, and the scripts' own
//! calls are printed apart), and each hub's memory per online user (RSS delta / users).

use crate::hub::ours::{build_hub, hub_command};
use crate::hub::process::{free_port, rss, Server};
use crate::stats::Summary;
use anyhow::Context;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::presence::url;
use testkit::{PresenceClient, Scratch};
use tokens::Role;

/// Files in each student's project (a move goes to the next one).
const FILES: usize = 5;

pub struct Options {
    pub students: usize,
    pub seconds: u64,
    pub move_ms: u64,
}

#[derive(QueryableByName)]
struct Seat {
    #[diesel(sql_type = BigInt)]
    user: i64,
    #[diesel(sql_type = BigInt)]
    course: i64,
    #[diesel(sql_type = BigInt)]
    project: i64,
    #[diesel(sql_type = BigInt)]
    file: i64,
}

/// One student's project and files.
struct Student {
    user: i64,
    project: i64,
    files: Vec<i64>,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let binary = build_hub()?;
    let scratch = Scratch::new("bench-class").await;
    let (course, students) = seed(scratch.database().url(), options.students).await?;
    let mut hubs = Vec::new();
    for _ in 0..2 {
        let port = free_port()?;
        let command = hub_command(&binary, &scratch, port);
        hubs.push((Server::start(command, port).await?, port));
    }
    let pids: Vec<u32> = hubs
        .iter()
        .map(|(server, _)| server.pid())
        .collect::<anyhow::Result<_>>()?;
    let rss_before: u64 = pids
        .iter()
        .map(|&pid| rss(pid))
        .sum::<anyhow::Result<u64>>()?;

    // Everyone connects (alternately to each replica) and waits until they see the whole class.
    let moved: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut clients = Vec::new();
    for (i, student) in students.iter().enumerate() {
        let port = hubs[i % 2].1;
        let token = scratch.token(contracts::UserId(student.user), Role::Student);
        let mut client = PresenceClient::connect(&url(
            &format!("http://127.0.0.1:{port}"),
            course,
            &token,
            "b",
        ))
        .await;
        client
            .move_to(student.project, Some(student.files[0]))
            .await;
        clients.push(client);
    }
    let everyone = students.len();
    for client in &mut clients {
        let all_online = client
            .until(Duration::from_secs(60), |c| {
                c.people.values().filter(|p| p["online"] == true).count() == everyone
            })
            .await;
        anyhow::ensure!(all_online, "a student did not see the whole class online");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after: u64 = pids
        .iter()
        .map(|&pid| rss(pid))
        .sum::<anyhow::Result<u64>>()?;

    let mut redis = redis::Client::open(testkit::env::redis_url())?
        .get_multiplexed_async_connection()
        .await?;
    let stats_before = redis_stats(&mut redis).await?;
    let started = Instant::now();
    let end = started + Duration::from_secs(options.seconds);
    let period = Duration::from_millis(options.move_ms);
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(students)
        .enumerate()
        .map(|(i, (mut client, student))| {
            let (moved, samples) = (moved.clone(), samples.clone());
            // Spread the first moves over one period so that they do not all come at once.
            let offset = period.mul_f64(i as f64 / everyone as f64);
            tokio::spawn(async move {
                let mut next_move = Instant::now() + offset;
                let mut at = 0;
                let mut mine = Vec::new();
                while Instant::now() < end {
                    if Instant::now() >= next_move {
                        at = (at + 1) % FILES;
                        lock(&moved).insert(student.user, Instant::now());
                        client
                            .move_to(student.project, Some(student.files[at]))
                            .await;
                        next_move += period;
                        continue;
                    }
                    let wait = next_move.saturating_duration_since(Instant::now());
                    if let Some(person) = client.next_person(wait).await {
                        let user = person["user_id"].as_i64().unwrap_or_default();
                        if user != student.user {
                            if let Some(sent) = lock(&moved).get(&user) {
                                mine.push(sent.elapsed());
                            }
                        }
                    }
                }
                lock(&samples).extend(mine);
                client.close().await;
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let stats_after = redis_stats(&mut redis).await?;

    let per_second = |key: &str| {
        (stats_after.get(key).copied().unwrap_or(0) - stats_before.get(key).copied().unwrap_or(0))
            as f64
            / elapsed.as_secs_f64()
    };
    let samples = std::mem::take(&mut *lock(&samples));
    let summary = Summary::of(samples, elapsed);
    println!(
        "class presence: {everyone} students online on 2 hub replicas, each moving to another \
         file every {} ms, {:.0} s",
        options.move_ms,
        elapsed.as_secs_f64()
    );
    println!("{}", Summary::header());
    println!("{}", summary.row("move → arrival at another student"));
    println!(
        "Redis commands/s: {:.0} (the machine's Redis: other work counts too), of which script \
         calls {:.0} and publishes {:.0}",
        per_second("total_commands_processed"),
        per_second("cmdstat_evalsha") + per_second("cmdstat_eval"),
        per_second("cmdstat_publish"),
    );
    println!(
        "hub memory per online student: {:.1} KiB (RSS of both replicas: {:.1} MiB before, \
         {:.1} MiB with everyone online)",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / everyone as f64,
        rss_before as f64 / 1048576.0,
        rss_after as f64 / 1048576.0
    );
    for (server, _) in hubs {
        server.stop().await;
    }
    Ok(())
}

/// `total_commands_processed` and the calls of each command (`cmdstat_<name>`).
async fn redis_stats(
    redis: &mut redis::aio::MultiplexedConnection,
) -> anyhow::Result<HashMap<String, u64>> {
    let stats: String = redis::cmd("INFO").arg("stats").query_async(redis).await?;
    let commands: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(redis)
        .await?;
    let mut found = HashMap::new();
    for line in stats.lines() {
        if let Some(total) = line.strip_prefix("total_commands_processed:") {
            found.insert("total_commands_processed".to_owned(), total.trim().parse()?);
        }
    }
    for line in commands.lines() {
        // cmdstat_evalsha:calls=12,usec=…
        if let Some((name, rest)) = line.split_once(":calls=") {
            let calls = rest.split(',').next().context("calls")?.parse()?;
            found.insert(name.to_owned(), calls);
        }
    }
    Ok(found)
}

/// A teacher's course with `students` participants, each with a project of [`FILES`] files.
async fn seed(url: &str, expected: usize) -> anyhow::Result<(i64, Vec<Student>)> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    let seats: Vec<Seat> = diesel::sql_query(format!(
        "WITH t AS (INSERT INTO users (username, display_name, role) \
                    VALUES ('bench-teacher', 'Teacher', 'teacher') RETURNING id), \
              c AS (INSERT INTO courses (title, owner_id) SELECT 'bench class', id FROM t \
                    RETURNING id), \
              u AS (INSERT INTO users (username, display_name, role) \
                    SELECT 'bench-student-' || g, 'Student ' || g, 'student' \
                    FROM generate_series(1, {expected}) g RETURNING id), \
              s AS (INSERT INTO participants (course_id, user_id, role) \
                    SELECT c.id, u.id, 'student' FROM c, u RETURNING user_id), \
              p AS (INSERT INTO projects (course_id, owner_id) SELECT c.id, u.id FROM c, u \
                    RETURNING id, owner_id, course_id), \
              f AS (INSERT INTO project_files (project_id, path, directory) \
                    SELECT p.id, 'file' || g || '.py', false \
                    FROM p, generate_series(1, {FILES}) g RETURNING id, project_id) \
         SELECT p.owner_id AS user, p.course_id AS course, p.id AS project, f.id AS file \
         FROM p JOIN f ON f.project_id = p.id ORDER BY p.id, f.id"
    ))
    .load(&mut conn)
    .await?;
    let course = seats.as_slice().first().context("nothing seeded")?.course;
    let mut students: Vec<Student> = Vec::new();
    for seat in seats {
        match students.last_mut() {
            Some(student) if student.project == seat.project => student.files.push(seat.file),
            _ => students.push(Student {
                user: seat.user,
                project: seat.project,
                files: vec![seat.file],
            }),
        }
    }
    anyhow::ensure!(
        students.len() == expected,
        "seeded {} of {expected} students",
        students.len()
    );
    Ok((course, students))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
