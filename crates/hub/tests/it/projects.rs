//! Templates, projects and files over HTTP: archives are checked before anything is stored,
//! projects start from the template, the tree can be changed, and mistakes get JSON errors.

use crate::classroom::{Account, Store};
use crate::http::Hub;
use contracts::{CourseId, FileId};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use testkit::{spawn, Scratch, Service};
use tokens::Role;

/// The status and error code some requests must get, the token they are sent with, and the
/// requests (method, path, body).
type Checks<'a> = (u16, &'a str, &'a str, Vec<(Method, String, Option<Value>)>);

fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, content) in entries {
        writer
            .start_file(*path, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn tar_gz_with_link() -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_mode(0o777);
    builder
        .append_link(&mut header, "secrets", "/etc/shadow")
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

fn paths(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["path"].as_str().unwrap().to_owned())
        .collect()
}

/// A hub with a small archive limit, and a course with a teacher and one student.
struct Course {
    store: Store,
    hub: Service,
    teacher: Account,
    student: Account,
    course: CourseId,
    scratch: Scratch,
}

impl Course {
    async fn new() -> Self {
        let scratch = Scratch::new("hub").await;
        let store = Store::of(&scratch);
        let hub = spawn::hub(&scratch, |s| s.max_archive_bytes = 64 * 1024).await;
        let teacher = store.user("teacher", Role::Teacher).await;
        let student = store.user("student", Role::Student).await;
        let course = store.course(teacher.0, &[student.0]).await;
        Self {
            store,
            hub,
            teacher,
            student,
            course,
            scratch,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_starts_from_the_template_and_its_tree_can_change() {
    let class = Course::new().await;
    let (store, hub, teacher, student, course) = (
        &class.store,
        &class.hub,
        &class.teacher,
        &class.student,
        class.course,
    );
    let template = zip_of(&[
        ("main.py", "print('hello')\n"),
        ("lib/util.py", "def twice(x):\n    return 2 * x\n"),
    ]);
    let (status, body) = hub.upload_template(course, &teacher.1, template).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(paths(&body, "entries"), ["lib", "lib/util.py", "main.py"]);

    let (project, files) = hub.open_project(course, &student.1).await;
    let main = files.iter().find(|(path, _)| path == "main.py").unwrap().1;
    assert_eq!(store.stored_text(main).await, "print('hello')\n");
    let (again, _) = hub.open_project(course, &student.1).await;
    assert_eq!(again, project, "the second open finds the same project");

    let base = format!("/hub/projects/{project}");
    let created = hub
        .create_file(project, &student.1, "tests/test_main.py")
        .await;
    let (status, body) = hub
        .move_file(project, &student.1, created, "spec/test_main.py")
        .await;
    assert_eq!(
        (status, body["path"].as_str()),
        (200, Some("spec/test_main.py")),
        "{body}"
    );
    let lib = hub.call(Method::GET, &base, &student.1, None).await.1["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["path"] == "lib")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) = hub
        .move_file(project, &student.1, FileId(lib), "src/lib")
        .await;
    assert_eq!(status, 200);
    let (status, body) = hub
        .move_file(project, &student.1, main, "spec/test_main.py")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, _) = hub
        .call(
            Method::DELETE,
            &format!("{base}/files/{created}"),
            &student.1,
            None,
        )
        .await;
    assert_eq!(status, 204);

    let (_, body) = hub.call(Method::GET, &base, &student.1, None).await;
    assert_eq!(
        paths(&body, "files"),
        [
            "main.py",
            "spec",
            "src",
            "src/lib",
            "src/lib/util.py",
            "tests"
        ]
    );
    assert_eq!(body["project"]["access"], "write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_and_membership_changes_are_published_as_project_events() {
    let class = Course::new().await;
    let (hub, student) = (&class.hub, &class.student);
    let (project, _) = hub.open_project(class.course, &student.1).await;
    let file = hub.create_file(project, &student.1, "src/pkg/a.py").await;
    let (status, body) = hub.move_file(project, &student.1, file, "lib/a.py").await;
    assert_eq!(status, 200, "{body}");
    let base = format!("/hub/projects/{project}");
    let (_, body) = hub.call(Method::GET, &base, &student.1, None).await;
    let id_of = |path: &str| {
        body["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {body}"))["id"]
            .as_i64()
            .unwrap()
    };
    let (src, pkg, lib) = (id_of("src"), id_of("src/pkg"), id_of("lib"));
    let (status, _) = hub
        .call(
            Method::DELETE,
            &format!("{base}/files/{src}"),
            &student.1,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let friend = class.store.user("friend", Role::Student).await;
    let member = |user: &Account| format!("{base}/members/{}", user.0);
    for (method, user, body) in [
        (Method::PUT, &friend, Some(json!({"access": "write"}))),
        (Method::DELETE, &friend, None),
        // The course's teacher still reads after losing a grant, and the event says so.
        (
            Method::PUT,
            &class.teacher,
            Some(json!({"access": "write"})),
        ),
        (Method::DELETE, &class.teacher, None),
    ] {
        let (status, answer) = hub.call(method, &member(user), &student.1, body).await;
        assert!(status == 200 || status == 204, "{answer}");
    }

    let stream = class.scratch.keys().hub_project_events();
    let events: Vec<Value> = class
        .scratch
        .streams()
        .range_after(&stream, "0-0", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|delivery| serde_json::to_value(delivery.message.unwrap()).unwrap())
        .collect();
    let entry = |id: i64, path: &str, directory: bool| json!({"id": id, "path": path, "directory": directory});
    let event = |change: Value| {
        let mut event = json!({"v": 1, "project_id": project.0});
        event
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        event
    };
    let access = |user: &Account, access: Value| {
        event(json!({"event": "access_changed", "user_id": user.0 .0, "access": access}))
    };
    assert_eq!(
        events,
        [
            event(json!({"event": "file_created", "file": entry(src, "src", true)})),
            event(json!({"event": "file_created", "file": entry(pkg, "src/pkg", true)})),
            event(json!({"event": "file_created", "file": entry(file.0, "src/pkg/a.py", false)})),
            event(json!({"event": "file_created", "file": entry(lib, "lib", true)})),
            event(
                json!({"event": "file_moved", "file": entry(file.0, "lib/a.py", false),
                         "from": "src/pkg/a.py"})
            ),
            event(json!({"event": "files_deleted", "file_ids": [src, pkg]})),
            access(&friend, json!("write")),
            access(&friend, Value::Null),
            access(&class.teacher, json!("write")),
            access(&class.teacher, json!("read")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_or_oversized_archives_are_refused_and_nothing_is_stored() {
    let class = Course::new().await;
    let (hub, teacher, student, course) =
        (&class.hub, &class.teacher, &class.student, class.course);
    let cases: [(Vec<u8>, u16, &str); 5] = [
        (zip_of(&[("../evil.py", "x")]), 422, "unsafe_path"),
        (zip_of(&[("/etc/cron.d/evil", "x")]), 422, "unsafe_path"),
        (tar_gz_with_link(), 422, "link_not_allowed"),
        (vec![7; 65 * 1024], 413, "payload_too_large"),
        (b"not an archive".to_vec(), 422, "unknown_format"),
    ];
    for (archive, status, code) in cases {
        let (got, body) = hub.upload_template(course, &teacher.1, archive).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let (got, body) = hub
        .upload_template(course, &student.1, zip_of(&[("a.py", "")]))
        .await;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = hub
        .call(
            Method::GET,
            &format!("/hub/courses/{course}/template"),
            &teacher.1,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["entries"],
        json!([]),
        "a refused archive stores nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_name_their_owner_and_are_shared_by_username() {
    let class = Course::new().await;
    let (hub, student) = (&class.hub, &class.student);
    let ada = class.store.user("Ada Lovelace", Role::Student).await;
    let course = class
        .store
        .course(class.teacher.0, &[student.0, ada.0])
        .await;
    let (project, _) = hub.open_project(course, &student.1).await;
    let base = format!("/hub/projects/{project}");

    let username = class.store.username(ada.0).await;
    let (status, shared) = hub
        .call(
            Method::POST,
            &format!("{base}/members"),
            &student.1,
            Some(json!({"username": username, "access": "read"})),
        )
        .await;
    assert_eq!(status, 200, "{shared}");
    assert_eq!(
        shared,
        json!({"user_id": ada.0 .0, "display_name": "Ada Lovelace", "access": "read"})
    );
    let (status, changed) = hub
        .call(
            Method::PUT,
            &format!("{base}/members/{}", ada.0),
            &student.1,
            Some(json!({"access": "write"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["display_name"], "Ada Lovelace", "{changed}");

    let (_, owned) = hub.call(Method::GET, &base, &student.1, None).await;
    assert_eq!(owned["project"]["owner_name"], "student", "{owned}");
    assert_eq!(
        owned["members"],
        json!([{"user_id": ada.0 .0, "display_name": "Ada Lovelace", "access": "write"}])
    );
    // The owner is offered the course's other participants.
    assert_eq!(
        owned["classmates"],
        json!([{"user_id": ada.0 .0, "username": username, "display_name": "Ada Lovelace"}])
    );
    let (_, seen) = hub.call(Method::GET, &base, &ada.1, None).await;
    assert_eq!(seen["project"]["owner_name"], "student", "{seen}");
    assert_eq!(seen["members"], owned["members"]);
    assert!(
        seen.get("classmates").is_none(),
        "only for the owner: {seen}"
    );
    let (_, listed) = hub.call(Method::GET, "/hub/projects", &ada.1, None).await;
    assert_eq!(listed["projects"][0]["owner_name"], "student", "{listed}");

    let (status, unknown) = hub
        .call(
            Method::POST,
            &format!("{base}/members"),
            &student.1,
            Some(json!({"username": "nobody-here", "access": "read"})),
        )
        .await;
    assert_eq!(status, 404, "{unknown}");
    assert_eq!(unknown["error"]["code"], "not_found");
    assert_eq!(unknown["error"]["field"], "username");
    let message = unknown["error"]["message"].as_str().unwrap();
    assert!(message.contains("nobody-here"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_get_json_errors_never_a_500() {
    let class = Course::new().await;
    let (hub, teacher, student, course) =
        (&class.hub, &class.teacher, &class.student, class.course);
    let (project, _) = hub.open_project(course, &student.1).await;
    let files = format!("/hub/projects/{project}/files");
    let raw = hub
        .http
        .post(hub.url(&files))
        .bearer_auth(&student.1)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let members = format!("/hub/projects/{project}/members");
    let checks: Vec<Checks> = vec![
        (
            422,
            "invalid_path",
            &student.1,
            vec![(Method::POST, files.clone(), Some(json!({"path": "../x"})))],
        ),
        (
            422,
            "validation_failed",
            &student.1,
            vec![
                (
                    Method::POST,
                    files.clone(),
                    Some(json!({"path": "a", "extra": 1})),
                ),
                (
                    Method::PUT,
                    format!("{members}/{}", teacher.0),
                    Some(json!({"access": "admin"})),
                ),
                (
                    Method::POST,
                    members.clone(),
                    Some(json!({"username": "x", "access": "admin"})),
                ),
                (
                    Method::POST,
                    members.clone(),
                    Some(json!({"username": "x", "access": "read", "user_id": 1})),
                ),
            ],
        ),
        (
            403,
            "forbidden",
            &teacher.1,
            vec![
                (Method::POST, files.clone(), Some(json!({"path": "t.py"}))),
                (
                    Method::PUT,
                    format!("{members}/{}", student.0),
                    Some(json!({"access": "read"})),
                ),
            ],
        ),
        (
            401,
            "invalid_token",
            "forged.token.here",
            vec![(Method::POST, files.clone(), Some(json!({"path": "t.py"})))],
        ),
        (
            404,
            "not_found",
            &student.1,
            vec![
                (Method::GET, "/hub/projects/424242".into(), None),
                (Method::GET, format!("{files}/424242"), None),
                (Method::GET, "/hub/projects/abc".into(), None),
                (Method::POST, "/hub/courses/424242/project".into(), None),
                (
                    Method::PUT,
                    format!("{members}/424242"),
                    Some(json!({"access": "read"})),
                ),
            ],
        ),
        (
            400,
            "not_websocket",
            &student.1,
            vec![(Method::GET, format!("/hub/projects/{project}/docs/1"), None)],
        ),
    ];
    for (status, code, token, requests) in checks {
        for (method, path, body) in requests {
            let (got, answer) = hub.call(method.clone(), &path, token, body).await;
            assert_eq!(
                (got, answer["error"]["code"].as_str()),
                (status, Some(code)),
                "{method} {path}: {answer}"
            );
            if code == "validation_failed" {
                assert!(
                    answer["error"]["field"].is_string(),
                    "{method} {path}: a validation error names its field: {answer}"
                );
            }
        }
    }
    let (status, body) = hub
        .call(Method::GET, "/hub/projects", &teacher.1, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["projects"][0]["access"], "read",
        "teachers read their course's projects"
    );
}
