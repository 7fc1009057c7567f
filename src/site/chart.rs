//! History charts: one metric over the runs, one series per backend (and testbed), the
//! threshold band around each series' baseline, regression markers, change-point marks
//! labelled with their commit, a tooltip per point (commit and date) and a run axis
//! labelled with each run's short commit. Long histories are downsampled.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use crate::chart::svg::{SvgBackend, SvgDoc, Tooltip};

/// One run's value in a series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// Position of the run on the x axis (the run's index on the page).
    pub x: i64,
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
    /// The x axis label of each run position (`#12 abc1234`).
    pub labels: Vec<String>,
    pub marks: Vec<Mark>,
}

/// A change point: a vertical line before the run at `x` where series `series`
/// stepped, labelled with the run's short commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub x: i64,
    pub series: usize,
    /// Short commit shown on the chart.
    pub label: String,
    /// Tooltip: what changed, by how much.
    pub tip: String,
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

/// `2026-02-03 14:05` (UTC) for tooltips.
pub fn date_label(t: i64) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => {
            let s = ts.to_string();
            s.get(..16).unwrap_or(&s).replace('T', " ")
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
    let (mut x0, mut x1) = (i64::MAX, i64::MIN);
    let (mut v0, mut v1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in all() {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        v0 = v0.min(p.value);
        v1 = v1.max(p.value);
    }
    for b in series.iter().filter_map(|s| s.band) {
        v0 = v0.min(b.lo);
        v1 = v1.max(b.hi);
    }
    if x0 > x1 {
        return Err(anyhow!("chart {:?} has no points", spec.title));
    }
    let pad = ((v1 - v0) * 0.08).max(v1.abs() * 0.02).max(1e-9);
    // Room above the lines for the change points' commit labels.
    let top = if spec.marks.is_empty() { 1.0 } else { 2.2 };
    let (v0, v1) = (
        (v0 - pad).max(if v0 >= 0.0 { 0.0 } else { f64::MIN }),
        v1 + pad * top,
    );
    // A band above everything drawn for the legend box (upper left), so that it never
    // covers a point: the plot is ~252 px tall (300 less margins and the x labels) and
    // each legend row takes ~22 px.
    let legend_px = 12.0 + 22.0 * series.len() as f64;
    let data_top = v1;
    let v1 = v1 + (v1 - v0) * legend_px / (252.0 - legend_px).max(1.0);
    let (fx0, fx1) = (x0 as f64 - 0.5, x1 as f64 + 0.5);
    let labels = &spec.labels;
    let x_label = move |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        labels.get(i as usize).cloned().unwrap_or_default()
    };
    // About one label per 90 pixels; the plotted area is ~650 px wide.
    let x_ticks = ((x1 - x0 + 1) as usize).clamp(1, 7);

    let tooltip = Tooltip::default();
    let doc = SvgDoc::default();
    let size = (720, 300);
    {
        let root = SvgBackend::new(size, doc.clone(), tooltip.clone()).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(fx0..fx1, v0..v1)
            .map_err(|e| anyhow!("chart layout: {e}"))?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(0x88, 0x88, 0x88).mix(0.15))
            .bold_line_style(RGBColor(0x88, 0x88, 0x88).mix(0.3))
            .x_labels(x_ticks)
            .y_labels(6)
            .x_label_formatter(&x_label)
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
                        [(fx0, b.lo), (fx1, b.hi)],
                        color.mix(0.12).filled(),
                    )))
                    .map_err(|e| anyhow!("band: {e}"))?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(fx0, b.center), (fx1, b.center)],
                        color.mix(0.5),
                    )))
                    .map_err(|e| anyhow!("band: {e}"))?;
                tooltip.set(None);
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.x as f64, p.value)),
                    color.stroke_width(2),
                ))
                .map_err(|e| anyhow!("line: {e}"))?
                // Plotters sizes the legend box with a font estimate narrower than real
                // glyphs; trailing spaces (invisible in SVG) make room for the name.
                .label(format!(
                    "{}{}",
                    s.name,
                    " ".repeat(s.name.chars().count() / 3 + 1)
                ))
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
                        "{name}: {} {unit}\nrun {}, {}\ncommit {commit}{}",
                        fmt_value(p.value),
                        p.x + 1,
                        date_label(p.t),
                        if p.regression { "\nregression" } else { "" }
                    )));
                    let style = if p.regression {
                        REGRESSION.filled()
                    } else {
                        color.filled()
                    };
                    Circle::new(
                        (p.x as f64, p.value),
                        if p.regression { 5 } else { 3 },
                        style,
                    )
                }))
                .map_err(|e| anyhow!("points: {e}"))?;
            tooltip.set(None);
        }
        draw_marks(&mut chart, spec, &tooltip, (v0, data_top))?;
        chart
            .configure_series_labels()
            .border_style(RGBColor(0x88, 0x88, 0x88))
            .background_style(RGBColor(0x88, 0x88, 0x88).mix(0.08))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("legend: {e}"))?;
        root.present().map_err(|e| anyhow!("chart: {e}"))?;
    }
    Ok(doc.finish(size, &format!("{} over the recorded runs", spec.title)))
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SvgBackend,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Change points: a dashed vertical line just before the run where the level changed
/// and the run's short commit above the lines, each with its tooltip; both stay below
/// `v1`, the top of the data (the legend's band is above it).
fn draw_marks(
    chart: &mut Chart<'_, '_>,
    spec: &ChartSpec,
    tooltip: &Tooltip,
    (v0, v1): (f64, f64),
) -> Result<()> {
    let span = v1 - v0;
    for (n, m) in spec.marks.iter().enumerate() {
        let color = color_of(m.series);
        let x = m.x as f64 - 0.5;
        // Dashes, drawn as short segments (the backend has no dash style).
        let dashes = (0..24).map(|k| {
            let a = v0 + span * (k as f64 / 24.0);
            PathElement::new(vec![(x, a), (x, a + span / 48.0)], color.stroke_width(2))
        });
        chart
            .draw_series(dashes)
            .map_err(|e| anyhow!("change point: {e}"))?;
        // Labels of nearby marks are staggered so they do not overlap.
        tooltip.set(Some(m.tip.clone()));
        let y = v1 - span * (0.04 + 0.07 * (n % 2) as f64);
        chart
            .draw_series(std::iter::once(Text::new(
                m.label.clone(),
                (x + 0.12, y),
                ("sans-serif", 12).into_font().color(&color),
            )))
            .map_err(|e| anyhow!("change point label: {e}"))?;
        tooltip.set(None);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: usize) -> Vec<ChartPoint> {
        (0..n)
            .map(|i| ChartPoint {
                x: i as i64,
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
        assert!(d.windows(2).all(|w| w[0].x < w[1].x));
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
            labels: vec!["#1 <i>".into(), "#2 b".into(), "#3 c".into()],
            marks: vec![Mark {
                x: 2,
                series: 0,
                label: "<u>abc1234</u>".into(),
                tip: "<em>change</em>".into(),
            }],
        };
        let svg = render(&spec, 400).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(
            !svg.contains("<i>") && !svg.contains("<u>") && !svg.contains("<em>"),
            "{svg}"
        );
        assert!(svg.contains("&lt;u&gt;abc1234&lt;/u&gt;</text>"), "{svg}");
        assert!(svg.contains("#2 b</text>"), "runs are labelled: {svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("commit 000000000000"), "{svg}");
        assert!(svg.contains("2026-02-03"), "{svg}");
    }

    /// The number after `attr="` in an SVG element's text.
    fn attr(element: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let at = element
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {element}"));
        let rest = &element[at + key.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        rest[..end]
            .parse()
            .unwrap_or_else(|e| panic!("{name} in {element}: {e}"))
    }

    #[test]
    fn legend_box_covers_no_point_and_no_change_label() {
        // Three series whose first points are the highest values: where an upper-left
        // legend would sit if the plot gave it no room of its own.
        let series = (0..3)
            .map(|k| ChartSeries {
                name: format!("backend-{k}"),
                points: (0..6)
                    .map(|i| ChartPoint {
                        x: i,
                        t: 1_770_076_800 + i * 3600,
                        value: if i == 0 { 9.0 } else { 1.0 + k as f64 },
                        commit: format!("{i:07x}"),
                        regression: false,
                    })
                    .collect(),
                band: None,
            })
            .collect();
        let spec = ChartSpec {
            title: "t".into(),
            unit: "s".into(),
            series,
            labels: (0..6).map(|i| format!("#{i}")).collect(),
            marks: vec![Mark {
                x: 1,
                series: 0,
                label: "abc1234".into(),
                tip: "step".into(),
            }],
        };
        let svg = render(&spec, 400).unwrap_or_else(|e| panic!("{e:#}"));
        let legend = svg
            .split('<')
            .find(|e| e.starts_with("rect") && e.contains("fill=\"none\""))
            .unwrap_or_else(|| panic!("no legend box: {svg}"));
        let bottom = attr(legend, "y") + attr(legend, "height");
        let circles: Vec<&str> = svg.split('<').filter(|e| e.starts_with("circle")).collect();
        assert_eq!(circles.len(), 18, "{svg}");
        for c in circles {
            assert!(
                attr(c, "cy") - 5.0 > bottom,
                "point under the legend (bottom {bottom}): {c}"
            );
        }
        let label = svg
            .split('<')
            .find(|e| e.starts_with("text") && e.ends_with(">abc1234"))
            .unwrap_or_else(|| panic!("no change label: {svg}"));
        assert!(
            attr(label, "y") - 12.0 > bottom,
            "label under the legend: {label}"
        );
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
                    x: i as i64,
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
            labels: (0..5)
                .map(|i| format!("#{} {:07x}", i + 1, 0xabc0 + i))
                .collect(),
            marks: vec![Mark {
                x: 3,
                series: 0,
                label: "000abc3".into(),
                tip: "coreml stepped at 000abc3: +27 %".into(),
            }],
        };
        let svg = render(&spec, 400).unwrap_or_else(|e| panic!("{e:#}"));
        insta::assert_snapshot!(svg.replace("><", ">\n<"));
    }
}
