//! The format-independent half of unpacking: each format reader hands over its entries one
//! by one and this decides what becomes of them, so every rule (paths, kinds, limits, text,
//! duplicates) is written once for zip and tar alike.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};

use crate::{ArchiveError, Entry, Limits, PathError, ProjectPath};

/// What an archive entry claims to be.
pub(crate) enum Kind {
    File,
    Directory,
    Link,
    Special(&'static str),
}

/// AppleDouble files (`._name`, resource forks and extended attributes written by macOS
/// `tar` and Finder) start with this magic number.
const APPLE_DOUBLE_MAGIC: [u8; 4] = [0x00, 0x05, 0x16, 0x07];

pub(crate) struct Collector<'l> {
    limits: &'l Limits,
    entries: usize,
    total: usize,
    files: BTreeMap<ProjectPath, String>,
    dirs: BTreeSet<ProjectPath>,
}

impl<'l> Collector<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            entries: 0,
            total: 0,
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.limits
    }

    /// Takes one entry's name and kind. Directories, links, special files and metadata are
    /// dealt with here; for a file to keep, the path comes back and its data goes to
    /// [`Collector::add_file`].
    pub(crate) fn admit(
        &mut self,
        raw_name: &str,
        kind: Kind,
    ) -> Result<Option<ProjectPath>, ArchiveError> {
        let Some(path) = entry_path(raw_name, matches!(kind, Kind::Directory))? else {
            return Ok(None);
        };
        // Metadata is not counted: a Finder zip has a `__MACOSX/._x` for many of its files,
        // and skipping one costs nothing (zip) or is metered with the stream (tar).
        if is_metadata(&path) {
            return Ok(None);
        }
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        match kind {
            Kind::Link => Err(ArchiveError::Link {
                path: path.to_string(),
            }),
            Kind::Special(kind) => Err(ArchiveError::SpecialFile {
                path: path.to_string(),
                kind,
            }),
            Kind::Directory => {
                self.claim(&path)?;
                self.dirs.insert(path);
                Ok(None)
            }
            Kind::File => {
                self.claim(&path)?;
                Ok(Some(path))
            }
        }
    }

    /// Reads a file admitted by [`Collector::admit`]. `declared` is the size its header
    /// claims: used only to notice truncated data, never to size a buffer.
    pub(crate) fn add_file(
        &mut self,
        path: ProjectPath,
        declared: u64,
        data: &mut dyn Read,
    ) -> Result<(), ArchiveError> {
        let limit = self.limits.max_file_bytes;
        // One byte past the limit is enough to know it is too big, whatever the header says.
        let mut bytes = Vec::new();
        data.take((limit as u64).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|err| read_error(&path, err))?;
        if bytes.len() > limit {
            return Err(ArchiveError::FileTooLarge {
                path: path.to_string(),
                limit,
            });
        }
        self.total = self.total.saturating_add(bytes.len());
        if self.total > self.limits.max_total_bytes {
            return Err(ArchiveError::TotalTooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        if bytes.len() as u64 != declared {
            return Err(ArchiveError::Corrupt(format!(
                "{path}: the header says {declared} bytes but the data has {}",
                bytes.len()
            )));
        }
        if path.file_name().starts_with("._") && bytes.starts_with(&APPLE_DOUBLE_MAGIC) {
            // Metadata after all, so it gives its entry back (its bytes stay counted).
            self.entries -= 1;
            return Ok(());
        }
        // NUL is valid UTF-8 but marks binary data, and Postgres `text` cannot store it.
        let text = String::from_utf8(bytes)
            .ok()
            .filter(|text| !text.contains('\0'))
            .ok_or_else(|| ArchiveError::NotText {
                path: path.to_string(),
            })?;
        self.files.insert(path, text);
        Ok(())
    }

    /// Refuses a second entry for a path already taken by a file or a directory.
    fn claim(&self, path: &ProjectPath) -> Result<(), ArchiveError> {
        if self.files.contains_key(path) || self.dirs.contains(path) {
            return Err(ArchiveError::Duplicate {
                path: path.to_string(),
            });
        }
        Ok(())
    }

    /// Adds the directories the paths imply and returns everything in tree order.
    pub(crate) fn finish(mut self) -> Result<Vec<Entry>, ArchiveError> {
        if self.files.is_empty() {
            return Err(ArchiveError::Empty);
        }
        let implied: Vec<ProjectPath> = self
            .files
            .keys()
            .chain(&self.dirs)
            .flat_map(ancestors)
            .collect();
        for dir in implied {
            if self.files.contains_key(&dir) {
                return Err(ArchiveError::Duplicate {
                    path: dir.to_string(),
                });
            }
            self.dirs.insert(dir);
        }
        if self.files.len() + self.dirs.len() > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        let mut entries: Vec<Entry> = self.dirs.into_iter().map(Entry::Directory).collect();
        entries.extend(
            self.files
                .into_iter()
                .map(|(path, text)| Entry::File { path, text }),
        );
        entries.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(entries)
    }
}

/// Turns an archive member name into a project path. Archivers commonly write `./src/a.py`
/// and `src/` for directories; those spellings are accepted, anything else must already be a
/// valid [`ProjectPath`]. `None` is the archive's own root (`./`), which carries nothing.
fn entry_path(raw: &str, is_dir: bool) -> Result<Option<ProjectPath>, ArchiveError> {
    let mut name = raw;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    if is_dir {
        name = name.strip_suffix('/').unwrap_or(name);
        if name.is_empty() || name == "." {
            return Ok(None);
        }
    }
    ProjectPath::parse(name)
        .map(Some)
        .map_err(|problem| unsafe_path(raw, problem))
}

fn read_error(path: &ProjectPath, err: io::Error) -> ArchiveError {
    if err.kind() == io::ErrorKind::Unsupported {
        ArchiveError::Unsupported {
            path: path.to_string(),
            what: err.to_string(),
        }
    } else {
        ArchiveError::Corrupt(format!("{path}: {err}"))
    }
}

pub(crate) fn unsafe_path(raw: &str, problem: PathError) -> ArchiveError {
    ArchiveError::UnsafePath {
        path: shown(raw),
        problem,
    }
}

/// An unvalidated name as it may appear in an error: a pax header can make a name megabytes
/// long, and the message goes back to a browser.
pub(crate) fn shown(raw: &str) -> String {
    const MAX: usize = 300;
    if raw.len() <= MAX {
        return raw.to_owned();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &raw[..end])
}

/// Finder's zip metadata folder and its per-folder view settings: never part of a project.
fn is_metadata(path: &ProjectPath) -> bool {
    path.segments().next() == Some("__MACOSX") || path.file_name() == ".DS_Store"
}

fn ancestors(path: &ProjectPath) -> impl Iterator<Item = ProjectPath> {
    std::iter::successors(path.parent(), ProjectPath::parent)
}
