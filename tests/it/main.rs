//! The one integration-test binary: every scenario runs the real `htdemucs-devops`
//! binary the way a user or a workflow does. One module per area.

mod act;
mod action;
mod benchmark;
mod benchmark_inputs;
mod benchmark_record;
mod common;
mod composite;
mod core;
mod init;
mod installer;
mod lint;
mod parity;
mod parity_output;
mod parity_run;
mod publish;
mod release_host;
mod report;
mod report_helpers;
mod report_modes;
mod report_server;
mod site_pages;
mod test_phase;
