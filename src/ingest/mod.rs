//! Readers for the reports foreign tools write: one adapter per format, each turning
//! real tool output (kept as fixtures in tests/fixtures/<tool>/) into our own model.

pub mod diagnostic;
pub mod generic;
pub mod json_array;
pub mod junit;
pub mod metrics_csv;
pub mod ruff;
pub mod swiftformat;
pub mod swiftlint;
