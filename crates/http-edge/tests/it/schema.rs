//! The api and the hub are not ready until the database's schema has reached the migration
//! their code was written against (`db::SCHEMA_VERSION`, per `flyway_schema_history`): a
//! service started before the migration job finished takes no traffic.

use crate::Services;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::Value;
use testkit::Service;

/// `/readyz` of `service`: its status and body.
async fn readiness(service: &Service) -> (u16, Value) {
    let response = service.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Runs `sql` on the services' database.
async fn run(services: &Services, sql: &str) {
    let url = services.scratch.database().url();
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    conn.batch_execute(sql).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_hub_are_not_ready_before_their_schema_version() {
    let services = Services::start().await;
    let newest = db::SCHEMA_VERSION;
    for service in [&services.api, &services.hub] {
        let (status, body) = readiness(service).await;
        assert_eq!(
            (status, &body["schema"]),
            (200, &Value::from("ok")),
            "{body}"
        );
    }

    // As if the newest migration had not run yet (its retry still going).
    run(
        &services,
        &format!("UPDATE flyway_schema_history SET success = FALSE WHERE version = '{newest}'"),
    )
    .await;
    for service in [&services.api, &services.hub] {
        let (status, body) = readiness(service).await;
        assert_eq!(status, 503, "{body}");
        let schema = body["schema"].as_str().unwrap_or_default();
        assert!(
            schema.contains(&format!("this code needs V{newest}")),
            "{body}"
        );
        assert_eq!(body["database"], "ok", "{body}");
    }

    // Nothing migrated at all.
    run(
        &services,
        "ALTER TABLE flyway_schema_history RENAME TO history_aside",
    )
    .await;
    let (status, body) = readiness(&services.api).await;
    assert_eq!(status, 503);
    assert!(
        body["schema"]
            .as_str()
            .unwrap_or_default()
            .contains("no migration applied"),
        "{body}"
    );

    run(
        &services,
        &format!(
            "ALTER TABLE history_aside RENAME TO flyway_schema_history; \
             UPDATE flyway_schema_history SET success = TRUE WHERE version = '{newest}'"
        ),
    )
    .await;
    for service in [&services.api, &services.hub] {
        let (status, body) = readiness(service).await;
        assert_eq!(status, 200, "{body}");
    }
}
