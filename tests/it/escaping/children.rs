//! Tokens never reach the commands we start (linters, test commands, benchmark
//! producers), and what they print is masked.

use super::*;

/// Every secret is removed from the child's environment (by name, and by value when
/// copied under another name), ordinary variables still arrive, and a token the child
/// finds elsewhere and prints is masked in the log, the summary and the reports.
#[test]
fn children_get_no_token_and_their_output_is_masked() {
    let dir = tempdir();
    let ws = dir.path();
    let token = "ghs_s3cretTOKENvalue0123456789";
    // Prints every variable holding the token (by name or value), then the token from a
    // file the child can read, the way a test's own debug output might.
    write(&ws.join("leak.txt"), token);
    // Its last line is a finding in lint's generic format, so lint writes a report too.
    let probe = "env | grep -i -e token -e s3cret || true; echo leaked=$(cat leak.txt); \
                 echo x.py:1:1: error: leaked=$(cat leak.txt); exit 1";
    let yaml = format!(
        "lint:\n  tools:\n    - name: probe\n      format: generic\n      command: [sh, -c, {p}]\ntest:\n  commands:\n    - name: probe\n      command: [sh, -c, {p}]\n      junit: [\"{{out_dir}}/none.xml\"]\nbenchmark:\n  producers:\n    - name: probe\n      command: [sh, -c, {pe}]\n",
        p = yaml_str(probe),
        pe = yaml_str(&format!("({probe}) >&2"))
    );
    write(&ws.join(".github/htdemucs-devops.yml"), &yaml);
    for args in [&["lint"][..], &["test"], &["benchmark", "run"]] {
        let out = run(step(ws)
            .env("GITHUB_TOKEN", token)
            .env("GH_TOKEN", token)
            .env("ACTIONS_RUNTIME_TOKEN", "rt_0123456789abcdef")
            .env("MY_COPY", token)
            .env("TOKENIZERS_PARALLELISM", "false")
            .args(args));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains("leaked=***"),
            "{args:?}: the echo is masked: {all}"
        );
        for leaked in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "MY_COPY",
            "rt_0123456789abcdef",
            token,
        ] {
            assert!(
                !all.contains(leaked),
                "{args:?}: {leaked} reached the child or the log: {all}"
            );
        }
        assert!(
            all.contains("TOKENIZERS_PARALLELISM=false"),
            "{args:?}: ordinary variables still reach the child: {all}"
        );
        let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap();
        assert!(!summary.contains(token), "{args:?}: token in the summary");
        for report in ["lint.json", "test.json"] {
            // Each invocation runs one phase: its report is there, the other may not be yet,
            // and neither holds the token.
            let path = ws.join("out").join(report);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound && !report.starts_with(args[0]) =>
                {
                    String::new()
                }
                Err(e) => panic!("{args:?}: {}: {e}", path.display()),
            };
            assert!(!text.contains(token), "{args:?}: token in {report}");
        }
    }
}
