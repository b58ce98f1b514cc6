//! The one path type every project file and directory is named by. Archive entries, the hub's
//! create/rename/move endpoints and the stored documents all go through [`ProjectPath::parse`],
//! so a path that reaches the database or a sandbox can never point outside its project.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest accepted path, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted segment (file or directory name), in bytes of UTF-8.
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Deepest accepted path, in segments.
pub const MAX_SEGMENTS: usize = 32;

/// A validated, normalised path of a file or directory inside a project.
///
/// Rules, all checked by [`ProjectPath::parse`] (which rejects rather than repairs):
/// - relative and `/`-separated: no leading `/`, no Windows drive prefix (`C:`, `c:x`), no
///   backslash anywhere (so `..\x` and `\\server` cannot sneak through on any platform);
/// - every segment is a real name: no empty segment (`a//b`, trailing `/`), no `.`, no `..`;
/// - no control characters (NUL, newline, DEL, C1 controls), so names are printable and safe
///   for logs, shells and Postgres `text`;
/// - at most [`MAX_SEGMENT_BYTES`] per segment, [`MAX_PATH_BYTES`] in all and
///   [`MAX_SEGMENTS`] segments.
///
/// Ordering compares segment by segment, so a directory sorts right before its contents
/// (`a`, `a/b`, `a-b`), which is the order a tree is created in.
///
/// Serialises as a plain string; deserialising validates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectPath(String);

/// What is wrong with a candidate [`ProjectPath`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the name is not valid UTF-8")]
    NotUtf8,
    #[error("the path is {len} bytes long; the limit is {MAX_PATH_BYTES}")]
    TooLong { len: usize },
    #[error("the path has {segments} segments; the limit is {MAX_SEGMENTS}")]
    TooDeep { segments: usize },
    #[error("the path contains the control character U+{code:04X}")]
    ControlChar { code: u32 },
    #[error("the path is absolute (starts with '/'); it must be relative to the project")]
    Absolute,
    #[error("the path starts with the Windows drive prefix {prefix:?}")]
    DrivePrefix { prefix: String },
    #[error("the path contains a backslash; use '/' to separate directories")]
    Backslash,
    #[error("the path has an empty segment (a doubled or trailing '/')")]
    EmptySegment,
    #[error("the path has a '.' segment")]
    CurrentDir,
    #[error("the path has a '..' segment, which would leave its directory")]
    ParentDir,
    #[error("the name {name:?} is {len} bytes long; the limit is {MAX_SEGMENT_BYTES}")]
    SegmentTooLong { name: String, len: usize },
}

impl ProjectPath {
    /// Validates `raw` against the rules above.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        validate(raw)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The names from the top of the project down.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('/')
    }

    /// The containing directory, or `None` at the top of the project.
    pub fn parent(&self) -> Option<ProjectPath> {
        self.0
            .rsplit_once('/')
            .map(|(dir, _)| ProjectPath(dir.to_owned()))
    }

    /// The last segment: the file or directory name itself.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// True for `dir` itself and anything below it; `src2/x` is not under `src`.
    pub fn starts_with_dir(&self, dir: &ProjectPath) -> bool {
        match self.0.strip_prefix(dir.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    /// `dir/name`, validated (`name` must be one or more valid segments).
    pub fn join(&self, name: &str) -> Result<ProjectPath, PathError> {
        ProjectPath::parse(&format!("{}/{name}", self.0))
    }

    /// Where this path ends up when directory `from` is moved to `to`: `from/x` becomes `to/x`
    /// and `from` itself becomes `to`. Paths outside `from` come back unchanged. Fails only
    /// when the new path breaks a length or depth limit. Moving a directory into itself is
    /// the caller's to refuse (`to.starts_with_dir(from)`).
    pub fn rebase(&self, from: &ProjectPath, to: &ProjectPath) -> Result<ProjectPath, PathError> {
        if !self.starts_with_dir(from) {
            return Ok(self.clone());
        }
        let rest = &self.0[from.0.len()..];
        ProjectPath::parse(&format!("{}{rest}", to.0))
    }
}

fn validate(raw: &str) -> Result<(), PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    // Length first, so the remaining checks only ever walk a bounded string.
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong { len: raw.len() });
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(PathError::ControlChar { code: c as u32 });
    }
    if raw.starts_with('/') {
        return Err(PathError::Absolute);
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(PathError::DrivePrefix {
            prefix: raw[..2].to_owned(),
        });
    }
    if raw.contains('\\') {
        return Err(PathError::Backslash);
    }
    let mut segments = 0;
    for segment in raw.split('/') {
        segments += 1;
        match segment {
            "" => return Err(PathError::EmptySegment),
            "." => return Err(PathError::CurrentDir),
            ".." => return Err(PathError::ParentDir),
            name if name.len() > MAX_SEGMENT_BYTES => {
                return Err(PathError::SegmentTooLong {
                    name: name.to_owned(),
                    len: name.len(),
                })
            }
            _ => {}
        }
    }
    if segments > MAX_SEGMENTS {
        return Err(PathError::TooDeep { segments });
    }
    Ok(())
}

impl Ord for ProjectPath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.segments().cmp(other.segments())
    }
}

impl PartialOrd for ProjectPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ProjectPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProjectPath {
    type Err = PathError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        ProjectPath::parse(raw)
    }
}

impl TryFrom<String> for ProjectPath {
    type Error = PathError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        validate(&raw)?;
        Ok(Self(raw))
    }
}

impl From<ProjectPath> for String {
    fn from(path: ProjectPath) -> String {
        path.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> ProjectPath {
        ProjectPath::parse(raw).unwrap()
    }

    #[test]
    fn accepts_ordinary_relative_paths() {
        for raw in [
            "main.py",
            "src/app/main.py",
            ".gitignore",
            "a b/ü.txt",
            "notes:v1",
        ] {
            assert_eq!(p(raw).as_str(), raw);
        }
    }

    #[test]
    fn rejects_each_unsafe_form_with_its_reason() {
        let cases = [
            ("", PathError::Empty),
            ("/etc/passwd", PathError::Absolute),
            ("../evil.py", PathError::ParentDir),
            ("a/../../b", PathError::ParentDir),
            ("./a", PathError::CurrentDir),
            ("a//b", PathError::EmptySegment),
            ("a/", PathError::EmptySegment),
            ("a\\b", PathError::Backslash),
            ("..\\x", PathError::Backslash),
            ("a\0b", PathError::ControlChar { code: 0 }),
            ("a\nb", PathError::ControlChar { code: 10 }),
            ("a\u{7f}", PathError::ControlChar { code: 0x7f }),
        ];
        for (raw, expected) in cases {
            assert_eq!(ProjectPath::parse(raw), Err(expected), "{raw:?}");
        }
        for raw in ["C:\\x", "c:x", "Z:/x", "C:"] {
            assert!(
                matches!(ProjectPath::parse(raw), Err(PathError::DrivePrefix { .. })),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn enforces_length_and_depth_limits() {
        let long_name = "x".repeat(MAX_SEGMENT_BYTES + 1);
        assert!(matches!(
            ProjectPath::parse(&long_name),
            Err(PathError::SegmentTooLong { len: 256, .. })
        ));
        let deep = vec!["d"; MAX_SEGMENTS + 1].join("/");
        assert_eq!(
            ProjectPath::parse(&deep),
            Err(PathError::TooDeep { segments: 33 })
        );
        assert!(ProjectPath::parse(&vec!["d"; MAX_SEGMENTS].join("/")).is_ok());
        let long = vec!["x".repeat(200); 6].join("/");
        assert!(matches!(
            ProjectPath::parse(&long),
            Err(PathError::TooLong { .. })
        ));
    }

    #[test]
    fn parent_and_file_name_split_at_the_last_slash() {
        assert_eq!(p("a/b/c.py").parent(), Some(p("a/b")));
        assert_eq!(p("a").parent(), None);
        assert_eq!(p("a/b/c.py").file_name(), "c.py");
        assert_eq!(p("a").file_name(), "a");
    }

    #[test]
    fn starts_with_dir_respects_segment_boundaries() {
        assert!(p("src").starts_with_dir(&p("src")));
        assert!(p("src/a.py").starts_with_dir(&p("src")));
        assert!(!p("src2/a.py").starts_with_dir(&p("src")));
        assert!(!p("src2").starts_with_dir(&p("src")));
        assert!(!p("src").starts_with_dir(&p("src/a")));
    }

    #[test]
    fn rebase_moves_a_directory_and_its_children_only() {
        let (from, to) = (p("src"), p("lib/code"));
        assert_eq!(p("src").rebase(&from, &to), Ok(p("lib/code")));
        assert_eq!(p("src/a/b.py").rebase(&from, &to), Ok(p("lib/code/a/b.py")));
        assert_eq!(p("src2/x").rebase(&from, &to), Ok(p("src2/x")));
        let deep = p(&vec!["d"; MAX_SEGMENTS - 1].join("/"));
        assert_eq!(
            p("src/a/b").rebase(&from, &deep),
            Err(PathError::TooDeep { segments: 33 })
        );
    }

    #[test]
    fn join_validates_the_new_name() {
        assert_eq!(p("src").join("a.py"), Ok(p("src/a.py")));
        assert_eq!(p("src").join("../x"), Err(PathError::ParentDir));
    }

    #[test]
    fn orders_directories_right_before_their_contents() {
        let mut paths = [p("a-b"), p("a/b"), p("a.txt"), p("a"), p("B")];
        paths.sort();
        let sorted: Vec<&str> = paths.iter().map(ProjectPath::as_str).collect();
        assert_eq!(sorted, ["B", "a", "a/b", "a-b", "a.txt"]);
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let json = serde_json::to_string(&p("src/a.py")).unwrap();
        assert_eq!(json, "\"src/a.py\"");
        assert_eq!(
            serde_json::from_str::<ProjectPath>(&json).unwrap(),
            p("src/a.py")
        );
        let err = serde_json::from_str::<ProjectPath>("\"../x\"").unwrap_err();
        assert!(err.to_string().contains("'..'"), "{err}");
    }
}
