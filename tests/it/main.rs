//! The one integration-test binary: every scenario runs the real `htdemucs-devops`
//! binary the way a user or a workflow does. One module per area.

// Helpers here are test code too: clippy.toml's allow-unwrap-in-tests covers only #[test]
// functions and #[cfg(test)] modules, so the whole test crate opts in. A failed unwrap is
// a failed test, never a default that passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod act;
mod action;
mod action_outputs;
mod architecture;
mod benchmark;
mod benchmark_inputs;
mod benchmark_maintain;
mod benchmark_record;
mod benchmark_settings;
mod benchmark_testbed;
mod brew;
mod cargo_install;
mod common;
mod composite;
mod core;
mod coreml_spec;
mod doc_commands;
mod escaping;
mod fuzz_replay;
mod gallery;
mod init;
mod init_act;
mod init_adopt;
mod init_bench;
mod init_dependabot;
mod init_make;
mod inputs_bounded;
mod install_hardening;
mod installer;
mod lint;
mod packaging;
mod parity;
mod parity_hardening;
mod parity_output;
mod parity_run;
mod port_formats;
mod port_parity;
mod publish;
mod publish_history;
mod publish_push;
mod release_act;
mod release_host;
mod report;
mod report_fault;
mod report_faults;
mod report_helpers;
mod report_inputs;
mod report_modes;
mod report_race;
mod report_server;
mod site_pages;
mod test_phase;
mod torch_action;
mod torch_provision;
mod wheel;
