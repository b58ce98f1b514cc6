//! Cache-aside for hot reads: JSON values in Redis with a TTL, deleted by every write that
//! changes them. A Redis failure never fails a read; it only costs a database query.
//!
//! Besides the generic [`Cache::get_or_load`], the reads and invalidations shared by the
//! routes and the results recorder live here, so neither reaches into the other.

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store;
use crate::views::{AssignmentSummary, AssignmentView, CourseListing};
use contracts::{AssignmentId, CourseId, Keys, UserId};
use db::DbPool;
use deadpool_redis::redis::AsyncCommands;
use deadpool_redis::Pool;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

#[derive(Clone)]
pub struct Cache {
    pool: Pool,
    enabled: bool,
    ttl_seconds: u64,
    metrics: Metrics,
}

impl Cache {
    pub fn new(pool: Pool, enabled: bool, ttl_seconds: u64, metrics: Metrics) -> Self {
        Self {
            pool,
            enabled,
            ttl_seconds,
            metrics,
        }
    }

    /// The cached value under `key`, or `load()`'s result, which is then cached.
    pub async fn get_or_load<T, F, Fut>(&self, key: &str, load: F) -> Result<T, ApiError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        if !self.enabled {
            return load().await;
        }
        if let Some(value) = self.get(key).await {
            self.metrics.cache_lookups.with_label_values(&["hit"]).inc();
            return Ok(value);
        }
        self.metrics
            .cache_lookups
            .with_label_values(&["miss"])
            .inc();
        let value = load().await?;
        self.set(key, &value).await;
        Ok(value)
    }

    /// Forgets `keys`; called after every write that changes what they hold.
    pub async fn invalidate(&self, keys: &[String]) {
        if !self.enabled || keys.is_empty() {
            return;
        }
        let deleted = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            conn.del::<_, ()>(keys).await.map_err(|e| e.to_string())
        };
        if let Err(error) = deleted.await {
            tracing::error!(%error, ?keys, "cache invalidation failed; entries expire by TTL");
        }
    }

    /// The assignment `id` with its tests, cached; callers strip what the user may not see.
    pub async fn assignment(
        &self,
        keys: &Keys,
        db: &DbPool,
        id: AssignmentId,
    ) -> Result<AssignmentView, ApiError> {
        self.get_or_load(&keys.cache_assignment(id), || async {
            let mut conn = db.get().await?;
            store::assignments::by_id(&mut conn, id.0)
                .await?
                .map(AssignmentView::full)
                .ok_or(ApiError::NotFound("assignment"))
        })
        .await
    }

    /// The course's assignment list and whether it is published, cached; 404 when there is
    /// no such course. Callers check that the user may see it.
    pub async fn course_listing(
        &self,
        keys: &Keys,
        db: &DbPool,
        course: CourseId,
    ) -> Result<CourseListing, ApiError> {
        self.get_or_load(&keys.cache_course_assignments(course), || async {
            let mut conn = db.get().await?;
            let published = store::courses::by_id(&mut conn, course.0)
                .await?
                .ok_or(ApiError::NotFound("course"))?
                .published;
            let all = store::assignments::of_course(&mut conn, course.0).await?;
            Ok(CourseListing {
                published,
                assignments: all.iter().map(AssignmentSummary::from).collect(),
            })
        })
        .await
    }

    /// Forgets the cached reads a change to the assignment `id` of `course` affects.
    pub async fn forget_assignment(&self, keys: &Keys, id: AssignmentId, course: CourseId) {
        self.invalidate(&[
            keys.cache_assignment(id),
            keys.cache_course_assignments(course),
        ])
        .await;
    }

    /// Forgets the cached reads a change to `user`'s submissions of `assignment` affects.
    pub async fn forget_submissions(&self, keys: &Keys, user: UserId, assignment: &AssignmentView) {
        self.invalidate(&[
            keys.cache_submissions(user, assignment.id),
            keys.cache_progress(user, assignment.course_id),
        ])
        .await;
    }

    async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut conn = self.pool.get().await.ok()?;
        let text: Option<String> = conn.get(key).await.ok()?;
        serde_json::from_str(&text?).ok()
    }

    async fn set<T: Serialize>(&self, key: &str, value: &T) {
        let Ok(text) = serde_json::to_string(value) else {
            return;
        };
        let stored = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            conn.set_ex::<_, _, ()>(key, text, self.ttl_seconds)
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(error) = stored.await {
            tracing::warn!(%error, key, "could not cache value");
        }
    }
}
