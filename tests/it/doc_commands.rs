//! Every command a reader is told to type, in the README, docs/, benchmarks/README.md and
//! the examples' READMEs, is exercised: this project's binaries parse it (and run it when
//! cheap), a `make` target exists and CI or `make demo` runs it, anything else is a known
//! external program. The allow-lists below say why each exception is one.

mod check;
mod extract;
mod make;

use check::{Allowed, Checker};
use extract::{commands_in, DocCommand};
use std::path::{Path, PathBuf};

/// Programs of other projects the docs tell a reader to run, and why they are there.
const EXTERNAL: &[(&str, &str)] = &[
    ("git", "version control"),
    ("act", "runs workflows locally (docs/act.md)"),
    ("pip", "Python's installer"),
    ("python", "the port's Python (a venv's, or the one on PATH)"),
    ("python3", "the system Python"),
    (
        "pytest",
        "the example's Python tests (tests/example.sh runs them)",
    ),
    (
        "ruff",
        "Python linter the lint phase drives (tests/example.sh runs it)",
    ),
    ("swiftlint", "Swift linter the lint phase drives or ingests"),
    (
        "swiftformat",
        "Swift formatter the lint phase drives or ingests",
    ),
    ("brew", "Homebrew, on macOS"),
    ("curl", "downloads a release archive"),
    ("shasum", "checks a release archive's digest"),
    ("tar", "unpacks a release archive"),
    ("install", "coreutils: copies a binary into place"),
    ("export", "shell builtin"),
];

/// Make targets that neither `make test` nor `make demo` runs, and why.
const MAKE_ALLOWED: &[(&str, &str)] = &[
    (
        "demo-htdemucs",
        "exports the real HTDemucs and runs every phase on 30 s of audio: about 20 minutes",
    ),
    (
        "parity-report",
        "the same `parity run` and `publish` commands on the same example as `make demo`, \
         into another folder",
    ),
];

/// The Markdown files whose code blocks a reader copies, relative to the repository root.
fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("benchmarks/README.md")];
    for pattern in ["docs/**/*.md", "examples/*/README.md"] {
        let full = root.join(pattern);
        let found = glob::glob(full.to_str().unwrap()).unwrap();
        let mut found: Vec<PathBuf> = found.map(Result::unwrap).collect();
        found.sort();
        files.extend(found);
    }
    files.retain(|f| f.is_file());
    files
}

/// Names the extractor takes for commands in an unlabelled block.
fn known_programs() -> Vec<&'static str> {
    let ours = ["htdemucs-devops", "htdemucs-stage-runner", "make", "cargo"];
    ours.into_iter()
        .chain(EXTERNAL.iter().map(|(name, _)| *name))
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn allowed() -> Allowed<'static> {
    Allowed {
        external: EXTERNAL,
        make_targets: MAKE_ALLOWED,
    }
}

/// `file:line: command: why` for each command the checker refuses.
/// How each other one is exercised goes to stdout (`cargo test -- --nocapture` shows it).
fn failures(checker: &Checker, commands: &[DocCommand]) -> Vec<String> {
    let mut bad = Vec::new();
    for c in commands {
        match checker.check(c) {
            Ok(how) => println!("{}:{}: `{}`: {how}", c.file, c.line, c.words.join(" ")),
            Err(e) => bad.push(format!("{}:{}: `{}`: {e}", c.file, c.line, c.text)),
        }
    }
    bad
}

#[test]
fn every_documented_command_is_exercised() {
    let root = root();
    let known = known_programs();
    let mut commands = Vec::new();
    for file in doc_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        commands.extend(commands_in(&rel, &text, &known));
    }
    // The extractor still finds what the docs are known to hold.
    for program in ["htdemucs-devops", "make", "cargo"] {
        assert!(
            commands.iter().any(|c| c.program() == program),
            "no `{program}` command found in the docs: is the extractor broken?"
        );
    }
    let checker = Checker::new(&root, allowed());
    let bad = failures(&checker, &commands);
    assert!(
        bad.is_empty(),
        "{} documented command(s) are not exercised:\n{}",
        bad.len(),
        bad.join("\n\n")
    );
    // An allow-list entry no doc needs any more is a hole waiting to be used.
    for (target, _) in MAKE_ALLOWED {
        assert!(
            commands
                .iter()
                .any(|c| c.program() == "make" && c.args().iter().any(|a| a == target)),
            "MAKE_ALLOWED lists `{target}`, which no doc runs any more: remove it"
        );
    }
}

#[test]
fn an_unknown_subcommand_target_or_program_fails_naming_file_and_line() {
    let doc = "# Try it\n\n\
               ```sh\n\
               htdemucs-devops init --check     # fine\n\
               htdemucs-devops frobnicate --now\n\
               ```\n\n\
               ```console\n\
               $ htdemucs-devops parity rnu --clip a.wav\n\
               error: output, not a command\n\
               $ make demo && make no-such-target\n\
               $ make help\n\
               $ frobtool --all\n\
               $ htdemucs-devops coreml inspect x.mlpackage --format yaml\n\
               $ cargo build --features torch,cuda\n\
               $ python examples/htdemucs-mini/model/gone.py\n\
               ```\n";
    let commands = commands_in("synthetic.md", doc, &known_programs());
    let checker = Checker::new(&root(), allowed());
    let bad = failures(&checker, &commands);
    let lines: Vec<&str> = bad.iter().map(|b| b.split(": `").next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "synthetic.md:5",
            "synthetic.md:9",
            "synthetic.md:11",
            "synthetic.md:12",
            "synthetic.md:13",
            "synthetic.md:14",
            "synthetic.md:15",
            "synthetic.md:16"
        ],
        "{bad:#?}"
    );
    assert!(bad[0].contains("rejects these arguments"), "{}", bad[0]);
    assert!(
        bad[2].contains("`make -n no-such-target` fails"),
        "{}",
        bad[2]
    );
    // `make help` exists but nothing runs it: refused unless allow-listed.
    assert!(bad[3].contains("run neither by CI"), "{}", bad[3]);
    assert!(bad[4].contains("`frobtool` is not"), "{}", bad[4]);
    assert!(bad[5].contains("invalid value 'yaml'"), "{}", bad[5]);
    assert!(bad[6].contains("no feature `cuda`"), "{}", bad[6]);
    assert!(
        bad[7].contains("gone.py` is not in the repository"),
        "{}",
        bad[7]
    );
}
