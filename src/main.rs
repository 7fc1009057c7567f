//! `htdemucs-devops`: thin entry point; everything lives in the library.

fn main() {
    std::process::exit(htdemucs_devops::run_cli());
}
