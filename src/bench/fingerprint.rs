//! The runner fingerprint of this machine: OS and version, architecture, CPU/chip
//! model and runner image, read from the system and the Actions environment.

use std::process::Command;

use super::run::Fingerprint;
use crate::github::env::RunEnv;

/// Collects what can be known about the machine we run on. Nothing here fails: an
/// unknown field stays `None`.
pub fn collect(env: &RunEnv) -> Fingerprint {
    Fingerprint {
        os: Some(std::env::consts::OS.to_string()),
        os_version: os_version(),
        arch: Some(std::env::consts::ARCH.to_string()),
        cpu: cpu_model(),
        // ImageOS (`macos14`, `ubuntu24`) names the hosted runner image; self-hosted and
        // local machines are told apart by their CPU instead.
        runner: env.image_os.clone().or_else(|| {
            Some(
                if env.host == crate::github::env::Host::Local {
                    "local"
                } else {
                    "self-hosted"
                }
                .to_string(),
            )
        }),
        tools: Default::default(),
        extra: Default::default(),
    }
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn os_version() -> Option<String> {
    if cfg!(target_os = "macos") {
        return command_line("sw_vers", &["-productVersion"]);
    }
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    field("PRETTY_NAME").or_else(|| field("VERSION_ID"))
}

fn cpu_model() -> Option<String> {
    if cfg!(target_os = "macos") {
        return command_line("sysctl", &["-n", "machdep.cpu.brand_string"]);
    }
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_os_and_arch() {
        let env = RunEnv::from_vars(&Default::default(), false, false);
        let f = collect(&env);
        assert_eq!(f.os.as_deref(), Some(std::env::consts::OS));
        assert_eq!(f.runner.as_deref(), Some("local"));
        assert!(f.key().is_some());
    }
}
