//! A small plotters drawing backend that writes SVG we control: text escaped for SVG,
//! black mapped to `currentColor` (so charts follow the page's light/dark theme), and
//! per-element tooltips (`<title>`) set from the drawing code through [`Tooltip`].

use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::FontTransform;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if let Some(e) = crate::html::entity(c) {
            out.push_str(e);
            continue;
        }
        match c {
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A handle the chart code uses to attach a tooltip to the next element(s) drawn.
#[derive(Clone, Default)]
pub struct Tooltip(Rc<RefCell<Option<String>>>);

impl Tooltip {
    pub fn set(&self, text: Option<String>) {
        *self.0.borrow_mut() = text;
    }
    fn get(&self) -> Option<String> {
        self.0.borrow().clone()
    }
}

#[derive(Debug)]
pub struct SvgError;

impl std::fmt::Display for SvgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("svg backend error")
    }
}

impl std::error::Error for SvgError {}

/// The backend. Plotters takes it by value, so what it draws goes into a shared
/// [`SvgDoc`] that the caller keeps and finishes afterwards.
pub struct SvgBackend {
    size: (u32, u32),
    doc: SvgDoc,
    tooltip: Tooltip,
}

/// The body drawn so far; [`SvgDoc::finish`] wraps it into a document.
#[derive(Clone, Default)]
pub struct SvgDoc(Rc<RefCell<String>>);

impl SvgDoc {
    /// The finished SVG document (scalable: it fills its container's width). `label`
    /// becomes its accessible name.
    pub fn finish(&self, size: (u32, u32), label: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\" class=\"chart\" font-family=\"sans-serif\">{body}</svg>",
            w = size.0,
            h = size.1,
            label = escape(label),
            body = self.0.borrow()
        )
    }
}

/// `x,y x,y ...` for a `points` attribute.
fn points_attr(coords: impl IntoIterator<Item = BackendCoord>) -> String {
    let mut points = String::new();
    for (x, y) in coords {
        let _ = write!(points, "{x},{y} ");
    }
    points.trim_end().to_string()
}

/// `fill="…"` for a filled shape, else an outline of the given width.
fn fill_or_stroke(c: BackendColor, fill: bool, width: u32) -> String {
    if fill {
        format!("fill=\"{}\"", paint(c))
    } else {
        format!(
            "fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"",
            paint(c)
        )
    }
}

fn paint(c: BackendColor) -> String {
    if c.rgb == (0, 0, 0) {
        "currentColor".to_string()
    } else {
        format!("#{:02x}{:02x}{:02x}", c.rgb.0, c.rgb.1, c.rgb.2)
    }
}

fn opacity(c: BackendColor) -> String {
    if c.alpha >= 1.0 {
        String::new()
    } else {
        format!(" opacity=\"{:.2}\"", c.alpha)
    }
}

impl SvgBackend {
    pub fn new(size: (u32, u32), doc: SvgDoc, tooltip: Tooltip) -> Self {
        SvgBackend { size, doc, tooltip }
    }

    fn element(&mut self, el: String) {
        let mut body = self.doc.0.borrow_mut();
        match self.tooltip.get() {
            Some(t) => {
                let _ = write!(
                    body,
                    "<g class=\"pt\"><title>{}</title>{el}</g>",
                    escape(&t)
                );
            }
            None => body.push_str(&el),
        }
    }
}

impl DrawingBackend for SvgBackend {
    type ErrorType = SvgError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<SvgError>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<SvgError>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        p: BackendCoord,
        c: BackendColor,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        if c.alpha > 0.0 {
            let el = format!(
                "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\" fill=\"{}\"{}/>",
                p.0,
                p.1,
                paint(c),
                opacity(c)
            );
            self.element(el);
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        s: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = s.color();
        if c.alpha > 0.0 {
            let el = format!(
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>",
                from.0, from.1, to.0, to.1, paint(c), s.stroke_width(), opacity(c)
            );
            self.element(el);
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = s.color();
        if c.alpha == 0.0 || (fill && c.rgb == (255, 255, 255)) {
            // A white fill is the plotting area's background: leave it to the page theme.
            return Ok(());
        }
        let (x, y) = (ul.0.min(br.0), ul.1.min(br.1));
        let (w, h) = ((br.0 - ul.0).abs(), (br.1 - ul.1).abs());
        let paint_attr = fill_or_stroke(c, fill, s.stroke_width());
        let el = format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" {paint_attr}{}/>",
            opacity(c)
        );
        self.element(el);
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = s.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let points = points_attr(path);
        let el = format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-linejoin=\"round\"{}/>",
            points,
            paint(c),
            s.stroke_width(),
            opacity(c)
        );
        self.element(el);
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        r: u32,
        s: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = s.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let paint_attr = fill_or_stroke(c, fill, s.stroke_width());
        let el = format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\" {paint_attr}{}/>",
            center.0,
            center.1,
            opacity(c)
        );
        self.element(el);
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = s.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let points = points_attr(vert);
        let el = format!(
            "<polygon points=\"{}\" fill=\"{}\"{}/>",
            points,
            paint(c),
            opacity(c)
        );
        self.element(el);
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = style.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let anchor = match style.anchor().h_pos {
            HPos::Left => "start",
            HPos::Right => "end",
            HPos::Center => "middle",
        };
        let baseline = match style.anchor().v_pos {
            VPos::Top => "text-before-edge",
            VPos::Center => "middle",
            VPos::Bottom => "text-after-edge",
        };
        let rotate = match style.transform() {
            FontTransform::Rotate90 => format!(" transform=\"rotate(90, {}, {})\"", pos.0, pos.1),
            FontTransform::Rotate180 => format!(" transform=\"rotate(180, {}, {})\"", pos.0, pos.1),
            FontTransform::Rotate270 => format!(" transform=\"rotate(270, {}, {})\"", pos.0, pos.1),
            _ => String::new(),
        };
        let el = format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"{:.0}\" text-anchor=\"{anchor}\" dominant-baseline=\"{baseline}\" fill=\"{}\"{}{rotate}>{}</text>",
            pos.0,
            pos.1,
            style.size(),
            paint(c),
            opacity(c),
            escape(text)
        );
        self.element(el);
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<SvgError>> {
        // A sans-serif glyph averages a little over half its size in width.
        let size = style.size();
        Ok((
            (text.chars().count() as f64 * size * 0.55).ceil() as u32,
            size.ceil() as u32,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn text_and_tooltips_are_escaped() {
        let tip = Tooltip::default();
        let doc = SvgDoc::default();
        let mut backend = SvgBackend::new((100, 50), doc.clone(), tip.clone());
        tip.set(Some("<script>alert(1)</script>".into()));
        let style = TextStyle::from(("sans-serif", 10).into_font()).color(&BLACK);
        backend
            .draw_text("<script>x</script>", &style, (1, 2))
            .unwrap_or_else(|_| panic!("draw"));
        let svg = doc.finish((100, 50), "a<b");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("&lt;script&gt;x&lt;/script&gt;</text>"),
            "{svg}"
        );
        assert!(svg.contains("aria-label=\"a&lt;b\""), "{svg}");
        assert!(svg.contains("fill=\"currentColor\""), "{svg}");
    }
}
