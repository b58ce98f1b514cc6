//! A fault on our side (here: a table gone from under a running service) answers 500 with a
//! request id and nothing about the cause; the log line with that id names the cause.

use crate::{logs, Services};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::Value;
use testkit::Service;

async fn break_table(services: &Services, table: &str) {
    let mut conn = AsyncPgConnection::establish(services.scratch.database().url())
        .await
        .unwrap();
    conn.batch_execute(&format!("DROP TABLE {table} CASCADE"))
        .await
        .unwrap();
}

/// Sends `GET path` and checks the 500; returns its request id.
async fn expect_opaque_500(service: &Service, path: &str, token: &str, hidden: &[&str]) -> String {
    let response = reqwest::Client::new()
        .get(service.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "internal_error", "{text}");
    assert_eq!(body["error"]["request_id"], header.as_str(), "{text}");
    for word in hidden {
        assert!(!text.contains(word), "the body gives away {word:?}: {text}");
    }
    header
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_returns_a_request_id_and_the_log_names_the_cause() {
    let services = Services::start().await;
    let token = services
        .scratch
        .token(contracts::UserId(1), tokens::Role::Student);
    break_table(&services, "courses").await;
    break_table(&services, "projects").await;

    let cases = [
        (&services.api, "/api/courses", "courses"),
        (&services.hub, "/hub/projects", "projects"),
    ];
    for (service, path, table) in cases {
        let id = expect_opaque_500(service, path, &token, &["relation", table, "database"]).await;
        let lines = logs::lines_with(&id);
        assert!(
            lines
                .iter()
                .any(|line| line.contains("request failed")
                    && line.contains(&format!("\"{table}\""))),
            "no log line with request id {id} names the missing relation {table}: {lines:#?}"
        );
    }
}
