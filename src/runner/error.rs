//! `RunnerError`: everything that stops a stage run, each naming the stage and/or the file.
//!
//! All of these are "the tool could not do its job" (exit 2): the input or the setup is
//! wrong, not the model's numbers. Messages say what to do, because they end up in a CI log
//! read by someone who did not write the pipeline spec.

use std::path::PathBuf;

use super::npz::NpzError;
use super::spec::SpecError;
use super::wav::WavError;

/// Exit code for every runner error: the tool could not do its job.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Set (to anything but `0` or empty) to append the engine's traceback tail to a failed
/// stage's one-line error.
pub const DEBUG_ENV: &str = "HTDEMUCS_DEBUG";

/// Lines of the engine's traceback kept at debug level.
const TAIL_LINES: usize = 12;

/// Condenses an engine error (a TorchScript interpreter traceback: "The following
/// operation failed ... Traceback ... RuntimeError: shape '[1, 4]' is invalid ...") to
/// its last `...Error: ...` line, which is what went wrong; the traceback only says
/// where inside the exported code. `detail` (the inputs given, say) follows in
/// parentheses. With [`DEBUG_ENV`] set (`debug`), the traceback's last lines follow on
/// their own lines; without, a hint says how to see them.
pub fn engine_error(text: &str, detail: &str, debug: bool) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let cause = lines
        .iter()
        .rev()
        .find(|l| {
            l.split_once(':')
                .is_some_and(|(head, _)| head.ends_with("Error") && !head.contains(' '))
        })
        .or(lines.last())
        .map_or("", |l| l)
        .trim_end_matches("\")");
    let cause = if detail.is_empty() {
        cause.to_string()
    } else {
        format!("{cause} ({detail})")
    };
    if lines.len() <= 1 {
        return cause;
    }
    if !debug {
        return format!("{cause}; set {DEBUG_ENV}=1 for the engine's traceback");
    }
    let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    format!(
        "{cause}\n  engine traceback (last {} lines):\n    {}",
        tail.len(),
        tail.join("\n    ")
    )
}

/// Whether [`DEBUG_ENV`] asks for tracebacks.
pub fn debug_enabled() -> bool {
    std::env::var(DEBUG_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The pipeline spec is unreadable or inconsistent.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The input WAV is unusable; names the stages that would have read it.
    #[error("stage(s) {stages} (input `audio`): {source}", stages = .stages.join(", "))]
    Wav {
        /// Stages that take the audio as input.
        stages: Vec<String>,
        /// What is wrong with the file.
        source: WavError,
    },
    /// A reference or capture `.npz` could not be read or written.
    #[error("npz {0}")]
    Npz(#[from] NpzError),
    /// A stage failed: missing artifact, load failure, wrong input shape, forward error.
    #[error("stage `{stage}`: {file}: {message}")]
    Stage {
        /// The stage.
        stage: String,
        /// The file concerned: the artifact, or the file an input came from.
        file: PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
    /// The backend cannot run here (feature not compiled in, wrong OS).
    #[error("backend `{backend}`: {message}")]
    Backend {
        /// The backend name.
        backend: String,
        /// Why, and how to get a build that can.
        message: String,
    },
    /// Options that contradict each other or the spec.
    #[error("{0}")]
    Usage(String),
    /// Writing the results failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl RunnerError {
    /// Shorthand for a stage error.
    pub fn stage(stage: &str, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Stage {
            stage: stage.to_string(),
            file: file.into(),
            message: message.into(),
        }
    }

    /// The process exit code for this error (always 2: bad input or setup).
    pub fn exit_code(&self) -> i32 {
        EXIT_BAD_INPUT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "Torch(\"The following operation failed in the TorchScript interpreter.\n\
        Traceback of TorchScript, serialized code (most recent call last):\n  \
        File \"code/__torch__.py\", line 12, in forward\n    \
        x = torch.reshape(spec, [1, 4, 2048, -1])\n\
        RuntimeError: shape '[1, 4, 2048, -1]' is invalid for input of size 1234\n\")";

    #[test]
    fn a_traceback_becomes_its_error_line() {
        let cause = "RuntimeError: shape '[1, 4, 2048, -1]' is invalid for input of size 1234";
        let short = engine_error(TRACE, "inputs: [1] float32", false);
        assert_eq!(
            short,
            format!(
                "{cause} (inputs: [1] float32); set HTDEMUCS_DEBUG=1 for the engine's traceback"
            )
        );
        let long = engine_error(TRACE, "", true);
        assert!(
            long.starts_with(&format!("{cause}\n")) && long.contains("code/__torch__.py"),
            "{long}"
        );
        assert_eq!(engine_error("plain failure", "", true), "plain failure");
    }
}
