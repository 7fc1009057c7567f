//! The one place that reads the process environment: where we run (GitHub Actions,
//! act, or a terminal) and the `GITHUB_*` values every phase may need.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Where the binary is running; decides how output is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Host {
    /// A real GitHub Actions runner: workflow commands, step summary, API calls.
    Actions,
    /// nektos/act: workflow commands work, but the GitHub API is not ours to call.
    Act,
    /// Some other CI (`CI=true`): plain lines, no colour, no progress bars.
    OtherCi,
    /// A person at a terminal (or a pipe from one): colour and progress where possible.
    Local,
}

impl Host {
    /// Workflow commands (`::error::`, `::group::`) are understood here.
    pub fn speaks_workflow_commands(self) -> bool {
        matches!(self, Host::Actions | Host::Act)
    }
}

/// Everything read from the environment, once, at start-up.
#[derive(Debug, Clone)]
pub struct RunEnv {
    pub host: Host,
    /// `GITHUB_WORKSPACE`: the root that diagnostics' paths are made relative to.
    pub workspace: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub output_file: Option<PathBuf>,
    pub repository: Option<String>,
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    pub server_url: String,
    pub api_url: String,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    /// `GITHUB_ACTOR`: `dependabot[bot]` runs get a read-only token.
    pub actor: Option<String>,
    /// `GITHUB_TOKEN`, read here and nowhere else; its `Debug` prints `***`.
    pub token: Option<crate::token::Token>,
    /// `HTDEMUCS_DEVOPS_RETRY_BASE_MS`: backoff base for GitHub API retries (tests make
    /// it tiny); `None` for the default.
    pub retry_base_ms: Option<u64>,
    pub runner_os: Option<String>,
    pub runner_arch: Option<String>,
    pub image_os: Option<String>,
    /// Colour is allowed: a terminal on stdout and no `NO_COLOR`.
    pub color: bool,
    /// stderr is a terminal, so a progress bar can be drawn.
    pub progress_bars: bool,
    /// Values of secret-named variables (`GITHUB_TOKEN`, `*_PASSWORD`...), masked in
    /// everything the console prints.
    pub secrets: crate::secrets::Secrets,
}

impl RunEnv {
    /// Reads the real process environment.
    pub fn from_process() -> Self {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(
            &vars,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        )
    }

    /// Builds from a variable map; tests use this directly.
    pub fn from_vars(vars: &HashMap<String, String>, stdout_tty: bool, stderr_tty: bool) -> Self {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let truthy = |k: &str| get(k).is_some_and(|v| v == "true" || v == "1");
        let host = if truthy("ACT") {
            Host::Act
        } else if truthy("GITHUB_ACTIONS") {
            Host::Actions
        } else if truthy("CI") {
            Host::OtherCi
        } else {
            Host::Local
        };
        // https://no-color.org: any non-empty value disables colour.
        let no_color = get("NO_COLOR").is_some() || get("TERM").is_some_and(|t| t == "dumb");
        let force_color = get("CLICOLOR_FORCE").is_some_and(|v| v != "0");
        let local = host == Host::Local;
        RunEnv {
            host,
            workspace: get("GITHUB_WORKSPACE").map(PathBuf::from),
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output_file: get("GITHUB_OUTPUT").map(PathBuf::from),
            repository: get("GITHUB_REPOSITORY"),
            event_name: get("GITHUB_EVENT_NAME"),
            event_path: get("GITHUB_EVENT_PATH").map(PathBuf::from),
            sha: get("GITHUB_SHA"),
            git_ref: get("GITHUB_REF"),
            server_url: get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            run_id: get("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            actor: get("GITHUB_ACTOR"),
            token: get("GITHUB_TOKEN").and_then(|t| crate::token::Token::new(&t)),
            retry_base_ms: get("HTDEMUCS_DEVOPS_RETRY_BASE_MS").and_then(|v| v.parse().ok()),
            runner_os: get("RUNNER_OS"),
            runner_arch: get("RUNNER_ARCH"),
            image_os: get("ImageOS"),
            color: !no_color && (force_color || (local && stdout_tty)),
            progress_bars: local && stderr_tty,
            secrets: crate::secrets::Secrets::from_vars(vars),
        }
    }

    /// Link to this workflow run, when running in Actions.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url.trim_end_matches('/'),
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)], tty: bool) -> RunEnv {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RunEnv::from_vars(&vars, tty, tty)
    }

    #[test]
    fn detects_hosts() {
        assert_eq!(
            env(&[("GITHUB_ACTIONS", "true")], false).host,
            Host::Actions
        );
        assert_eq!(
            env(&[("GITHUB_ACTIONS", "true"), ("ACT", "true")], false).host,
            Host::Act
        );
        assert_eq!(env(&[("CI", "true")], false).host, Host::OtherCi);
        assert_eq!(env(&[], true).host, Host::Local);
    }

    #[test]
    fn colour_rules() {
        assert!(env(&[], true).color);
        assert!(!env(&[("NO_COLOR", "1")], true).color);
        assert!(!env(&[], false).color);
        assert!(!env(&[("GITHUB_ACTIONS", "true")], true).color);
        assert!(env(&[("CLICOLOR_FORCE", "1")], false).color);
    }

    #[test]
    fn run_url_needs_repo_and_id() {
        let e = env(
            &[("GITHUB_REPOSITORY", "o/r"), ("GITHUB_RUN_ID", "7")],
            false,
        );
        assert_eq!(
            e.run_url().as_deref(),
            Some("https://github.com/o/r/actions/runs/7")
        );
        assert_eq!(env(&[], false).run_url(), None);
    }
}
