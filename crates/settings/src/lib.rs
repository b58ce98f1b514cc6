//! Layered configuration for every service: built-in defaults < an optional file < environment
//! variables < Docker secret files. A missing or malformed setting is an error that names it.
//!
//! For a service with prefix `API`:
//! - the file is the one named by `API__CONFIG_FILE` (TOML), if set;
//! - `API__JWT_SECRET=…` sets `jwt_secret`; nested keys use `__` again (`API__LIMITS__TIME_MS`);
//! - each file in the secrets directory (`/run/secrets`, or `SECRETS_DIR`) sets the key named
//!   like the file, with surrounding whitespace trimmed, so `/run/secrets/jwt_secret` wins
//!   over everything else.
//!
//! Logging is configured from the environment the same way for every service
//! ([`init_tracing`]).

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

pub use secrecy::{ExposeSecret, SecretString};

/// Where Docker mounts secrets.
const DEFAULT_SECRETS_DIR: &str = "/run/secrets";

/// Why a service's settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("configuration: cannot read secret file {path}: {source}")]
    Secret {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration: `{key}` {problem}")]
    Rejected { key: &'static str, problem: String },
}

/// Loads the settings of the service whose environment prefix is `prefix` (`API`, `GRADER`…),
/// starting from `defaults` (TOML text shipped with the service).
pub fn load<T: DeserializeOwned>(prefix: &str, defaults: &str) -> Result<T, SettingsError> {
    let secrets_dir =
        std::env::var("SECRETS_DIR").unwrap_or_else(|_| DEFAULT_SECRETS_DIR.to_owned());
    let file = std::env::var(format!("{prefix}__CONFIG_FILE")).ok();
    load_from(prefix, defaults, file.as_deref(), Path::new(&secrets_dir))
}

/// [`load`] with the file and the secrets directory given explicitly.
pub fn load_from<T: DeserializeOwned>(
    prefix: &str,
    defaults: &str,
    file: Option<&str>,
    secrets_dir: &Path,
) -> Result<T, SettingsError> {
    let mut builder = Config::builder().add_source(File::from_str(defaults, FileFormat::Toml));
    if let Some(file) = file {
        builder = builder.add_source(File::new(file, FileFormat::Toml).required(true));
    }
    builder = builder.add_source(
        Environment::with_prefix(prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    for (key, value) in secret_files(secrets_dir)? {
        builder = builder.set_override(key, value)?;
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// The `(name, trimmed contents)` of every regular file in `dir`; none if `dir` is absent.
fn secret_files(dir: &Path) -> Result<Vec<(String, String)>, SettingsError> {
    let secret_error = |path: &Path, source| SettingsError::Secret {
        path: path.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(secret_error(dir, e)),
    };
    let mut secrets = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| secret_error(dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !path.is_file() || name.starts_with('.') {
            continue;
        }
        let value = std::fs::read_to_string(&path).map_err(|e| secret_error(&path, e))?;
        secrets.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(secrets)
}

/// Rejects a secret shorter than `min_len` bytes, naming its key.
pub fn require_min_len(
    key: &'static str,
    secret: &SecretString,
    min_len: usize,
) -> Result<(), SettingsError> {
    let len = secret.expose_secret().len();
    if len < min_len {
        return Err(SettingsError::Rejected {
            key,
            problem: format!("must be at least {min_len} bytes long (it has {len})"),
        });
    }
    Ok(())
}

/// Rejects the first of `values` (setting name, value) that is zero.
pub fn require_positive(values: &[(&'static str, u64)]) -> Result<(), SettingsError> {
    match values.iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(SettingsError::Rejected {
            key,
            problem: "must be greater than 0".into(),
        }),
        None => Ok(()),
    }
}

/// Installs the process's log subscriber: JSON lines when `LOG_FORMAT=json` (the stack),
/// readable lines otherwise; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Demo {
        port: u16,
        name: String,
        token: SecretString,
    }

    const DEFAULTS: &str = "port = 80\nname = \"default\"\n";

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("settings-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn secret_files_override_defaults_and_file() {
        let dir = temp_dir("layers");
        let file = dir.join("demo.toml");
        std::fs::write(&file, "name = \"from-file\"\ntoken = \"file-token\"\n").unwrap();
        let secrets = dir.join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::write(secrets.join("token"), "  secret-token\n").unwrap();

        let demo: Demo = load_from(
            "DEMO_LAYERS",
            DEFAULTS,
            Some(file.to_str().unwrap()),
            &secrets,
        )
        .unwrap();
        assert_eq!(demo.port, 80);
        assert_eq!(demo.name, "from-file");
        assert_eq!(demo.token.expose_secret(), "secret-token");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_setting_is_named() {
        let dir = temp_dir("missing");
        let err = load_from::<Demo>("DEMO_MISSING", DEFAULTS, None, &dir).unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_setting_is_named() {
        let dir = temp_dir("malformed");
        std::fs::write(dir.join("port"), "eighty").unwrap();
        std::fs::write(dir.join("token"), "t").unwrap();
        let err = load_from::<Demo>("DEMO_MALFORMED", DEFAULTS, None, &dir).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn short_secrets_are_rejected_without_printing_them() {
        let secret = SecretString::from("short");
        let err = require_min_len("jwt_secret", &secret, 32).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("jwt_secret") && !text.contains("short"),
            "{text}"
        );
    }
}
