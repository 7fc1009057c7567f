//! Publishing to the `gh-pages` branch with real git: a shallow clone, the site written
//! over it (generated pages replaced, `archive/` and foreign files kept), a commit and a
//! push; a rejected push is retried after re-fetching and re-applying, with backoff. The
//! branch is created as an orphan only when the remote answers that it has no such
//! branch — never because a clone failed.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Who commits and how often to retry.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// A remote name of the repository at `repo_dir` (e.g. `origin`) or a URL/path.
    pub remote: String,
    pub branch: String,
    pub author_name: String,
    pub author_email: String,
    pub message: String,
    pub attempts: u32,
    pub backoff: Duration,
}

/// The result of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The branch did not exist and was created.
    pub created: bool,
    /// Nothing changed, so nothing was committed.
    pub unchanged: bool,
    pub attempts: u32,
    pub commit: String,
}

/// Runs git with credentials that actions/checkout stored in `auth_from`'s config
/// (`http.<url>.extraheader`) passed through the environment, so a token never appears
/// on a command line or in our output.
struct Git {
    env: Vec<(String, String)>,
}

impl Git {
    fn new(auth_from: &Path) -> Self {
        let mut env = Vec::new();
        let out = Command::new("git")
            .arg("-C")
            .arg(auth_from)
            .args(["config", "--get-regexp", r"^http\..*\.extraheader$"])
            .output();
        if let Ok(out) = out {
            let text = String::from_utf8_lossy(&out.stdout);
            for (i, line) in text.lines().enumerate() {
                if let Some((k, v)) = line.split_once(' ') {
                    env.push((format!("GIT_CONFIG_KEY_{i}"), k.to_string()));
                    env.push((format!("GIT_CONFIG_VALUE_{i}"), v.to_string()));
                }
            }
            if !env.is_empty() {
                env.push(("GIT_CONFIG_COUNT".into(), (env.len() / 2).to_string()));
            }
        }
        Git { env }
    }

    fn raw(&self, dir: &Path, args: &[&str]) -> Result<Output> {
        Command::new("git")
            .current_dir(dir)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .context("cannot run git (is it installed?)")
    }

    /// Runs git and fails with its stderr when it fails.
    fn run(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let out = self.raw(dir, args)?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Resolves a remote name of `repo_dir` to its URL; URLs and paths pass through.
fn remote_url(git: &Git, repo_dir: &Path, remote: &str) -> Result<String> {
    if remote.contains('/') || remote.contains(':') {
        return Ok(remote.to_string());
    }
    git.run(repo_dir, &["remote", "get-url", remote])
        .with_context(|| {
            format!(
                "the remote {remote:?} is not configured in {} (pass a URL or a remote name)",
                repo_dir.display()
            )
        })
}

/// Asks the remote whether the branch exists. An unreachable remote is an error.
fn branch_exists(git: &Git, dir: &Path, url: &str, branch: &str) -> Result<bool> {
    let refname = format!("refs/heads/{branch}");
    let out = git.run(dir, &["ls-remote", "--heads", url, &refname]).with_context(|| {
        format!("cannot reach the remote {url}; nothing was published or created (check the remote URL and the token's contents: write permission)")
    })?;
    Ok(out.lines().any(|l| l.ends_with(&refname)))
}

/// Clones the branch shallowly into `dir`, or starts an orphan branch there when the
/// remote has none. Returns whether the branch is new.
fn checkout(git: &Git, dir: &Path, url: &str, branch: &str) -> Result<bool> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    if branch_exists(git, parent, url, branch)? {
        let d = dir.to_string_lossy();
        git.run(
            parent,
            &[
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--single-branch",
                "--branch",
                branch,
                url,
                &d,
            ],
        )
        .with_context(|| {
            format!("cannot clone the {branch} branch of {url}; nothing was published")
        })?;
        Ok(false)
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        git.run(dir, &["init", "--quiet"])?;
        git.run(dir, &["checkout", "--quiet", "--orphan", branch])?;
        git.run(dir, &["remote", "add", "origin", url])?;
        Ok(true)
    }
}

/// Publishes: `apply` writes the site into the checkout (it is called again after a
/// rejected push, on a fresh copy of the remote branch).
pub fn publish(
    repo_dir: &Path,
    opts: &PushOptions,
    mut apply: impl FnMut(&Path) -> Result<()>,
) -> Result<Pushed> {
    let git = Git::new(repo_dir);
    let url = remote_url(&git, repo_dir, &opts.remote)?;
    let tmp = tempfile::tempdir()
        .context("cannot create a temporary folder for the gh-pages checkout")?;
    let dir: PathBuf = tmp.path().join("site");
    let mut created = checkout(&git, &dir, &url, &opts.branch)?;
    let identity = [
        format!("user.name={}", opts.author_name),
        format!("user.email={}", opts.author_email),
    ];
    for attempt in 1..=opts.attempts.max(1) {
        apply(&dir)?;
        git.run(&dir, &["add", "--all"])?;
        let staged = git.raw(&dir, &["diff", "--cached", "--quiet"])?;
        let has_head = git
            .raw(&dir, &["rev-parse", "--verify", "--quiet", "HEAD"])?
            .status
            .success();
        if staged.status.success() && has_head {
            let commit = git.run(&dir, &["rev-parse", "HEAD"])?;
            return Ok(Pushed {
                created: false,
                unchanged: true,
                attempts: attempt,
                commit,
            });
        }
        git.run(
            &dir,
            &[
                "-c",
                &identity[0],
                "-c",
                &identity[1],
                "commit",
                "--quiet",
                "-m",
                &opts.message,
            ],
        )?;
        let refspec = format!("HEAD:refs/heads/{}", opts.branch);
        let push = git.raw(&dir, &["push", "--quiet", "origin", &refspec])?;
        if push.status.success() {
            let commit = git.run(&dir, &["rev-parse", "HEAD"])?;
            return Ok(Pushed {
                created,
                unchanged: false,
                attempts: attempt,
                commit,
            });
        }
        let err = String::from_utf8_lossy(&push.stderr).to_string();
        let rejected = err.contains("rejected")
            || err.contains("fetch first")
            || err.contains("non-fast-forward");
        if !rejected || attempt == opts.attempts.max(1) {
            bail!(
                "git push to {} failed after {attempt} attempt(s): {}",
                opts.branch,
                err.trim()
            );
        }
        // Someone else pushed first: take their branch and write our pages over it again.
        std::thread::sleep(
            opts.backoff * 2u32.pow(attempt - 1)
                + Duration::from_millis(rand::random::<u64>() % 50),
        );
        let fetch = format!("+refs/heads/{b}:refs/remotes/origin/{b}", b = opts.branch);
        git.run(
            &dir,
            &["fetch", "--quiet", "--depth", "1", "origin", &fetch],
        )
        .with_context(|| format!("cannot re-fetch {} after a rejected push", opts.branch))?;
        git.run(
            &dir,
            &[
                "reset",
                "--quiet",
                "--hard",
                &format!("origin/{}", opts.branch),
            ],
        )?;
        git.run(&dir, &["clean", "--quiet", "-fdx"])?;
        created = false;
    }
    bail!("git push to {} did not succeed", opts.branch)
}
