//! Text fields as the api stores them: free text and titles. Each type's check and its JSON
//! Schema are written side by side from the same character sets, so that the OpenAPI document
//! accepts exactly what the handler accepts.
//!
//! Patterns spell every character (`\u0085`), never `\s`: JSON Schema reads `\s` as ECMAScript
//! does, which is not the set `str::trim` removes (`U+0085` is blank to Rust, `U+FEFF` is not).

use crate::error::ApiError;
use std::ops::RangeInclusive;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// What `str::trim` removes: the characters for which `char::is_whitespace` holds.
pub const WHITESPACE: &[RangeInclusive<char>] = &[
    '\t'..='\r',
    ' '..=' ',
    '\u{85}'..='\u{85}',
    '\u{a0}'..='\u{a0}',
    '\u{1680}'..='\u{1680}',
    '\u{2000}'..='\u{200a}',
    '\u{2028}'..='\u{2029}',
    '\u{202f}'..='\u{202f}',
    '\u{205f}'..='\u{205f}',
    '\u{3000}'..='\u{3000}',
];

/// The characters for which `char::is_control` holds.
pub const CONTROL: &[RangeInclusive<char>] = &['\0'..='\u{1f}', '\u{7f}'..='\u{9f}'];

/// NUL, which PostgreSQL's `text` and `jsonb` cannot hold.
pub const NUL: &[RangeInclusive<char>] = &['\0'..='\0'];

/// The body of a regex character class holding `sets`, each character spelled `\uXXXX` (all
/// of them are in the Basic Multilingual Plane).
fn class(sets: &[&[RangeInclusive<char>]]) -> String {
    let spell = |c: char| format!("\\u{:04x}", u32::from(c));
    sets.iter()
        .flat_map(|set| set.iter())
        .map(|range| {
            if range.start() == range.end() {
                spell(*range.start())
            } else {
                format!("{}-{}", spell(*range.start()), spell(*range.end()))
            }
        })
        .collect()
}

/// A pattern for strings free of `forbidden`.
pub fn without(forbidden: &[RangeInclusive<char>]) -> String {
    format!("^[^{}]*$", class(&[forbidden]))
}

/// A pattern for strings free of `forbidden` that are not blank once trimmed.
pub fn not_blank_without(forbidden: &[RangeInclusive<char>]) -> String {
    let allowed = class(&[forbidden]);
    let visible = class(&[forbidden, WHITESPACE]);
    format!("^[^{allowed}]*[^{visible}][^{allowed}]*$")
}

/// A string schema with `pattern`.
pub fn string(pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

/// Free text: anything PostgreSQL can store, which is anything without NUL.
#[derive(Debug)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &'static str, text: String) -> Result<Self, ApiError> {
        if text.contains('\0') {
            return Err(ApiError::invalid(
                field,
                "text cannot contain NUL characters",
            ));
        }
        Ok(Self(text))
    }

    /// The schema of a field holding at most `max_chars` of free text.
    pub fn schema_up_to(max_chars: usize) -> ObjectBuilder {
        string(without(NUL)).max_length(Some(max_chars))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        string(without(NUL))
            .description(Some("Free text; no NUL characters."))
            .into()
    }
}

impl ToSchema for Text {}

/// A course's or an assignment's title: at most 200 characters as sent, not blank, no NUL;
/// stored trimmed.
#[derive(Debug)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let title = text.trim();
        if title.is_empty() || text.chars().count() > Self::MAX_CHARS || text.contains('\0') {
            return Err(ApiError::invalid(
                "title",
                "a title has 1 to 200 characters, not all blank, and no NUL",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl PartialSchema for Title {
    fn schema() -> RefOr<Schema> {
        string(not_blank_without(NUL))
            .max_length(Some(Self::MAX_CHARS))
            .description(Some(
                "At most 200 characters, not all blank, no NUL; stored without surrounding blanks.",
            ))
            .into()
    }
}

impl ToSchema for Title {}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(sets: &[RangeInclusive<char>], c: char) -> bool {
        sets.iter().any(|range| range.contains(&c))
    }

    fn every_char() -> impl Iterator<Item = char> {
        (0..=u32::from(char::MAX)).filter_map(char::from_u32)
    }

    #[test]
    fn the_sets_are_rusts_own() {
        for c in every_char() {
            assert_eq!(holds(WHITESPACE, c), c.is_whitespace(), "{c:?}");
            assert_eq!(holds(CONTROL, c), c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn patterns_spell_each_character() {
        assert_eq!(without(NUL), r"^[^\u0000]*$");
        assert_eq!(
            not_blank_without(CONTROL),
            r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u001f\u007f-\u009f\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
        );
    }

    #[test]
    fn titles_are_trimmed_and_bounded_as_sent() {
        assert_eq!(Title::parse("  Loops ").unwrap().as_str(), "Loops");
        assert!(Title::parse(" \u{85}\u{3000}").is_err());
        assert!(Title::parse("\u{feff}").is_ok());
        assert!(Title::parse(&"x".repeat(200)).is_ok());
        assert!(Title::parse(&format!("{} ", "x".repeat(200))).is_err());
        assert!(Title::parse("a\0b").is_err());
    }

    #[test]
    fn text_refuses_only_nul() {
        assert!(Text::parse("handout", "\u{1}\n ".into()).is_ok());
        assert!(Text::parse("handout", "a\0".into()).is_err());
    }
}
