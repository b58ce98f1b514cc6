//! An assignment as a teacher writes it.

use crate::error::ApiError;
use contracts::{RuntimeCatalog, TestCase};
use db::models::AssignmentFields;
use serde::Deserialize;
use utoipa::ToSchema;

const MAX_TESTS: usize = 100;
const MAX_HANDOUT_BYTES: usize = 64 * 1024;

/// The body of create and update requests.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    pub title: String,
    /// Markdown.
    pub handout: String,
    pub runtime: String,
    #[serde(default)]
    pub starter_code: String,
    /// Position in the course; new assignments go last when omitted.
    #[serde(default)]
    pub position: Option<i32>,
    pub tests: Vec<TestCase>,
    #[serde(default)]
    pub time_limit_ms: Option<i32>,
    #[serde(default)]
    pub memory_limit_mb: Option<i32>,
    #[serde(default)]
    pub output_limit_kb: Option<i32>,
}

impl AssignmentRequest {
    /// Checks every field; `default_position` is used when none is given.
    pub fn validate(
        self,
        runtimes: &RuntimeCatalog,
        default_position: i32,
    ) -> Result<AssignmentFields, ApiError> {
        let title = self.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ApiError::invalid(
                "title",
                "a title has 1 to 200 characters",
            ));
        }
        if self.handout.len() > MAX_HANDOUT_BYTES {
            return Err(ApiError::invalid("handout", "the handout is over 64 KiB"));
        }
        let runtime = runtimes.get(&self.runtime).ok_or_else(|| {
            ApiError::invalid(
                "runtime",
                format!(
                    "unknown runtime `{}`; known: {}",
                    self.runtime,
                    runtimes.names().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        if self.tests.is_empty() || self.tests.len() > MAX_TESTS {
            return Err(ApiError::invalid(
                "tests",
                format!("an assignment has 1 to {MAX_TESTS} tests"),
            ));
        }
        for test in &self.tests {
            check_test(test, runtime.call.is_some())?;
        }
        let limit = |value: Option<i32>,
                     default: i32,
                     range: std::ops::RangeInclusive<i32>,
                     field: &'static str| {
            let value = value.unwrap_or(default);
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(ApiError::invalid(
                    field,
                    format!("must be between {} and {}", range.start(), range.end()),
                ))
            }
        };
        Ok(AssignmentFields {
            position: self.position.unwrap_or(default_position),
            title,
            handout: self.handout,
            runtime: self.runtime,
            starter_code: self.starter_code,
            tests: serde_json::to_value(&self.tests)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            time_limit_ms: limit(self.time_limit_ms, 2000, 100..=30_000, "time_limit_ms")?,
            memory_limit_mb: limit(self.memory_limit_mb, 128, 16..=1024, "memory_limit_mb")?,
            output_limit_kb: limit(self.output_limit_kb, 64, 1..=4096, "output_limit_kb")?,
        })
    }
}

fn check_test(test: &TestCase, runtime_has_call: bool) -> Result<(), ApiError> {
    if test.name().trim().is_empty() {
        return Err(ApiError::invalid("tests", "every test needs a name"));
    }
    if let TestCase::Call {
        name,
        call,
        expected,
        raises,
    } = test
    {
        if !runtime_has_call {
            return Err(ApiError::invalid(
                "tests",
                format!("test `{name}`: this runtime has no `call` tests"),
            ));
        }
        if call.trim().is_empty() || expected.is_some() == raises.is_some() {
            return Err(ApiError::invalid(
                "tests",
                format!("test `{name}`: give a `call` and exactly one of `expected` or `raises`"),
            ));
        }
    }
    Ok(())
}
