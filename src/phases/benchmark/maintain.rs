//! Baseline maintenance: `benchmark history` (list runs, acknowledgements and the
//! change points of every series per testbed),
//! `benchmark prune` (the only way history shrinks) and `benchmark ack` (start a new
//! baseline window from a commit on).

use anyhow::{bail, Context, Result};

use super::{baseline_path, AckArgs, HistoryArgs, PruneArgs};
use crate::bench::baseline::{self, Ack};
use crate::bench::render;
use crate::bench::{changes, metric};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output::terminal;

pub(super) fn history(ctx: &Ctx, a: &HistoryArgs) -> Result<Outcome> {
    let path = baseline_path(ctx, &a.baseline);
    let (b, _) = baseline::load(&path)?;
    if a.json {
        ctx.console
            .print(&(serde_json::to_string_pretty(&b)? + "\n"));
        return Ok(Outcome::Ok);
    }
    let rows: Vec<Vec<String>> = b
        .runs
        .iter()
        .map(|r| {
            let metrics: usize = r.results.values().map(|m| m.len()).sum();
            vec![
                terminal::sanitize(r.meta.timestamp.as_deref().unwrap_or("")),
                terminal::sanitize(
                    &r.meta
                        .commit
                        .as_deref()
                        .map_or("—".into(), |c| c[..c.len().min(7)].to_string()),
                ),
                terminal::sanitize(
                    &crate::bench::fingerprint::testbed(
                        &r.meta.fingerprint,
                        &ctx.config.benchmark.testbeds,
                    )
                    .unwrap_or_else(|| "unknown".into()),
                ),
                terminal::sanitize(
                    &r.results
                        .keys()
                        .map(|k| render::backend_name(k))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                metrics.to_string(),
            ]
        })
        .collect();
    let mut out = terminal::table(
        &["Recorded", "Commit", "Testbed", "Backends", "Metrics"],
        &rows,
        &[false, false, false, false, true],
    );
    out.push_str(&format!("{} runs in {}\n", b.runs.len(), path.display()));
    for ack in &b.acknowledgements {
        out.push_str(&terminal::sanitize(&format!(
            "acknowledged from {} ({}{}): {}\n",
            ack.from_commit,
            ack.backend.as_deref().unwrap_or("all backends"),
            ack.metric
                .as_deref()
                .map(|m| format!(", {m}"))
                .unwrap_or_default(),
            ack.reason
        )));
    }
    out.push_str(&change_points(&b, &ctx.config.benchmark.options()));
    ctx.console.print(&out);
    Ok(Outcome::Ok)
}

/// The change points of every series, per testbed: where each one stepped.
fn change_points(b: &baseline::Baseline, opts: &crate::bench::compare::Options) -> String {
    let found = changes::find(b, opts);
    let rows: Vec<Vec<String>> = found
        .iter()
        .flat_map(|s| {
            s.steps.iter().map(move |st| {
                let info = metric::info(&s.metric, &opts.thresholds, opts.metrics.get(&s.metric));
                vec![
                    terminal::sanitize(&s.testbed),
                    terminal::sanitize(&format!(
                        "{} · {}",
                        render::backend_name(&s.backend),
                        s.label
                    )),
                    terminal::sanitize(&st.commit.chars().take(7).collect::<String>()),
                    format!("{}/{}", st.index + 1, s.runs),
                    format!(
                        "{} → {}",
                        metric::format_value(st.before, &info),
                        metric::format_value(st.after, &info)
                    ),
                    st.change_pct.map_or("—".into(), |p| format!("{p:+.1} %")),
                    format!("{:.3}", st.p_value),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return format!(
            "no change points in {} series (E-divisive means, permutation test)\n",
            found.len()
        );
    }
    let mut out = String::from("\nChange points (E-divisive means, permutation test):\n");
    out.push_str(&terminal::table(
        &["Testbed", "Series", "Commit", "Run", "Level", "Change", "p"],
        &rows,
        &[false, false, false, true, true, true, true],
    ));
    out
}

pub(super) fn prune(ctx: &Ctx, a: &PruneArgs) -> Result<Outcome> {
    if a.keep_last.is_none() && a.before.is_none() {
        bail!("say what to prune: --keep-last N and/or --before DATE");
    }
    let before = a
        .before
        .as_deref()
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .or_else(|_| format!("{s}T00:00:00Z").parse::<jiff::Timestamp>())
                .with_context(|| {
                    format!("--before {s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")
                })
        })
        .transpose()?;
    let path = baseline_path(ctx, &a.baseline);
    let (mut b, _) = baseline::load(&path)?;
    let removed = b.prune(a.keep_last, before);
    let mut out = String::new();
    for id in &removed {
        out.push_str(&format!(
            "{} {}\n",
            if a.dry_run { "would remove" } else { "removed" },
            terminal::sanitize(id)
        ));
    }
    if !a.dry_run && !removed.is_empty() {
        b.save(&path, true)?;
    }
    out.push_str(&format!(
        "{} runs {}, {} kept in {}\n",
        removed.len(),
        if a.dry_run { "to remove" } else { "removed" },
        b.runs.len(),
        path.display()
    ));
    ctx.console.print(&out);
    Ok(Outcome::Ok)
}

pub(super) fn ack(ctx: &Ctx, a: &AckArgs) -> Result<Outcome> {
    if a.from_commit.trim().len() < 4 || a.reason.trim().is_empty() {
        bail!("--from needs a commit (at least 4 hex digits) and --reason a non-empty text");
    }
    let path = baseline_path(ctx, &a.baseline);
    let (mut b, _) = baseline::load_or_empty(&path)?;
    b.acknowledgements.push(Ack {
        from_commit: a.from_commit.trim().to_string(),
        created_at: jiff::Timestamp::now().to_string(),
        backend: a.backend.clone(),
        metric: a.metric.clone(),
        reason: a.reason.clone(),
    });
    b.save(&path, false)?;
    ctx.console.print(&format!(
        "acknowledged: from {} on, {} starts a new baseline window (commit {} to keep it)\n",
        a.from_commit,
        match (&a.backend, &a.metric) {
            (None, None) => "every metric".to_string(),
            (b, m) => format!(
                "{} {}",
                b.as_deref().unwrap_or("every backend's"),
                m.as_deref().unwrap_or("metrics")
            ),
        },
        path.display()
    ));
    Ok(Outcome::Ok)
}
