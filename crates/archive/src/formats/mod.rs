//! Recognising an upload's format and reading each one into the [`Collector`].

mod tar;
mod zip;

use crate::collect::Collector;
use crate::ArchiveError;

/// The archive formats a template may be uploaded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Zip,
    TarGz,
}

impl Format {
    /// Recognises a format by its magic bytes, whatever the file was called.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        // A zip opens with a local file header, or, when it has no entries at all, with
        // the end-of-central-directory record.
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        // Gzip's magic is followed by its only compression method, deflate (8).
        } else if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
            Some(Format::TarGz)
        } else {
            None
        }
    }

    pub(crate) fn read(self, bytes: &[u8], into: &mut Collector<'_>) -> Result<(), ArchiveError> {
        match self {
            Format::Zip => zip::read(bytes, into),
            Format::TarGz => tar::read(bytes, into),
        }
    }
}
