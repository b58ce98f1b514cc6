//! Archives built here with the zip and tar writers, good and hostile, through `unpack`.

use std::io::{Cursor, Write};

use archive::{unpack, ArchiveError, Entry, Format, Limits, PathError, ProjectPath};
use flate2::{write::GzEncoder, Compression};
use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

type Zip = ZipWriter<Cursor<Vec<u8>>>;
type Tar = tar::Builder<GzEncoder<Vec<u8>>>;

fn zip_with(build: impl FnOnce(&mut Zip)) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    build(&mut writer);
    writer.finish().unwrap().into_inner()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// Adds a file named exactly `name`: the zip writer does not clean names up.
fn zip_file(zip: &mut Zip, name: &str, data: &[u8]) {
    zip_file_with(zip, name, data, deflated());
}

fn zip_file_with(zip: &mut Zip, name: &str, data: &[u8], options: SimpleFileOptions) {
    zip.start_file(name, options).unwrap();
    zip.write_all(data).unwrap();
}

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    zip_with(|zip| {
        for (name, text) in files {
            zip_file(zip, name, text.as_bytes());
        }
    })
}

fn targz_with(build: impl FnOnce(&mut Tar)) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    build(&mut builder);
    builder.into_inner().unwrap().finish().unwrap()
}

/// A header whose name is written byte for byte, bypassing the builder's own path checks,
/// which would refuse the hostile names these tests need.
fn raw_header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

fn tar_entry(tar: &mut Tar, name: &str, kind: tar::EntryType, data: &[u8]) {
    tar.append(&raw_header(name, kind, data.len() as u64), data)
        .unwrap();
}

fn tar_file(tar: &mut Tar, name: &str, data: &[u8]) {
    tar_entry(tar, name, tar::EntryType::Regular, data);
}

fn tar_link(tar: &mut Tar, name: &str, kind: tar::EntryType, target: &str) {
    let mut header = raw_header(name, kind, 0);
    header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
    header.set_cksum();
    tar.append(&header, &[][..]).unwrap();
}

fn path(raw: &str) -> ProjectPath {
    ProjectPath::parse(raw).unwrap()
}

fn dir(raw: &str) -> Entry {
    Entry::Directory(path(raw))
}

fn file(raw: &str, text: &str) -> Entry {
    Entry::File {
        path: path(raw),
        text: text.to_owned(),
    }
}

fn unpack_default(bytes: &[u8]) -> Result<Vec<Entry>, ArchiveError> {
    unpack(bytes, &Limits::default())
}

fn small_limits() -> Limits {
    Limits {
        max_archive_bytes: 64 * 1024,
        max_entries: 10,
        max_file_bytes: 1000,
        max_total_bytes: 2500,
    }
}

#[test]
fn a_good_zip_unpacks_into_a_sorted_tree_with_implied_directories() {
    let bytes = zip_with(|zip| {
        zip_file(zip, "src/pkg/main.py", b"print('hi')\n");
        zip_file(zip, "README.md", "# Übung\n".as_bytes());
        zip.add_directory("tests/", deflated()).unwrap();
        zip_file(zip, "src-notes.txt", b"");
        zip_file(zip, "src/a.py", b"a = 1\n");
    });
    assert_eq!(Format::sniff(&bytes), Some(Format::Zip));
    assert_eq!(
        unpack_default(&bytes).unwrap(),
        vec![
            file("README.md", "# Übung\n"),
            dir("src"),
            file("src/a.py", "a = 1\n"),
            dir("src/pkg"),
            file("src/pkg/main.py", "print('hi')\n"),
            file("src-notes.txt", ""),
            dir("tests"),
        ]
    );
}

#[test]
fn a_good_targz_from_a_dot_directory_unpacks_the_same_way() {
    let bytes = targz_with(|tar| {
        tar_entry(tar, "./", tar::EntryType::Directory, b"");
        tar_entry(tar, "./src/", tar::EntryType::Directory, b"");
        tar_file(tar, "./src/main.py", b"print('hi')\n");
        tar_file(tar, "./README.md", b"read me\n");
        let mut header = tar::Header::new_ustar();
        header.set_size(5);
        header.set_mode(0o644);
        let long = format!("{}/deep.txt", "d".repeat(150));
        tar.append_data(&mut header, &long, &b"deep\n"[..]).unwrap();
    });
    assert_eq!(Format::sniff(&bytes), Some(Format::TarGz));
    let long_dir = "d".repeat(150);
    assert_eq!(
        unpack_default(&bytes).unwrap(),
        vec![
            file("README.md", "read me\n"),
            dir(&long_dir),
            file(&format!("{long_dir}/deep.txt"), "deep\n"),
            dir("src"),
            file("src/main.py", "print('hi')\n"),
        ]
    );
}

#[test]
fn unpacking_is_deterministic_whatever_the_entry_order() {
    let forward = zip_of(&[("b/x.py", "x"), ("a.py", "a"), ("b/c/y.py", "y")]);
    let backward = zip_of(&[("b/c/y.py", "y"), ("a.py", "a"), ("b/x.py", "x")]);
    assert_eq!(
        unpack_default(&forward).unwrap(),
        unpack_default(&backward).unwrap()
    );
}

#[test]
fn macos_metadata_and_pax_headers_are_skipped() {
    let zip = zip_with(|zip| {
        zip_file(zip, "main.py", b"pass\n");
        zip_file(zip, "__MACOSX/._main.py", &[0, 5, 22, 7, 0xff, 0xfe]);
        zip_file(zip, ".DS_Store", &[0, 0, 0, 1, 0xff]);
    });
    assert_eq!(
        unpack_default(&zip).unwrap(),
        vec![file("main.py", "pass\n")]
    );

    let targz = targz_with(|tar| {
        tar_entry(tar, "pax_global_header", tar::EntryType::XGlobalHeader, b"");
        tar_file(tar, "._main.py", &[0, 5, 22, 7, 0xff, 0xfe]);
        tar_file(tar, "main.py", b"pass\n");
    });
    assert_eq!(
        unpack_default(&targz).unwrap(),
        vec![file("main.py", "pass\n")]
    );
}

#[test]
fn zip_slip_names_are_refused_with_the_reason() {
    let cases = [
        ("../evil.py", PathError::ParentDir),
        ("/etc/passwd", PathError::Absolute),
        ("a/../../b", PathError::ParentDir),
        (
            "C:\\x",
            PathError::DrivePrefix {
                prefix: "C:".into(),
            },
        ),
        ("..\\..\\evil.py", PathError::Backslash),
        ("src\\main.py", PathError::Backslash),
        ("a/./b", PathError::CurrentDir),
        ("a//b", PathError::EmptySegment),
        ("a\0b", PathError::ControlChar { code: 0 }),
    ];
    for (name, problem) in cases {
        let bytes = zip_of(&[("ok.py", "ok"), (name, "evil")]);
        match unpack_default(&bytes) {
            Err(ArchiveError::UnsafePath { path, problem: got }) => {
                assert_eq!((path.as_str(), got), (name, problem));
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[test]
fn tar_slip_names_are_refused() {
    for name in [
        "../evil.py",
        "/etc/passwd",
        "a/../../b",
        "./../x",
        "..\\evil",
        "C:\\x",
    ] {
        let bytes = targz_with(|tar| tar_file(tar, name, b"evil"));
        let err = unpack_default(&bytes).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::UnsafePath { path, .. } if path == name),
            "{name:?}: {err:?}"
        );
        assert_eq!(err.code(), "unsafe_path");
    }
}

#[test]
fn non_utf8_tar_names_are_refused() {
    let bytes = targz_with(|tar| {
        let mut header = raw_header("x", tar::EntryType::Regular, 1);
        header.as_old_mut().name[..3].copy_from_slice(b"\xff\xfe.");
        header.set_cksum();
        tar.append(&header, &b"x"[..]).unwrap();
    });
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::UnsafePath {
            problem: PathError::NotUtf8,
            ..
        })
    ));
}

#[test]
fn tar_symlinks_and_hardlinks_are_refused() {
    for kind in [tar::EntryType::Symlink, tar::EntryType::Link] {
        let bytes = targz_with(|tar| {
            tar_file(tar, "main.py", b"pass");
            tar_link(tar, "passwd", kind, "/etc/passwd");
        });
        let err = unpack_default(&bytes).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Link { path } if path == "passwd"),
            "{kind:?}: {err:?}"
        );
        assert_eq!(err.code(), "link_not_allowed");
    }
}

#[test]
fn zip_symlinks_are_refused_by_their_mode_bits() {
    let by_mode = zip_with(|zip| {
        zip_file(zip, "main.py", b"pass");
        let options = SimpleFileOptions::default().external_attributes(0o120777 << 16);
        zip_file_with(zip, "link", b"/etc/passwd", options);
    });
    let by_writer = zip_with(|zip| {
        zip.add_symlink("link", "../../etc/passwd", deflated())
            .unwrap();
    });
    for bytes in [by_mode, by_writer] {
        assert!(matches!(
            unpack_default(&bytes),
            Err(ArchiveError::Link { path }) if path == "link"
        ));
    }
}

#[test]
fn tar_devices_and_fifos_are_refused() {
    let cases = [
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
        (tar::EntryType::Fifo, "fifo"),
    ];
    for (kind, expected) in cases {
        let bytes = targz_with(|tar| tar_entry(tar, "dev/thing", kind, b""));
        match unpack_default(&bytes) {
            Err(ArchiveError::SpecialFile { path, kind }) => {
                assert_eq!((path.as_str(), kind), ("dev/thing", expected));
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[test]
fn zip_fifos_are_refused_by_their_mode_bits() {
    let bytes = zip_with(|zip| {
        let options = SimpleFileOptions::default().external_attributes(0o010644 << 16);
        zip_file_with(zip, "pipe", b"", options);
    });
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::SpecialFile { kind: "fifo", .. })
    ));
}

#[test]
fn an_oversized_archive_is_refused_before_it_is_read() {
    let limits = small_limits();
    let bytes = vec![b'P'; limits.max_archive_bytes + 1];
    let err = unpack(&bytes, &limits).unwrap_err();
    assert!(matches!(err, ArchiveError::TooLarge { size, limit } if size == limit + 1));
    assert!(err.is_too_large());
    assert_eq!(err.code(), "archive_too_large");
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}.py")).collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    let zip = zip_of(&files);
    let targz = targz_with(|tar| {
        for name in &names {
            tar_file(tar, name, b"x");
        }
    });
    for bytes in [zip, targz] {
        let err = unpack(&bytes, &small_limits()).unwrap_err();
        assert!(matches!(err, ArchiveError::TooManyEntries { limit: 10 }));
        assert!(err.is_too_large());
    }
}

#[test]
fn implied_directories_count_towards_the_entry_limit() {
    let bytes = zip_of(&[("a/b/c/d/e/f/g/h/i/j/k.py", "x")]);
    assert!(matches!(
        unpack(&bytes, &small_limits()),
        Err(ArchiveError::TooManyEntries { limit: 10 })
    ));
}

#[test]
fn a_file_over_the_file_limit_is_refused() {
    let big = "x".repeat(1001);
    let zip = zip_of(&[("big.txt", &big)]);
    let targz = targz_with(|tar| tar_file(tar, "big.txt", big.as_bytes()));
    for bytes in [zip, targz] {
        match unpack(&bytes, &small_limits()) {
            Err(ArchiveError::FileTooLarge { path, limit: 1000 }) => assert_eq!(path, "big.txt"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn files_adding_up_past_the_total_limit_are_refused() {
    let chunk = "x".repeat(900);
    let files = [("a", chunk.as_str()), ("b", &chunk), ("c", &chunk)];
    let zip = zip_of(&files);
    let targz = targz_with(|tar| {
        for (name, text) in files {
            tar_file(tar, name, text.as_bytes());
        }
    });
    for bytes in [zip, targz] {
        let err = unpack(&bytes, &small_limits()).unwrap_err();
        assert!(matches!(err, ArchiveError::TotalTooLarge { limit: 2500 }));
        assert_eq!(err.code(), "total_too_large");
    }
}

/// A gigabyte of zeros deflates to about a megabyte; the defaults must stop it after reading
/// little more than their limit, whatever the headers claim.
#[test]
fn a_zip_bomb_is_stopped_at_the_file_limit() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bytes = zip_with(|zip| zip_file(zip, "bomb.txt", &zeros));
    assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::FileTooLarge { path, .. }) if path == "bomb.txt"
    ));
}

#[test]
fn a_zip_bomb_that_understates_its_size_is_refused() {
    let text = "all work and no play\n".repeat(200_000);
    let mut bytes = zip_of(&[("bomb.txt", &text)]);
    // Claim 10 bytes in both the local and the central header (uncompressed size field).
    let declared = (text.len() as u32).to_le_bytes();
    let mut patched = 0;
    for at in 0..bytes.len() - 4 {
        if bytes[at..at + 4] == declared {
            bytes[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    // The zip reader stops at the declared size and notices the data goes on.
    let err = unpack_default(&bytes).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");
}

#[test]
fn a_targz_bomb_in_skipped_entries_still_hits_the_total_limit() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bytes = targz_with(|tar| {
        tar_entry(
            tar,
            "pax_global_header",
            tar::EntryType::XGlobalHeader,
            &zeros,
        );
        tar_file(tar, "main.py", b"pass");
    });
    let err = unpack(&bytes, &small_limits()).unwrap_err();
    assert!(matches!(err, ArchiveError::TotalTooLarge { .. }), "{err:?}");
}

#[test]
fn binary_files_are_refused_as_not_text() {
    for data in [&b"\xff\xfe\x00bad"[..], b"nul\0inside"] {
        let bytes = zip_with(|zip| zip_file(zip, "img.png", data));
        assert!(matches!(
            unpack_default(&bytes),
            Err(ArchiveError::NotText { path }) if path == "img.png"
        ));
    }
}

#[test]
fn the_same_path_twice_is_refused() {
    let targz = targz_with(|tar| {
        tar_file(tar, "main.py", b"one");
        tar_file(tar, "./main.py", b"two");
    });
    assert!(matches!(
        unpack_default(&targz),
        Err(ArchiveError::Duplicate { path }) if path == "main.py"
    ));

    let mut zip = zip_of(&[("main.py", "one"), ("mbin.py", "two")]);
    // The writer refuses duplicates, so rename the second entry in place (local and central).
    for at in 0..zip.len() - 7 {
        if &zip[at..at + 7] == b"mbin.py" {
            zip[at + 1] = b'a';
        }
    }
    assert!(matches!(
        unpack_default(&zip),
        Err(ArchiveError::Duplicate { path }) if path == "main.py"
    ));
}

#[test]
fn a_path_that_is_both_file_and_directory_is_refused() {
    let bytes = zip_of(&[("src", "a file"), ("src/main.py", "pass")]);
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::Duplicate { path }) if path == "src"
    ));
    let bytes = zip_with(|zip| {
        zip.add_directory("src/", deflated()).unwrap();
        zip_file(zip, "src", b"a file");
    });
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::Duplicate { path }) if path == "src"
    ));
}

#[test]
fn archives_without_files_are_empty() {
    let no_entries = zip_with(|_| {});
    let only_dirs = zip_with(|zip| zip.add_directory("src/", deflated()).unwrap());
    let empty_tar = targz_with(|_| {});
    for bytes in [no_entries, only_dirs, empty_tar] {
        let err = unpack_default(&bytes).unwrap_err();
        assert!(matches!(err, ArchiveError::Empty), "{err:?}");
        assert_eq!(err.code(), "empty_archive");
    }
}

#[test]
fn garbage_is_unknown_or_corrupt() {
    let err = unpack_default(b"just some text, not an archive").unwrap_err();
    assert!(matches!(err, ArchiveError::UnknownFormat));
    assert!(err.is_unreadable() && !err.is_too_large());

    let not_really_zip = b"PK\x03\x04 and then nothing sensible at all".to_vec();
    let not_really_gzip = b"\x1f\x8b\x08\x00 garbage after a gzip magic".to_vec();
    let gzip_of_text = {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&[b'x'; 2048]).unwrap();
        gz.finish().unwrap()
    };
    let mut truncated = zip_of(&[("main.py", &"print(1)\n".repeat(100))]);
    truncated.truncate(truncated.len() / 2);
    for bytes in [not_really_zip, not_really_gzip, gzip_of_text, truncated] {
        let err = unpack_default(&bytes).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");
        assert_eq!(err.code(), "corrupt_archive");
    }
}

/// Offset of the first central directory header, for patching fields the writer will not set.
fn central_header(zip: &[u8]) -> usize {
    zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap()
}

#[test]
fn unsupported_zip_compression_is_named() {
    let mut bytes = zip_of(&[("main.py", "pass\n")]);
    let central = central_header(&bytes);
    // Compression method 12 (bzip2) in the local and the central header.
    bytes[8] = 12;
    bytes[central + 10] = 12;
    let err = unpack_default(&bytes).unwrap_err();
    assert!(
        matches!(&err, ArchiveError::Unsupported { path, what } if path == "main.py" && what.contains("Bzip2")),
        "{err:?}"
    );
    assert!(err.is_unreadable());
}

#[test]
fn encrypted_zip_entries_are_unsupported() {
    let mut bytes = zip_of(&[("main.py", "pass\n")]);
    let central = central_header(&bytes);
    // General-purpose flag bit 0: encrypted.
    bytes[6] |= 1;
    bytes[central + 8] |= 1;
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::Unsupported { path, .. }) if path == "main.py"
    ));
}

#[test]
fn finder_metadata_does_not_count_towards_the_entry_limit() {
    let bytes = zip_with(|zip| {
        for i in 0..8 {
            zip_file(zip, &format!("f{i}.py"), b"pass\n");
            zip_file(zip, &format!("__MACOSX/._f{i}.py"), &[0, 5, 22, 7]);
        }
    });
    assert_eq!(unpack(&bytes, &small_limits()).unwrap().len(), 8);
}

#[test]
fn pre_posix_tar_directories_are_marked_by_their_slash() {
    let bytes = targz_with(|tar| {
        tar_file(tar, "empty/", b"");
        tar_file(tar, "main.py", b"pass\n");
    });
    assert_eq!(
        unpack_default(&bytes).unwrap(),
        vec![dir("empty"), file("main.py", "pass\n")]
    );
}

#[test]
fn unknown_tar_entry_types_are_unsupported() {
    let bytes = targz_with(|tar| tar_entry(tar, "label", tar::EntryType::new(b'V'), b""));
    assert!(matches!(
        unpack_default(&bytes),
        Err(ArchiveError::Unsupported { path, .. }) if path == "label"
    ));
}

#[test]
fn a_huge_hostile_name_is_shortened_in_the_error() {
    let name = format!("../{}", "x".repeat(5000));
    let bytes = zip_of(&[(&name, "evil")]);
    match unpack_default(&bytes) {
        Err(ArchiveError::UnsafePath { path, .. }) => {
            assert!(path.len() < 400 && path.ends_with('…'), "{}", path.len());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn limits_deserialise_with_defaults_for_missing_fields() {
    let limits: Limits = serde_json::from_str(r#"{"max_entries": 50}"#).unwrap();
    assert_eq!(
        limits,
        Limits {
            max_entries: 50,
            ..Limits::default()
        }
    );
}
