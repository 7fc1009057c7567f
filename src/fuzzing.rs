//! The bodies of the fuzz targets (fuzz/fuzz_targets/*.rs) and of the test that replays
//! the inputs they once broke on (tests/fuzz/<target>/): each feeds arbitrary bytes to
//! one family of parsers through the same functions the phases call. A target may
//! return any error; it must not panic, hang or allocate without bound.

use std::io::Read;
use std::path::Path;

use crate::bench::ingest::{read_str, InputFormat};
use crate::ingest::diagnostic::Format;

/// The body of a fuzz target: takes any bytes, returns nothing, must not panic.
pub type Body = fn(&[u8]);

/// Every target: its name (fuzz/fuzz_targets/<name>.rs, tests/fuzz/<name>/) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("junit", junit),
    ("lint", lint),
    ("config_yaml", config_yaml),
    ("pipeline_yaml", pipeline_yaml),
    ("baseline", baseline),
    ("bench_input", bench_input),
    ("phase_report", phase_report),
    ("npy", npy),
    ("npz", npz),
    ("wav", wav),
];

/// The body of target `name`.
pub fn target(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// JUnit/xUnit XML (pytest, nextest, SwiftPM), read the way `test --junit` reads it.
pub fn junit(data: &[u8]) {
    if let Ok(file) = crate::ingest::junit::parse_bytes(data, Path::new("fuzz.xml")) {
        for case in &file.cases {
            let _ = case.status();
            let _ = case.display_name();
        }
    }
}

/// Every lint report format (ruff JSON and format text, SwiftLint JSON, SwiftFormat,
/// generic) on the same input.
pub fn lint(data: &[u8]) {
    let text = text(data);
    for format in Format::ALL {
        let _ = format.parse("fuzz", &text);
    }
}

/// The config file (`.github/htdemucs-devops.yml`).
pub fn config_yaml(data: &[u8]) {
    let _ = crate::config::parse(&text(data), Path::new("fuzz.yml"));
}

/// The stage runner's pipeline spec, parsed and validated.
pub fn pipeline_yaml(data: &[u8]) {
    let text = text(data);
    if crate::yaml_depth::check(&text).is_err() {
        return;
    }
    if let Ok(spec) = serde_yaml_ng::from_str::<crate::runner::spec::PipelineSpec>(&text) {
        let _ = spec.validate();
    }
}

/// `baseline.json`, in the versioned and the seed's date-keyed formats.
pub fn baseline(data: &[u8]) {
    let _ = crate::bench::baseline::parse(&text(data), Path::new("baseline.json"));
}

/// Benchmark results in every input format, detected and forced.
pub fn bench_input(data: &[u8]) {
    let text = text(data);
    for format in [
        InputFormat::Auto,
        InputFormat::Design,
        InputFormat::GabSmaller,
        InputFormat::Bmf,
        InputFormat::Hyperfine,
    ] {
        let _ = read_str(&text, "fuzz.json", format);
    }
}

/// A phase report envelope, and a parity shard report inside it.
pub fn phase_report(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<crate::output::PhaseReport>(data) else {
        return;
    };
    let _ = serde_json::from_value::<crate::parity::report::ParityReport>(report.data);
}

/// `.npy` headers and data, through the parity reader and the stage runner's reader.
pub fn npy(data: &[u8]) {
    let _ = crate::runner::npz::parse_npy(data);
    let mut reader = data;
    if let Ok(header) = crate::npy::read_header(&mut reader) {
        let mut out = Vec::new();
        let take = reader.len() - reader.len() % header.dtype.size().max(1);
        crate::npy::decode(header.dtype, header.big_endian, &reader[..take], &mut out);
    }
}

/// `.npz` archives, opened by parity (streaming members) and by the stage runner.
pub fn npz(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("fuzz.npz");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = crate::runner::npz::read_npz(&path);
    let Ok(mut source) = crate::parity::source::Source::open(&path) else {
        return;
    };
    for name in source.names() {
        if let Ok(mut stream) = source.stream(&name) {
            let mut buf = Vec::new();
            let _ = stream.read_raw(1 << 20, &mut buf);
        }
    }
}

/// WAV headers and samples, through parity's reader and the stage runner's decoder.
pub fn wav(data: &[u8]) {
    let _ = crate::runner::wav::decode(data);
    let mut reader = data;
    if let Ok(header) = crate::audio::wav::read_header(&mut reader) {
        let mut bytes = Vec::new();
        let _ = reader.take(1 << 20).read_to_end(&mut bytes);
        let take = bytes.len() - bytes.len() % header.format.bytes().max(1);
        let mut out = Vec::new();
        crate::audio::wav::decode(header.format, &bytes[..take], &mut out);
    }
}
