//! Fuzz target `npy`: see `htdemucs_devops::fuzzing::npy` for what it feeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| htdemucs_devops::fuzzing::npy(data));
