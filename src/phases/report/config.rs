//! The `report` section of `.github/htdemucs-devops.yml`: the sticky comment, check runs
//! and the site link the `report` phase delivers.

use serde::Deserialize;

/// `report:` in the config file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// The published site, linked from the comment [default:
    /// https://<owner>.github.io/<repo>/ on github.com].
    pub site_url: Option<String>,
    /// Keep a sticky comment on pull requests.
    pub comment: bool,
    /// Create one check run per phase.
    pub check_runs: bool,
    /// Separates sticky comments when several workflows comment on one PR.
    pub comment_key: String,
    /// The login whose comments are ours, for tokens `GET /user` refuses other than the
    /// Actions token (a GitHub App's: `<app-slug>[bot]`) [default: asked from GitHub,
    /// else `github-actions[bot]`].
    pub comment_author: Option<String>,
    /// Deadline for each GitHub API request, in seconds.
    pub request_timeout_secs: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            site_url: None,
            comment: true,
            check_runs: true,
            comment_key: "report".into(),
            comment_author: None,
            request_timeout_secs: crate::github::api::REQUEST_TIMEOUT.as_secs_f64(),
        }
    }
}
