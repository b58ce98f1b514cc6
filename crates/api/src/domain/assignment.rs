//! An assignment as a teacher writes it. The request's schema carries the same bounds as
//! [`AssignmentRequest::validate`]; the runtime's list of names is added by the document
//! itself (`routes::docs`), from the catalogue the api runs with.

use crate::domain::text::{self, Text, Title, NUL};
use crate::error::ApiError;
use contracts::{RuntimeCatalog, TestCase};
use db::models::AssignmentFields;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer};
use std::ops::RangeInclusive;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::ToSchema;

const MAX_TESTS: usize = 100;
const MAX_HANDOUT_CHARS: usize = 64 * 1024;

/// The limits an assignment may set; the database's CHECK constraints say the same.
pub const TIME_LIMIT_MS: RangeInclusive<i32> = 100..=30_000;
pub const MEMORY_LIMIT_MB: RangeInclusive<i32> = 16..=1024;
pub const OUTPUT_LIMIT_KB: RangeInclusive<i32> = 1..=4096;
/// Positions a request may give; far from `i32::MAX`, so the next one after the last
/// never overflows.
pub const POSITION: RangeInclusive<i32> = 0..=1_000_000;

/// The body of create and update requests.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    #[schema(value_type = Title)]
    pub title: String,
    #[schema(schema_with = handout_schema)]
    pub handout: String,
    /// One of the runtimes the api offers.
    pub runtime: String,
    #[serde(default)]
    #[schema(value_type = Text)]
    pub starter_code: String,
    /// Position in the course; new assignments go last when omitted.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub position: Option<i32>,
    #[schema(schema_with = tests_schema)]
    pub tests: Vec<TestCase>,
    /// Per test, in milliseconds; 2000 when omitted.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 100, maximum = 30000)]
    pub time_limit_ms: Option<i32>,
    /// In MiB; 128 when omitted.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 16, maximum = 1024)]
    pub memory_limit_mb: Option<i32>,
    /// Per test, in KiB; 64 when omitted.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 4096)]
    pub output_limit_kb: Option<i32>,
}

impl AssignmentRequest {
    /// Checks every field; `default_position` is used when none is given.
    pub fn validate(
        self,
        runtimes: &RuntimeCatalog,
        default_position: i32,
    ) -> Result<AssignmentFields, ApiError> {
        let title = Title::parse(&self.title)?;
        if self.handout.chars().count() > MAX_HANDOUT_CHARS {
            return Err(ApiError::invalid(
                "handout",
                format!("the handout is over {MAX_HANDOUT_CHARS} characters"),
            ));
        }
        let handout = Text::parse("handout", self.handout)?;
        let starter_code = Text::parse("starter_code", self.starter_code)?;
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
        let within = |value: i32, range: RangeInclusive<i32>, field: &'static str| {
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
            // Only a position the request gives is checked; the default comes from the data.
            position: match self.position {
                Some(position) => within(position, POSITION, "position")?,
                None => default_position,
            },
            title: title.into_inner(),
            handout: handout.into_inner(),
            runtime: self.runtime,
            starter_code: starter_code.into_inner(),
            tests: serde_json::to_value(&self.tests)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            time_limit_ms: within(
                self.time_limit_ms.unwrap_or(2000),
                TIME_LIMIT_MS,
                "time_limit_ms",
            )?,
            memory_limit_mb: within(
                self.memory_limit_mb.unwrap_or(128),
                MEMORY_LIMIT_MB,
                "memory_limit_mb",
            )?,
            output_limit_kb: within(
                self.output_limit_kb.unwrap_or(64),
                OUTPUT_LIMIT_KB,
                "output_limit_kb",
            )?,
        })
    }
}

/// JSON Schema counts `2000.0` as an integer, so the api reads it as one too.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    let Some(number) = Option::<f64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if number.fract() != 0.0 || number < f64::from(i32::MIN) || number > f64::from(i32::MAX) {
        return Err(D::Error::invalid_value(
            Unexpected::Float(number),
            &"a whole number that fits in 32 bits",
        ));
    }
    Ok(Some(number as i32))
}

fn check_test(test: &TestCase, runtime_has_call: bool) -> Result<(), ApiError> {
    if test.name().trim().is_empty() {
        return Err(ApiError::invalid("tests", "every test needs a name"));
    }
    let texts: Vec<&str> = match test {
        TestCase::Io {
            name,
            stdin,
            expected_stdout,
            ..
        } => vec![name, stdin, expected_stdout],
        TestCase::Call {
            name,
            call,
            expected,
            raises,
            ..
        } => {
            if !runtime_has_call {
                return Err(ApiError::invalid(
                    "tests",
                    format!("test `{name}`: this runtime has no `call` tests"),
                ));
            }
            if call.trim().is_empty() || expected.is_some() == raises.is_some() {
                return Err(ApiError::invalid(
                    "tests",
                    format!(
                        "test `{name}`: give a `call` and exactly one of `expected` or `raises`"
                    ),
                ));
            }
            [name, call]
                .into_iter()
                .chain(expected)
                .chain(raises)
                .map(String::as_str)
                .collect()
        }
    };
    if texts.iter().any(|text| text.contains('\0')) {
        return Err(ApiError::invalid(
            "tests",
            format!("test `{}`: text cannot contain NUL characters", test.name()),
        ));
    }
    Ok(())
}

fn handout_schema() -> ObjectBuilder {
    Text::schema_up_to(MAX_HANDOUT_CHARS)
        .description(Some("Markdown, at most 65536 characters, no NUL."))
}

/// The tests as a request may give them: `contracts::TestCase` with the checks of
/// [`check_test`], a `call` test having exactly one of `expected` and `raises`.
fn tests_schema() -> ArrayBuilder {
    let kind = |kind: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([kind]))
    };
    let name =
        || text::string(text::not_blank_without(NUL)).description(Some("Shown to the student."));
    let free = || text::string(text::without(NUL));
    let hidden = || {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .default(Some(false.into()))
            .description(Some(
                "Students see only the name and outcome of a hidden test: never its input, \
                 expected value, or what their program printed for it.",
            ))
    };
    let io = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Run the program with `stdin`; its standard output must equal `expected_stdout` \
             (trailing whitespace on each line and at the end is ignored).",
        ))
        .property("kind", kind("io"))
        .required("kind")
        .property("name", name())
        .required("name")
        .property("stdin", free())
        .property("expected_stdout", free())
        .required("expected_stdout")
        .property("hidden", hidden());
    let call = |answer: &str, other: &str, description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(description))
            .property("kind", kind("call"))
            .required("kind")
            .property("name", name())
            .required("name")
            .property(
                "call",
                text::string(text::not_blank_without(NUL))
                    .description(Some("An expression such as `add(2, 3)`.")),
            )
            .required("call")
            .property(answer, free())
            .required(answer)
            .property(other, ObjectBuilder::new().schema_type(Type::Null))
            .property("hidden", hidden())
    };
    ArrayBuilder::new()
        .description(Some(
            "1 to 100 tests. `call` tests need a runtime that has them (python3 does).",
        ))
        .items(
            OneOfBuilder::new()
                .item(io)
                .item(call(
                    "expected",
                    "raises",
                    "Evaluate `call` against the submission's module; its value must equal \
                     the literal `expected`.",
                ))
                .item(call(
                    "raises",
                    "expected",
                    "Evaluate `call` against the submission's module; it must raise `raises`.",
                )),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_TESTS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::Limits;
    use serde_json::{json, Value};
    use utoipa::PartialSchema;

    fn schema_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    fn assert_bounds(schema: &Value, field: &str, range: &RangeInclusive<i32>) {
        let property = &schema["properties"][field];
        assert_eq!(
            property["minimum"],
            json!(range.start()),
            "{field}: {property}"
        );
        assert_eq!(
            property["maximum"],
            json!(range.end()),
            "{field}: {property}"
        );
    }

    #[test]
    fn the_schemas_carry_the_checked_limits() {
        let request = schema_of::<AssignmentRequest>();
        assert_bounds(&request, "time_limit_ms", &TIME_LIMIT_MS);
        assert_bounds(&request, "memory_limit_mb", &MEMORY_LIMIT_MB);
        assert_bounds(&request, "output_limit_kb", &OUTPUT_LIMIT_KB);
        assert_bounds(&request, "position", &POSITION);
        let limits = schema_of::<Limits>();
        assert_bounds(&limits, "time_ms", &TIME_LIMIT_MS);
        assert_bounds(&limits, "memory_mb", &MEMORY_LIMIT_MB);
        assert_bounds(&limits, "output_kb", &OUTPUT_LIMIT_KB);
    }

    fn request(body: Value) -> Result<AssignmentRequest, serde_json::Error> {
        serde_json::from_value(body)
    }

    fn body() -> Value {
        json!({
            "title": "Add", "handout": "", "runtime": "python3",
            "tests": [{"kind": "call", "name": "adds", "call": "add(1, 2)", "expected": "3"}],
        })
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let mut body = body();
        body["time_limit_ms"] = json!(2500.0);
        assert_eq!(request(body.clone()).unwrap().time_limit_ms, Some(2500));
        body["time_limit_ms"] = json!(2500.5);
        assert!(request(body.clone()).is_err());
        body["time_limit_ms"] = json!(1e12);
        assert!(request(body.clone()).is_err());
        body["time_limit_ms"] = Value::Null;
        assert_eq!(request(body).unwrap().time_limit_ms, None);
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        let mut body = body();
        body["memory_limit_mb"] = json!(15);
        let err = request(body)
            .unwrap()
            .validate(&RuntimeCatalog::builtin(), 0)
            .unwrap_err();
        assert_eq!(err.problem().code, http_edge::ErrorCode::ValidationFailed);
    }

    #[test]
    fn nul_anywhere_in_a_test_is_refused() {
        let catalog = RuntimeCatalog::builtin();
        assert!(request(body()).unwrap().validate(&catalog, 0).is_ok());
        let mut body = body();
        body["tests"][0]["expected"] = json!("3\u{0}");
        assert!(request(body).unwrap().validate(&catalog, 0).is_err());
    }
}
