//! Errors of the JUnit reader: every message names the file, and for malformed XML the
//! line and column.

/// Why a file could not be read as JUnit XML. Messages name the file and the place.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error(transparent)]
    Read(#[from] crate::fs::ReadError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {problem}; this is not a complete JUnit/xUnit XML file (was the test run interrupted? re-run the tests, or check the path)")]
    Malformed {
        path: String,
        line: usize,
        column: usize,
        problem: String,
    },
    #[error("{path}: the root element is <{root}>, not <testsuites> or <testsuite>; pass a JUnit/xUnit XML result file")]
    NotJunit { path: String, root: String },
}

/// 1-based line and column (in characters) of byte `offset`.
pub(super) fn line_col(bytes: &[u8], offset: u64) -> (usize, usize) {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let prefix = &bytes[..end];
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&prefix[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Internal error before the file name and position are attached.
pub(super) enum Raw {
    Io(std::io::Error),
    NotJunit(String),
    At(u64, String),
}

impl Raw {
    pub(super) fn attach(
        self,
        shown: &str,
        position: impl FnOnce(u64) -> (usize, usize),
    ) -> JunitError {
        let path = shown.to_string();
        match self {
            Raw::Io(source) => JunitError::Io { path, source },
            Raw::NotJunit(root) => JunitError::NotJunit { path, root },
            Raw::At(offset, problem) => {
                let (line, column) = position(offset);
                JunitError::Malformed {
                    path,
                    line,
                    column,
                    problem,
                }
            }
        }
    }
}
