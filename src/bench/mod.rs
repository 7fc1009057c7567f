//! The benchmark engine: run model, input adapters, robust statistics, the regression
//! decision, `baseline.json`, the comparison and its renderers. The `benchmark` phase
//! orchestrates these; `publish` reads [`baseline`].

pub mod baseline;
pub mod changepoint;
pub mod changes;
pub mod compare;
pub mod comparison;
pub mod decide;
pub mod design;
pub mod fingerprint;
pub mod ingest;
pub mod metric;
pub mod portable;
#[cfg(test)]
mod props;
pub mod record;
pub mod render;
mod render_md;
pub mod report;
pub mod run;
pub mod stats;
