//! The one integration-test binary: every scenario runs the real `htdemucs-devops`
//! binary the way a user or a workflow does. One module per area.

mod act;
mod action;
mod action_outputs;
mod benchmark;
mod benchmark_inputs;
mod benchmark_record;
mod common;
mod composite;
mod core;
mod escaping;
mod fuzz_replay;
mod init;
mod inputs_bounded;
mod install_hardening;
mod installer;
mod lint;
mod packaging;
mod parity;
mod parity_hardening;
mod parity_output;
mod parity_run;
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
mod test_phase;
