//! The GitHub Pages site: pages, charts and the push to `gh-pages`.

pub mod chart;
pub mod groups;
pub mod history;
pub mod latest;
pub mod pages;
