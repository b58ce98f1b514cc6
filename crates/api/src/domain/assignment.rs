//! An assignment as a teacher writes it, inside the bounds the operator sets ([`Bounds`]).
//! The request's schema carries the same limits as [`AssignmentRequest::validate`]: the
//! database's own in the derived schema, narrowed to the configured bounds and completed with
//! the runtime names by the document itself (`routes::docs`), from the settings the api runs
//! with.

use crate::domain::text::{self, Text, Title, NUL};
use crate::error::ApiError;
use contracts::{Limits, RuntimeCatalog, TestCase};
use db::models::AssignmentFields;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer};
use std::ops::RangeInclusive;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// The most tests any assignment may have, whatever the settings say.
const MAX_TESTS: usize = 100;
const MAX_HANDOUT_CHARS: usize = 64 * 1024;

/// The limits an assignment may set; the database's CHECK constraints say the same.
pub const TIME_LIMIT_MS: RangeInclusive<i32> = 100..=30_000;
pub const MEMORY_LIMIT_MB: RangeInclusive<i32> = 16..=1024;
pub const OUTPUT_LIMIT_KB: RangeInclusive<i32> = 1..=4096;
/// Positions a request may give; far from `i32::MAX`, so the next one after the last
/// never overflows.
pub const POSITION: RangeInclusive<i32> = 0..=1_000_000;

/// What the operator lets teachers set (the api's `max_*` settings), so that no assignment
/// makes grading one submission take minutes or gigabytes. Each bound lies within the
/// database's limits above and is at least what an assignment gets when it names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub tests: usize,
    pub time_limit_ms: i32,
    pub memory_limit_mb: i32,
    pub output_limit_kb: i32,
    /// The number of tests times the time limit: what grading one submission may take.
    pub grading_time_ms: i64,
}

impl Bounds {
    /// Checks each bound; an error names the setting at fault and what it must be.
    pub fn new(
        tests: u64,
        time_limit_ms: u64,
        memory_limit_mb: u64,
        output_limit_kb: u64,
        grading_time_ms: u64,
    ) -> Result<Self, (&'static str, String)> {
        let defaults = Limits::default();
        let within = |key: &'static str, value: u64, least: u64, most: i64| {
            let most = most as u64;
            if (least..=most).contains(&value) {
                Ok(value)
            } else {
                Err((key, format!("must be between {least} and {most}")))
            }
        };
        let most = |range: &RangeInclusive<i32>| i64::from(*range.end());
        Ok(Self {
            tests: within("max_tests_per_assignment", tests, 1, MAX_TESTS as i64)? as usize,
            time_limit_ms: within(
                "max_time_limit_ms",
                time_limit_ms,
                defaults.time_ms.into(),
                most(&TIME_LIMIT_MS),
            )? as i32,
            memory_limit_mb: within(
                "max_memory_limit_mb",
                memory_limit_mb,
                defaults.memory_mb.into(),
                most(&MEMORY_LIMIT_MB),
            )? as i32,
            output_limit_kb: within(
                "max_output_limit_kb",
                output_limit_kb,
                defaults.output_kb.into(),
                most(&OUTPUT_LIMIT_KB),
            )? as i32,
            grading_time_ms: within(
                "max_grading_time_ms",
                grading_time_ms,
                defaults.time_ms.into(),
                MAX_TESTS as i64 * most(&TIME_LIMIT_MS),
            )? as i64,
        })
    }

    /// Narrows the request's derived schema (`AssignmentRequest` in the document) to these
    /// bounds, so that the document accepts what [`AssignmentRequest::validate`] does. The
    /// total grading time, a product of two fields, is said in words only.
    pub fn narrow(&self, request: &mut Object) {
        let maxima = [
            ("time_limit_ms", self.time_limit_ms),
            ("memory_limit_mb", self.memory_limit_mb),
            ("output_limit_kb", self.output_limit_kb),
        ];
        for (field, most) in maxima {
            if let Some(RefOr::T(Schema::Object(property))) = request.properties.get_mut(field) {
                property.maximum = Some((most as isize).into());
            }
        }
        if let Some(RefOr::T(Schema::Array(tests))) = request.properties.get_mut("tests") {
            tests.max_items = Some(self.tests);
        }
        request.description = Some(format!(
            "An assignment. The number of tests times `time_limit_ms` is at most {} ms: how \
             long grading one submission may take.",
            self.grading_time_ms
        ));
    }
}

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
    /// Checks every field against `bounds`; `default_position` is used when none is given.
    pub fn validate(
        self,
        runtimes: &RuntimeCatalog,
        bounds: &Bounds,
        default_position: i32,
    ) -> Result<AssignmentFields, ApiError> {
        let title = Title::parse(&self.title)?;
        let handout = parse_handout(self.handout)?;
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
        if self.tests.is_empty() || self.tests.len() > bounds.tests {
            return Err(ApiError::invalid(
                "tests",
                format!("an assignment has 1 to {} tests", bounds.tests),
            ));
        }
        for test in &self.tests {
            check_test(test, runtime.call.is_some())?;
        }
        let within = |value: i32, least: i32, most: i32, field: &'static str| {
            if (least..=most).contains(&value) {
                Ok(value)
            } else {
                Err(ApiError::invalid(
                    field,
                    format!("must be between {least} and {most}"),
                ))
            }
        };
        let defaults = Limits::default();
        let time_limit_ms = within(
            self.time_limit_ms.unwrap_or(defaults.time_ms as i32),
            *TIME_LIMIT_MS.start(),
            bounds.time_limit_ms,
            "time_limit_ms",
        )?;
        let grading_time_ms = self.tests.len() as i64 * i64::from(time_limit_ms);
        if grading_time_ms > bounds.grading_time_ms {
            return Err(ApiError::invalid(
                "time_limit_ms",
                format!(
                    "{} tests of {time_limit_ms} ms take up to {grading_time_ms} ms to grade, \
                     over the {} ms one submission may take: use fewer tests or a lower time \
                     limit",
                    self.tests.len(),
                    bounds.grading_time_ms
                ),
            ));
        }
        Ok(AssignmentFields {
            // Only a position the request gives is checked; the default comes from the data.
            position: match self.position {
                Some(position) => within(position, *POSITION.start(), *POSITION.end(), "position")?,
                None => default_position,
            },
            title: title.into_inner(),
            handout: handout.into_inner(),
            runtime: self.runtime,
            starter_code: starter_code.into_inner(),
            tests: serde_json::to_value(&self.tests)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            time_limit_ms,
            memory_limit_mb: within(
                self.memory_limit_mb.unwrap_or(defaults.memory_mb as i32),
                *MEMORY_LIMIT_MB.start(),
                bounds.memory_limit_mb,
                "memory_limit_mb",
            )?,
            output_limit_kb: within(
                self.output_limit_kb.unwrap_or(defaults.output_kb as i32),
                *OUTPUT_LIMIT_KB.start(),
                bounds.output_limit_kb,
                "output_limit_kb",
            )?,
        })
    }
}

/// A handout within [`MAX_HANDOUT_CHARS`] and without NUL; a problem names `handout`.
pub fn parse_handout(handout: String) -> Result<Text, ApiError> {
    if handout.chars().count() > MAX_HANDOUT_CHARS {
        return Err(ApiError::invalid(
            "handout",
            format!("the handout is over {MAX_HANDOUT_CHARS} characters"),
        ));
    }
    Text::parse("handout", handout)
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

/// The schema of a handout, as [`parse_handout`] checks it.
pub fn handout_schema() -> ObjectBuilder {
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
            "At least one test, at most the operator's bound (`maxItems`). `call` tests need \
             a runtime that has them (python3 does).",
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

    /// 10 tests, 5 s, 256 MiB, 256 KiB, 20 s of grading.
    fn bounds() -> Bounds {
        Bounds::new(10, 5_000, 256, 256, 20_000).unwrap()
    }

    /// The field and message `body` is refused with, within [`bounds`].
    fn refusal(body: Value) -> (String, String) {
        let problem = request(body)
            .unwrap()
            .validate(&RuntimeCatalog::builtin(), &bounds(), 0)
            .unwrap_err()
            .problem();
        assert_eq!(problem.code, http_edge::ErrorCode::ValidationFailed);
        (problem.field.unwrap_or_default(), problem.message)
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        let mut body = body();
        body["memory_limit_mb"] = json!(15);
        assert_eq!(refusal(body).0, "memory_limit_mb");
    }

    #[test]
    fn limits_over_the_operators_bounds_are_refused_naming_field_and_bound() {
        for (field, over, bound) in [
            ("time_limit_ms", 5_001, "5000"),
            ("memory_limit_mb", 257, "256"),
            ("output_limit_kb", 257, "256"),
        ] {
            let mut body = body();
            body[field] = json!(over);
            let (named, message) = refusal(body.clone());
            assert_eq!(named, field);
            assert!(message.contains(bound), "{field}: {message}");
            body[field] = json!(over - 1);
            assert!(request(body)
                .unwrap()
                .validate(&RuntimeCatalog::builtin(), &bounds(), 0)
                .is_ok());
        }
        let mut body = body();
        body["tests"] = json!(vec![body["tests"][0].clone(); 11]);
        let (named, message) = refusal(body);
        assert_eq!(named, "tests");
        assert!(message.contains("1 to 10 tests"), "{message}");
    }

    #[test]
    fn the_total_grading_time_is_bounded() {
        let mut body = body();
        body["tests"] = json!(vec![body["tests"][0].clone(); 5]);
        body["time_limit_ms"] = json!(4_000);
        let fields = request(body.clone())
            .unwrap()
            .validate(&RuntimeCatalog::builtin(), &bounds(), 0)
            .unwrap();
        assert_eq!(fields.time_limit_ms, 4_000);
        body["time_limit_ms"] = json!(4_001);
        let (named, message) = refusal(body);
        assert_eq!(named, "time_limit_ms");
        assert!(message.contains("20000 ms"), "{message}");
    }

    #[test]
    fn bounds_stay_within_the_databases_limits_and_above_the_defaults() {
        let key = |bounds: Result<Bounds, (&'static str, String)>| bounds.unwrap_err().0;
        assert_eq!(
            key(Bounds::new(0, 5_000, 256, 256, 20_000)),
            "max_tests_per_assignment"
        );
        assert_eq!(
            key(Bounds::new(101, 5_000, 256, 256, 20_000)),
            "max_tests_per_assignment"
        );
        assert_eq!(
            key(Bounds::new(10, 30_001, 256, 256, 20_000)),
            "max_time_limit_ms"
        );
        assert_eq!(
            key(Bounds::new(10, 1_999, 256, 256, 20_000)),
            "max_time_limit_ms"
        );
        assert_eq!(
            key(Bounds::new(10, 5_000, 1025, 256, 20_000)),
            "max_memory_limit_mb"
        );
        assert_eq!(
            key(Bounds::new(10, 5_000, 256, 63, 20_000)),
            "max_output_limit_kb"
        );
        assert_eq!(
            key(Bounds::new(10, 5_000, 256, 256, 1_000)),
            "max_grading_time_ms"
        );
    }

    #[test]
    fn the_narrowed_schema_says_the_bounds() {
        let RefOr::T(Schema::Object(mut request)) = AssignmentRequest::schema() else {
            panic!("AssignmentRequest is an object");
        };
        bounds().narrow(&mut request);
        let request = serde_json::to_value(request).unwrap();
        let properties = &request["properties"];
        assert_eq!(properties["time_limit_ms"]["maximum"], json!(5_000));
        assert_eq!(properties["memory_limit_mb"]["maximum"], json!(256));
        assert_eq!(properties["output_limit_kb"]["maximum"], json!(256));
        assert_eq!(properties["tests"]["maxItems"], json!(10));
        assert!(request["description"]
            .as_str()
            .unwrap()
            .contains("20000 ms"));
    }

    #[test]
    fn nul_anywhere_in_a_test_is_refused() {
        let catalog = RuntimeCatalog::builtin();
        assert!(request(body())
            .unwrap()
            .validate(&catalog, &bounds(), 0)
            .is_ok());
        let mut body = body();
        body["tests"][0]["expected"] = json!("3\u{0}");
        assert!(request(body)
            .unwrap()
            .validate(&catalog, &bounds(), 0)
            .is_err());
    }
}
