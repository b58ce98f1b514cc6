//! The Yjs document every file is: one shared text named [`CONTENT`]. Written here once, for
//! the live documents and for the store that seeds new files from a template.

use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

/// The name of the shared text every file's document holds.
pub const CONTENT: &str = "content";

/// The encoded state of a new document holding `text`, for files created from a template:
/// every replica then starts from the same bytes instead of inserting the text itself.
pub fn initial_document(text: &str) -> Vec<u8> {
    let doc = Doc::new();
    let content = doc.get_or_insert_text(CONTENT);
    let mut txn = doc.transact_mut();
    content.insert(&mut txn, 0, text);
    txn.encode_state_as_update_v1(&StateVector::default())
}
