//! [`ShownText`]: text that came out of a student's program (its output, error messages,
//! returned values) made safe to store and show. Whatever bytes a program produced, the text
//! is valid UTF-8 without NUL (which PostgreSQL's `text` and `jsonb` refuse), cannot drive a
//! terminal or reorder what a reader sees, and is at most [`ShownText::MAX_CHARS`] long.
//!
//! The scheme, applied once, character by character:
//!
//! | input | shown as |
//! |---|---|
//! | NUL | `\0` |
//! | carriage return | `\r` |
//! | other C0 controls and DEL (U+0001–U+001F but tab and newline, U+007F) | `\x1b` (two hex digits) |
//! | C1 controls (U+0080–U+009F), bidirectional and line-separator controls (U+200E, U+200F, U+2028–U+202E, U+2066–U+2069) | `\u{9b}`, `\u{202e}` |
//! | a byte that is not UTF-8 | `\xff` (two hex digits) |
//! | a UTF-16 surrogate: a lone `\ud800` escape in JSON, or its 3-byte encoding | `\u{d800}` |
//! | tab, newline, a backslash, everything else | itself |
//!
//! A backslash is not doubled, so tracebacks and `repr`s read as usual; an escape is therefore
//! not reversible, which display text does not need. Text longer than the limit keeps its
//! beginning and ends with the marker `… [truncated: N more bytes]`. The scheme is idempotent:
//! shown text passed through it again is unchanged, so every hop may apply it (the grader
//! when it builds a verdict, every reader when it decodes one) and the api can store nothing
//! else.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt::{self, Write as _};

/// Text safe to store and show, built by the scheme above.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ShownText(String);

/// Room kept at the end of truncated text for the marker.
const MARKER_ROOM: usize = 48;

impl ShownText {
    /// The longest shown text, in characters (marker included).
    pub const MAX_CHARS: usize = 1024;

    /// `text`, escaped and truncated.
    pub fn new(text: &str) -> Self {
        Self::from_bytes(text.as_bytes())
    }

    /// Bytes of any kind, decoded as UTF-8 where they are, escaped and truncated.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut shown = Builder::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            let offset = bytes.len() - rest.len();
            let (piece, used) = next_piece(rest);
            if !shown.push(piece, offset, bytes.len()) {
                break;
            }
            rest = &rest[used..];
        }
        ShownText(shown.text)
    }

    /// The escape that stands for the UTF-16 surrogate `unit` (which no Rust string can hold).
    pub fn surrogate_escape(unit: u16) -> String {
        format!("\\u{{{unit:x}}}")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this text ends with the truncation marker.
    pub fn is_truncated(&self) -> bool {
        self.0.ends_with(" more bytes]") && self.0.contains("… [truncated: ")
    }
}

impl fmt::Display for ShownText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ShownText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Read-only: the text can be looked at as a `str`, never changed around the scheme.
impl std::ops::Deref for ShownText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ShownText {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ShownText {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<&str> for ShownText {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for ShownText {
    fn from(text: String) -> Self {
        Self::new(&text)
    }
}

/// Whatever a message says, a reader gets shown text: a producer that skipped the scheme
/// cannot slip a NUL past a consumer.
impl<'de> Deserialize<'de> for ShownText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::new(&text))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ShownText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(Self::MAX_CHARS))
            .description(Some(
                "Text from the student's program, control characters and bytes that are not \
                 UTF-8 escaped (`\\0`, `\\x1b`, `\\u{d800}`), cut with `… [truncated: N more \
                 bytes]`.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ShownText {}

/// One unit of input: a character shown as is, or an escape.
enum Piece {
    Plain(char),
    Escaped(String),
}

/// The next piece of `bytes` (not empty) and how many bytes it took.
fn next_piece(bytes: &[u8]) -> (Piece, usize) {
    if let Some(unit) = encoded_surrogate(bytes) {
        return (Piece::Escaped(ShownText::surrogate_escape(unit)), 3);
    }
    let head = &bytes[..bytes.len().min(4)];
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        // The valid prefix; a character cut off at the end of `head` is not in it.
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(c) => (escape_char(c), c.len_utf8()),
        None => (Piece::Escaped(format!("\\x{:02x}", bytes[0])), 1),
    }
}

/// A surrogate encoded like a character (`ED A0..BF 80..BF`, as CESU-8 and WTF-8 write it).
fn encoded_surrogate(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [0xED, second @ 0xA0..=0xBF, third @ 0x80..=0xBF, ..] => {
            Some(0xD000 | (u16::from(second & 0x3F) << 6) | u16::from(third & 0x3F))
        }
        _ => None,
    }
}

fn escape_char(c: char) -> Piece {
    match c {
        '\0' => Piece::Escaped("\\0".to_owned()),
        '\r' => Piece::Escaped("\\r".to_owned()),
        '\t' | '\n' => Piece::Plain(c),
        '\u{1}'..='\u{1f}' | '\u{7f}' => Piece::Escaped(format!("\\x{:02x}", u32::from(c))),
        '\u{80}'..='\u{9f}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Piece::Escaped(format!("\\u{{{:x}}}", u32::from(c))),
        _ => Piece::Plain(c),
    }
}

/// Shown text being built, with where it would be cut if the input turns out too long.
#[derive(Default)]
struct Builder {
    text: String,
    chars: usize,
    /// The length of `text` and the input offset at the last piece that leaves room for the
    /// marker.
    cut: Option<(usize, usize)>,
}

impl Builder {
    /// Adds the piece found at `offset` of an input of `total` bytes; `false` once the text
    /// is full (then it ends with the marker).
    fn push(&mut self, piece: Piece, offset: usize, total: usize) -> bool {
        let width = match &piece {
            Piece::Plain(_) => 1,
            Piece::Escaped(escape) => escape.len(),
        };
        if self.cut.is_none() && self.chars + width > ShownText::MAX_CHARS - MARKER_ROOM {
            self.cut = Some((self.text.len(), offset));
        }
        if self.chars + width > ShownText::MAX_CHARS {
            let (length, at) = self.cut.unwrap_or((self.text.len(), offset));
            self.text.truncate(length);
            let _ = write!(self.text, "… [truncated: {} more bytes]", total - at);
            return false;
        }
        match piece {
            Piece::Plain(c) => self.text.push(c),
            Piece::Escaped(escape) => self.text.push_str(&escape),
        }
        self.chars += width;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_with_its_newlines_tabs_and_backslashes() {
        let text = "Traceback:\n\tValueError: 'a\\nb' é 日本 🎉";
        assert_eq!(ShownText::new(text).as_str(), text);
    }

    #[test]
    fn nul_and_control_characters_are_escaped() {
        let shown = ShownText::new("x\0y\r\u{1b}[31mred\u{7}\u{7f}");
        assert_eq!(shown.as_str(), "x\\0y\\r\\x1b[31mred\\x07\\x7f");
    }

    #[test]
    fn c1_and_bidirectional_controls_are_escaped() {
        let shown = ShownText::new("a\u{9b}2J b\u{202e}cba\u{2066} c\u{2028}");
        assert_eq!(
            shown.as_str(),
            "a\\u{9b}2J b\\u{202e}cba\\u{2066} c\\u{2028}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped_one_by_one() {
        let shown = ShownText::from_bytes(b"ok \xff\xfe then \xc3\xa9 and a cut \xe6\x97");
        assert_eq!(shown.as_str(), "ok \\xff\\xfe then é and a cut \\xe6\\x97");
    }

    #[test]
    fn surrogates_encoded_as_bytes_are_named() {
        let shown = ShownText::from_bytes(b"<\xed\xa0\x80>\xed\xbf\xbf");
        assert_eq!(shown.as_str(), "<\\u{d800}>\\u{dfff}");
        assert_eq!(ShownText::surrogate_escape(0xdc00), "\\u{dc00}");
    }

    #[test]
    fn long_text_is_cut_with_a_visible_marker() {
        let line = "x".repeat(10 * 1024 * 1024);
        let shown = ShownText::new(&line);
        assert!(shown.as_str().chars().count() <= ShownText::MAX_CHARS);
        assert!(shown.is_truncated(), "{}", &shown.as_str()[900..]);
        let kept = shown.as_str().find('…').unwrap();
        assert_eq!(
            &shown.as_str()[kept..],
            format!("… [truncated: {} more bytes]", line.len() - kept)
        );
        assert!(!ShownText::new("short").is_truncated());
    }

    #[test]
    fn an_escape_is_never_cut_in_half() {
        let escapes = "\u{1b}".repeat(2_000);
        let shown = ShownText::new(&escapes);
        let body = shown.as_str().split('…').next().unwrap();
        assert!(body.len().is_multiple_of(4) && body.chars().all(|c| "\\x1b".contains(c)));
        assert!(shown.is_truncated());
    }

    #[test]
    fn text_at_the_limit_is_not_cut() {
        let exact = "é".repeat(ShownText::MAX_CHARS);
        assert_eq!(ShownText::new(&exact).as_str(), exact);
        let over = "é".repeat(ShownText::MAX_CHARS + 1);
        assert!(ShownText::new(&over).is_truncated());
    }

    #[test]
    fn the_scheme_is_idempotent() {
        for input in [
            "x\0y\u{1b}[0m\r\n",
            &"\u{9b}".repeat(3_000),
            &"long line ".repeat(1_000),
        ] {
            let once = ShownText::new(input);
            assert_eq!(ShownText::new(once.as_str()), once, "{input:?}");
        }
        let bytes = ShownText::from_bytes(&[0xff; 5_000]);
        assert_eq!(ShownText::new(bytes.as_str()), bytes);
    }

    #[test]
    fn decoding_a_message_applies_the_scheme() {
        let decoded: ShownText = serde_json::from_str(r#""a\u0000b\u001b""#).unwrap();
        assert_eq!(decoded.as_str(), "a\\0b\\x1b");
        assert_eq!(serde_json::to_string(&decoded).unwrap(), r#""a\\0b\\x1b""#);
    }
}
