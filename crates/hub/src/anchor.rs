//! Where a thread is in its file now. A thread is anchored by two Yjs relative positions (yrs
//! [`StickyIndex`]): the start, associated with the first character of the range, and the end,
//! associated with the last one (what `Y.createRelativePositionFromTypeIndex(text, from)` and
//! `(text, to, -1)` make in the page). Both follow their characters as text is inserted or
//! deleted around them, so the lines are found again in the document as it is now; a client's
//! line numbers are never taken. When the range's text is deleted both ends fall onto the same
//! place and the thread is outdated.

use crate::ydoc::CONTENT;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use utoipa::ToSchema;
use yrs::branch::{Branch, BranchPtr};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, StickyIndex, TextRef, Transact};

/// Longest encoded position accepted (an id and a type name fit in far less).
const MAX_POSITION_BYTES: usize = 512;

/// The two ends of a thread's range.
#[derive(Clone, Debug)]
pub struct Anchor {
    start: StickyIndex,
    end: StickyIndex,
}

/// Lines numbered from 1, `end` included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Lines {
    pub start: u32,
    pub end: u32,
}

/// The lines a range covers and their text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub lines: Lines,
    pub text: String,
}

/// Why an anchor was refused; `field` names the position at fault.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadAnchor {
    pub field: &'static str,
    pub message: String,
}

impl Anchor {
    /// Decodes the base64 of two `Y.encodeRelativePosition` results.
    pub fn from_base64(start: &str, end: &str) -> Result<Self, BadAnchor> {
        Ok(Self {
            start: position("anchor.start", start)?,
            end: position("anchor.end", end)?,
        })
    }

    /// Decodes the bytes stored for a thread (they were checked when it was created).
    pub fn from_stored(start: &[u8], end: &[u8]) -> Result<Self, BadAnchor> {
        Ok(Self {
            start: decode("anchor.start", start)?,
            end: decode("anchor.end", end)?,
        })
    }

    /// The encoded ends, to store.
    pub fn encoded(&self) -> (Vec<u8>, Vec<u8>) {
        (self.start.encode_v1(), self.end.encode_v1())
    }

    /// The ends as the page decodes them (`Y.decodeRelativePosition` of the base64).
    pub fn base64(&self) -> (String, String) {
        let (start, end) = self.encoded();
        (STANDARD.encode(start), STANDARD.encode(end))
    }

    /// The lines the range covers in `doc` now and their text; `None` when its text is gone
    /// (or the positions name nothing in this document's text).
    pub fn locate(&self, doc: &Doc) -> Option<Quote> {
        let content: TextRef = doc.get_or_insert_text(CONTENT);
        let txn = doc.transact();
        let text = content.get_string(&txn);
        let ours = BranchPtr::from(AsRef::<Branch>::as_ref(&content));
        let of_content = |index: &StickyIndex| {
            let offset = index.get_offset(&txn)?;
            (offset.branch == ours).then_some(offset.index as usize)
        };
        let (start, end) = (of_content(&self.start)?, of_content(&self.end)?);
        quote(&text, start, end)
    }
}

/// The lines that byte range `start..end` of `text` touches and their text (without the last
/// line break); `None` for an empty range.
pub fn quote(text: &str, start: usize, end: usize) -> Option<Quote> {
    let end = end.min(text.len());
    if start >= end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return None;
    }
    let line_of = |at: usize| text[..at].matches('\n').count() as u32 + 1;
    // The last character of the range decides its last line: a range that ends with a line
    // break ends on the line that break closes.
    let last = text[..end]
        .char_indices()
        .last()
        .map_or(start, |(at, _)| at);
    let first_byte = text[..start].rfind('\n').map_or(0, |at| at + 1);
    let last_byte = text[last..].find('\n').map_or(text.len(), |at| last + at);
    Some(Quote {
        lines: Lines {
            start: line_of(start),
            end: line_of(last),
        },
        text: text[first_byte..last_byte].to_owned(),
    })
}

fn position(field: &'static str, base64: &str) -> Result<StickyIndex, BadAnchor> {
    let bytes = STANDARD.decode(base64).map_err(|error| BadAnchor {
        field,
        message: format!("not base64: {error}"),
    })?;
    decode(field, &bytes)
}

fn decode(field: &'static str, bytes: &[u8]) -> Result<StickyIndex, BadAnchor> {
    let refused = |message: String| BadAnchor { field, message };
    if bytes.is_empty() || bytes.len() > MAX_POSITION_BYTES {
        return Err(refused(format!(
            "an encoded relative position is 1 to {MAX_POSITION_BYTES} bytes"
        )));
    }
    // yrs' decoders may panic on hostile input; a bad position is the client's fault.
    match catch_unwind(AssertUnwindSafe(|| StickyIndex::decode_v1(bytes))) {
        Ok(Ok(index)) => Ok(index),
        Ok(Err(error)) => Err(refused(format!("not a Yjs relative position: {error}"))),
        Err(_) => Err(refused("not a Yjs relative position".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Assoc, IndexedSequence, Text};

    fn doc_with(text: &str) -> Doc {
        let doc = Doc::new();
        let content = doc.get_or_insert_text(CONTENT);
        content.insert(&mut doc.transact_mut(), 0, text);
        doc
    }

    /// The anchor the page makes for bytes `from..to` (start after, end before).
    fn anchor(doc: &Doc, from: u32, to: u32) -> Anchor {
        let content = doc.get_or_insert_text(CONTENT);
        let txn = doc.transact();
        Anchor {
            start: content.sticky_index(&txn, from, Assoc::After).unwrap(),
            end: content.sticky_index(&txn, to, Assoc::Before).unwrap(),
        }
    }

    #[test]
    fn a_range_names_whole_lines_and_a_closing_line_break_stays_on_its_line() {
        let text = "a = 1\nb = 2\nc = 3\n";
        assert_eq!(
            quote(text, 6, 12),
            Some(Quote {
                lines: Lines { start: 2, end: 2 },
                text: "b = 2".into()
            })
        );
        assert_eq!(
            quote(text, 8, 14).unwrap().lines,
            Lines { start: 2, end: 3 }
        );
        assert_eq!(quote(text, 8, 14).unwrap().text, "b = 2\nc = 3");
        assert_eq!(quote(text, 4, 4), None);
    }

    #[test]
    fn the_lines_move_with_text_inserted_above_and_vanish_with_their_text() {
        let doc = doc_with("def f():\n    return 1\n");
        let anchor = anchor(&doc, 9, 21);
        assert_eq!(
            anchor.locate(&doc).unwrap().lines,
            Lines { start: 2, end: 2 }
        );

        let content = doc.get_or_insert_text(CONTENT);
        content.insert(&mut doc.transact_mut(), 0, "# one\n# two\n");
        let moved = anchor.locate(&doc).unwrap();
        assert_eq!(moved.lines, Lines { start: 4, end: 4 });
        assert_eq!(moved.text, "    return 1");

        content.remove_range(&mut doc.transact_mut(), 21, 13);
        assert_eq!(anchor.locate(&doc), None);
    }

    #[test]
    fn stored_positions_decode_to_the_same_place() {
        let doc = doc_with("x\ny\nz\n");
        let anchor = anchor(&doc, 2, 4);
        let (start, end) = anchor.base64();
        let again = Anchor::from_base64(&start, &end).unwrap();
        assert_eq!(again.locate(&doc), anchor.locate(&doc));
        let (start, end) = anchor.encoded();
        let stored = Anchor::from_stored(&start, &end).unwrap();
        assert_eq!(stored.locate(&doc).unwrap().text, "y");
    }

    #[test]
    fn garbage_is_refused_with_the_position_it_was_given_as() {
        let error = Anchor::from_base64("!!", "AA==").unwrap_err();
        assert_eq!(error.field, "anchor.start");
        let (start, _) = anchor(&doc_with("x\n"), 0, 1).base64();
        let error = Anchor::from_base64(&start, "").unwrap_err();
        assert_eq!(error.field, "anchor.end");
        for bytes in [&[0xff_u8; 9][..], &[0, 0xff, 0xff], &[7]] {
            assert!(decode("anchor.start", bytes).is_err(), "{bytes:?}");
        }
    }
}
