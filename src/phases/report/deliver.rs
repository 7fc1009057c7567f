//! Sends the merged report to GitHub — the sticky comment, then one check run per phase —
//! or, when that cannot or must not happen (act, no token, a fork's read-only token),
//! writes the same content to files and shows the annotations in the log. A missing
//! permission never fails the step; it is reported with the permission to add.

use anyhow::{Context, Result};
use std::path::Path;

use super::body::{self, Links, COMMENT_LIMIT};
use super::merge::Found;
use crate::fs::write_atomic;
use crate::github::api::{Api, ApiError, Method, Need};
use crate::github::checks::{self, CheckRun};
use crate::github::comment::Sticky;
use crate::github::event::Target;
use crate::output::console::Console;
use crate::output::workflow::command;
use crate::output::Level;
use crate::run_env::{Host, RunEnv};
use crate::token::Token;

pub struct Plan<'a> {
    pub found: &'a [Found],
    pub target: &'a Target,
    /// A PR number from `pull-request.json`, not yet checked.
    pub untrusted_pr: Option<u64>,
    pub marker: &'a str,
    pub links: &'a Links,
    pub comment: bool,
    /// `report.comment_author`: whose comments are ours, when set.
    pub comment_author: Option<String>,
    pub check_runs: bool,
    pub env: &'a RunEnv,
    pub out_dir: &'a Path,
    pub comment_path: &'a Path,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Default)]
pub struct Delivered {
    pub comment_url: Option<String>,
    /// A failure other than a missing permission: the step exits 2 after writing
    /// everything else.
    pub error: Option<anyhow::Error>,
}

fn check_runs(plan: &Plan) -> Vec<CheckRun> {
    let env = plan.env;
    plan.found
        .iter()
        .map(|f| {
            let placeless: Vec<String> = f
                .report
                .annotations
                .iter()
                .filter(|a| a.file.is_none())
                .map(|a| {
                    format!(
                        "- **{}**: {}",
                        a.level.command(),
                        crate::output::markdown::escape(&a.message)
                    )
                })
                .collect();
            let mut summary = f.report.markdown.clone();
            if !placeless.is_empty() {
                summary.push_str("\n\n");
                summary.push_str(&placeless.join("\n"));
            }
            CheckRun {
                name: format!("htdemucs-devops / {}", f.label),
                head_sha: plan.target.head_sha.clone().unwrap_or_default(),
                conclusion: checks::conclusion(f.report.status),
                external_id: format!(
                    "htdemucs-devops:{}:{}:{}",
                    env.run_id.as_deref().unwrap_or("local"),
                    env.run_attempt.as_deref().unwrap_or("1"),
                    f.label
                ),
                title: f.report.headline.clone(),
                summary,
                annotations: checks::to_github(&f.report.annotations),
            }
        })
        .collect()
}

fn annotate_all(console: &Console, plan: &Plan) {
    if !plan.env.host.speaks_workflow_commands() {
        return;
    }
    for f in plan.found {
        console.annotate(&f.report.annotations, &f.path.display().to_string());
    }
}

fn file_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn deliver(console: &Console, plan: &Plan) -> Result<Delivered> {
    let env = plan.env;
    if let (Some(token), true) = (&env.token, env.host.speaks_workflow_commands()) {
        // The runner hides registered values in every later log line.
        console.command(&command("add-mask", &[], token.expose()));
    }
    let runs = check_runs(plan);
    let offline: Option<String> = if env.host == Host::Act {
        Some("running under act".into())
    } else if env.token.is_none() {
        Some("no GITHUB_TOKEN".into())
    } else {
        plan.target.read_only.map(str::to_string)
    };
    let (Some(token), None) = (env.token.clone(), offline.clone()) else {
        let why = offline.unwrap_or_default();
        let dir = plan.out_dir.join("check-runs");
        for run in &runs {
            let json = serde_json::to_vec_pretty(run).context("cannot serialise a check run")?;
            write_atomic(&dir.join(format!("{}.json", file_name(&run.name))), &json)?;
        }
        console.info(&format!(
            "{why}: nothing is posted to GitHub; the PR comment is in {} and the check-run output in {}",
            plan.comment_path.display(),
            dir.display()
        ));
        if plan.target.read_only.is_some() && env.host != Host::Act {
            console.say(
                Level::Notice,
                &format!("{why}, so its token is read-only: results are in the step summary and these annotations. To get the PR comment, post it from a workflow_run workflow (README: \"PR comments and forks\")."),
            );
        }
        annotate_all(console, plan);
        return Ok(Delivered::default());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime for the GitHub client")?;
    rt.block_on(online(console, plan, token, &runs))
}

async fn online(
    console: &Console,
    plan: &Plan<'_>,
    token: Token,
    runs: &[CheckRun],
) -> Result<Delivered> {
    let env = plan.env;
    let api = Api::new(env, token, plan.timeout, console)?;
    let repo = env
        .repository
        .clone()
        .context("GITHUB_REPOSITORY is not set (owner/name); it is needed to post the report")?;
    let mut out = Delivered::default();

    let pr = match (plan.target.pr, plan.untrusted_pr) {
        (Some(n), _) => Some(n),
        (None, Some(n)) => match verify_pr(&api, &repo, n, plan.target.head_sha.as_deref()).await {
            Ok(true) => Some(n),
            Ok(false) => {
                console.say(Level::Warning, &format!("{} names PR #{n}, but that pull request's head is not the commit this run is for; not commenting", super::PR_FILE));
                None
            }
            Err(e) => {
                console.say(Level::Warning, &e.to_string());
                None
            }
        },
        (None, None) => None,
    };

    if plan.comment {
        match pr {
            Some(pr) => {
                let sticky = Sticky::new(&api, &repo, pr, plan.marker.to_string())
                    .with_author(plan.comment_author.clone());
                let render =
                    |limit| body::compose(plan.found, plan.marker, plan.links, Some(limit));
                match sticky.upsert(COMMENT_LIMIT, render).await {
                    Ok(p) => {
                        // Keep the file equal to what GitHub accepted.
                        write_atomic(plan.comment_path, p.body.as_bytes())?;
                        console.info(&format!(
                            "PR comment {}: {}",
                            if p.created { "created" } else { "updated" },
                            p.url
                        ));
                        out.comment_url = Some(p.url);
                    }
                    Err(e) if e.is_forbidden() => console.say(Level::Warning, &refused(plan, &e)),
                    Err(e) => out.error = Some(anyhow::Error::new(e)),
                }
            }
            None => console.info("no pull request for this event: no PR comment"),
        }
    }

    let mut fallback = !plan.check_runs;
    if plan.check_runs {
        if plan.target.head_sha.is_none() {
            console.info("no commit SHA (GITHUB_SHA) for check runs; annotations go to the log");
            fallback = true;
        }
        for run in runs {
            if fallback {
                break;
            }
            match checks::publish(&api, &repo, run).await {
                Ok(url) => console.info(&format!("check run {:?}: {url}", run.name)),
                Err(e) => {
                    fallback = true;
                    if e.is_forbidden() {
                        console.say(
                            Level::Notice,
                            &format!(
                                "{}. The annotations are shown in the log instead.",
                                refused(plan, &e)
                            ),
                        );
                    } else if out.error.is_none() {
                        out.error = Some(anyhow::Error::new(e));
                    }
                }
            }
        }
    }
    if fallback {
        annotate_all(console, plan);
    }
    Ok(out)
}

/// A 403, explained for Dependabot runs, whose token is read-only unless the repository
/// gives Dependabot more.
fn refused(plan: &Plan, e: &ApiError) -> String {
    if plan.target.dependabot {
        format!("{e}. This run was triggered by Dependabot, whose token is read-only by default: to get the PR comment, post it from a workflow_run workflow (README: \"PR comments and forks\")")
    } else {
        e.to_string()
    }
}

/// The PR number from an artifact is only trusted if that PR's head is our commit.
async fn verify_pr(
    api: &Api<'_>,
    repo: &str,
    n: u64,
    head: Option<&str>,
) -> Result<bool, ApiError> {
    let reply = api
        .call(
            Method::Get,
            &format!("reading pull request #{n}"),
            &format!("/repos/{repo}/pulls/{n}"),
            None,
            Need::PullRequestsRead,
        )
        .await?;
    let actual = reply.body.pointer("/head/sha").and_then(|v| v.as_str());
    Ok(head.is_some() && actual == head)
}
