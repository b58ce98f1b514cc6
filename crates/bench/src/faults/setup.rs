//! The campaign's world, made through the api and the hub as users make it: a teacher with a
//! course and a one-test assignment, students who submit to it, a prober whose submissions
//! measure recovery, and two editors who share a project whose files the editors type into
//! (one new file per phase).

use super::http::{id, Http};
use anyhow::Context;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

/// Passes the assignment's test.
pub const ACCEPTED_CODE: &str = "a, b = map(int, input().split())\nprint(a + b)\n";
/// Fails it.
pub const WRONG_CODE: &str = "print(0)\n";
const PASSWORD: &str = "fault-campaign-password";

/// The verdict `code` deserves.
pub fn expected_verdict(code: &str) -> &'static str {
    if code == ACCEPTED_CODE {
        "accepted"
    } else {
        "wrong_answer"
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: i64,
    pub token: String,
}

pub struct World {
    pub assignment: i64,
    pub students: Vec<Session>,
    pub prober: Session,
    /// The project's owner and a collaborator with write access.
    pub editors: [Session; 2],
    pub project: i64,
}

impl World {
    pub async fn create(
        api: &Http,
        hub: &Http,
        database_url: &str,
        students: usize,
    ) -> anyhow::Result<Self> {
        let teacher = register(api, "teacher").await?;
        make_teacher(database_url, teacher.id).await?;
        let teacher = login(api, "teacher").await?;
        let (course, assignment) = course_with_assignment(api, &teacher).await?;

        let mut sessions = Vec::with_capacity(students);
        for i in 0..students {
            sessions.push(register(api, &format!("student-{i}")).await?);
        }
        let prober = register(api, "prober").await?;
        let editors = [
            register(api, "editor-a").await?,
            register(api, "editor-b").await?,
        ];
        let enrol = format!("/api/courses/{course}/enrol");
        api.patiently(Method::POST, &enrol, Some(&editors[0].token), None)
            .await?;
        let opened = hub
            .patiently(
                Method::POST,
                &format!("/hub/courses/{course}/project"),
                Some(&editors[0].token),
                None,
            )
            .await?;
        let project = id(&opened["project"], "id")?;
        hub.patiently(
            Method::PUT,
            &format!("/hub/projects/{project}/members/{}", editors[1].id),
            Some(&editors[0].token),
            Some(&json!({"access": "write"})),
        )
        .await?;
        Ok(Self {
            assignment,
            students: sessions,
            prober,
            editors,
            project,
        })
    }

    /// A new empty file in the shared project: the document of one phase.
    pub async fn new_document(&self, hub: &Http, name: &str) -> anyhow::Result<i64> {
        let created = hub
            .patiently(
                Method::POST,
                &format!("/hub/projects/{}/files", self.project),
                Some(&self.editors[0].token),
                Some(&json!({"path": format!("{name}.txt"), "directory": false})),
            )
            .await?;
        id(&created, "id")
    }
}

async fn register(api: &Http, username: &str) -> anyhow::Result<Session> {
    sign_in(api, "/api/auth/register", username).await
}

async fn login(api: &Http, username: &str) -> anyhow::Result<Session> {
    sign_in(api, "/api/auth/login", username).await
}

/// Registers or logs in (`path`) with the campaign's password.
async fn sign_in(api: &Http, path: &str, username: &str) -> anyhow::Result<Session> {
    let body = json!({"username": username, "password": PASSWORD});
    let json = api.patiently(Method::POST, path, None, Some(&body)).await?;
    Ok(Session {
        id: id(&json["user"], "id")?,
        token: json["token"]
            .as_str()
            .context("no token in a session")?
            .to_owned(),
    })
}

/// Makes `user` a teacher as `platform-admin make-teacher` does: the account's role in the
/// database (nobody can make themselves one through the api).
async fn make_teacher(database_url: &str, user: i64) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let updated = diesel::sql_query("UPDATE users SET role = 'teacher' WHERE id = $1")
        .bind::<BigInt, _>(user)
        .execute(&mut conn)
        .await?;
    anyhow::ensure!(updated == 1, "no user {user} to make a teacher");
    Ok(())
}

/// A course and its one assignment (two numbers in, their sum out; a fast test).
async fn course_with_assignment(api: &Http, teacher: &Session) -> anyhow::Result<(i64, i64)> {
    let token = Some(teacher.token.as_str());
    let course = api
        .patiently(
            Method::POST,
            "/api/courses",
            token,
            Some(&json!({"title": "Fault campaign"})),
        )
        .await?;
    let course = id(&course, "id")?;
    // Students find and join only published courses.
    api.patiently(
        Method::PATCH,
        &format!("/api/courses/{course}"),
        token,
        Some(&json!({"published": true})),
    )
    .await?;
    let assignment = json!({
        "title": "Sum of two numbers",
        "handout": "Print the sum of the two integers on the input line.",
        "runtime": "python3",
        "tests": [{"kind": "io", "name": "adds", "stdin": "2 3\n", "expected_stdout": "5\n"}],
        "time_limit_ms": 2000,
    });
    let assignment = api
        .patiently(
            Method::POST,
            &format!("/api/courses/{course}/assignments"),
            token,
            Some(&assignment),
        )
        .await?;
    Ok((course, id(&assignment, "id")?))
}
