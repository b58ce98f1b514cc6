//! The api binary as a child process, for what only a process of its own can show: how much
//! memory it takes (this test binary hosts many apis and tests at once). Only the settings a
//! test names are passed, as `API__*` variables; the rest are the built-in defaults.

use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use testkit::{probe, spawn, Scratch};

/// An api binary on the scratch's database and key prefix; killed when dropped.
pub struct ApiProcess {
    child: Child,
    pub base: String,
}

impl ApiProcess {
    /// Starts the binary with `overrides` (setting, value) and waits until it is ready.
    pub async fn start(scratch: &Scratch, overrides: &[(&str, &str)]) -> Self {
        let settings = spawn::api_settings(scratch);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
        // Only these settings count: none from the test's own environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("API__") {
                command.env_remove(key);
            }
        }
        let connections = [
            ("listen", format!("127.0.0.1:{port}")),
            (
                "database_url",
                settings.database_url.expose_secret().to_owned(),
            ),
            ("redis_url", settings.redis_url.expose_secret().to_owned()),
            ("jwt_secret", settings.jwt_secret.expose_secret().to_owned()),
            ("key_prefix", settings.key_prefix.clone()),
        ];
        let named = overrides.iter().map(|(k, v)| (*k, (*v).to_owned()));
        for (key, value) in connections.into_iter().chain(named) {
            command.env(format!("API__{}", key.to_ascii_uppercase()), value);
        }
        let child = command
            .env("SECRETS_DIR", "/nonexistent")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the api binary starts");
        let process = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        probe::wait_until_ready(&reqwest::Client::new(), &process.base).await;
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process's resident memory now (`VmRSS`), in KiB.
    pub fn resident_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// The most resident memory since [`reset_peak`](Self::reset_peak) (`VmHWM`), in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// Starts the peak over from the present (`clear_refs` 5, Linux ≥ 4.0).
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("the peak of our own child can be reset");
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the child's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in the child's status"))
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
