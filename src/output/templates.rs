//! The one minijinja set-up every renderer uses: templates embedded in the binary,
//! strict about undefined variables, HTML (and SVG/XML) autoescaped, Markdown
//! (`*.md.j2`, the PR comment sections and step summaries) Markdown-escaped.

use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior};
use serde::Serialize;

use crate::output::markdown;

/// The name of the auto-escape that [`format`] applies to Markdown templates.
const MARKDOWN: &str = "markdown";

/// A fresh environment. Templates are added by the caller with
/// `env.add_template(name, include_str!(...))`; names ending in `.html`, `.svg` or
/// `.xml` are autoescaped as HTML, names ending in `.md.j2` with
/// [`markdown::escape`], others (YAML, Makefile) are not escaped.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".svg") || name.ends_with(".xml") {
            AutoEscape::Html
        } else if name.ends_with(".md.j2") {
            AutoEscape::Custom(MARKDOWN)
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(format);
    env.set_keep_trailing_newline(true);
    // Untrusted multi-line text as a `<pre>` block, neutralised by `markdown::pre` (not
    // the inline escape), so marked safe for the formatter.
    env.add_filter("pre", |text: String| {
        Value::from_safe_string(markdown::pre(&text))
    });
    // `trim_end` keeping the value's safety (a `caller()` body stays Markdown).
    env.add_filter("rtrim", |value: Value| {
        let text = value.to_string();
        let trimmed = text.trim_end().to_string();
        if value.is_safe() {
            Value::from_safe_string(trimmed)
        } else {
            Value::from(trimmed)
        }
    });
    env
}

/// Writes a value into a template's output: in a Markdown template every value not
/// marked safe goes through [`markdown::escape`], the one place untrusted text is
/// neutralised for Markdown, so no template can forget it.
fn format(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    match state.auto_escape() {
        AutoEscape::Custom(MARKDOWN) if !value.is_safe() => {
            if value.is_undefined() {
                return Ok(());
            }
            out.write_str(&markdown::escape(&value.to_string()))
                .map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Embeds `templates/markdown/<name>.md.j2` for each name, as (file name, source).
macro_rules! markdown_templates {
    ($($name:literal),* $(,)?) => {
        &[$((
            concat!($name, ".md.j2"),
            include_str!(concat!("../../templates/markdown/", $name, ".md.j2")),
        )),*]
    };
}

/// The Markdown templates (PR comment sections, step summaries).
const MARKDOWN_TEMPLATES: &[(&str, &str)] = markdown_templates![
    "_macros",
    "benchmark",
    "comment_cut",
    "comment_footer",
    "comment_head",
    "comment_section",
    "lint",
    "parity",
    "publish",
    "rule_cell",
    "steps_on_main",
    "test",
    "unusable_report",
];

fn markdown_environment() -> &'static Result<Environment<'static>, String> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = environment();
        for (name, source) in MARKDOWN_TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("template {name}: {e:#}"))?;
        }
        Ok(env)
    })
}

/// Renders the Markdown template `name` (from `templates/markdown/`) with `ctx`.
pub fn try_markdown(name: &str, ctx: impl Serialize) -> Result<String, String> {
    let env = markdown_environment().as_ref().map_err(Clone::clone)?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("template {name}: {e:#}"))
}

/// [`try_markdown`] for a section: a template that cannot render (a bug the tests
/// catch, the templates being part of the binary) gives a line saying so instead of
/// the section, so the rest of the summary or comment still goes out.
pub fn markdown(name: &str, ctx: impl Serialize) -> String {
    try_markdown(name, ctx).unwrap_or_else(|e| {
        format!(
            "⚠️ This section could not be rendered: {}\n",
            markdown::escape(&e)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_undefined_is_an_error() {
        let mut env = environment();
        env.add_template("t.html", "<p>{{ name }}</p>")
            .unwrap_or_else(|e| panic!("{e}"));
        env.add_template("t.md", "{{ name }}")
            .unwrap_or_else(|e| panic!("{e}"));
        let html = env
            .get_template("t.html")
            .and_then(|t| t.render(minijinja::context! { name => "<b>" }));
        assert_eq!(html.ok().as_deref(), Some("<p>&lt;b&gt;</p>"));
        let md = env
            .get_template("t.md")
            .and_then(|t| t.render(minijinja::context! { name => "<b>" }));
        assert_eq!(md.ok().as_deref(), Some("<b>"));
        let missing = env
            .get_template("t.html")
            .and_then(|t| t.render(minijinja::context! {}));
        assert!(missing.is_err());
    }

    #[test]
    fn markdown_templates_escape_every_value_not_marked_safe() {
        let mut env = environment();
        env.add_template(
            "t.md.j2",
            "| {{ name }} | {{ bold|safe }} | {{ n }} | {{ items|join(\", \") }} |",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let md = env.get_template("t.md.j2").and_then(|t| {
            t.render(minijinja::context! {
                name => "<b>|@x", bold => "**a**", n => 3, items => vec!["*", "_"],
            })
        });
        assert_eq!(
            md.ok().as_deref(),
            Some("| &lt;b&gt;\\|@\u{200B}x | **a** | 3 | \\*, \\_ |")
        );
        let missing = env
            .get_template("t.md.j2")
            .and_then(|t| t.render(minijinja::context! {}));
        assert!(missing.is_err());
    }

    #[test]
    fn a_fold_escapes_its_summary_and_pre_keeps_a_traceback_verbatim() {
        let mut env = environment();
        for (name, source) in MARKDOWN_TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        env.add_template(
            "t.md.j2",
            "{% import \"_macros.md.j2\" as md %}{% call md.details(s) %}{{ tb|pre }}  \n{% endcall %}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let md = env.get_template("t.md.j2").and_then(|t| {
            t.render(minijinja::context! { s => "<b>@x</summary>", tb => "a </pre>\n  *x* @y\n" })
        });
        assert_eq!(
            md.ok().as_deref(),
            Some(
                "<details><summary>&lt;b&gt;@\u{200B}x&lt;/summary&gt;</summary>\n\n\
                 <pre>a &lt;/pre&gt;\n  *x* @y</pre>\n</details>\n"
            )
        );
    }

    #[test]
    fn every_markdown_template_parses() {
        assert_eq!(markdown_environment().as_ref().err(), None);
    }
}
