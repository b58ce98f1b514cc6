//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every probe the
//! service registered passes within a deadline). The body names each probe with `"ok"` or
//! what failed, so an operator sees which dependency is missing.

use crate::Edge;
use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;
use futures_util::future::{join_all, BoxFuture};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long one probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The named checks that must pass for a service to take traffic.
#[derive(Clone, Default)]
pub struct Readiness {
    probes: Vec<(&'static str, Probe)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the check `name`: `probe` resolves to `Err(reason)` when it fails.
    pub fn with<F, Fut>(mut self, name: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.probes.push((
            name,
            Arc::new(move || Box::pin(probe()) as BoxFuture<'static, _>),
        ));
        self
    }

    /// Adds `redis`: [`ping_redis`] over `pool`.
    pub fn with_redis(self, pool: deadpool_redis::Pool) -> Self {
        self.with("redis", move || ping_redis(pool.clone()))
    }

    /// Adds `database`: [`ping_postgres`] over `pool`.
    pub fn with_postgres(self, pool: db::DbPool) -> Self {
        self.with("database", move || ping_postgres(pool.clone()))
    }

    /// Adds `schema`: [`schema_at`] `required` over `pool`.
    pub fn with_schema(self, pool: db::DbPool, required: i32) -> Self {
        self.with("schema", move || schema_at(pool.clone(), required))
    }

    /// Runs every probe at once; `true` when all passed, with each one's status.
    pub async fn check(&self) -> (bool, Map<String, Value>) {
        let outcomes = join_all(self.probes.iter().map(|(name, probe)| async move {
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, probe())
                .await
                .unwrap_or_else(|_| Err("timed out".into()));
            (*name, outcome)
        }))
        .await;
        let ready = outcomes.iter().all(|(_, outcome)| outcome.is_ok());
        let report = outcomes
            .into_iter()
            .map(|(name, outcome)| {
                (
                    name.to_owned(),
                    json!(outcome.err().unwrap_or_else(|| "ok".into())),
                )
            })
            .collect();
        (ready, report)
    }
}

/// Redis answers a `PING` over `pool`.
pub async fn ping_redis(pool: deadpool_redis::Pool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    deadpool_redis::redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Postgres answers a `SELECT 1` over `pool`.
pub async fn ping_postgres(pool: db::DbPool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The database's schema has reached migration `required` (per `flyway_schema_history`), so
/// the code's queries find their tables and columns: a service started before the migration
/// job finished takes no traffic.
pub async fn schema_at(pool: db::DbPool, required: i32) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    let applied = db::migrations::applied_version(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    match applied {
        Some(version) if version >= required => Ok(()),
        Some(version) => Err(format!(
            "the schema is at V{version}, this code needs V{required}: migrations pending"
        )),
        None => Err(format!(
            "no migration applied (flyway_schema_history is empty or missing), this code \
             needs V{required}"
        )),
    }
}

/// `/healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `/readyz`: 200 when every probe passes, else 503; the body names each probe's state.
pub async fn readyz(edge: web::Data<Edge>) -> HttpResponse {
    let (ready, report) = edge.readiness.check().await;
    if ready {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}
