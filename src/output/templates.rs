//! The one minijinja set-up every renderer uses: templates embedded in the binary,
//! strict about undefined variables, HTML (and SVG/XML) autoescaped.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// A fresh environment. Templates are added by the caller with
/// `env.add_template(name, include_str!(...))`; names ending in `.html`, `.svg` or
/// `.xml` are autoescaped as HTML, others (Markdown, YAML, Makefile) are not.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".svg") || name.ends_with(".xml") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_keep_trailing_newline(true);
    env
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
}
