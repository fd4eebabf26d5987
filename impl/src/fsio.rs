//! Files in and out, safely: inputs read with a size cap (a clear error instead of an
//! unbounded allocation), outputs written atomically (a temporary file in the same
//! directory, then a rename: a full disk or a crash never leaves a partial or empty file),
//! and output directories checked before the work that fills them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The largest input file read (traces, action lists, vector files): 64 MiB.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Read at most `max` bytes from `reader`; more is an error naming `what`.
pub fn read_capped_from(reader: impl Read, max: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{what}: {e}"))?;
    if buf.len() as u64 > max {
        return Err(format!(
            "{what}: larger than the {max}-byte limit for an input file"
        ));
    }
    Ok(buf)
}

/// Read the file at `path`, at most [`MAX_INPUT_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{what}: {e}"))?;
    read_capped_from(file, MAX_INPUT_BYTES, &what)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_capped_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_capped(path)?).map_err(|e| format!("{}: not UTF-8: {e}", path.display()))
}

/// Write `bytes` to `path` atomically: a temporary file next to it, written in full, then
/// renamed over `path`. On any error (a full disk among them) the temporary file is removed
/// and `path` is untouched. (No fsync: this guards against partial files from failed writes,
/// not against power loss, and keeps exports of tens of thousands of files fast.)
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Create `dir` if needed and check that a file can be written there, before any work that
/// fills it (a probe file is written and removed).
pub fn prepare_output_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let probe = dir.join(format!(".phone-jpki-probe.{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("{}: not writable: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("{}: {e}", probe.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("phone-jpki-fsio-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn capped_read_refuses_one_byte_more() {
        let data = vec![7u8; 100];
        assert_eq!(read_capped_from(&data[..], 100, "x").unwrap(), data);
        let e = read_capped_from(&data[..], 99, "x").unwrap_err();
        assert!(e.contains("99-byte limit"), "{e}");
    }

    #[test]
    fn atomic_write_replaces_or_leaves_untouched() {
        let d = scratch("atomic");
        let p = d.join("out.pem");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // A target that cannot be replaced (a directory): an error, no temporary left.
        let dir_target = d.join("sub");
        std::fs::create_dir_all(dir_target.join("x")).unwrap();
        assert!(write_atomic(&dir_target, b"three").is_err());
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn output_dir_is_checked() {
        let d = scratch("outdir");
        prepare_output_dir(&d.join("a/b")).unwrap();
        let file = d.join("plain");
        std::fs::write(&file, b"").unwrap();
        assert!(prepare_output_dir(&file.join("c")).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
