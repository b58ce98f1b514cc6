//! The people and data a hub test needs: accounts and a course seeded straight into the
//! scratch database ([`Store`], which also reads back what the hub wrote), a ready-made
//! [`Classroom`] with one student's project and file, and that classroom on hubs started for
//! it ([`start_hubs`]).

use crate::http::Hub;
use crate::yclient::YClient;
use contracts::{CourseId, FileId, ProjectId, UserId};
use db::DbPool;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::time::Duration;
use testkit::{spawn, Scratch, Service, WAIT};
use tokens::{Role, TokenKeys};

/// A user id and a token for it.
pub type Account = (UserId, String);

/// The scratch database of one test, seen from outside the hub.
pub struct Store {
    db: DbPool,
    tokens: TokenKeys,
}

impl Store {
    pub fn of(scratch: &Scratch) -> Self {
        Self {
            db: scratch.database().pool(),
            tokens: scratch.tokens.clone(),
        }
    }

    /// A new account and a token for it.
    pub async fn user(&self, name: &str, role: Role) -> Account {
        use db::schema::users;
        let mut conn = self.db.get().await.unwrap();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(format!("{name}-{}", uuid::Uuid::new_v4().simple())),
                users::display_name.eq(name),
                users::role.eq(role.as_str()),
            ))
            .returning(users::id)
            .get_result(&mut conn)
            .await
            .unwrap();
        let token = self.tokens.issue(UserId(id), role, name, false).token;
        (UserId(id), token)
    }

    /// The sign-in name of `user` (made unique by [`Store::user`]).
    pub async fn username(&self, user: UserId) -> String {
        use db::schema::users;
        let mut conn = self.db.get().await.unwrap();
        users::table
            .find(user.0)
            .select(users::username)
            .first(&mut conn)
            .await
            .unwrap()
    }

    /// A course owned by `teacher` with `students` enrolled.
    pub async fn course(&self, teacher: UserId, students: &[UserId]) -> CourseId {
        use db::schema::{courses, participants};
        let mut conn = self.db.get().await.unwrap();
        let id: i64 = diesel::insert_into(courses::table)
            .values((
                courses::title.eq("Collaboration"),
                courses::owner_id.eq(teacher.0),
            ))
            .returning(courses::id)
            .get_result(&mut conn)
            .await
            .unwrap();
        for student in students {
            diesel::insert_into(participants::table)
                .values((
                    participants::course_id.eq(id),
                    participants::user_id.eq(student.0),
                    participants::role.eq("student"),
                ))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        CourseId(id)
    }

    /// What Postgres holds as the text of `file` (its UTF-8 bytes).
    pub async fn stored_text(&self, file: FileId) -> String {
        use db::schema::project_files;
        let mut conn = self.db.get().await.unwrap();
        let bytes: Vec<u8> = project_files::table
            .find(file.0)
            .select(project_files::content)
            .first(&mut conn)
            .await
            .unwrap();
        String::from_utf8(bytes).expect("the hub stores UTF-8")
    }

    /// The last log entry Postgres says the stored state of `file` covers.
    pub async fn covered(&self, file: FileId) -> (i64, i64) {
        use db::schema::project_files;
        let mut conn = self.db.get().await.unwrap();
        project_files::table
            .find(file.0)
            .select((
                project_files::synced_entry_ms,
                project_files::synced_entry_seq,
            ))
            .first(&mut conn)
            .await
            .unwrap()
    }

    /// Runs SQL on the scratch database (to make Postgres refuse something, for example).
    pub async fn execute(&self, sql: &str) {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = self.db.get().await.unwrap();
        conn.batch_execute(sql).await.unwrap();
    }

    /// Waits until Postgres holds `expected` as the text of `file`.
    pub async fn wait_for_stored_text(&self, file: FileId, expected: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let stored = self.stored_text(file).await;
            if stored == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Postgres holds {stored:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A course with a teacher and two students, and one project of the first student with one
/// empty file.
pub struct Classroom {
    pub course: CourseId,
    pub teacher: Account,
    pub owner: Account,
    pub other: Account,
    pub project: ProjectId,
    pub file: FileId,
}

impl Classroom {
    pub async fn new(store: &Store, hub: &impl Hub) -> Self {
        let teacher = store.user("teacher", Role::Teacher).await;
        let owner = store.user("owner", Role::Student).await;
        let other = store.user("other", Role::Student).await;
        let course = store.course(teacher.0, &[owner.0, other.0]).await;
        let (project, _) = hub.open_project(course, &owner.1).await;
        let file = hub.create_file(project, &owner.1, "main.py").await;
        Self {
            course,
            teacher,
            owner,
            other,
            project,
            file,
        }
    }

    /// Waits until a socket of the owner opened now on `hub` holds exactly `expected`.
    pub async fn late_joiner_sees(&self, hub: &impl Hub, expected: &str) {
        let url = hub.doc_url(self.project, self.file, &self.owner.1);
        let mut late = YClient::connect(&url).await;
        assert!(
            late.pump_until(WAIT, |c| c.text() == expected).await,
            "a late joiner on port {} has {:?}",
            hub.port(),
            late.text()
        );
    }

    /// Gives the second student `access` ("read" or "write") to the project.
    pub async fn share(&self, hub: &impl Hub, access: &str) {
        let (status, body) = hub
            .call(
                reqwest::Method::PUT,
                &format!("/hub/projects/{}/members/{}", self.project, self.other.0),
                &self.owner.1,
                Some(json!({ "access": access })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// `N` hubs in this process on one scratch database and key prefix, with their settings
/// changed by `adjust`, and a [`Classroom`] opened through the first. The test keeps the
/// [`Scratch`] to the end: dropping it removes the database and keys.
pub async fn start_hubs<const N: usize>(
    adjust: impl Fn(&mut hub::settings::Settings),
) -> (Scratch, Store, [Service; N], Classroom) {
    let scratch = Scratch::new("hub").await;
    let store = Store::of(&scratch);
    let mut hubs = Vec::with_capacity(N);
    for _ in 0..N {
        hubs.push(spawn::hub(&scratch, &adjust).await);
    }
    let Ok(hubs) = <[Service; N]>::try_from(hubs) else {
        unreachable!("N hubs were started")
    };
    let class = Classroom::new(&store, &hubs[0]).await;
    (scratch, store, hubs, class)
}
