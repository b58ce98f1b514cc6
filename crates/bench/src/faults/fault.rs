//! The faults: how each is injected, how long it is held, and how it is healed (the way an
//! orchestrator or an operator would: a killed process is started again, a stopped store is
//! started again, the Docker socket comes back, the ballast is deleted).

use super::platform::{Platform, Service};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, then a restart after the hold.
    Kill(Service),
    /// A clean stop of Redis (its append-only file written out), then a start.
    RestartRedis,
    /// A fast shutdown of Postgres, then a start.
    RestartPostgres,
    /// The grader's Docker socket refuses connections and drops the ones it had.
    DockerUnreachable,
    /// Redis at its `maxmemory` (kept topped up through the hold), then freed.
    FillRedis,
}

impl Fault {
    /// Every fault, in the order the campaign injects them.
    pub const ALL: [Fault; 8] = [
        Fault::Kill(Service::Api),
        Fault::Kill(Service::Grader),
        Fault::Kill(Service::Relay),
        Fault::Kill(Service::Hub),
        Fault::RestartRedis,
        Fault::RestartPostgres,
        Fault::DockerUnreachable,
        Fault::FillRedis,
    ];

    /// The name `--only` takes.
    pub fn name(self) -> String {
        match self {
            Fault::Kill(service) => format!("kill-{}", service.name()),
            Fault::RestartRedis => "restart-redis".into(),
            Fault::RestartPostgres => "restart-postgres".into(),
            Fault::DockerUnreachable => "docker-unreachable".into(),
            Fault::FillRedis => "fill-redis".into(),
        }
    }

    /// The table's words for it.
    pub fn label(self) -> String {
        let hold = self.hold().as_secs();
        match self {
            Fault::Kill(Service::Hub) => format!("SIGKILL hub (1 of 2), restarted after {hold} s"),
            Fault::Kill(service) => format!("SIGKILL {}, restarted after {hold} s", service.name()),
            Fault::RestartRedis => format!("restart Redis (append-only), down {hold} s"),
            Fault::RestartPostgres => format!("restart Postgres, down {hold} s"),
            Fault::DockerUnreachable => format!("Docker unreachable for {hold} s"),
            Fault::FillRedis => format!("Redis full (maxmemory) for {hold} s"),
        }
    }

    /// How long the fault lasts.
    pub fn hold(self) -> Duration {
        Duration::from_secs(match self {
            Fault::Kill(_) => 5,
            Fault::RestartRedis | Fault::RestartPostgres => 10,
            Fault::DockerUnreachable => 40,
            Fault::FillRedis => 20,
        })
    }

    /// Injects the fault and holds it; returns what the reader should know about it.
    pub async fn inject_and_hold(self, platform: &Platform) -> anyhow::Result<Option<String>> {
        let hold = self.hold();
        match self {
            Fault::Kill(service) => platform.process(service).kill().await,
            Fault::RestartRedis => platform.redis.stop().await,
            Fault::RestartPostgres => platform.postgres.stop().await,
            Fault::DockerUnreachable => platform.docker.cut(),
            Fault::FillRedis => return fill_for(platform, hold).await.map(Some),
        }
        tokio::time::sleep(hold).await;
        Ok(None)
    }

    pub async fn heal(self, platform: &Platform) -> anyhow::Result<()> {
        match self {
            Fault::Kill(service) => platform.process(service).resume(),
            Fault::RestartRedis => platform.redis.resume().await,
            Fault::RestartPostgres => platform.postgres.resume().await,
            Fault::DockerUnreachable => platform.docker.restore(),
            Fault::FillRedis => platform.redis.empty().await,
        }
    }
}

/// Keeps Redis full for `hold`, topping it up twice a second as the platform frees memory.
async fn fill_for(platform: &Platform, hold: Duration) -> anyhow::Result<String> {
    let until = tokio::time::Instant::now() + hold;
    let used = platform.redis.fill().await?;
    while tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        platform.redis.fill().await?;
    }
    Ok(format!(
        "Redis held at its limit ({} MiB used after the first fill)",
        used / (1 << 20)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_its_own_name() {
        let names: std::collections::HashSet<String> =
            Fault::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Fault::ALL.len());
    }
}
