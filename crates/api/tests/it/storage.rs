//! Redis near its memory limit: new submissions are refused with 503 `storage_full`, and
//! accepted again once memory frees, without restarting anything.

use crate::app::TestApp;
use http_edge::storage::READING_TTL;
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::RedisServer;

#[tokio::test]
async fn a_nearly_full_redis_refuses_submissions_until_memory_frees() {
    let redis = RedisServer::start();
    let app = TestApp::on_redis(&redis.url()).await;
    let (student, _) = app.guest().await;
    let (_, assignments) = app.seeded_course(&student).await;
    let submit = format!("/api/assignments/{}/submissions", assignments[0]);
    let body = || Some(json!({"code": "print('Hello, World!')"}));
    let accepted = || {
        let created = StatusCode::ACCEPTED;
        app.expect(Method::POST, &submit, Some(&student), body(), created)
    };
    accepted().await;

    // Above the api's high water (0.9 of maxmemory), below the limit itself.
    let filler = redis.fill(8 * 1024 * 1024, 0.95);
    tokio::time::sleep(READING_TTL).await;
    let refused = app
        .send(Method::POST, &submit, Some(&student), body())
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "storage_full", "{refused}");
    // Reading is still work the platform does.
    let mine = app.get(&submit, &student).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "nothing was stored");

    filler.remove();
    tokio::time::sleep(READING_TTL).await;
    accepted().await;
    assert_eq!(
        app.get(&submit, &student).await.as_array().unwrap().len(),
        2
    );
}
