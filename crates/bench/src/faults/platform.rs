//! The platform as the campaign runs it: its own Postgres and Redis, the Docker proxy, then the
//! release binaries each as its own process (one api, grader and relay, two hub replicas),
//! configured through environment variables as `deploy/up.sh` configures them through secret
//! files, each on a free loopback port.

use super::docker_proxy::{DockerProxy, DOCKER_SOCKET};
use super::postgres::Postgres;
use super::redis::Redis;
use super::supervise::{run_once, wait_until, Supervised};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A platform service the campaign can kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Api,
    Grader,
    Relay,
    /// The first hub replica; editors fail over to the second.
    Hub,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Api => "api",
            Service::Grader => "grader",
            Service::Relay => "relay",
            Service::Hub => "hub",
        }
    }
}

/// Where the release binaries and the migrations are.
pub struct Build {
    pub bin_dir: PathBuf,
    pub migrations: PathBuf,
    pub sandbox_tag: String,
}

pub struct Platform {
    pub postgres: Postgres,
    pub redis: Redis,
    pub docker: DockerProxy,
    pub api: Supervised,
    pub grader: Supervised,
    pub relay: Supervised,
    pub hubs: [Supervised; 2],
    pub api_url: String,
    pub relay_url: String,
    /// HTTP base URLs of the two hub replicas.
    pub hub_urls: [String; 2],
    /// Every service's health address, for the readiness wait.
    ready_urls: Vec<String>,
}

impl Platform {
    /// Starts everything, migrates the database and waits until every service is ready.
    pub async fn start(build: &Build, work: &Path, logs: &Path) -> anyhow::Result<Self> {
        for binary in ["api", "grader", "relay", "hub", "migrate"] {
            let path = build.bin_dir.join(binary);
            anyhow::ensure!(
                path.exists(),
                "{} is missing: cargo build --release -p db -p api -p grader -p relay -p hub",
                path.display()
            );
        }
        let postgres = Postgres::start(work, logs).await?;
        migrate(build, &postgres.url()).await?;
        let redis = Redis::start(work, logs).await?;
        let docker = DockerProxy::start(&work.join("docker.sock"), Path::new(DOCKER_SOCKET))?;

        let jwt = random_secret()?;
        let (database, redis_url) = (postgres.url(), redis.url());
        let ports = [(); 5].map(|()| free_port());
        let [api_port, grader_port, relay_port, hub_a, hub_b] = ports;
        let (api_port, grader_port, relay_port) = (api_port?, grader_port?, relay_port?);
        let hub_ports = [hub_a?, hub_b?];
        let bin = &build.bin_dir;
        let service = |binary: &str, name: &str, settings: &[(&str, &str)]| {
            service(bin, logs, binary, name, settings)
        };

        let api = service(
            "api",
            "api",
            &[
                ("LISTEN", &listen(api_port)),
                ("DATABASE_URL", &database),
                ("REDIS_URL", &redis_url),
                ("JWT_SECRET", &jwt),
            ],
        )?;
        let grader = service(
            "grader",
            "grader",
            &[
                ("LISTEN", &listen(grader_port)),
                ("REDIS_URL", &redis_url),
                ("SANDBOX_TAG", &build.sandbox_tag),
                ("DOCKER_HOST", &docker.docker_host()),
            ],
        )?;
        let relay = service(
            "relay",
            "relay",
            &[
                ("LISTEN", &listen(relay_port)),
                ("REDIS_URL", &redis_url),
                ("JWT_SECRET", &jwt),
            ],
        )?;
        let hub = |i: usize| {
            service(
                "hub",
                &format!("hub-{i}"),
                &[
                    ("LISTEN", &listen(hub_ports[i])),
                    ("DATABASE_URL", &database),
                    ("REDIS_URL", &redis_url),
                    ("JWT_SECRET", &jwt),
                ],
            )
        };
        let hubs = [hub(0)?, hub(1)?];
        let platform = Self {
            postgres,
            redis,
            docker,
            api,
            grader,
            relay,
            hubs,
            api_url: format!("http://127.0.0.1:{api_port}"),
            relay_url: format!("ws://127.0.0.1:{relay_port}/ws"),
            hub_urls: hub_ports.map(|port| format!("http://127.0.0.1:{port}")),
            ready_urls: [
                api_port,
                grader_port,
                relay_port,
                hub_ports[0],
                hub_ports[1],
            ]
            .map(|port| format!("http://127.0.0.1:{port}/readyz"))
            .to_vec(),
        };
        platform.wait_until_ready().await?;
        Ok(platform)
    }

    /// Waits until every service answers `/readyz` with 200.
    pub async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        for url in &self.ready_urls {
            wait_until(&format!("{url} ready"), READY_TIMEOUT, || async {
                matches!(http.get(url).send().await, Ok(answer) if answer.status().is_success())
            })
            .await?;
        }
        Ok(())
    }

    /// The process of `service`.
    pub fn process(&self, service: Service) -> &Supervised {
        match service {
            Service::Api => &self.api,
            Service::Grader => &self.grader,
            Service::Relay => &self.relay,
            Service::Hub => &self.hubs[0],
        }
    }

    /// Every service process (not the stores).
    pub fn services(&self) -> [&Supervised; 5] {
        [
            &self.api,
            &self.grader,
            &self.relay,
            &self.hubs[0],
            &self.hubs[1],
        ]
    }

    /// Every process, the services first and the stores last.
    pub fn processes(&self) -> Vec<&Supervised> {
        let mut all = self.services().to_vec();
        all.extend([self.redis.supervised(), self.postgres.supervised()]);
        all
    }

    /// Stops every process gracefully, services first (the grader while it can reach Docker
    /// to remove its containers, even if interrupted during that fault), the stores last.
    pub async fn stop(&self) {
        let _ = self.docker.restore();
        for service in self.services() {
            service.stop(libc::SIGTERM).await;
        }
        self.docker.cut();
        self.redis.stop().await;
        self.postgres.stop().await;
    }
}

/// Release binary `binary` as a supervised process called `name`, with `settings` given as
/// `<BINARY>__<KEY>` variables (no secret files: `SECRETS_DIR` points nowhere).
fn service(
    bin: &Path,
    logs: &Path,
    binary: &str,
    name: &str,
    settings: &[(&str, &str)],
) -> anyhow::Result<Supervised> {
    let prefix = binary.to_uppercase();
    let vars: Vec<(String, String)> = settings
        .iter()
        .map(|(key, value)| (format!("{prefix}__{key}"), (*value).to_owned()))
        .chain([
            ("SECRETS_DIR".to_owned(), "/nonexistent".to_owned()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ])
        .collect();
    let program = bin.join(binary);
    Supervised::start(name, logs, move || {
        let mut command = Command::new(&program);
        command.envs(vars.iter().map(|(k, v)| (k, v)));
        command
    })
}

/// Applies the migrations with the `migrate` binary.
async fn migrate(build: &Build, database_url: &str) -> anyhow::Result<()> {
    let mut migrate = Command::new(build.bin_dir.join("migrate"));
    migrate
        .arg(&build.migrations)
        .env("DATABASE_URL", database_url);
    run_once(&mut migrate, "migrate").await
}

fn listen(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// 48 random bytes as hex: the run's token key.
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 48];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
