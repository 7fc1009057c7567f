//! The publish phase: renders the GitHub Pages site (latest parity report, latest
//! benchmark, history charts, archive, history JSON) into a folder, and with `--push`
//! onto the `gh-pages` branch without ever losing what is there.

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod config;

use crate::bench::compare::Options;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::git;
use crate::output::terminal::Style;
use crate::output::{PhaseOutput, PhaseReport, Status};
use crate::site::history::History;
use crate::site::pages::{write_site, SiteInput};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Render the site into this folder (also the folder to hand to actions/deploy-pages)
    #[arg(long, value_name = "DIR")]
    pub site_dir: Option<PathBuf>,
    /// Commit the site to the gh-pages branch of the remote and push it
    #[arg(long)]
    pub push: bool,
    /// Remote name (of the repository at --root) or URL to push to [default: publish.remote or origin]
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Branch to publish to [default: publish.branch or gh-pages]
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// baseline.json with the benchmark history [default: benchmark.baseline]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Folder with the phase reports (parity.json, benchmark.json) [default: --out-dir]
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Push even from a workflow on another branch than the repository's default
    #[arg(long)]
    pub from_any_branch: bool,
}

/// What a publish did (the phase report, `publish.json`).
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    pub runs: usize,
    pub pages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub unchanged: bool,
    pub push_attempts: u32,
}

impl PhaseOutput for PublishReport {
    fn phase(&self) -> &'static str {
        "publish"
    }
    fn status(&self) -> Status {
        Status::Passed
    }
    fn headline(&self) -> String {
        let what = match (&self.branch, &self.site_dir) {
            (Some(b), _) if self.unchanged => format!("site on {b} already up to date"),
            (Some(b), _) => format!("site pushed to {b}"),
            (None, Some(d)) => format!("site rendered into {d}"),
            (None, None) => "site rendered".into(),
        };
        format!(
            "{what}: {} pages, {} benchmark runs",
            self.pages.len(),
            self.runs
        )
    }
    fn terminal(&self, style: Style) -> String {
        let mut out = format!("{} {}\n", style.green("✓"), self.headline());
        if let Some(c) = &self.commit {
            out.push_str(&format!(
                "  commit {c} after {} attempt(s)\n",
                self.push_attempts
            ));
        }
        out
    }
    fn markdown(&self) -> String {
        crate::output::templates::markdown(
            "publish.md.j2",
            minijinja::context! {
                headline => self.headline(),
                commit => &self.commit,
                branch => self.branch.as_deref().unwrap_or(""),
            },
        )
    }
    fn outputs(&self) -> Vec<(String, String)> {
        let mut o = Vec::new();
        if let Some(d) = &self.site_dir {
            o.push(("site-path".into(), d.clone()));
        }
        if let Some(c) = &self.commit {
            o.push(("site-commit".into(), c.clone()));
        }
        o
    }
}

/// Reads `<dir>/<phase>.json` when it exists; a file that exists but cannot be read is
/// an error (it would otherwise silently vanish from the site).
fn read_report(dir: &Path, phase: &str) -> Result<Option<PhaseReport>> {
    let path = dir.join(format!("{phase}.json"));
    if !path.exists() {
        return Ok(None);
    }
    PhaseReport::read(&path).map(Some)
}

/// The history a rendered site already holds (`data/history.json`), if any. One that
/// cannot be read stops the publish: rendering over it would drop the runs it lists.
fn site_history(site: &Path) -> Result<Option<History>> {
    let path = site.join("data/history.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the site's history {}", path.display()))?;
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "the site's history {} is not one htdemucs-devops wrote; publishing over it would drop the runs it lists, so nothing was published: repair or remove that file",
            path.display()
        )
    })
}

/// Renders into `dir` the union of `baseline` (this job's `baseline.json`) and what the
/// site in `dir` already shows, so the published history never shrinks.
fn render_union(
    input: &mut SiteInput,
    baseline: &History,
    options: &Options,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    input.history = baseline.clone();
    if let Some(site) = site_history(dir)? {
        input.history.absorb(site, options);
    }
    write_site(input, dir)
}

/// `SOURCE_DATE_EPOCH` fixes the time (reproducible builds and snapshot tests).
fn now() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| jiff::Timestamp::now().as_second())
}

pub fn run(ctx: &Ctx, args: &PublishArgs) -> Result<Outcome> {
    let cfg = &ctx.config.publish;
    let env = ctx.env;
    let baseline = ctx.resolve(
        args.baseline
            .as_deref()
            .unwrap_or(ctx.config.benchmark.baseline.as_path()),
    );
    let options = ctx.config.benchmark.options();
    let history = crate::site::history::load_history(&baseline, &options)?;
    let reports = args
        .reports
        .as_ref()
        .map(|r| ctx.resolve(r))
        .unwrap_or_else(|| ctx.out_dir.clone());
    let project = cfg
        .project
        .clone()
        .or_else(|| {
            env.repository
                .as_ref()
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_string)
        })
        .or_else(|| {
            ctx.root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "htdemucs-devops".into());
    let mut input = SiteInput {
        project,
        history: history.clone(),
        benchmark: read_report(&reports, "benchmark")?,
        parity: read_report(&reports, "parity")?,
        now: now(),
        commit: env.sha.clone(),
    };
    if args.site_dir.is_none() && !args.push {
        anyhow::bail!("publish needs --site-dir DIR (render locally) and/or --push (commit to the gh-pages branch)");
    }
    let mut report = PublishReport {
        runs: input.history.runs.len(),
        pages: Vec::new(),
        site_dir: None,
        branch: None,
        commit: None,
        unchanged: false,
        push_attempts: 0,
    };
    if let Some(dir) = &args.site_dir {
        let dir = ctx.resolve(dir);
        let pages = ctx.console.group("render the site", || {
            render_union(&mut input, &history, &options, &dir)
        })?;
        report.runs = input.history.runs.len();
        report.pages = pages
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        report.site_dir = Some(dir.display().to_string());
    }
    // A workflow on another branch (workflow_dispatch from a feature branch) must not
    // replace the default branch's site.
    let default =
        crate::phases::benchmark::branch::default_branch(env, &ctx.config.benchmark.record.branch);
    let off = crate::phases::benchmark::branch::off_branch(env, &default)
        .filter(|_| args.push && !args.from_any_branch);
    if let Some(from) = &off {
        ctx.console.say(
            crate::output::Level::Notice,
            &crate::phases::benchmark::branch::skipped("publishing the site", from, &default),
        );
    }
    if args.push && off.is_none() {
        let short: String = env
            .sha
            .clone()
            .unwrap_or_else(|| "local".into())
            .chars()
            .take(7)
            .collect();
        let top = git::toplevel(&ctx.root).unwrap_or_else(|_| ctx.root.clone());
        let remote_arg = args.remote.clone().unwrap_or_else(|| cfg.remote.clone());
        let spec = git::PushSpec {
            remote: git::resolve_remote(&top, &remote_arg)?,
            branch: args.branch.clone().unwrap_or_else(|| cfg.branch.clone()),
            author: git::Identity {
                name: cfg.author_name.clone(),
                email: cfg.author_email.clone(),
            },
            message: cfg.message.replace("{sha}", &short),
            max_attempts: cfg.push_attempts.max(1),
            backoff: Duration::from_millis(200),
            // gh-pages starts as an orphan branch, but only when the remote answered
            // that it has none: an unreachable remote is an error before this matters.
            create_branch: true,
            config: git::auth_config(&top),
            work_root: ctx.out_dir.clone(),
        };
        let mut pages = Vec::new();
        let pushed = ctx
            .console
            .group(&format!("push the site to {}", spec.branch), || {
                // Called again on the fresh tip after every lost race: the union is
                // taken with what the site holds now.
                git::commit_and_push(&spec, |dir, _attempt| {
                    pages = render_union(&mut input, &history, &options, dir)?;
                    Ok(git::Applied::Changed)
                })
            })
            .with_context(|| {
                format!(
                    "publishing to the {} branch failed; the branch was left as it was",
                    spec.branch
                )
            })?;
        if report.pages.is_empty() {
            report.pages = pages
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
        }
        report.runs = input.history.runs.len();
        report.unchanged = pushed.commit.is_none();
        report.commit = pushed.commit;
        report.branch = Some(spec.branch);
        report.push_attempts = pushed.attempts;
    }
    ctx.emit(&report, crate::output::Show::Summary)
}
