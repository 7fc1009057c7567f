//! Fuzz target `phase_report`: see `htdemucs_devops::fuzzing::phase_report` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::phase_report(data));
