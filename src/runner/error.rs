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
