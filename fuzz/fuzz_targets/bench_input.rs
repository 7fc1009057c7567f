//! Fuzz target `bench_input`: see `htdemucs_devops::fuzzing::bench_input` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::bench_input(data));
