//! Questions pinned to code on two hub replicas: a Node y-websocket client edits the file
//! while the REST answers say where the thread is now; comments posted through both replicas
//! at once; who may see what.

use crate::classroom::{start_hubs, Classroom};
use crate::external::{External, Kind};
use crate::http::Hub;
use contracts::{ProjectChange, ProjectEvent, ThreadId};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{Scratch, WAIT};
use tokens::Role;

const CODE: &str = "def f():\n    return 1\n";

/// The owner's Node client on `hub`, synced, holding [`CODE`].
async fn owner_with_code(class: &Classroom, hub: &impl Hub) -> External {
    let mut ana = External::start(
        Kind::YWebsocket,
        "ana",
        &[hub.docs_url(class.project)],
        &class.file.to_string(),
        &class.owner.1,
    );
    ana.synced(WAIT).await;
    ana.insert(0, CODE).await;
    ana.wait_text(json!({"cmd": "wait_text", "equals": CODE}), WAIT)
        .await;
    ana
}

/// The two ends of UTF-16 range `from..to` of the client's text, as the page sends them.
async fn anchor(client: &mut External, from: usize, to: usize) -> Value {
    client
        .command(json!({"cmd": "anchor", "from": from, "to": to}))
        .await;
    let event = client.event(WAIT, |e| e["event"] == "anchor").await;
    json!({"start": event["start"], "end": event["end"]})
}

/// Asks about `    return 1` (line 2 of [`CODE`]) as the owner through `hub`.
async fn ask(class: &Classroom, hub: &impl Hub, ana: &mut External, visibility: &str) -> Value {
    let anchor = anchor(ana, 9, 21).await;
    let (status, thread) = hub
        .call(
            Method::POST,
            &format!("/hub/projects/{}/threads", class.project),
            &class.owner.1,
            Some(json!({"file_id": class.file, "anchor": anchor,
                        "body": "Why does this return 1?", "visibility": visibility})),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    thread
}

/// Reads the thread through `hub` until `done` holds for it.
async fn thread_until(
    hub: &impl Hub,
    token: &str,
    thread: &Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, seen) = hub
            .call(
                Method::GET,
                &format!("/hub/threads/{}", thread["id"]),
                token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{seen}");
        if done(&seen) {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many `thread_changed` events of `thread` the project's stream holds.
async fn announced(scratch: &Scratch, thread: ThreadId) -> usize {
    let deliveries = scratch
        .streams()
        .read_after::<ProjectEvent>(&scratch.keys().hub_project_events(), "0-0", 10_000, WAIT)
        .await
        .unwrap();
    deliveries
        .into_iter()
        .filter_map(|delivery| delivery.message.ok())
        .filter(|event| {
            matches!(event.change, ProjectChange::ThreadChanged { thread_id, .. } if thread_id == thread)
        })
        .count()
}

/// Posts comments `{who} 0`, `{who} 1`, … one after the other.
async fn post_comments(hub: &impl Hub, path: &str, token: &str, who: &str, count: usize) {
    for n in 0..count {
        let body = json!({ "body": format!("{who} {n}") });
        let (status, comment) = hub.call(Method::POST, path, token, Some(body)).await;
        assert_eq!(status, 201, "{comment}");
    }
}

fn id_of(thread: &Value) -> ThreadId {
    ThreadId(thread["id"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_moves_with_lines_inserted_above_and_keeps_its_quote_when_they_go() {
    let (scratch, _store, [first, second], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    let mut ana = owner_with_code(&class, &first).await;
    // Asked through the replica the client is not on: its document comes from the log.
    let thread = ask(&class, &second, &mut ana, "private").await;
    assert_eq!(thread["lines"], json!({"start": 2, "end": 2}));
    assert_eq!(thread["quote"], json!({"line": 2, "text": "    return 1"}));
    assert_eq!(thread["outdated"], false);
    assert_eq!(thread["comments"][0]["body"], "Why does this return 1?");
    assert_eq!(thread["path"], "main.py");

    let typed = std::time::Instant::now();
    ana.insert(0, "import os\n# two lines above\n").await;
    let moved = thread_until(&second, &class.owner.1, &thread, |t| {
        t["lines"]["start"] == 4
    })
    .await;
    assert_eq!(moved["lines"], json!({"start": 4, "end": 4}));
    eprintln!(
        "lines inserted on one replica → the thread on line 4 through the other: {:?}",
        typed.elapsed()
    );
    let on_first = thread_until(&first, &class.teacher.1, &thread, |_| true).await;
    assert_eq!(on_first["lines"], moved["lines"]);

    let text = format!("import os\n# two lines above\n{CODE}");
    let start = text.find("    return 1").unwrap();
    ana.command(json!({"cmd": "delete", "index": start, "length": 13}))
        .await;
    let gone = thread_until(&second, &class.owner.1, &thread, |t| t["outdated"] == true).await;
    assert_eq!(gone["lines"], Value::Null);
    assert_eq!(gone["quote"], json!({"line": 2, "text": "    return 1"}));
    assert_eq!(gone["comments"].as_array().unwrap().len(), 1);
    assert!(announced(&scratch, id_of(&thread)).await >= 1);
    ana.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_through_two_replicas_at_once_each_appear_once_in_order() {
    const EACH: usize = 12;
    let (scratch, _store, [first, second], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    let mut ana = owner_with_code(&class, &first).await;
    let thread = ask(&class, &first, &mut ana, "private").await;
    let path = format!("/hub/threads/{}/comments", thread["id"]);
    let posting = std::time::Instant::now();
    tokio::join!(
        post_comments(&first, &path, &class.owner.1, "owner", EACH),
        post_comments(&second, &path, &class.teacher.1, "teacher", EACH),
    );

    eprintln!(
        "{} comments posted through two replicas in {:?}",
        2 * EACH,
        posting.elapsed()
    );
    let seen = thread_until(&second, &class.owner.1, &thread, |_| true).await;
    let bodies: Vec<&str> = seen["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 1 + 2 * EACH, "{bodies:?}");
    for who in ["owner", "teacher"] {
        let theirs: Vec<&str> = bodies
            .iter()
            .copied()
            .filter(|b| b.starts_with(who))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|n| format!("{who} {n}")).collect();
        assert_eq!(theirs, expected, "{who}'s comments, once each and in order");
    }
    let ids: Vec<i64> = seen["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(announced(&scratch, id_of(&thread)).await, 1 + 2 * EACH);
    ana.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classmate_gets_404_for_a_private_thread_and_an_outsider_sees_none() {
    let (scratch, store, [hub], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    let mut ana = owner_with_code(&class, &hub).await;
    let thread = ask(&class, &hub, &mut ana, "private").await;
    let (one, list) = (
        format!("/hub/threads/{}", thread["id"]),
        format!("/hub/projects/{}/threads", class.project),
    );
    let classmate = &class.other.1;
    let outsider = store.user("outsider", Role::Student).await.1;

    let (status, body) = hub.call(Method::GET, &one, classmate, None).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    let (status, body) = hub.call(Method::GET, &list, classmate, None).await;
    assert_eq!((status, body), (200, json!({"threads": []})));
    let reply = Some(json!({"body": "me too"}));
    let (status, _) = hub
        .call(
            Method::POST,
            &format!("{one}/comments"),
            classmate,
            reply.clone(),
        )
        .await;
    assert_eq!(status, 404);

    // Shown to the course: the classmate reads and replies, but does not resolve.
    let to_course = Some(json!({"visibility": "course"}));
    let (status, shown) = hub
        .call(Method::PATCH, &one, &class.owner.1, to_course)
        .await;
    assert_eq!((status, &shown["visibility"]), (200, &json!("course")));
    let (status, body) = hub.call(Method::GET, &list, classmate, None).await;
    assert_eq!(
        (status, body["threads"].as_array().unwrap().len()),
        (200, 1)
    );
    let (status, comment) = hub
        .call(Method::POST, &format!("{one}/comments"), classmate, reply)
        .await;
    assert_eq!(status, 201, "{comment}");
    let resolve = Some(json!({"resolved": true}));
    let (status, _) = hub
        .call(Method::PATCH, &one, classmate, resolve.clone())
        .await;
    assert_eq!(status, 403);

    // Someone outside the course sees none of it, course-wide or not.
    for path in [&one, &list] {
        let (status, body) = hub.call(Method::GET, path, &outsider, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (_, inbox) = hub.call(Method::GET, "/hub/inbox", &outsider, None).await;
    assert_eq!(inbox, json!({"threads": []}));
    let anchor = anchor(&mut ana, 0, 3).await;
    let asked = json!({"file_id": class.file, "anchor": anchor, "body": "?"});
    let (status, _) = hub
        .call(Method::POST, &list, &outsider, Some(asked.clone()))
        .await;
    assert_eq!(status, 404);
    let (status, _) = hub.call(Method::POST, &list, classmate, Some(asked)).await;
    assert_eq!(status, 403);

    // Comments: only their author edits; a teacher removes anyone's.
    let mine = format!("/hub/comments/{}", comment["id"]);
    let edit = Some(json!({"body": "me too, on line 2"}));
    let (status, _) = hub
        .call(Method::PATCH, &mine, &class.owner.1, edit.clone())
        .await;
    assert_eq!(status, 403);
    let (status, edited) = hub.call(Method::PATCH, &mine, classmate, edit).await;
    assert_eq!(
        (status, &edited["body"]),
        (200, &json!("me too, on line 2"))
    );
    assert!(edited["edited_at"].is_string());
    let (status, _) = hub.call(Method::DELETE, &mine, &class.owner.1, None).await;
    assert_eq!(status, 403);
    let (status, _) = hub
        .call(Method::DELETE, &mine, &class.teacher.1, None)
        .await;
    assert_eq!(status, 204);

    // The teacher's inbox lists it until the asker resolves it.
    let (_, inbox) = hub
        .call(Method::GET, "/hub/inbox", &class.teacher.1, None)
        .await;
    assert_eq!(inbox["threads"][0]["id"], thread["id"]);
    assert_eq!(inbox["threads"][0]["lines"], json!({"start": 2, "end": 2}));
    let (status, resolved) = hub.call(Method::PATCH, &one, &class.owner.1, resolve).await;
    assert_eq!((status, &resolved["resolved"]), (200, &json!(true)));
    let (_, inbox) = hub
        .call(Method::GET, "/hub/inbox", &class.teacher.1, None)
        .await;
    assert_eq!(inbox, json!({"threads": []}));
    assert!(announced(&scratch, id_of(&thread)).await >= 5);
    ana.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_threads_are_refused_naming_the_field() {
    let (_scratch, _store, [hub], class) = start_hubs(|s| s.sync_quiet_ms = 100).await;
    let mut ana = owner_with_code(&class, &hub).await;
    let good = anchor(&mut ana, 9, 21).await;
    let empty = anchor(&mut ana, 4, 4).await;
    let path = format!("/hub/projects/{}/threads", class.project);
    let cases = [
        (
            json!({"start": "%%", "end": good["end"]}),
            "?",
            "anchor.start",
        ),
        (
            json!({"start": good["start"], "end": "AAAA"}),
            "?",
            "anchor.end",
        ),
        (empty, "?", "anchor"),
        (good.clone(), "  ", "body"),
        (good.clone(), &*"x".repeat(10_001), "body"),
    ];
    for (anchor, body, field) in cases {
        let request = json!({"file_id": class.file, "anchor": anchor, "body": body});
        let (status, answer) = hub
            .call(Method::POST, &path, &class.owner.1, Some(request))
            .await;
        assert_eq!(
            (status, &answer["error"]["field"]),
            (422, &json!(field)),
            "{answer}"
        );
    }
    let request = json!({"file_id": class.file, "anchor": good, "body": "?", "visibility": "all"});
    let (status, answer) = hub
        .call(Method::POST, &path, &class.owner.1, Some(request))
        .await;
    assert_eq!(
        (status, &answer["error"]["field"]),
        (422, &json!("visibility"))
    );
    let (status, answer) = hub
        .call(
            Method::GET,
            &format!("{path}?state=later"),
            &class.owner.1,
            None,
        )
        .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (400, &json!("bad_request"))
    );
    ana.quit().await;
}
