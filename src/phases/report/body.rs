//! The merged Markdown: a verdict line and a table of phases, links to the run and the
//! site, then one section per phase (collapsible when long). With a size limit, sections
//! that do not fit are cut at a line boundary — closing any open code fence or
//! `<details>` — and point to the full report.

use super::merge::{verdict, verdict_line, Found};
use crate::output::markdown::{escape, Align, Table};
use crate::output::Status;

/// GitHub rejects comment bodies over 65,536 characters; aim a little lower.
pub const COMMENT_LIMIT: usize = 65_536 - 536;

/// Sections longer than this (lines or characters) fold into `<details>`.
const FOLD_LINES: usize = 25;
const FOLD_CHARS: usize = 2_500;

/// Where the full report and the history live.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub run_url: Option<String>,
    pub site_url: Option<String>,
    pub sha: Option<String>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Makes a URL safe inside `[text](url)`: nothing in it can end the link or the line.
fn link_target(url: &str) -> String {
    url.chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '(' => "%28".to_string(),
            ')' => "%29".to_string(),
            '<' => "%3C".to_string(),
            '>' => "%3E".to_string(),
            '"' => "%22".to_string(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}

fn head(found: &[Found], marker: &str, links: &Links) -> String {
    let mut out = String::new();
    if !marker.is_empty() {
        out.push_str(marker);
        out.push('\n');
    }
    out.push_str(&format!(
        "## {}\n\n",
        escape(&format!("htdemucs-devops: {}", verdict_line(found)))
    ));
    let mut table =
        Table::new(&["Phase", "Result", "Summary"]).align(&[Align::Left, Align::Left, Align::Left]);
    for f in found {
        let headline: String = f.report.headline.chars().take(200).collect();
        table.row(vec![
            escape(&f.label),
            format!(
                "{} {}",
                f.report.status.symbol(),
                super::merge::status_word(f.report.status)
            ),
            escape(&headline),
        ]);
    }
    out.push_str(&table.render());
    let mut parts = Vec::new();
    if let Some(u) = &links.run_url {
        parts.push(format!("[Workflow run]({})", link_target(u)));
    }
    if let Some(u) = &links.site_url {
        parts.push(format!("[Report site]({})", link_target(u)));
    }
    if let Some(sha) = &links.sha {
        let short: String = sha.chars().take(10).collect();
        parts.push(format!("commit {}", crate::output::markdown::code(&short)));
    }
    if !parts.is_empty() {
        out.push('\n');
        out.push_str(&parts.join(" · "));
        out.push('\n');
    }
    out
}

/// Phase Markdown may come from another run (a fork's artifact in the `workflow_run`
/// pattern): no `@name` in it may ping anyone. A zero-width space after `@` keeps the
/// text readable and stops the mention.
fn defuse_mentions(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut chars = md.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@' && chars.peek().is_some_and(|n| n.is_ascii_alphanumeric()) {
            out.push('\u{200B}');
        }
    }
    out
}

/// One phase's section, folded when long (open when the phase failed).
fn section(f: &Found) -> String {
    // Our heading replaces the phase's own top heading, if it starts with one.
    let md = f.report.markdown.trim();
    let md = match md.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.trim_start(),
        None if md.starts_with('#') => "",
        _ => md,
    };
    let md = &defuse_mentions(md);
    let title = format!(
        "{} {}: {}",
        f.report.status.symbol(),
        f.label,
        f.report.headline
    );
    let long = md.lines().count() > FOLD_LINES || chars(md) > FOLD_CHARS;
    if long {
        let open = if f.report.status == Status::Failed {
            " open"
        } else {
            ""
        };
        format!(
            "<details{open}><summary><b>{}</b></summary>\n\n{md}\n\n</details>\n",
            escape(&title)
        )
    } else {
        format!("### {}\n\n{md}\n", escape(&title))
    }
}

fn cut_note(links: &Links) -> String {
    let where_ = match (&links.run_url, &links.site_url) {
        (Some(run), _) => format!("the [workflow run summary]({})", link_target(run)),
        (None, Some(site)) => format!("the [report site]({})", link_target(site)),
        (None, None) => "`report.md` in the output folder".to_string(),
    };
    format!("\n> ✂️ Cut to fit GitHub's comment size limit; the full section is in {where_}.\n")
}

/// Keeps whole lines of `md` within `budget` characters and closes what was left open.
fn truncate(md: &str, budget: usize) -> String {
    let mut out = String::new();
    let mut used = 0usize;
    let mut fence: Option<String> = None;
    let mut details = 0usize;
    // Room for the closers we may have to add.
    let budget = budget.saturating_sub(64);
    for line in md.lines() {
        let n = chars(line) + 1;
        if used + n > budget {
            break;
        }
        used += n;
        out.push_str(line);
        out.push('\n');
        let t = line.trim_start();
        match &fence {
            Some(f)
                if t.starts_with(f.as_str())
                    && t.trim_end().chars().all(|c| c == '`' || c == '~') =>
            {
                fence = None
            }
            Some(_) => {}
            None => {
                let run: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
                if run.len() >= 3 {
                    fence = Some(run);
                } else {
                    details += t.matches("<details").count();
                    details = details.saturating_sub(t.matches("</details>").count());
                }
            }
        }
    }
    if let Some(f) = fence {
        out.push_str(&f);
        out.push('\n');
    }
    for _ in 0..details {
        out.push_str("\n</details>\n");
    }
    out
}

/// The whole comment. `limit` is in characters; `None` for the full, uncut report.
pub fn compose(found: &[Found], marker: &str, links: &Links, limit: Option<usize>) -> String {
    let head = head(found, marker, links);
    let footer = format!(
        "\n<sub>{} htdemucs-devops {} · overall: {}</sub>\n",
        verdict(found).symbol(),
        env!("CARGO_PKG_VERSION"),
        super::merge::status_word(verdict(found))
    );
    let sections: Vec<String> = found.iter().map(section).collect();
    let total: usize = sections.iter().map(|s| chars(s) + 1).sum();
    let Some(limit) = limit else {
        return format!("{head}\n{}{footer}", sections.join("\n"));
    };
    let fixed = chars(&head) + chars(&footer) + 1;
    if fixed + total <= limit {
        return format!("{head}\n{}{footer}", sections.join("\n"));
    }
    // Fair shares: small sections stay whole, large ones split what is left.
    let note = cut_note(links);
    let mut room = limit.saturating_sub(fixed);
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|i| chars(&sections[*i]));
    let mut fitted = vec![String::new(); sections.len()];
    for (k, &i) in order.iter().enumerate() {
        let share = room / (order.len() - k);
        let s = &sections[i];
        let n = chars(s) + 1;
        if n <= share {
            fitted[i] = s.clone();
            room -= n;
        } else {
            let cut = format!(
                "{}{note}",
                truncate(s, share.saturating_sub(chars(&note) + 1))
            );
            room = room.saturating_sub(chars(&cut) + 1);
            fitted[i] = cut;
        }
    }
    format!("{head}\n{}{footer}", fitted.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_closes_fences_and_details() {
        let md =
            "<details><summary>x</summary>\n\n```text\nline 1\nline 2\nline 3\n```\n</details>\n";
        let cut = truncate(md, 64 + 55);
        assert!(cut.contains("line 1"), "{cut}");
        assert!(!cut.contains("line 3"), "{cut}");
        assert!(cut.trim_end().ends_with("</details>"), "{cut}");
        assert_eq!(cut.matches("```").count(), 2, "{cut}");
    }

    fn found(phase: &str, md: String) -> Found {
        Found {
            report: crate::output::PhaseReport {
                schema: crate::output::REPORT_SCHEMA.into(),
                phase: phase.into(),
                tool_version: "0".into(),
                generated_at: String::new(),
                status: Status::Failed,
                headline: format!("{phase} headline"),
                markdown: md,
                annotations: Vec::new(),
                outputs: Default::default(),
                context: Default::default(),
                data: serde_json::Value::Null,
            },
            path: std::path::PathBuf::from(format!("{phase}.json")),
            label: phase.into(),
            broken: None,
        }
    }

    proptest::proptest! {
        /// Whatever the sections hold (tables, fences, details, multi-byte text), the
        /// comment stays within the limit and every section keeps its heading.
        #[test]
        fn compose_respects_the_limit(
            sizes in proptest::collection::vec(0usize..3000, 1..6),
            limit in 4096usize..70_000,
            fence_at in 0usize..50,
        ) {
            let phases = ["lint", "test", "parity", "benchmark", "extra", "more"];
            let found: Vec<Found> = sizes.iter().enumerate().map(|(i, n)| {
                let mut md = String::from("### Title\n\n| a | b |\n| --- | --- |\n");
                for k in 0..*n {
                    if k == fence_at { md.push_str("<details><summary>x</summary>\n\n```text\n"); }
                    md.push_str(&format!("| ü{k} | é @x |\n"));
                }
                if fence_at < *n {
                    md.push_str("```\n</details>\n");
                }
                found(phases[i], md)
            }).collect();
            let links = Links { run_url: Some("https://github.com/o/r/actions/runs/1".into()), ..Links::default() };
            let body = compose(&found, "<!-- m -->", &links, Some(limit));
            proptest::prop_assert!(body.chars().count() <= limit, "{} > {limit}", body.chars().count());
            for f in &found {
                let heading = format!("{} headline", f.label);
                proptest::prop_assert!(body.contains(&heading));
            }
            // Fences are balanced: a cut never leaves one open.
            proptest::prop_assert_eq!(body.matches("```").count() % 2, 0);
            proptest::prop_assert_eq!(body.matches("<details").count(), body.matches("</details>").count());
        }
    }

    #[test]
    fn mentions_are_defused() {
        assert_eq!(
            defuse_mentions("ping @team and a@b, @ alone"),
            "ping @\u{200B}team and a@\u{200B}b, @ alone"
        );
    }

    #[test]
    fn link_targets_cannot_break_out() {
        assert_eq!(
            link_target("https://x.io/a b)(c\n"),
            "https://x.io/a%20b%29%28c"
        );
    }
}
