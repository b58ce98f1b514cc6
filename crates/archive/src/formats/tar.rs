//! Gzip-compressed tar archives, read as one stream. The whole decompressed stream is
//! metered, so entries that are skipped rather than read (metadata, headers, padding) cannot
//! make a decompression bomb either.

use std::cell::Cell;
use std::io::{self, Read};

use ::tar::EntryType;
use flate2::read::GzDecoder;

use crate::collect::{shown, unsafe_path, Collector, Kind};
use crate::{ArchiveError, Limits, PathError};

pub(super) fn read(bytes: &[u8], into: &mut Collector<'_>) -> Result<(), ArchiveError> {
    let exhausted = Cell::new(false);
    let stream = Metered {
        inner: GzDecoder::new(bytes),
        left: stream_budget(into.limits()),
        exhausted: &exhausted,
    };
    let result = read_entries(::tar::Archive::new(stream), into);
    // Whatever error running out of budget surfaced as, the cause is the size.
    if exhausted.get() {
        return Err(ArchiveError::TotalTooLarge {
            limit: into.limits().max_total_bytes,
        });
    }
    result
}

fn read_entries<R: Read>(
    mut archive: ::tar::Archive<R>,
    into: &mut Collector<'_>,
) -> Result<(), ArchiveError> {
    let corrupt = |err: io::Error| ArchiveError::Corrupt(err.to_string());
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let raw = entry.path_bytes();
        let name = match std::str::from_utf8(&raw) {
            Ok(name) => name.to_owned(),
            Err(_) => {
                return Err(unsafe_path(
                    &String::from_utf8_lossy(&raw),
                    PathError::NotUtf8,
                ))
            }
        };
        let kind = match entry.header().entry_type() {
            // Pre-POSIX tars marked directories only by the trailing slash.
            EntryType::Regular if name.ends_with('/') => Kind::Directory,
            EntryType::Regular | EntryType::Continuous => Kind::File,
            EntryType::Directory => Kind::Directory,
            EntryType::Symlink | EntryType::Link => Kind::Link,
            EntryType::Char => Kind::Special("character device"),
            EntryType::Block => Kind::Special("block device"),
            EntryType::Fifo => Kind::Special("fifo"),
            // Archive-wide pax metadata (comments, charsets): nothing of the project's.
            EntryType::XGlobalHeader => continue,
            other => {
                return Err(ArchiveError::Unsupported {
                    path: shown(&name),
                    what: format!("tar entry type {other:?}"),
                })
            }
        };
        if let Some(path) = into.admit(&name, kind)? {
            let declared = entry.size();
            into.add_file(path, declared, &mut entry)?;
        }
    }
    Ok(())
}

/// How many decompressed bytes the tar stream may have: the files themselves plus generous
/// room for each entry's headers, pax records and padding.
fn stream_budget(limits: &Limits) -> u64 {
    const PER_ENTRY: u64 = 8 * 1024;
    const TRAILER: u64 = 64 * 1024;
    (limits.max_total_bytes as u64)
        .saturating_add((limits.max_entries as u64).saturating_mul(PER_ENTRY))
        .saturating_add(TRAILER)
}

/// A reader that fails, and says so through `exhausted`, once `left` bytes have been read.
struct Metered<'a, R> {
    inner: R,
    left: u64,
    exhausted: &'a Cell<bool>,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // A stream that ends exactly at the budget is fine; one that goes on is not, and
            // must fail loudly rather than look like a truncated archive.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exhausted.set(true);
            return Err(io::Error::other("decompressed archive exceeds its budget"));
        }
        let room = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..room])?;
        self.left -= read as u64;
        Ok(read)
    }
}
