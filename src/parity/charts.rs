//! Inline SVG charts for the HTML report, drawn with plotters: the |error| histogram and
//! the error-over-time curve of one check. No untrusted text goes into the SVG (axis
//! captions are fixed), so the HTML template can embed it as is.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::model::{Curve, Histogram};

const W: u32 = 460;
const H: u32 = 220;

/// Bars of |error| counts per power of two (exact zeros not drawn; they are counted in
/// the table).
pub fn histogram_svg(h: &Histogram) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let first = h.counts.iter().position(|&c| c > 0).unwrap_or(0) as i32;
        let last = h.counts.iter().rposition(|&c| c > 0).unwrap_or(0) as i32;
        let (lo, hi) = (h.min_exp + first - 1, h.min_exp + last + 2);
        let top = h.counts.iter().copied().max().unwrap_or(1).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d((lo..hi).into_segmented(), 0u64..top + top / 10 + 1)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("|error| (power of two)")
            .y_desc("elements")
            .x_label_formatter(&|v| match v {
                SegmentValue::Exact(e) | SegmentValue::CenterOf(e) => format!("2^{e}"),
                SegmentValue::Last => String::new(),
            })
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(
                plotters::series::Histogram::vertical(&chart)
                    .style(RGBColor(70, 110, 190).filled())
                    .margin(1)
                    .data(
                        h.counts
                            .iter()
                            .enumerate()
                            .filter(|(_, &c)| c > 0)
                            .map(|(i, &c)| (h.min_exp + i as i32, c)),
                    ),
            )
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// RMS and max |error| per time bucket, log scale.
pub fn curve_svg(c: &Curve) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let n = c.rms.len().max(1);
        let scale = match c.sample_rate {
            Some(sr) if sr > 0 => c.axis_len as f64 / f64::from(sr),
            _ => c.axis_len as f64,
        };
        let x = |i: usize| (i as f64 + 0.5) * scale / n as f64;
        let floor = 1e-12;
        let ymax = c
            .max
            .iter()
            .copied()
            .fold(floor, f64::max)
            .max(floor * 10.0);
        let ymin = c
            .rms
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(ymax, f64::min)
            .max(floor)
            / 2.0;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..scale.max(1e-9), (ymin..ymax * 2.0).log_scale())
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
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
        let clamp = |v: f64| v.max(ymin);
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
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}
