//! Errors from GitHub API calls, with messages that say what to do (which permission to
//! add), and the summary of GitHub's JSON error bodies.

use serde_json::Value;

/// The permission a call needs, named in the error when GitHub answers 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    PullRequestsRead,
    PullRequestsWrite,
    ChecksWrite,
}

impl Need {
    pub fn permission(self) -> &'static str {
        match self {
            Need::PullRequestsRead => "pull-requests: read",
            Need::PullRequestsWrite => "pull-requests: write",
            Need::ChecksWrite => "checks: write",
        }
    }
}

/// A failed call. Messages are already redacted.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 403 that is not a rate limit: the token may not do this.
    #[error("{what}: GitHub answered 403 ({message}); the workflow token needs `{permission}`: add it under `permissions:` in the job (pull requests from forks and Dependabot never get it; see the README section \"PR comments and forks\")")]
    Forbidden {
        what: String,
        permission: &'static str,
        message: String,
    },
    /// Any other final HTTP error.
    #[error("{what}: GitHub answered {status}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    /// A rate limit too long to wait for.
    #[error("{what}: rate limited by GitHub ({why}); try again later")]
    RateLimited { what: String, why: String },
    /// A sequence of requests that did not reach its end (e.g. a comment that kept
    /// disappearing); `why` says what happened.
    #[error("{what}: {why}")]
    GaveUp { what: String, why: String },
    /// No HTTP answer at all (connection refused, timeout, TLS).
    #[error("{what}: no answer from GitHub: {detail}")]
    Transport { what: String, detail: String },
}

impl ApiError {
    /// The request may have been carried out although we got no success answer, so a
    /// create must be checked before it is sent again.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Forbidden { .. } => Some(403),
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_rate_limited(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. })
    }

    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Forbidden { .. })
    }
}

/// The `message` of a GitHub error body plus the `errors[].message` details, cut short.
pub(crate) fn github_message(text: &str) -> String {
    let msg = match serde_json::from_str::<Value>(text) {
        Ok(v) => {
            let mut m = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string();
            if let Some(errors) = v.get("errors").and_then(Value::as_array) {
                let details: Vec<String> = errors
                    .iter()
                    .filter_map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| e.as_str().map(str::to_string))
                    })
                    .collect();
                if !details.is_empty() {
                    m.push_str(&format!(" ({})", details.join("; ")));
                }
            }
            m
        }
        Err(_) if text.trim().is_empty() => "empty answer".to_string(),
        Err(_) => text.trim().to_string(),
    };
    let mut cut: String = msg.chars().take(300).collect();
    if cut.len() < msg.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_messages_are_summarised() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}]}"#;
        assert_eq!(
            github_message(body),
            "Validation Failed (body is too long (maximum is 65536 characters))"
        );
        assert_eq!(github_message(""), "empty answer");
        assert_eq!(
            github_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert!(github_message(&"x".repeat(1000)).ends_with('…'));
    }

    #[test]
    fn forbidden_names_the_permission() {
        let e = ApiError::Forbidden {
            what: "creating the PR comment".into(),
            permission: Need::PullRequestsWrite.permission(),
            message: "Resource not accessible by integration".into(),
        };
        let text = e.to_string();
        assert!(text.contains("`pull-requests: write`"), "{text}");
        assert!(!e.maybe_applied());
        assert!(ApiError::Status {
            what: String::new(),
            status: 502,
            message: String::new()
        }
        .maybe_applied());
    }
}
