//! History charts: one metric over time, one series per backend, the threshold band
//! around each backend's baseline, regression markers, a tooltip per point (commit and
//! date) and a date axis. Long histories are downsampled so charts stay light.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::svg::{SvgBackend, SvgDoc, Tooltip};

/// One run's value in a series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// Unix seconds (UTC).
    pub t: i64,
    pub value: f64,
    pub commit: String,
    /// Judged a regression when it was recorded.
    pub regression: bool,
}

/// The threshold band around a backend's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub center: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    pub name: String,
    pub points: Vec<ChartPoint>,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    pub unit: String,
    pub series: Vec<ChartSeries>,
}

/// Series colours, readable on light and dark backgrounds.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x25, 0x6f, 0xd1),
    RGBColor(0xe0, 0x7a, 0x10),
    RGBColor(0x2f, 0x9e, 0x44),
    RGBColor(0x9c, 0x36, 0xb5),
    RGBColor(0x0c, 0x8a, 0x8a),
    RGBColor(0x86, 0x6a, 0x2c),
];
const REGRESSION: RGBColor = RGBColor(0xd6, 0x28, 0x28);

pub fn color_of(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Keeps at most about `max` points: the series is cut into buckets and each bucket
/// keeps its lowest and highest value (so spikes survive), plus every regression.
/// Order by time is preserved.
pub fn downsample(points: &[ChartPoint], max: usize) -> Vec<ChartPoint> {
    if points.len() <= max || max < 4 {
        return points.to_vec();
    }
    let buckets = max / 2;
    let mut keep = vec![false; points.len()];
    for b in 0..buckets {
        let start = b * points.len() / buckets;
        let end = ((b + 1) * points.len() / buckets).max(start + 1);
        let slice = &points[start..end];
        let lo = (0..slice.len()).min_by(|&i, &j| slice[i].value.total_cmp(&slice[j].value));
        let hi = (0..slice.len()).max_by(|&i, &j| slice[i].value.total_cmp(&slice[j].value));
        for i in [lo, hi].into_iter().flatten() {
            keep[start + i] = true;
        }
    }
    points
        .iter()
        .zip(keep)
        .filter(|(p, k)| *k || p.regression)
        .map(|(p, _)| p.clone())
        .collect()
}

fn date_label(t: i64, with_time: bool) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => {
            let s = ts.to_string();
            if with_time {
                s.get(..16).unwrap_or(&s).replace('T', " ")
            } else {
                s.get(..10).unwrap_or(&s).to_string()
            }
        }
        Err(_) => t.to_string(),
    }
}

/// Formats a value with a sensible number of digits for its size.
pub fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Renders the chart as an SVG string, with at most `max_points` drawn per series.
pub fn render(spec: &ChartSpec, max_points: usize) -> Result<String> {
    let series: Vec<ChartSeries> = spec
        .series
        .iter()
        .map(|s| ChartSeries {
            points: downsample(&s.points, max_points),
            ..s.clone()
        })
        .collect();
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    let (mut v0, mut v1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in all() {
        t0 = t0.min(p.t);
        t1 = t1.max(p.t);
        v0 = v0.min(p.value);
        v1 = v1.max(p.value);
    }
    for b in series.iter().filter_map(|s| s.band) {
        v0 = v0.min(b.lo);
        v1 = v1.max(b.hi);
    }
    if t0 > t1 {
        return Err(anyhow!("chart {:?} has no points", spec.title));
    }
    if t0 == t1 {
        t0 -= 43_200;
        t1 += 43_200;
    }
    let pad = ((v1 - v0) * 0.08).max(v1.abs() * 0.02).max(1e-9);
    let (v0, v1) = (
        (v0 - pad).max(if v0 >= 0.0 { 0.0 } else { f64::MIN }),
        v1 + pad,
    );
    let span_days = (t1 - t0) as f64 / 86_400.0;

    let tooltip = Tooltip::default();
    let doc = SvgDoc::default();
    let size = (720, 300);
    {
        let root = SvgBackend::new(size, doc.clone(), tooltip.clone()).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(t0..t1, v0..v1)
            .map_err(|e| anyhow!("chart layout: {e}"))?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(0x88, 0x88, 0x88).mix(0.15))
            .bold_line_style(RGBColor(0x88, 0x88, 0x88).mix(0.3))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|t| date_label(*t, span_days < 2.0))
            .y_label_formatter(&|v| fmt_value(*v))
            .y_desc(spec.unit.as_str())
            .draw()
            .map_err(|e| anyhow!("chart axes: {e}"))?;

        for (i, s) in series.iter().enumerate() {
            let color = color_of(i);
            if let Some(b) = s.band {
                tooltip.set(Some(format!(
                    "{} baseline {} {} (band {} – {})",
                    s.name,
                    fmt_value(b.center),
                    spec.unit,
                    fmt_value(b.lo),
                    fmt_value(b.hi)
                )));
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(t0, b.lo), (t1, b.hi)],
                        color.mix(0.12).filled(),
                    )))
                    .map_err(|e| anyhow!("band: {e}"))?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(t0, b.center), (t1, b.center)],
                        color.mix(0.5),
                    )))
                    .map_err(|e| anyhow!("band: {e}"))?;
                tooltip.set(None);
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.t, p.value)),
                    color.stroke_width(2),
                ))
                .map_err(|e| anyhow!("line: {e}"))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            let tip = tooltip.clone();
            let unit = spec.unit.clone();
            let name = s.name.clone();
            chart
                .draw_series(s.points.iter().map(move |p| {
                    let commit: String = p.commit.chars().take(12).collect();
                    tip.set(Some(format!(
                        "{name}: {} {unit}\n{}\ncommit {commit}{}",
                        fmt_value(p.value),
                        date_label(p.t, true),
                        if p.regression { "\nregression" } else { "" }
                    )));
                    let style = if p.regression {
                        REGRESSION.filled()
                    } else {
                        color.filled()
                    };
                    Circle::new((p.t, p.value), if p.regression { 5 } else { 3 }, style)
                }))
                .map_err(|e| anyhow!("points: {e}"))?;
            tooltip.set(None);
        }
        chart
            .configure_series_labels()
            .border_style(RGBColor(0x88, 0x88, 0x88))
            .background_style(RGBColor(0x88, 0x88, 0x88).mix(0.08))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("legend: {e}"))?;
        root.present().map_err(|e| anyhow!("chart: {e}"))?;
    }
    Ok(doc.finish(size, &format!("{} over time", spec.title)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: usize) -> Vec<ChartPoint> {
        (0..n)
            .map(|i| ChartPoint {
                t: 1_770_076_800 + i as i64 * 3600,
                value: 1.0 + (i % 7) as f64 * 0.01,
                commit: format!("{i:040x}"),
                regression: i == 500,
            })
            .collect()
    }

    #[test]
    fn downsample_keeps_extremes_and_regressions() {
        let mut p = pts(1000);
        p[123].value = 9.0;
        let d = downsample(&p, 200);
        assert!(d.len() <= 202, "{}", d.len());
        assert!(d.iter().any(|x| x.value == 9.0));
        assert!(d.iter().any(|x| x.regression));
        assert!(d.windows(2).all(|w| w[0].t < w[1].t));
        assert_eq!(downsample(&p[..10], 200).len(), 10);
    }

    #[test]
    fn renders_points_with_tooltips_and_escapes_names() {
        let spec = ChartSpec {
            title: "<script>alert(1)</script>".into(),
            unit: "s".into(),
            series: vec![ChartSeries {
                name: "<b>coreml</b>".into(),
                points: pts(3),
                band: Some(Band {
                    center: 1.0,
                    lo: 0.9,
                    hi: 1.1,
                }),
            }],
        };
        let svg = render(&spec, 400).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("commit 000000000000"), "{svg}");
        assert!(svg.contains("2026-02-03"), "{svg}");
    }
}

#[cfg(test)]
mod snapshot {
    use super::*;

    /// The whole SVG of a small chart with fixed dates and commits: any change to the
    /// drawing shows up as a snapshot diff to review.
    #[test]
    fn chart_svg_snapshot() {
        let points = |scale: f64, regress: Option<usize>| -> Vec<ChartPoint> {
            [3.21, 3.25, 3.19, 4.10, 3.22]
                .iter()
                .enumerate()
                .map(|(i, v)| ChartPoint {
                    t: 1_770_076_800 + i as i64 * 86_400,
                    value: v * scale,
                    commit: format!("{:07x}", 0xabc0 + i),
                    regression: regress == Some(i),
                })
                .collect()
        };
        let spec = ChartSpec {
            title: "Freq branch".into(),
            unit: "s".into(),
            series: vec![
                ChartSeries {
                    name: "coreml".into(),
                    points: points(1.0, Some(3)),
                    band: Some(Band {
                        center: 3.22,
                        lo: 2.898,
                        hi: 3.542,
                    }),
                },
                ChartSeries {
                    name: "pytorch".into(),
                    points: points(1.5, None),
                    band: None,
                },
            ],
        };
        let svg = render(&spec, 400).unwrap_or_else(|e| panic!("{e:#}"));
        insta::assert_snapshot!(svg.replace("><", ">\n<"));
    }
}
