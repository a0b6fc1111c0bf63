//! Is this file a whole zip? A package is trusted (cached, or handed to terraform) only when
//! it starts with a local file header and its end-of-central-directory record and central
//! directory read back — a body cut short, or any file that merely starts with `PK\x03\x04`,
//! fails. The `zip` crate does the reading; nothing is decompressed.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::hash::{hash_file, Digest};

/// Every zip file (and so every Lambda package) starts with a local file header.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// Why a file is not a whole zip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotZip {
    #[error("it does not start with `PK\\x03\\x04`")]
    Magic,
    #[error("its central directory cannot be read ({reason}); the file is cut short or corrupt")]
    Directory { reason: String },
}

/// `Ok(Err(_))` when the file is readable but not a whole zip; `Err` when it cannot be read.
pub fn check_zip(path: &Path) -> std::io::Result<Result<(), NotZip>> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 4];
    match file.read_exact(&mut head) {
        Ok(()) if &head == ZIP_MAGIC => {}
        Ok(()) => return Ok(Err(NotZip::Magic)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Err(NotZip::Magic)),
        Err(e) => return Err(e),
    }
    match zip::ZipArchive::new(BufReader::new(file)) {
        Ok(_) => Ok(Ok(())),
        Err(error) => Ok(Err(NotZip::Directory {
            reason: error.to_string(),
        })),
    }
}

/// What [`check_package`] found wrong.
#[derive(Debug, thiserror::Error)]
pub enum PackageProblem {
    #[error(transparent)]
    NotZip(NotZip),
    #[error(transparent)]
    Io(std::io::Error),
}

/// A whole zip's SHA-256; blocking (call it off the async threads).
pub fn check_package(path: &Path) -> Result<Digest, PackageProblem> {
    check_zip(path)
        .map_err(PackageProblem::Io)?
        .map_err(PackageProblem::NotZip)?;
    hash_file(path).map_err(PackageProblem::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn whole_zip() -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        writer.start_file("app.py", options).unwrap();
        writer
            .write_all(&b"def handler(event, context):\n    return 1\n".repeat(20))
            .unwrap();
        writer.finish().unwrap().into_inner()
    }

    fn check(bytes: &[u8]) -> Result<(), NotZip> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zip");
        std::fs::write(&path, bytes).unwrap();
        check_zip(&path).unwrap()
    }

    #[test]
    fn a_whole_zip_passes() {
        assert_eq!(check(&whole_zip()), Ok(()));
    }

    #[test]
    fn a_zip_cut_short_fails_although_it_starts_like_one() {
        let zip = whole_zip();
        for cut in [4, zip.len() / 2, zip.len() - 1] {
            assert!(
                matches!(check(&zip[..cut]), Err(NotZip::Directory { .. })),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_file_with_only_the_magic_right_fails() {
        assert!(matches!(
            check(b"PK\x03\x04 not really a zip at all"),
            Err(NotZip::Directory { .. })
        ));
        assert_eq!(check(b"<html>"), Err(NotZip::Magic));
        assert_eq!(check(b"PK"), Err(NotZip::Magic));
        assert_eq!(check(b""), Err(NotZip::Magic));
    }

    #[test]
    fn a_zip_whose_directory_is_damaged_fails() {
        let mut zip = whole_zip();
        // The central directory header's signature, just before the end record.
        let at = zip
            .windows(4)
            .rposition(|w| w == b"PK\x01\x02")
            .expect("a central directory entry");
        zip[at + 1] = b'X';
        assert!(matches!(check(&zip), Err(NotZip::Directory { .. })));
    }
}
