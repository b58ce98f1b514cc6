//! The runtime catalogue: which languages exist and how the sandbox runs them. It is data
//! (`runtimes.toml`), so adding a language is adding an entry.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The catalogue shipped with the platform.
const BUILTIN: &str = include_str!("../runtimes.toml");

/// How to build and run programs of one language in the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// Image repository; the grader adds the sandbox tag it was configured with.
    pub image: String,
    /// Name the submission is saved under.
    pub file_name: String,
    #[serde(default)]
    pub compile: Option<Vec<String>>,
    pub run: Vec<String>,
    #[serde(default)]
    pub call: Option<Vec<String>>,
}

/// The name of a runtime that exists in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RuntimeName(String);

impl RuntimeName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuntimeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// All known runtimes by name.
#[derive(Clone, Debug)]
pub struct RuntimeCatalog {
    runtimes: BTreeMap<String, Runtime>,
}

impl RuntimeCatalog {
    /// The catalogue compiled into the binaries.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN).expect("the built-in runtimes.toml is valid")
    }

    /// Parses a catalogue; every entry needs at least a non-empty `run` command.
    pub fn parse(text: &str) -> Result<Self, String> {
        let runtimes: BTreeMap<String, Runtime> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some((name, _)) = runtimes.iter().find(|(_, r)| r.run.is_empty()) {
            return Err(format!("runtime `{name}` has an empty `run` command"));
        }
        Ok(Self { runtimes })
    }

    /// Checks that `name` is a known runtime.
    pub fn name(&self, name: &str) -> Option<RuntimeName> {
        self.runtimes
            .contains_key(name)
            .then(|| RuntimeName(name.to_owned()))
    }

    /// The runtime called `name`.
    pub fn get(&self, name: &str) -> Option<&Runtime> {
        self.runtimes.get(name)
    }

    /// The names of all runtimes, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.runtimes.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_has_python_with_call_tests() {
        let catalog = RuntimeCatalog::builtin();
        let python = catalog.get("python3").expect("python3 runtime");
        assert_eq!(python.file_name, "solution.py");
        assert!(python.call.is_some());
        assert_eq!(catalog.name("python3").unwrap().as_str(), "python3");
        assert!(catalog.name("cobol").is_none());
    }

    #[test]
    fn a_runtime_without_a_run_command_is_rejected() {
        let err =
            RuntimeCatalog::parse("[x]\nimage = \"i\"\nfile_name = \"a\"\nrun = []\n").unwrap_err();
        assert!(err.contains("`x`"), "{err}");
    }
}
