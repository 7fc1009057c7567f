//! Guarded file access. Reading is bounded: every report, config, baseline or result file
//! the tool reads whole goes through here, so a FIFO, a device (a symlink to `/dev/zero`)
//! or a file far larger than any real one is refused with a message saying which file,
//! what is wrong and how to go on, instead of blocking or eating the runner's memory.
//! Writing is atomic ([`write_atomic`]): a reader never sees half a file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Environment variable that raises (or lowers) the size limit, in MiB.
pub const LIMIT_ENV: &str = "HTDEMUCS_DEVOPS_MAX_INPUT_MIB";
/// The default limit: far above any real lint report, JUnit file, baseline or config,
/// far below what would exhaust a hosted runner when read whole.
pub const DEFAULT_LIMIT_MIB: u64 = 256;

const MIB: u64 = 1024 * 1024;

/// Why an input file could not be read. Every message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // The I/O error is part of the message and deliberately not a `#[source]`: a cause
    // chain printed after it would repeat it.
    #[error("cannot read {what} {}: {error}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{what} {} is {kind}, not a regular file; give the path of a file (a FIFO, a device or a folder cannot be read as one)", path.display())]
    NotRegular {
        what: &'static str,
        path: PathBuf,
        kind: &'static str,
    },
    #[error("{what} {} is {}, over the {limit_mib} MiB limit for input files; if it really is that large, raise the limit with {LIMIT_ENV}=<MiB>", path.display(), mib(*size))]
    TooLarge {
        what: &'static str,
        path: PathBuf,
        size: u64,
        limit_mib: u64,
    },
    #[error("{what} {} is not UTF-8 text (invalid byte at offset {offset}); save it as UTF-8", path.display())]
    NotUtf8 {
        what: &'static str,
        path: PathBuf,
        offset: usize,
    },
    #[error("{LIMIT_ENV}={value:?} is not a whole number of MiB of at least 1; set it like {LIMIT_ENV}=1024")]
    BadLimit { value: String },
}

impl ReadError {
    /// The file does not exist (callers that treat a missing file as "use defaults").
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    }
}

fn mib(bytes: u64) -> String {
    // Shown to a person: one decimal is enough.
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// The size limit in bytes: `$HTDEMUCS_DEVOPS_MAX_INPUT_MIB` or the default.
pub fn limit() -> Result<u64, ReadError> {
    match std::env::var(LIMIT_ENV) {
        Err(_) => Ok(DEFAULT_LIMIT_MIB * MIB),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n.saturating_mul(MIB)),
            _ => Err(ReadError::BadLimit { value: v }),
        },
    }
}

fn kind_of(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Opens an input file (following symlinks) after checking that it is a regular file
/// no larger than the limit. Returns the file and its size.
///
/// On Unix the file is opened non-blocking, so that opening a FIFO with no writer
/// returns at once and is then refused, instead of hanging the run.
pub fn open(path: &Path, what: &'static str) -> Result<(File, u64), ReadError> {
    let io = |error| ReadError::Io {
        what,
        path: path.to_path_buf(),
        error,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            what,
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    let limit = limit()?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            what,
            path: path.to_path_buf(),
            size: meta.len(),
            limit_mib: limit / MIB,
        });
    }
    Ok((file, meta.len()))
}

/// Reads a whole input file as bytes, within the limit (see [`open`]).
pub fn read_bytes(path: &Path, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let (file, len) = open(path, what)?;
    let limit = limit()?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // A file that grows while it is read stops at the limit (one byte over tells).
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| ReadError::Io {
            what,
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            what,
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit_mib: limit / MIB,
        });
    }
    Ok(bytes)
}

/// Reads a whole input file as UTF-8 text, within the limit (see [`open`]).
pub fn read_text(path: &Path, what: &'static str) -> Result<String, ReadError> {
    let bytes = read_bytes(path, what)?;
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        what,
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// At most `max` characters of untrusted `text` for a message, with the length said
/// when it is cut, so a megabyte-long name cannot flood the log.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
    }
}

/// Caps an untrusted field read from an input (a lint message, a test name) at about
/// `max` bytes, keeping the head and saying how much was cut: what is read is echoed in
/// logs, comments and annotations, and none of them needs a megabyte of it.
pub fn cap_field(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let cut = text.len() - at;
    text.truncate(at);
    text.push_str(&format!("… [{cut} bytes cut]"));
    text
}

/// Writes `contents` to `path` through a temporary file in the same folder and a rename,
/// so a reader never sees half a file and a failure leaves the old file intact. The
/// temporary file is locked while written, and ones a killed run left for the same
/// path are removed first ([`crate::scratch`]).
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    crate::scratch::sweep_files_for(dir, path);
    let mut tmp = crate::scratch::temp_file_for(dir, path)?;
    tmp.write_all(contents)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_and_refuses_a_folder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("a.json");
        std::fs::write(&f, "[]").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_text(&f, "the report").ok().as_deref(), Some("[]"));
        let e = read_text(dir.path(), "the report")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(e.contains("is a folder, not a regular file"), "{e}");
        let e = read_text(&dir.path().join("missing"), "the report").err();
        assert!(e.is_some_and(|e| e.is_not_found()));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_through_symlinks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let link = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap_or_else(|e| panic!("{e}"));
        let e = read_bytes(&link, "the lint report")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(e.contains("a character device"), "{e}");
        assert!(e.contains("zero.json"), "{e}");
    }

    #[test]
    fn cap_field_cuts_on_a_char_boundary() {
        assert_eq!(cap_field("short".into(), 10), "short");
        let c = cap_field("é".repeat(10), 5);
        assert_eq!(c, "éé… [16 bytes cut]");
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clip("ms", 8), "ms");
        let long = "é".repeat(100);
        let c = clip(&long, 4);
        assert!(c.starts_with("éééé…"), "{c}");
        assert!(c.contains("200 bytes"), "{c}");
    }
}
