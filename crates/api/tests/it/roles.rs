//! Roles: nobody registers as a teacher; the operator's command makes one; teachers invite
//! co-teachers, who manage assignments once they accept; a course is in the catalogue once its
//! owner publishes it; assignments stay inside the operator's bounds.

use crate::app::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Output;

fn assignment(tests: usize, time_limit_ms: u32) -> Value {
    let test = json!({"kind": "call", "name": "doubles 2", "call": "double(2)", "expected": "4"});
    json!({
        "title": "Double it",
        "handout": "Write `double(n)`.",
        "runtime": "python3",
        "tests": vec![test; tests],
        "time_limit_ms": time_limit_ms,
    })
}

/// The titles of the courses in `token`'s catalogue, with the caller's role in each.
async fn catalogue(app: &TestApp, token: &str) -> Vec<(String, Value)> {
    app.get("/api/courses", token)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap().to_owned(),
                c["my_role"].clone(),
            )
        })
        .collect()
}

async fn publish(app: &TestApp, token: &str, course: i64, published: bool, status: StatusCode) {
    app.expect(
        Method::PATCH,
        &format!("/api/courses/{course}"),
        Some(token),
        Some(json!({ "published": published })),
        status,
    )
    .await;
}

/// Adds `body` as an assignment of `course` as `token`, expecting `status`; returns the answer.
async fn add(app: &TestApp, token: &str, course: i64, body: Value, status: StatusCode) -> Value {
    let path = format!("/api/courses/{course}/assignments");
    app.expect(Method::POST, &path, Some(token), Some(body), status)
        .await
}

#[tokio::test]
async fn registering_as_a_teacher_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let register = |role: &str, status| {
        let body = json!({"username": "mallory", "password": "correct horse", "role": role});
        app.expect(Method::POST, "/api/auth/register", None, Some(body), status)
    };
    let refused = register("teacher", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["error"]["code"], "validation_failed");
    assert_eq!(refused["error"]["field"], "role");
    // Nothing was created: the name is still free, and a student account may take it.
    let session = register("student", StatusCode::CREATED).await;
    assert_eq!(session["user"]["role"], "student");
    let token = session["token"].as_str().unwrap();
    app.expect(
        Method::POST,
        "/api/courses",
        Some(token),
        Some(json!({"title": "Mine"})),
        StatusCode::FORBIDDEN,
    )
    .await;
}

/// Runs the real `platform-admin` binary with the api's settings for this test's database.
fn platform_admin(app: &TestApp, args: &[&str]) -> Output {
    // No secret files: the database comes from the environment only.
    let no_secrets = std::env::temp_dir().join(format!("no-secrets-{}", uuid::Uuid::new_v4()));
    std::process::Command::new(env!("CARGO_BIN_EXE_platform-admin"))
        .args(args)
        .env("API__DATABASE_URL", app.scratch.database().url())
        .env("SECRETS_DIR", no_secrets)
        .env_remove("API__CONFIG_FILE")
        .output()
        .expect("platform-admin runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_operator_command_makes_a_teacher_and_takes_the_role_back() {
    let app = TestApp::spawn().await;
    let (ada, _) = app.register("ada").await;
    let create = |status| {
        app.expect(
            Method::POST,
            "/api/courses",
            Some(&ada),
            Some(json!({"title": "Compilers"})),
            status,
        )
    };
    create(StatusCode::FORBIDDEN).await;

    let made = platform_admin(&app, &["make-teacher", "Ada"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(text(&made.stdout).contains("`ada` is now a teacher"));
    // The same token: the role is read from the account, not from the token.
    let course = create(StatusCode::CREATED).await;
    assert_eq!(course["my_role"], "owner");
    assert_eq!(course["published"], false);
    let me = app.get("/api/me", &ada).await;
    assert_eq!(me["role"], "teacher");
    let listed = platform_admin(&app, &["teachers"]);
    assert!(text(&listed.stdout).lines().any(|l| l.starts_with("ada\t")));

    let unmade = platform_admin(&app, &["make-student", "ada"]);
    assert!(unmade.status.success(), "{}", text(&unmade.stderr));
    create(StatusCode::FORBIDDEN).await;

    let unknown = platform_admin(&app, &["make-teacher", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no account named `nobody`"));
    // Guests cannot sign in again once their token is gone: nobody could use the role.
    let (guest, _) = app.guest().await;
    let guest = app.get("/api/me", &guest).await["username"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = platform_admin(&app, &["make-teacher", &guest]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("reserved"),
        "{}",
        text(&refused.stderr)
    );
    let usage = platform_admin(&app, &["make-teacher"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("usage: platform-admin"));
}

#[tokio::test]
async fn co_teachers_manage_assignments_once_they_accept_and_only_the_owner_removes_teachers() {
    let app = TestApp::spawn().await;
    let owner = app.teacher("olga").await;
    let (cora, cora_id) = app.register("cora").await;
    let (other, other_id) = app.register("otto").await;
    let course = app.course(&owner, "Databases").await;
    let teachers = format!("/api/courses/{course}/teachers");
    let invite = |username: &str, status| {
        app.expect(
            Method::POST,
            &teachers,
            Some(&owner),
            Some(json!({ "username": username })),
            status,
        )
    };
    let invited = invite("Cora", StatusCode::CREATED).await;
    assert_eq!(
        (invited["user_id"].as_i64(), &invited["role"]),
        (Some(cora_id), &json!("invited"))
    );
    for (username, status) in [
        ("cora", StatusCode::CONFLICT),
        ("olga", StatusCode::CONFLICT),
        ("nobody", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let refused = invite(username, status).await;
        assert!(!refused["error"]["message"].as_str().unwrap().is_empty());
    }
    invite("otto", StatusCode::CREATED).await;

    // Invited is not yet teaching.
    let cora_adds = |status| add(&app, &cora, course, assignment(1, 2000), status);
    cora_adds(StatusCode::FORBIDDEN).await;
    assert_eq!(
        catalogue(&app, &cora)
            .await
            .iter()
            .find(|(t, _)| t == "Databases")
            .unwrap()
            .1,
        "invited"
    );
    let accepted = app
        .expect(
            Method::POST,
            &format!("/api/courses/{course}/invitation"),
            Some(&cora),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(accepted["my_role"], "teacher");
    let staff = app.get(&teachers, &owner).await;
    let roles: Vec<(&str, &str)> = staff
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["username"].as_str().unwrap(), t["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("olga", "owner"), ("cora", "teacher"), ("otto", "invited")]
    );

    // A co-teacher manages the course's assignments and sees their tests.
    let id = cora_adds(StatusCode::CREATED).await["id"].as_i64().unwrap();
    let mut edited = assignment(2, 2000);
    edited["title"] = json!("Double it twice");
    app.expect(
        Method::PUT,
        &format!("/api/assignments/{id}"),
        Some(&cora),
        Some(edited),
        StatusCode::OK,
    )
    .await;
    assert!(app.get(&format!("/api/assignments/{id}"), &cora).await["tests"].is_array());
    // … but neither publishes, invites nor removes others: the owner does.
    publish(&app, &cora, course, true, StatusCode::FORBIDDEN).await;
    app.expect(
        Method::POST,
        &teachers,
        Some(&cora),
        Some(json!({"username": "someone"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let remove = |token: &str, user: i64, status| {
        let (app, path, token) = (&app, format!("{teachers}/{user}"), token.to_owned());
        async move {
            app.expect(Method::DELETE, &path, Some(&token), None, status)
                .await
        }
    };
    remove(&cora, other_id, StatusCode::FORBIDDEN).await;
    let owner_id = app.get("/api/me", &owner).await["id"].as_i64().unwrap();
    remove(&cora, owner_id, StatusCode::FORBIDDEN).await;
    remove(&owner, owner_id, StatusCode::CONFLICT).await;

    // Someone who does not teach it may not touch it.
    publish(&app, &owner, course, true, StatusCode::OK).await;
    let (student, _) = app.guest().await;
    add(
        &app,
        &student,
        course,
        assignment(1, 2000),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.expect(
        Method::PUT,
        &format!("/api/assignments/{id}"),
        Some(&student),
        Some(assignment(1, 2000)),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(app
        .get(&format!("/api/assignments/{id}"), &student)
        .await
        .get("tests")
        .is_none());

    // The invitee declines; the owner removes the co-teacher, who then manages nothing.
    remove(&other, other_id, StatusCode::NO_CONTENT).await;
    remove(&owner, cora_id, StatusCode::NO_CONTENT).await;
    remove(&owner, cora_id, StatusCode::NOT_FOUND).await;
    cora_adds(StatusCode::FORBIDDEN).await;
    let staff = app.get(&teachers, &owner).await;
    assert_eq!(staff.as_array().unwrap().len(), 1, "{staff}");
}

#[tokio::test]
async fn a_course_is_in_the_catalogue_once_published_and_before_for_its_participants() {
    let app = TestApp::spawn().await;
    let owner = app.teacher("paula").await;
    let course = app.course(&owner, "Networks").await;
    let assignments = format!("/api/courses/{course}/assignments");
    let created = add(
        &app,
        &owner,
        course,
        assignment(1, 2000),
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (early, _) = app.guest().await;
    let (outsider, _) = app.guest().await;
    let listed = |token: String| {
        let app = &app;
        async move {
            catalogue(app, &token)
                .await
                .iter()
                .any(|(title, _)| title == "Networks")
        }
    };
    // The seeded course is published; a new one is not, and does not exist for outsiders.
    assert!(catalogue(&app, &outsider)
        .await
        .iter()
        .any(|(t, _)| t == "Python basics"));
    assert!(listed(owner.clone()).await);
    assert!(!listed(outsider.clone()).await);
    let hidden = [
        (Method::GET, assignments.clone(), None),
        (Method::GET, format!("/api/assignments/{id}"), None),
        (Method::POST, format!("/api/courses/{course}/enrol"), None),
        (
            Method::POST,
            format!("/api/assignments/{id}/submissions"),
            Some(json!({"code": "def double(n):\n    return 2 * n\n"})),
        ),
    ];
    let hidden_from_outsider = || async {
        for (method, path, body) in &hidden {
            let body = body.clone();
            app.expect(
                method.clone(),
                path,
                Some(&outsider),
                body,
                StatusCode::NOT_FOUND,
            )
            .await;
        }
    };
    hidden_from_outsider().await;

    // Published: everybody sees it (the cached listing was replaced); one student joins.
    publish(&app, &owner, course, true, StatusCode::OK).await;
    assert!(listed(outsider.clone()).await);
    app.get(&assignments, &outsider).await;
    app.expect(
        Method::POST,
        &format!("/api/courses/{course}/enrol"),
        Some(&early),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    // Unpublished again: its student still sees it, nobody else does.
    publish(&app, &owner, course, false, StatusCode::OK).await;
    assert!(listed(early.clone()).await);
    assert_eq!(
        app.get(&assignments, &early).await["assignments"][0]["id"],
        id
    );
    assert!(!listed(outsider.clone()).await);
    hidden_from_outsider().await;
}

#[tokio::test]
async fn assignments_stay_inside_the_operators_bounds_naming_field_and_bound() {
    let app = TestApp::spawn_with(|s| {
        s.max_tests_per_assignment = 3;
        s.max_time_limit_ms = 3000;
        s.max_grading_time_ms = 6000;
    })
    .await;
    let teacher = app.teacher("bea").await;
    let course = app.course(&teacher, "Bounded").await;
    let refused = |body: Value| {
        let (app, teacher) = (&app, &teacher);
        async move {
            let error = add(app, teacher, course, body, StatusCode::UNPROCESSABLE_ENTITY).await;
            (
                error["error"]["field"].as_str().unwrap().to_owned(),
                error["error"]["message"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (field, message) = refused(assignment(1, 3001)).await;
    assert_eq!(field, "time_limit_ms");
    assert!(message.contains("3000"), "{message}");
    let (field, message) = refused(assignment(4, 1000)).await;
    assert_eq!(field, "tests");
    assert!(message.contains("1 to 3 tests"), "{message}");
    let mut hungry = assignment(1, 1000);
    hungry["memory_limit_mb"] = json!(1024);
    let (field, message) = refused(hungry).await;
    assert_eq!(field, "memory_limit_mb");
    assert!(message.contains("512"), "{message}");
    // Three tests of 2.5 s would take 7.5 s to grade: over the 6 s bound.
    let (field, message) = refused(assignment(3, 2500)).await;
    assert_eq!(field, "time_limit_ms");
    assert!(message.contains("6000 ms"), "{message}");

    let created = add(
        &app,
        &teacher,
        course,
        assignment(3, 2000),
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let error = app
        .expect(
            Method::PUT,
            &format!("/api/assignments/{id}"),
            Some(&teacher),
            Some(assignment(3, 2001)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(error["error"]["field"], "time_limit_ms");
    // The document says the bounds too.
    let doc = app
        .expect(Method::GET, "/api/openapi.json", None, None, StatusCode::OK)
        .await;
    let request = &doc["components"]["schemas"]["AssignmentRequest"];
    assert_eq!(request["properties"]["time_limit_ms"]["maximum"], 3000);
    assert_eq!(request["properties"]["tests"]["maxItems"], 3);
}
