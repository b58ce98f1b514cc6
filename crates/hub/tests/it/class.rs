//! Class presence: who of a course is online and where, across replicas, with tabs that
//! reconnect and hubs that die.

use crate::classroom::{start_hubs, Classroom, Store};
use crate::http::Hub;
use crate::process::HubProcess;
use contracts::progress::ProgressChanged;
use contracts::CourseId;
use std::time::{Duration, Instant};
use testkit::presence::url;
use testkit::{PresenceClient, Scratch, WAIT};
use tokens::Role;

fn presence(hub: &impl Hub, class: &Classroom, token: &str, tab: &str) -> String {
    url(&hub.url(""), class.course.0, token, tab)
}

#[tokio::test]
async fn two_users_on_two_replicas_see_each_other_and_where_they_may() {
    let (_scratch, _store, [a, b], class) = start_hubs(|_| {}).await;
    let owner = class.owner.0 .0;
    let mut owner_socket =
        PresenceClient::connect(&presence(&a, &class, &class.owner.1, "o")).await;
    let mut other = PresenceClient::connect(&presence(&b, &class, &class.other.1, "x")).await;
    let mut teacher = PresenceClient::connect(&presence(&b, &class, &class.teacher.1, "t")).await;

    assert!(
        owner_socket
            .until(WAIT, |c| c.person(class.other.0 .0)["online"] == true)
            .await,
        "the owner on one replica sees the other student on the other online"
    );
    owner_socket
        .move_to(class.project.0, Some(class.file.0))
        .await;
    assert!(
        teacher
            .until(WAIT, |c| c.person(owner)["path"] == "main.py")
            .await,
        "the teacher sees the file: {}",
        teacher.person(owner)
    );
    assert_eq!(teacher.person(owner)["file_id"], class.file.0);
    assert!(
        other
            .until(WAIT, |c| c.person(owner)["project_owner"] == owner)
            .await
    );
    let seen = other.person(owner);
    assert_eq!(seen["online"], true);
    assert!(
        seen["project_id"].is_null() && seen["path"].is_null(),
        "a classmate who may not read the project sees only whose it is: {seen}"
    );

    // A move to a project the student may not read is refused and changes nothing.
    other.move_to(class.project.0, None).await;
    assert!(other.until(WAIT, |c| !c.errors.is_empty()).await);
    assert!(teacher.person(class.other.0 .0)["project_owner"].is_null());

    owner_socket.close().await;
    assert!(
        other
            .until(WAIT, |c| c.person(owner)["online"] == false)
            .await,
        "a closed socket is offline at once"
    );
    assert!(other.person(owner)["last_seen"].is_string());
}

#[tokio::test]
async fn outsiders_see_nothing_and_bad_requests_are_named() {
    let (_scratch, store, [hub], class) = start_hubs(|_| {}).await;
    let outsider = store.user("outsider", Role::Student).await;
    let mut socket = PresenceClient::connect(&presence(&hub, &class, &outsider.1, "t")).await;
    let (code, reason) = socket.closed_with(WAIT).await;
    assert_eq!((code, reason.as_str()), (4006, "no such course"));
    assert!(socket.people.is_empty(), "an outsider is told of nobody");

    let missing = url(&hub.url(""), 999_999, &class.owner.1, "t");
    let mut socket = PresenceClient::connect(&missing).await;
    assert_eq!(socket.closed_with(WAIT).await.0, 4006);

    let no_token = format!(
        "ws://127.0.0.1:{}/hub/courses/{}/presence",
        hub.port(),
        class.course
    );
    let mut socket = PresenceClient::connect(&no_token).await;
    assert_eq!(socket.closed_with(WAIT).await.0, 4001);

    let mut socket = PresenceClient::connect(&presence(&hub, &class, &class.owner.1, "t")).await;
    socket.send(serde_json::json!({"type": "teleport"})).await;
    let (code, reason) = socket.closed_with(WAIT).await;
    assert_eq!(code, 4000);
    assert!(reason.contains("teleport"), "{reason}");

    let response = hub
        .http()
        .get(hub.url(&format!(
            "/hub/courses/{}/presence?token={}&tab=not%20a%20tab",
            class.course, class.owner.1
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "tab");
}

#[tokio::test]
async fn two_tabs_count_once_and_a_reconnecting_tab_takes_its_entry_over() {
    let (_scratch, _store, [a, b], class) = start_hubs(|_| {}).await;
    let owner = class.owner.0 .0;
    let mut teacher = PresenceClient::connect(&presence(&a, &class, &class.teacher.1, "t")).await;
    let mut first = PresenceClient::connect(&presence(&a, &class, &class.owner.1, "one")).await;
    let _second = PresenceClient::connect(&presence(&b, &class, &class.owner.1, "two")).await;
    assert!(teacher.until(WAIT, |c| c.person(owner)["tabs"] == 2).await);
    let owners = teacher
        .people
        .values()
        .filter(|p| p["user_id"] == owner)
        .count();
    assert_eq!(owners, 1, "one person with two tabs");

    // Tab "one" wakes up and reconnects through the other replica before its old socket ended.
    let _again = PresenceClient::connect(&presence(&b, &class, &class.owner.1, "one")).await;
    let (code, _) = first.closed_with(WAIT).await;
    assert_eq!(code, 4011, "the old socket of the tab is replaced");
    // Still two tabs, not three, and the old socket's close did not remove the new entry.
    let changed = teacher
        .until(Duration::from_secs(1), |c| c.person(owner)["tabs"] != 2)
        .await;
    assert!(!changed, "{}", teacher.person(owner));
}

#[tokio::test]
async fn following_is_seen_by_the_followed() {
    let (_scratch, _store, [a, b], class) = start_hubs(|_| {}).await;
    let (owner, other) = (class.owner.0 .0, class.other.0 .0);
    let mut followed = PresenceClient::connect(&presence(&a, &class, &class.owner.1, "o")).await;
    let mut follower = PresenceClient::connect(&presence(&b, &class, &class.other.1, "x")).await;
    follower.follow(Some(owner)).await;
    assert!(
        followed
            .until(WAIT, |c| c.person(other)["following"] == owner)
            .await
    );
    follower.follow(Some(other)).await;
    assert!(follower.until(WAIT, |c| !c.errors.is_empty()).await);
    follower.follow(None).await;
    assert!(
        followed
            .until(WAIT, |c| c.person(other)["following"].is_null())
            .await
    );
}

#[tokio::test]
async fn the_user_of_a_killed_hub_is_offline_for_the_others_within_a_minute() {
    let scratch = Scratch::new("hub").await;
    let store = Store::of(&scratch);
    let ttl = |s: &mut hub::settings::Settings| s.class_presence_ttl_ms = 6000;
    let mut doomed = HubProcess::start(&scratch, ttl).await;
    let survivor = HubProcess::start(&scratch, ttl).await;
    let class = Classroom::new(&store, &survivor).await;
    let owner = class.owner.0 .0;
    let mut watcher =
        PresenceClient::connect(&presence(&survivor, &class, &class.other.1, "w")).await;
    let _victim = PresenceClient::connect(&presence(&doomed, &class, &class.owner.1, "v")).await;
    assert!(
        watcher
            .until(WAIT, |c| c.person(owner)["online"] == true)
            .await
    );
    doomed.kill();
    let killed = Instant::now();
    assert!(
        watcher
            .until(Duration::from_secs(60), |c| c.person(owner)["online"]
                == false)
            .await,
        "still online a minute after its hub died"
    );
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "offline after {took:?}, expected within the time to live (6 s) and a sweep"
    );
    assert!(watcher.person(owner)["last_seen"].is_string());
}

#[tokio::test]
async fn the_apis_progress_announcements_reach_the_courses_teachers_only() {
    let (scratch, _store, [a, b], class) = start_hubs(|_| {}).await;
    let mut teacher = PresenceClient::connect(&presence(&a, &class, &class.teacher.1, "t")).await;
    let mut student = PresenceClient::connect(&presence(&b, &class, &class.other.1, "s")).await;
    let owner = class.owner.0;
    for socket in [&mut teacher, &mut student] {
        assert!(socket.until(WAIT, |c| !c.people.is_empty()).await);
    }

    // What the api publishes when it records a submission of the owner's.
    let pool = contracts::redis_pool(&scratch.redis_url, 1).unwrap();
    let announce = |course| ProgressChanged {
        course_id: course,
        user_id: owner,
    };
    announce(CourseId(class.course.0 + 1_000))
        .publish(&pool, &scratch.keys())
        .await
        .unwrap();
    announce(class.course)
        .publish(&pool, &scratch.keys())
        .await
        .unwrap();
    assert!(
        teacher.until(WAIT, |c| !c.progress.is_empty()).await,
        "the teacher is told"
    );
    assert_eq!(
        teacher.progress,
        [owner.0],
        "only the course's own announcement"
    );
    assert!(
        !student
            .until(Duration::from_secs(1), |c| !c.progress.is_empty())
            .await,
        "a student is not told of a classmate's progress"
    );
}
