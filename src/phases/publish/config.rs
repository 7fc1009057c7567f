//! The `publish` section of `.github/htdemucs-devops.yml`: where and how the `publish`
//! phase pushes the GitHub Pages site.

use serde::Deserialize;

/// The `publish` section of the config.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// Site title [default: the repository name].
    pub project: Option<String>,
    pub remote: String,
    pub branch: String,
    pub author_name: String,
    pub author_email: String,
    /// Commit message; `{sha}` is replaced by the short commit.
    pub message: String,
    /// How many times to try a push that was rejected because someone else pushed.
    pub push_attempts: u32,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            project: None,
            remote: "origin".into(),
            branch: "gh-pages".into(),
            author_name: "github-actions[bot]".into(),
            author_email: "41898282+github-actions[bot]@users.noreply.github.com".into(),
            message: "docs(site): publish {sha}".into(),
            push_attempts: 6,
        }
    }
}
