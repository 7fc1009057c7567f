//! `benchmark record`: stamp the run, then append it to the local baseline or commit it
//! to the baseline branch with push retries (`crate::git`). Refuses on pull requests;
//! skips, saying so, a run from another branch than the baseline's ([`super::branch`]).

use anyhow::{bail, Result};
use std::path::Path;
use std::time::Duration;

use super::{stamp, RecordArgs};
use crate::bench::ingest;
use crate::bench::record;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::git;

pub(super) fn record_run(ctx: &Ctx, a: &RecordArgs) -> Result<Outcome> {
    let env = ctx.env;
    let on_pr = matches!(
        env.event_name.as_deref(),
        Some("pull_request" | "pull_request_target")
    );
    if on_pr && !a.force {
        bail!("refusing to record a benchmark run from a pull request (the baseline follows the default branch); run `benchmark record` on push to main, or pass --force");
    }
    let rc = &ctx.config.benchmark.record;
    let current = a
        .current
        .clone()
        .unwrap_or_else(|| ctx.out_dir.join("benchmark-run.json"));
    let mut run = ingest::read_file(&ctx.resolve(&current), a.input_format)?;
    stamp(ctx, &mut run, false);
    let rel = a
        .baseline
        .clone()
        .unwrap_or_else(|| ctx.config.benchmark.baseline.clone());
    if a.local {
        let path = ctx.resolve(&rel);
        let changed = record::append_to_file(&path, &run)?;
        ctx.console.print(&if changed {
            format!("recorded the run in {}\n", path.display())
        } else {
            format!("{} already has this run; nothing changed\n", path.display())
        });
        return Ok(Outcome::Ok);
    }
    let target = a.branch.clone().unwrap_or_else(|| rc.branch.clone());
    if let Some(from) = super::branch::off_branch(env, &target) {
        if !a.from_any_branch {
            ctx.console.say(
                crate::output::Level::Notice,
                &super::branch::skipped("recording the benchmark run", &from, &target),
            );
            return Ok(Outcome::Ok);
        }
    }
    let top = git::toplevel(&ctx.root)?;
    let abs = ctx.resolve(&rel);
    let in_repo = abs
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .unwrap_or(rel.clone());
    let remote_arg = a
        .remote
        .clone()
        .or_else(|| rc.remote.clone())
        .unwrap_or_else(|| "origin".into());
    // A remote name is looked up in the workspace; anything else is a URL or a path.
    let remote = git::resolve_remote(&top, &remote_arg)?;
    let spec = git::PushSpec {
        remote,
        branch: target,
        author: git::Identity {
            name: a
                .author_name
                .clone()
                .unwrap_or_else(|| rc.author_name.clone()),
            email: a
                .author_email
                .clone()
                .unwrap_or_else(|| rc.author_email.clone()),
        },
        message: record::message(
            a.message.as_deref().unwrap_or(&rc.message),
            run.meta.commit.as_deref(),
        ),
        max_attempts: a.max_attempts.unwrap_or(rc.max_attempts).max(1),
        backoff: Duration::from_millis(250),
        create_branch: false,
        config: git::auth_config(&top),
        work_root: ctx.out_dir.clone(),
    };
    let pushed = record::append_on_remote(&spec, &in_repo, &run)?;
    // Later steps of the same job (publish) read the workspace's copy: give it the run too.
    if let Err(e) = record::append_to_file(&abs, &run) {
        ctx.console.say(
            crate::output::Level::Notice,
            &format!(
                "the run is recorded on {}, but the local {} was not updated: {e:#}",
                spec.branch,
                abs.display()
            ),
        );
    }
    ctx.console.print(&match &pushed.commit {
        Some(c) => format!(
            "recorded the run in {} on {} as {} (attempt {})\n",
            in_repo.display(),
            spec.branch,
            &c[..c.len().min(12)],
            pushed.attempts
        ),
        None => format!(
            "{} on {} already has this run; nothing pushed\n",
            in_repo.display(),
            spec.branch
        ),
    });
    Ok(Outcome::Ok)
}
