//! Zip archives, read from the central directory. Entry kinds come from the unix mode bits
//! that Info-ZIP and most archivers record, which is where a zip hides its symlinks.

use std::collections::HashSet;
use std::io::Cursor;

use ::zip::read::ZipFileEntry;
use ::zip::result::ZipError;
use ::zip::{CompressionMethod, ZipArchive};

use crate::collect::{shown, Collector, Kind};
use crate::{ArchiveError, ProjectPath};

const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;

pub(super) fn read(bytes: &[u8], into: &mut Collector<'_>) -> Result<(), ArchiveError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|err| ArchiveError::Corrupt(err.to_string()))?;
    if archive.has_duplicate_names() {
        let path = repeated_name(bytes, archive.central_directory_start())
            .map_or_else(|| "(a name listed twice)".to_owned(), |name| shown(&name));
        return Err(ArchiveError::Duplicate { path });
    }
    for index in 0..archive.len() {
        // Decide from the central directory alone, so skipped and refused entries are never
        // decompressed.
        let entry = archive
            .by_index_data(index)
            .map_err(|err| ArchiveError::Corrupt(err.to_string()))?;
        let name = entry
            .name()
            .map_err(|err| ArchiveError::Corrupt(format!("entry #{index}: {err}")))?
            .into_owned();
        let (kind, declared, compression) = (kind(&entry), entry.size(), entry.compression());
        let Some(path) = into.admit(&name, kind)? else {
            continue;
        };
        if !matches!(
            compression,
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            return Err(ArchiveError::Unsupported {
                path: path.to_string(),
                what: format!("{compression} compression (re-save it with deflate, the default)"),
            });
        }
        let mut file = archive
            .by_index(index)
            .map_err(|err| read_error(&path, err))?;
        into.add_file(path, declared, &mut file)?;
    }
    Ok(())
}

fn kind(entry: &ZipFileEntry<'_>) -> Kind {
    match entry.unix_mode().map(|mode| mode & S_IFMT) {
        Some(S_IFLNK) => Kind::Link,
        Some(S_IFCHR) => Kind::Special("character device"),
        Some(S_IFBLK) => Kind::Special("block device"),
        Some(S_IFIFO) => Kind::Special("fifo"),
        Some(S_IFSOCK) => Kind::Special("socket"),
        Some(S_IFDIR) => Kind::Directory,
        _ if entry.is_dir() => Kind::Directory,
        _ => Kind::File,
    }
}

fn read_error(path: &ProjectPath, err: ZipError) -> ArchiveError {
    match err {
        ZipError::UnsupportedArchive(what) => ArchiveError::Unsupported {
            path: path.to_string(),
            what: what.to_owned(),
        },
        err => ArchiveError::Corrupt(format!("{path}: {err}")),
    }
}

/// The zip crate keeps one entry per name, so a repeated name has to be found by walking the
/// central directory records ourselves; only ever done to word the error.
fn repeated_name(bytes: &[u8], start: u64) -> Option<String> {
    let mut seen = HashSet::new();
    let mut at = usize::try_from(start).ok()?;
    while bytes.get(at..at + 4)? == b"PK\x01\x02" {
        let header = bytes.get(at..at + 46)?;
        let field =
            |offset: usize| usize::from(u16::from_le_bytes([header[offset], header[offset + 1]]));
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}
