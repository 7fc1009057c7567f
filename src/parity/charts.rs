//! Inline SVG charts for the HTML report: the |error| histogram and the error-over-time
//! curve of one check, drawn with plotters through the crate's one SVG backend
//! (`chart::svg`, the site's too: text escaped, black drawn in the page's text colour).
//! The axis captions are fixed, and the backend escapes any text, so the HTML template
//! embeds the SVG as is.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::model::{Curve, Histogram};
use crate::chart::svg::{SvgBackend, SvgDoc, Tooltip};

const W: u32 = 460;
const H: u32 = 220;
/// Axis labels, captions and legend: small enough that the labels of a wide histogram
/// stay apart.
const FONT: (&str, u32) = ("sans-serif", 10);

/// The log axis of the curve spans [FLOOR, CEIL] at most. plotters enumerates the key
/// points between the axis bounds, endlessly when a bound or their ratio is infinite (an
/// error beyond the float64 range is inf, see `metrics`; 1e308 / 1e-12 overflows too),
/// so values are drawn clamped into this range, whose ratio stays far from overflow; the
/// report's tables carry the exact figures, inf and NaN included.
const FLOOR: f64 = 1e-12;
const CEIL: f64 = 1e250;

/// A curve value as drawn: NaN at the floor, anything above `CEIL` at the ceiling.
fn plotted(v: f64) -> f64 {
    if v.is_nan() {
        FLOOR
    } else {
        v.clamp(0.0, CEIL)
    }
}

/// Bars of |error| counts per power of two (exact zeros not drawn; they are counted in
/// the table).
pub fn histogram_svg(h: &Histogram) -> Result<String> {
    let doc = SvgDoc::default();
    {
        let root = SvgBackend::new((W, H), doc.clone(), Tooltip::default()).into_drawing_area();
        let first = h.counts.iter().position(|&c| c > 0).unwrap_or(0) as i32;
        let last = h.counts.iter().rposition(|&c| c > 0).unwrap_or(0) as i32;
        // Saturating: a merged shard report may carry any exponent and counts.
        let (lo, hi) = (
            h.min_exp.saturating_add(first).saturating_sub(1),
            h.min_exp.saturating_add(last).saturating_add(2),
        );
        let top = h.counts.iter().copied().max().unwrap_or(1).max(1);
        let top = top.saturating_add(top / 10).saturating_add(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d((lo..hi).into_segmented(), 0u64..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .label_style(FONT)
            .axis_desc_style(FONT)
            .disable_x_mesh()
            .x_desc("|error| (power of two)")
            .y_desc("elements")
            .x_label_formatter(&|v| match v {
                SegmentValue::Exact(e) | SegmentValue::CenterOf(e) => format!("2^{e}"),
                SegmentValue::Last => String::new(),
            })
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        // Bars drawn in exponent order (plotters' own histogram series collects them in
        // a hash map, which would make the page's bytes differ from run to run).
        let bars = h
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let e = h.min_exp.saturating_add(i as i32);
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(e), 0),
                        (SegmentValue::Exact(e.saturating_add(1)), c),
                    ],
                    RGBColor(70, 110, 190).filled(),
                );
                bar.set_margin(0, 0, 1, 1);
                bar
            });
        chart.draw_series(bars).map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(doc.finish((W, H), "Histogram of |error|"))
}

/// RMS and max |error| per time bucket, log scale.
pub fn curve_svg(c: &Curve) -> Result<String> {
    let doc = SvgDoc::default();
    {
        let root = SvgBackend::new((W, H), doc.clone(), Tooltip::default()).into_drawing_area();
        let n = c.rms.len().max(1);
        let scale = match c.sample_rate {
            Some(sr) if sr > 0 => c.axis_len as f64 / f64::from(sr),
            _ => c.axis_len as f64,
        };
        let scale = if scale.is_finite() { scale } else { 1.0 };
        let x = |i: usize| (i as f64 + 0.5) * scale / n as f64;
        let ymax = c
            .max
            .iter()
            .chain(&c.rms)
            .copied()
            .map(plotted)
            .fold(FLOOR, f64::max)
            .max(FLOOR * 10.0);
        let ymin = c
            .rms
            .iter()
            .copied()
            .map(plotted)
            .filter(|v| *v > 0.0)
            .fold(ymax, f64::min)
            .max(FLOOR)
            / 2.0;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..scale.max(1e-9), (ymin..ymax * 2.0).log_scale())
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .label_style(FONT)
            .axis_desc_style(FONT)
            .x_desc(if c.sample_rate.is_some() {
                "time (s)"
            } else {
                "position along the last axis"
            })
            .y_desc("|error|")
            .y_labels(6)
            .x_labels(6)
            .x_label_formatter(&|v| {
                if c.sample_rate.is_some() {
                    format!("{v:.2}")
                } else {
                    format!("{v:.0}")
                }
            })
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let clamp = |v: f64| plotted(v).max(ymin);
        chart
            .draw_series(LineSeries::new(
                c.max.iter().enumerate().map(|(i, &v)| (x(i), clamp(v))),
                RGBColor(220, 120, 60).stroke_width(1),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label("max")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RGBColor(220, 120, 60)));
        chart
            .draw_series(LineSeries::new(
                c.rms.iter().enumerate().map(|(i, &v)| (x(i), clamp(v))),
                RGBColor(70, 110, 190).stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label("rms")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RGBColor(70, 110, 190)));
        chart
            .configure_series_labels()
            .label_font(FONT)
            // Not pure white: the backend leaves white fills to the page, and the legend
            // must hide the lines behind it.
            .background_style(RGBColor(0xf6, 0xf8, 0xfa).mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(doc.finish((W, H), "Error over time (RMS and max per bucket)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Infinite, NaN and near-`f64::MAX` values draw (clamped) instead of looping.
    #[test]
    fn huge_and_non_finite_values_draw() {
        let c = Curve {
            axis_len: 4,
            sample_rate: None,
            rms: vec![f64::INFINITY, 1e308, f64::NAN, 0.0],
            max: vec![f64::INFINITY, f64::MAX, 1e-3, 0.0],
        };
        let svg = curve_svg(&c).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(svg.contains("<svg"));
        let h = Histogram {
            min_exp: i32::MAX - 1,
            counts: vec![u64::MAX, 0, 3],
            zeros: 0,
        };
        assert!(histogram_svg(&h).is_ok());
    }

    /// The same histogram draws the same bytes every time, its bars left to right.
    #[test]
    fn histogram_is_reproducible_and_ordered() {
        let h = Histogram {
            min_exp: -30,
            counts: (1..=12).map(|c| c * 7).collect(),
            zeros: 0,
        };
        let first = histogram_svg(&h).unwrap_or_else(|e| panic!("{e:#}"));
        for _ in 0..20 {
            assert_eq!(histogram_svg(&h).unwrap_or_else(|e| panic!("{e:#}")), first);
        }
        let xs: Vec<i64> = first
            .split("<rect")
            .skip(1) // what precedes the first rectangle
            .filter(|r| r.contains("fill=\"#466ebe\""))
            .filter_map(|r| r.split("x=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(xs.len(), 12, "{first}");
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }
}
