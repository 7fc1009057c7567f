//! Hostile stem names from a port's own files: WAV file names in a `parity.pairs`
//! folder and stem cells of a `metrics.csv`, through every output of the parity phase.

use super::checker::*;
use super::{read, short_payloads, step};
use crate::common::*;

#[test]
fn port_stem_names_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    let stems = ws.join("stems");
    std::fs::create_dir_all(&stems).unwrap_or_else(|e| panic!("{e}"));
    let wav = crate::port_formats::port("stems").join("drums_pytorch.wav");
    let mut csv = String::from("stem,sdr,sir,sar\n");
    // A file name cannot hold '/': those payloads only go into the CSV.
    for (i, p) in short_payloads().iter().enumerate() {
        csv.push_str(&format!("\"{}\",1.5,,\n", p.replace('"', "\"\"")));
        if p.contains('/') {
            continue;
        }
        std::fs::copy(&wav, stems.join(format!("{p}_pytorch.wav")))
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        // Every other stem lacks its candidate: a failure whose message names the file.
        if i % 2 == 0 {
            std::fs::copy(&wav, stems.join(format!("{p}_coreml.wav")))
                .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
    }
    write(&ws.join("metrics.csv"), &csv);
    let out = run(step(ws).args([
        "parity",
        "--pairs",
        "stems",
        "--metrics",
        "metrics.csv",
        "--junit",
        "parity-junit.xml",
        "--html",
        "parity.html",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", clip(&stderr(&out)));
    assert_clean("parity port formats", &out);
    assert_markdown_clean("parity port summary", &read(&ws.join("summary.md")));
    let html = read(&ws.join("parity.html"));
    assert!(
        !html.contains("<script>document"),
        "raw payload in the HTML"
    );
}
