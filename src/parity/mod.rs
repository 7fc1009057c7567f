//! Parity: stage-by-stage error statistics between a reference (PyTorch) and a candidate
//! (CoreML) run, streamed from `.npz`/`.npy`/WAV files with bounded memory, judged
//! against tolerances and rendered as terminal, JSON, JUnit, Markdown and HTML.

pub mod blocks;
pub mod charts;
pub mod compare;
pub mod complex;
pub mod histogram;
pub mod html;
pub mod junit;
pub mod kernel;
pub mod metrics;
pub mod model;
pub mod pairs;
pub mod plan;
pub mod quantile;
pub mod readers;
pub mod report;
pub mod shard;
pub mod source;
pub mod stages;

pub use html::{render_html, render_html_value};
pub use report::ParityReport;
