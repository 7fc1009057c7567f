//! `htdemucs-devops report --reports DIR`: merges the phase reports of a run into one
//! sticky PR comment, one check run per phase, the step summary and step outputs — or,
//! without a usable token (act, forks, local runs), into files in the output folder.

mod body;
pub mod config;
mod deliver;
mod merge;

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::fs::write_atomic;
use crate::github::event;
use crate::output::Status;

pub use body::COMMENT_LIMIT;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Folder holding the phase reports (searched recursively, e.g. downloaded
    /// artifacts) [default: the --out-dir]
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Pull request to comment on [default: from the event; for `workflow_run`, from the
    /// pull-request.json the first workflow left in DIR]
    #[arg(long, value_name = "NUMBER")]
    pub pr: Option<u64>,
}

/// The file a PR-triggered run leaves for a later `workflow_run` job (which the event
/// does not tell the PR number for pull requests from forks).
pub const PR_FILE: &str = "pull-request.json";

#[derive(Debug, serde::Serialize, Deserialize)]
struct PrFile {
    number: u64,
    #[serde(default)]
    head_sha: Option<String>,
}

fn site_url(ctx: &Ctx) -> Option<String> {
    if let Some(u) = &ctx.config.report.site_url {
        return Some(u.clone());
    }
    let env = ctx.env;
    if env.server_url.trim_end_matches('/') != "https://github.com" {
        return None;
    }
    let (owner, repo) = env.repository.as_deref()?.split_once('/')?;
    Some(format!(
        "https://{}.github.io/{repo}/",
        owner.to_ascii_lowercase()
    ))
}

/// Reads the PR number left by the first workflow. It came from an untrusted run, so
/// it is only a number here; `deliver` checks it against the commit before use.
fn read_pr_file(dir: &Path) -> Result<Option<PrFile>> {
    let mut found = Vec::new();
    for entry in [dir.join(PR_FILE)].into_iter().chain(
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join(PR_FILE)),
    ) {
        if entry.is_file() {
            found.push(entry);
        }
    }
    let Some(path) = found.first() else {
        return Ok(None);
    };
    let text = crate::fs::read_text(path, "the pull request file")?;
    let pr: PrFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not {{\"number\": <PR number>, \"head_sha\": \"...\"}}; it should be written by `htdemucs-devops report` in the pull_request workflow",
            path.display()
        )
    })?;
    Ok(Some(pr))
}

pub fn run(ctx: &Ctx, args: &ReportArgs) -> Result<Outcome> {
    let console = ctx.console;
    let env = ctx.env;
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let dir = match &args.reports {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => cwd.join(d),
        None => ctx.out_dir.clone(),
    };
    let found = merge::load(&dir)?;
    let cfg = &ctx.config.report;
    let mut target = event::target(env)?;
    if let Some(n) = args.pr {
        target.pr = Some(n);
    }
    let mut untrusted_pr = None;
    if target.pr.is_none() && target.via_workflow_run {
        if let Some(p) = read_pr_file(&dir)? {
            untrusted_pr = Some(p.number);
        }
    }
    let links = body::Links {
        run_url: target.source_run_url.clone().or_else(|| env.run_url()),
        site_url: site_url(ctx),
        sha: target.head_sha.clone(),
    };
    let marker = crate::github::comment::marker(&cfg.comment_key);
    let verdict = merge::verdict(&found);

    // Files first: whatever happens with GitHub, the report exists.
    let full = body::compose(&found, "", &links, None);
    let report_path = ctx.out_dir.join("report.md");
    write_atomic(&report_path, full.as_bytes())?;
    let comment = body::compose(&found, &marker, &links, Some(COMMENT_LIMIT));
    let comment_path = ctx.out_dir.join("comment.md");
    write_atomic(&comment_path, comment.as_bytes())?;
    if let (Some(n), false) = (target.pr, target.via_workflow_run) {
        let pr = PrFile {
            number: n,
            head_sha: target.head_sha.clone(),
        };
        let json = serde_json::to_vec_pretty(&pr).context("cannot serialise the PR number")?;
        write_atomic(&ctx.out_dir.join(PR_FILE), &json)?;
    }

    console.print(&terminal(&found, console.style()));
    if let Some(summary) = &env.step_summary {
        crate::output::step_files::append_summary(
            summary,
            &full,
            &report_path.display().to_string(),
        )?;
    }

    let plan = deliver::Plan {
        found: &found,
        target: &target,
        untrusted_pr,
        marker: &marker,
        links: &links,
        comment: cfg.comment,
        comment_author: cfg.comment_author.clone(),
        check_runs: cfg.check_runs,
        env,
        out_dir: &ctx.out_dir,
        comment_path: &comment_path,
        timeout: std::time::Duration::try_from_secs_f64(cfg.request_timeout_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| {
                format!(
                    "report.request_timeout_secs must be a positive number of seconds, not {}",
                    cfg.request_timeout_secs
                )
            })?,
    };
    let delivered = deliver::deliver(console, &plan)?;

    if let Some(outputs) = &env.output_file {
        let pairs = vec![
            (
                "verdict".to_string(),
                merge::status_word(verdict).to_string(),
            ),
            (
                "regressions".to_string(),
                merge::output(&found, "regressions"),
            ),
            (
                "parity-passed".to_string(),
                merge::output(&found, "parity-passed"),
            ),
            (
                "comment-url".to_string(),
                delivered.comment_url.clone().unwrap_or_default(),
            ),
            ("report-path".to_string(), report_path.display().to_string()),
        ];
        crate::output::step_files::append_outputs(outputs, &pairs)?;
    }
    console.info(&format!("full report written to {}", report_path.display()));
    // A report that could not be read is a failure to do the job, after everything
    // else (the red comment, the check runs, the outputs) is in place.
    if let Some(unusable) = merge::broken_error(&found) {
        if let Some(err) = delivered.error {
            console.say(crate::output::Level::Error, &format!("{err:#}"));
        }
        return Err(unusable);
    }
    if let Some(err) = delivered.error {
        return Err(err);
    }
    Ok(match verdict {
        Status::Failed => Outcome::Problem,
        Status::Passed | Status::Warned => Outcome::Ok,
    })
}

fn terminal(found: &[merge::Found], style: crate::output::terminal::Style) -> String {
    let mut out = format!("{}\n", style.bold(&merge::verdict_line(found)));
    for f in found {
        let word = merge::status_word(f.report.status);
        let word = match f.report.status {
            Status::Passed => style.green(word),
            Status::Warned => style.yellow(word),
            Status::Failed => style.red(word),
        };
        out.push_str(&format!(
            "  {:<12} {word:<8} {}\n",
            crate::output::terminal::sanitize(&f.label),
            crate::output::terminal::sanitize(&f.report.headline)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_section_parses_strictly() {
        let c = crate::config::parse(
            "report:\n  site_url: https://x.org/\n  comment: false\n  request_timeout_secs: 2.5\n",
            Path::new("c.yml"),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.report.site_url.as_deref(), Some("https://x.org/"));
        assert!(!c.report.comment && c.report.check_runs);
        assert_eq!(c.report.comment_key, "report");
        let err = crate::config::parse("report:\n  coment: false\n", Path::new("c.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(
            err.starts_with("c.yml:2:") && err.contains("coment"),
            "{err}"
        );
    }
}
