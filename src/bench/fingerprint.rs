//! The runner fingerprint of this machine (OS and version, architecture, CPU/chip model
//! and runner image, read from the system and the Actions environment) and the testbed a
//! fingerprint belongs to: its given name, a configured mapping, or the runner kind.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::process::Command;

use super::run::Fingerprint;
use crate::run_env::RunEnv;

/// One entry of `benchmark.testbeds.<name>`: a runner kind as `benchmark history` prints
/// it, or fields to match (`*` matches any run of characters); every given field must
/// match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TestbedMatch {
    Key(String),
    Fields(FieldMatch),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMatch {
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub arch: Option<String>,
    pub cpu: Option<String>,
    pub runner: Option<String>,
}

/// `benchmark.testbeds`: testbed name → the fingerprints that belong to it.
pub type Testbeds = BTreeMap<String, Vec<TestbedMatch>>;

/// `*`-glob match, case-sensitive.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl TestbedMatch {
    fn matches(&self, fp: &Fingerprint) -> bool {
        match self {
            TestbedMatch::Key(k) => fp.key().is_some_and(|key| glob(k, &key)),
            TestbedMatch::Fields(f) => {
                let pairs = [
                    (&f.os, &fp.os),
                    (&f.os_version, &fp.os_version),
                    (&f.arch, &fp.arch),
                    (&f.cpu, &fp.cpu),
                    (&f.runner, &fp.runner),
                ];
                pairs.iter().any(|(want, _)| want.is_some())
                    && pairs.iter().all(|(want, have)| match (want, have) {
                        (None, _) => true,
                        (Some(w), Some(h)) => glob(w, h),
                        (Some(_), None) => false,
                    })
            }
        }
    }
}

/// The testbed a run belongs to: the name it was given, else the first configured
/// testbed one of whose entries matches, else its runner kind. `None` when nothing is
/// known about the runner (entries migrated from the date-keyed format).
///
/// A run that recorded the allocator and thread settings it ran under (the stage
/// runner's `run_settings`) belongs to that testbed under those settings only: its times
/// and memory are judged against runs made the same way, never against runs that differ
/// by the allocator (`… · settings 1a2b3c4d`).
pub fn testbed(fp: &Fingerprint, testbeds: &Testbeds) -> Option<String> {
    let base = match fp.testbed.as_ref().filter(|n| !n.trim().is_empty()) {
        Some(name) => Some(name.clone()),
        None => testbeds
            .iter()
            .find(|(_, ms)| ms.iter().any(|m| m.matches(fp)))
            .map(|(name, _)| name.clone())
            .or_else(|| fp.key()),
    };
    match (base, fp.extra.get("run_settings")) {
        (Some(base), Some(settings)) => {
            Some(format!("{base} · settings {}", settings_id(settings)))
        }
        (base, _) => base,
    }
}

/// A short stable name for a set of run settings: the first 8 hex digits of the SHA-256
/// of their JSON (object keys sorted).
pub fn settings_id(settings: &serde_json::Value) -> String {
    use sha2::Digest;
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }
    let digest = sha2::Sha256::digest(sorted(settings).to_string().as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// How a person names a testbed: its given name, or "<OS version> / <CPU>".
pub fn describe(fp: &Fingerprint, testbeds: &Testbeds) -> String {
    let machine = {
        let name = fp.os.as_deref().map(os_name);
        // sw_vers gives a bare number ("15.1"); /etc/os-release a whole name.
        let os = match (&name, &fp.os_version) {
            (Some(n), Some(v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{n} {v}")
            }
            (_, Some(v)) => v.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => "unknown OS".into(),
        };
        let cpu = fp
            .cpu
            .clone()
            .or_else(|| fp.arch.clone())
            .unwrap_or_else(|| "unknown CPU".into());
        format!("{os} / {cpu}")
    };
    match testbed(fp, testbeds) {
        Some(name) if Some(&name) != fp.key().as_ref() => format!("{name} ({machine})"),
        _ => machine,
    }
}

fn os_name(os: &str) -> String {
    match os {
        "macos" => "macOS".into(),
        "linux" => "Linux".into(),
        "windows" => "Windows".into(),
        other => other.to_string(),
    }
}

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
                if env.host == crate::run_env::Host::Local {
                    "local"
                } else {
                    "self-hosted"
                }
                .to_string(),
            )
        }),
        testbed: None,
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

    #[test]
    fn other_run_settings_are_another_testbed() {
        let mut a = Fingerprint {
            os: Some("linux".into()),
            testbed: Some("bench-box".into()),
            ..Default::default()
        };
        let none = testbed(&a, &Testbeds::default());
        assert_eq!(none.as_deref(), Some("bench-box"));
        let mut b = a.clone();
        a.extra.insert(
            "run_settings".into(),
            serde_json::json!({"threads": 2, "env": {"MALLOC_ARENA_MAX": "2"}}),
        );
        b.extra.insert(
            "run_settings".into(),
            serde_json::json!({"env": {"MALLOC_ARENA_MAX": "2"}, "threads": 2}),
        );
        let (ta, tb) = (
            testbed(&a, &Testbeds::default()),
            testbed(&b, &Testbeds::default()),
        );
        assert_eq!(ta, tb, "key order does not matter");
        assert!(ta
            .as_deref()
            .unwrap_or("")
            .starts_with("bench-box · settings "));
        b.extra.insert(
            "run_settings".into(),
            serde_json::json!({"threads": 4, "env": {}}),
        );
        assert_ne!(testbed(&b, &Testbeds::default()), ta);
    }

    fn fp(cpu: &str, runner: &str) -> Fingerprint {
        Fingerprint {
            os: Some("macos".into()),
            os_version: Some("15.1".into()),
            arch: Some("aarch64".into()),
            cpu: Some(cpu.into()),
            runner: Some(runner.into()),
            ..Default::default()
        }
    }

    #[test]
    fn testbeds_by_name_mapping_or_kind() {
        let yaml = "m1-selfhosted:\n  - {cpu: \"Apple M1*\", runner: self-hosted}\n  - \"macos aarch64 / Apple M1 (Virtual) / macos14\"\n";
        let beds: Testbeds = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(beds["m1-selfhosted"].len(), 2, "{beds:?}");
        let a = fp("Apple M1 Max", "self-hosted");
        let b = fp("Apple M1 (Virtual)", "macos14");
        let c = fp("Apple M2 (Virtual)", "macos15");
        assert_eq!(testbed(&a, &beds).as_deref(), Some("m1-selfhosted"));
        assert_eq!(testbed(&b, &beds).as_deref(), Some("m1-selfhosted"));
        assert_eq!(testbed(&c, &beds), c.key());
        assert_eq!(describe(&c, &beds), "macOS 15.1 / Apple M2 (Virtual)");
        assert_eq!(
            describe(&a, &beds),
            "m1-selfhosted (macOS 15.1 / Apple M1 Max)"
        );
        let named = Fingerprint {
            testbed: Some("laptop".into()),
            ..c.clone()
        };
        assert_eq!(testbed(&named, &beds).as_deref(), Some("laptop"));
        assert_eq!(testbed(&Fingerprint::default(), &beds), None);
        assert!(glob("a*c*e", "abcde") && !glob("a*c*e", "abde") && glob("*", ""));
    }
}
