//! Replays every input the fuzz targets keep: the seed corpus (fuzz/corpus/<target>) and
//! the inputs that once crashed, hung or blew up a parser (tests/fuzz/<target>), through
//! the same bodies the fuzz targets run (`htdemucs_devops::fuzzing`). A regression here
//! is a panic, or an input that takes far longer than a parser should.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use htdemucs_devops::fuzzing::{target, TARGETS};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        // tests/fuzz/<target> exists only once the target has kept an input.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    out.retain(|p| p.is_file() && !p.ends_with("README.md"));
    out.sort();
    out
}

#[test]
fn every_kept_fuzz_input_runs_clean_and_fast() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, _) in TARGETS {
        let body = target(name).unwrap_or_else(|| panic!("no target {name}"));
        let seeds = inputs(&root.join("fuzz/corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seed");
        for file in seeds
            .iter()
            .chain(&inputs(&root.join("tests/fuzz").join(name)))
        {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let start = Instant::now();
            body(&data);
            // Unoptimised test builds are slow; a quadratic blow-up is slower still.
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} took {:?}",
                file.display(),
                start.elapsed()
            );
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}
