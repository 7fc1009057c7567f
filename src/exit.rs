//! Exit codes: 0 all good, 1 the phase found a problem, 2 the tool could not do its job.

/// The result of a phase that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: nothing wrong.
    Ok,
    /// Exit 1: the phase found a problem (lint errors, failing tests, a parity failure,
    /// a gated regression).
    Problem,
}

impl Outcome {
    pub fn code(self) -> i32 {
        match self {
            Outcome::Ok => 0,
            Outcome::Problem => 1,
        }
    }

    /// The worse of two outcomes.
    pub fn and(self, other: Outcome) -> Outcome {
        if self == Outcome::Problem || other == Outcome::Problem {
            Outcome::Problem
        } else {
            Outcome::Ok
        }
    }
}

/// Exit code for "the tool could not do its job": bad config, unreadable input, a
/// required tool missing. Every `Err` that reaches `main` exits with it.
pub const TOOL_ERROR: i32 = 2;
