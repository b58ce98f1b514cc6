//! Why an archive was refused. Every variant names the entry or the limit involved, so the
//! message can go back to the teacher as it is; [`ArchiveError::code`] is the stable
//! machine-readable form for JSON bodies.

use crate::path::PathError;

/// An archive that [`crate::unpack`] refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("not a zip or tar.gz archive")]
    UnknownFormat,
    #[error("the archive is damaged: {0}")]
    Corrupt(String),
    #[error("{path:?} uses an unsupported feature: {what}")]
    Unsupported { path: String, what: String },
    #[error("unsafe path {path:?}: {problem}")]
    UnsafePath { path: String, problem: PathError },
    #[error("{path:?} is a link; links are not allowed")]
    Link { path: String },
    #[error("{path:?} is a {kind}; only files and directories are allowed")]
    SpecialFile { path: String, kind: &'static str },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("{path:?} is larger than {limit} bytes")]
    FileTooLarge { path: String, limit: usize },
    #[error("the files add up to more than {limit} bytes")]
    TotalTooLarge { limit: usize },
    #[error("{path:?} is not a UTF-8 text file")]
    NotText { path: String },
    #[error("{path:?} appears more than once, or as both a file and a directory")]
    Duplicate { path: String },
    #[error("the archive contains no files")]
    Empty,
}

impl ArchiveError {
    /// Every code [`ArchiveError::code`] can return.
    pub const CODES: &'static [&'static str] = &[
        "archive_too_large",
        "unknown_format",
        "corrupt_archive",
        "unsupported_archive",
        "unsafe_path",
        "link_not_allowed",
        "special_file_not_allowed",
        "too_many_entries",
        "file_too_large",
        "total_too_large",
        "not_text",
        "duplicate_path",
        "empty_archive",
    ];

    /// A stable snake_case code for API clients; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            ArchiveError::TooLarge { .. } => "archive_too_large",
            ArchiveError::UnknownFormat => "unknown_format",
            ArchiveError::Corrupt(_) => "corrupt_archive",
            ArchiveError::Unsupported { .. } => "unsupported_archive",
            ArchiveError::UnsafePath { .. } => "unsafe_path",
            ArchiveError::Link { .. } => "link_not_allowed",
            ArchiveError::SpecialFile { .. } => "special_file_not_allowed",
            ArchiveError::TooManyEntries { .. } => "too_many_entries",
            ArchiveError::FileTooLarge { .. } => "file_too_large",
            ArchiveError::TotalTooLarge { .. } => "total_too_large",
            ArchiveError::NotText { .. } => "not_text",
            ArchiveError::Duplicate { .. } => "duplicate_path",
            ArchiveError::Empty => "empty_archive",
        }
    }

    /// True when a size or count limit was exceeded (HTTP 413); everything else is an
    /// archive that is malformed or not acceptable as a template (HTTP 400/422).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            ArchiveError::TooLarge { .. }
                | ArchiveError::TooManyEntries { .. }
                | ArchiveError::FileTooLarge { .. }
                | ArchiveError::TotalTooLarge { .. }
        )
    }

    /// True when the bytes are not a readable archive at all (HTTP 400), as opposed to a
    /// readable archive whose contents are refused (HTTP 422).
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            ArchiveError::UnknownFormat
                | ArchiveError::Corrupt(_)
                | ArchiveError::Unsupported { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed() {
        let errors = [
            ArchiveError::TooLarge { size: 2, limit: 1 },
            ArchiveError::UnknownFormat,
            ArchiveError::Corrupt(String::new()),
            ArchiveError::Unsupported {
                path: String::new(),
                what: String::new(),
            },
            ArchiveError::UnsafePath {
                path: String::new(),
                problem: PathError::Empty,
            },
            ArchiveError::Link {
                path: String::new(),
            },
            ArchiveError::SpecialFile {
                path: String::new(),
                kind: "fifo",
            },
            ArchiveError::TooManyEntries { limit: 1 },
            ArchiveError::FileTooLarge {
                path: String::new(),
                limit: 1,
            },
            ArchiveError::TotalTooLarge { limit: 1 },
            ArchiveError::NotText {
                path: String::new(),
            },
            ArchiveError::Duplicate {
                path: String::new(),
            },
            ArchiveError::Empty,
        ];
        let mut codes: Vec<_> = errors.iter().map(ArchiveError::code).collect();
        assert!(codes.iter().all(|code| ArchiveError::CODES.contains(code)));
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        assert_eq!(ArchiveError::CODES.len(), errors.len());
    }
}
