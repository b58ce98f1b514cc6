//! Turns a template archive uploaded by a teacher (zip or tar.gz bytes, untrusted) into a
//! validated, sorted list of project directories and UTF-8 text files, or an [`ArchiveError`]
//! that says which entry broke which rule. The hub calls [`unpack`] from its upload handler
//! and uses [`ProjectPath`] for every path it accepts from a client.
//!
//! Nothing is written to disk and nothing in the archive is trusted: names must be valid
//! [`ProjectPath`]s (no zip-slip), links and special files are refused rather than skipped,
//! declared sizes never size a buffer, and every read is bounded by [`Limits`].
//!
//! Skipped silently, because they are metadata and never part of a project: the archive's
//! own root entry (`./`), macOS metadata (`__MACOSX/…`, `.DS_Store`, and AppleDouble `._name`
//! files, recognised by their magic number), and tar pax extension and global headers.
//! Accepted spellings that are normalised rather than refused: a leading `./` on any name and
//! a trailing `/` on a directory. Everything else is taken as it is or refused.

mod collect;
mod error;
mod formats;
mod path;

pub use error::ArchiveError;
pub use formats::Format;
pub use path::{PathError, ProjectPath, MAX_PATH_BYTES, MAX_SEGMENTS, MAX_SEGMENT_BYTES};

use collect::Collector;
use serde::Deserialize;

/// Upper bounds on an upload and on what it unpacks to. Deserialises from settings, with
/// any field left out taking its default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// The compressed archive as uploaded.
    pub max_archive_bytes: usize,
    /// Entries in the archive, and entries in the result (implied directories included).
    pub max_entries: usize,
    /// One file, decompressed.
    pub max_file_bytes: usize,
    /// All files together, decompressed. A tar.gz's whole decompressed stream, headers and
    /// skipped entries included, is also held to this plus 8 KiB per entry.
    pub max_total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_archive_bytes: 10 * 1024 * 1024,
            max_entries: 500,
            max_file_bytes: 1024 * 1024,
            max_total_bytes: 20 * 1024 * 1024,
        }
    }
}

/// One item of an unpacked template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Directory(ProjectPath),
    File { path: ProjectPath, text: String },
}

impl Entry {
    pub fn path(&self) -> &ProjectPath {
        match self {
            Entry::Directory(path) | Entry::File { path, .. } => path,
        }
    }
}

/// Unpacks `bytes` (format recognised by [`Format::sniff`]) into entries sorted in tree
/// order: every directory, explicit or implied by a file's path, comes before its contents.
/// The same bytes always give the same list. Fails on the first entry that breaks a rule,
/// and with [`ArchiveError::Empty`] when there is no file at all.
///
/// CPU-bound (up to `max_total_bytes` of decompression): call it from a blocking thread
/// (`web::block`, `spawn_blocking`), not on the async runtime.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<Entry>, ArchiveError> {
    if bytes.len() > limits.max_archive_bytes {
        return Err(ArchiveError::TooLarge {
            size: bytes.len(),
            limit: limits.max_archive_bytes,
        });
    }
    let format = Format::sniff(bytes).ok_or(ArchiveError::UnknownFormat)?;
    let mut collector = Collector::new(limits);
    format.read(bytes, &mut collector)?;
    collector.finish()
}
