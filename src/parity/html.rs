//! The self-contained HTML parity report (minijinja, autoescaped, inline CSS and SVG, no
//! external assets). [`render_html`] is public so the publish site can reuse it.

use anyhow::{Context, Result};
use serde::Serialize;

use super::charts;
use super::report::{db, sci, ParityReport};

const TEMPLATE: &str = include_str!("../../templates/parity/report.html");

#[derive(Serialize)]
struct RowView {
    passed: bool,
    stage: String,
    label: String,
    mode: String,
    anchor: String,
    max_abs: String,
    mean_abs: String,
    p99_abs: String,
    rmse: String,
    max_rel: String,
    snr_db: String,
    isolated_snr_db: String,
    psnr_db: String,
    cosine: String,
    outside: String,
    non_finite: String,
    sdr_db: String,
    shapes: String,
    dtypes: String,
    problems: Vec<String>,
    stems: Vec<(String, String)>,
    histogram_svg: String,
    curve_svg: String,
}

/// Renders the page from the `data` of `<out-dir>/parity.json` (what the publish site
/// reads), with an error saying what to do when it is not a parity report.
pub fn render_html_value(data: &serde_json::Value) -> Result<String> {
    let report: ParityReport = serde_json::from_value(data.clone()).context(
        "the parity report data is not readable by this version (re-run the parity phase)",
    )?;
    render_html(&report)
}

/// Renders the whole report page.
pub fn render_html(report: &ParityReport) -> Result<String> {
    let mut env = crate::output::templates::environment();
    env.add_template("parity/report.html", TEMPLATE)
        .context("the parity HTML template does not parse")?;
    let mut rows = Vec::new();
    let modes = report.checks.iter().any(|c| c.mode.is_some());
    for (i, row) in report.rows().into_iter().enumerate() {
        for (j, c) in std::iter::once(row.main).chain(row.isolated).enumerate() {
            let m = c.metrics.as_ref();
            let dash = || "—".to_string();
            rows.push(RowView {
                passed: c.passed,
                stage: c.stage.clone(),
                label: c.label(),
                mode: c.mode.map(|m| m.name().to_string()).unwrap_or_default(),
                anchor: format!("check-{i}-{j}"),
                max_abs: m.map_or_else(dash, |m| {
                    format!("{} at {:?}", sci(m.max_abs), m.max_abs_index)
                }),
                mean_abs: m.map_or_else(dash, |m| sci(m.mean_abs)),
                p99_abs: m.map_or_else(dash, |m| {
                    format!(
                        "{}{}",
                        sci(m.p99_abs),
                        if m.p99_exact { "" } else { " (≈)" }
                    )
                }),
                rmse: m.map_or_else(dash, |m| sci(m.rmse)),
                max_rel: m.map_or_else(dash, |m| sci(m.max_rel)),
                snr_db: m.map_or_else(dash, |m| db(m.snr_db)),
                isolated_snr_db: if j == 0 {
                    row.isolated
                        .and_then(|c| c.metrics.as_ref())
                        .map_or_else(dash, |m| db(m.snr_db))
                } else {
                    dash()
                },
                psnr_db: m.map_or_else(dash, |m| db(m.psnr_db)),
                cosine: m.map_or_else(dash, |m| format!("{:.9}", m.cosine)),
                outside: m.map_or_else(dash, |m| format!("{} / {}", m.outside, m.elements)),
                non_finite: m.map_or_else(dash, |m| {
                    format!(
                        "ref {} NaN, {} Inf · cand {} NaN, {} Inf",
                        m.nan_ref, m.inf_ref, m.nan_cand, m.inf_cand
                    )
                }),
                sdr_db: m
                    .and_then(|m| m.sdr_db)
                    .or_else(|| c.reported.as_ref().and_then(|r| r.sdr_db))
                    .map_or_else(dash, db),
                shapes: format!(
                    "{} / {}",
                    c.reference_shape
                        .as_ref()
                        .map_or_else(dash, |s| format!("{s:?}")),
                    c.candidate_shape
                        .as_ref()
                        .map_or_else(dash, |s| format!("{s:?}"))
                ),
                dtypes: format!(
                    "{} / {}",
                    c.reference_dtype.clone().unwrap_or_else(dash),
                    c.candidate_dtype.clone().unwrap_or_else(dash)
                ),
                problems: c.problems.clone(),
                stems: m
                    .map(|m| {
                        m.stems_sdr
                            .iter()
                            .map(|s| (s.stem.clone(), db(s.sdr_db)))
                            .collect()
                    })
                    .unwrap_or_default(),
                histogram_svg: match &c.histogram {
                    Some(h) if h.counts.iter().any(|&n| n > 0) => charts::histogram_svg(h)?,
                    _ => String::new(),
                },
                curve_svg: match &c.curve {
                    Some(cv) if cv.max.iter().any(|&v| v > 0.0) => charts::curve_svg(cv)?,
                    _ => String::new(),
                },
            });
        }
    }
    let t = &report.tolerance;
    // `parity run`'s verdicts as plain sentences; the template escapes them.
    let plain = |x: &str| x.to_string();
    let introduced: Vec<String> = report
        .introduced
        .iter()
        .map(|i| i.sentence(&plain))
        .collect();
    let run_sentence = report.run.as_ref().map(|r| r.sentence(&plain));
    let ctx = minijinja::context! {
        title => "Parity report",
        passed => report.passed,
        headline => crate::output::PhaseOutput::headline(report),
        reference => &report.reference,
        candidate => &report.candidate,
        shard => &report.shard,
        atol => t.atol,
        rtol => t.rtol,
        min_snr_db => t.min_snr_db,
        min_sdr_db => t.min_sdr_db,
        modes => modes,
        rows => rows,
        introduced => introduced,
        notes => &report.notes,
        run_sentence => run_sentence,
        generated_at => jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        version => env!("CARGO_PKG_VERSION"),
    };
    env.get_template("parity/report.html")
        .and_then(|t| t.render(ctx))
        .context("cannot render the parity HTML report")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_from_the_json_data_and_rejects_other_data() {
        let t = crate::parity::model::Tolerance {
            atol: 1e-4,
            rtol: 1e-3,
            min_snr_db: 40.0,
            min_sdr_db: 40.0,
        };
        let report = ParityReport::new("a.npz".into(), "<b>.npz".into(), None, t, vec![]);
        let data = serde_json::to_value(&report).unwrap();
        let html = render_html_value(&data).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(html.contains("&lt;b&gt;.npz") && !html.contains("<b>.npz"));
        assert!(render_html_value(&serde_json::json!({"lint": 1})).is_err());
    }

    #[test]
    fn the_page_says_where_the_error_is_introduced_and_what_was_not_computed() {
        let t = crate::parity::model::Tolerance {
            atol: 1e-4,
            rtol: 1e-3,
            min_snr_db: 40.0,
            min_sdr_db: 40.0,
        };
        let mut report = ParityReport::new("a.npz".into(), "b.npz".into(), None, t, vec![]);
        report.introduced = vec![crate::parity::stages::Introduced {
            clip: None,
            stage: Some("<i>model</i>".into()),
            snr_db: Some(61.5),
            failing: vec![],
        }];
        report.notes = vec![crate::parity::stages::StageNote {
            stage: "stft".into(),
            note: "shared: <b>pytorch</b>'s implementation feeds both".into(),
            compared: false,
        }];
        let data = serde_json::to_value(&report).unwrap();
        let html = render_html_value(&data).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(html.contains("Where the error is introduced"), "{html}");
        assert!(
            html.contains("the error is introduced at stage &lt;i&gt;model&lt;&#x2f;i&gt; (isolated SNR 61.5 dB"),
            "{html}"
        );
        assert!(
            html.contains("<code>stft</code>: shared: &lt;b&gt;pytorch&lt;&#x2f;b&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("<i>model") && !html.contains("<b>pytorch"),
            "{html}"
        );
    }
}
