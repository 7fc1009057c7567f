//! What `init` generates: every file with how much of it init owns (whole, a marked
//! block, merged hooks, written once), the embedded templates they are rendered from and
//! the Makefile targets of the foundation design.

use super::blocks::{Markers, CI_MARKERS, MAKE_MARKERS};
use crate::config::DEFAULT_CONFIG_PATH;

/// How much of a file init owns, which is what `--check` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regenerated from the settings: drift is reported.
    Managed,
    /// Written once, then the user's to edit (the config file itself).
    Starter,
    /// The user's file; init owns the block between these markers (and writes the whole
    /// template when the file is missing).
    Block(Markers),
    /// The user's pre-commit config; init adds the hook repositories it lacks.
    Hooks,
    /// The user's Dependabot config; init adds the update entries (ecosystem and folder)
    /// it lacks.
    Updates,
}

/// Where the reusable workflow lives (the callers' `uses:` names this path).
pub const WORKFLOW_PATH: &str = ".github/workflows/htdemucs-devops.yml";

/// (template name, path in the repository, kind). The order is the order of the output.
pub const FILES: &[(&str, &str, Kind)] = &[
    ("Makefile", "Makefile", Kind::Block(MAKE_MARKERS)),
    ("htdemucs-devops.mk", "htdemucs-devops.mk", Kind::Managed),
    (
        "pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        Kind::Hooks,
    ),
    ("swiftformat", ".swiftformat", Kind::Managed),
    ("dependabot.yml", ".github/dependabot.yml", Kind::Updates),
    ("htdemucs-devops.yml", DEFAULT_CONFIG_PATH, Kind::Starter),
    ("workflow.yml", WORKFLOW_PATH, Kind::Managed),
    (
        "ci.yml",
        ".github/workflows/ci.yml",
        Kind::Block(CI_MARKERS),
    ),
    (
        "ci-comment.yml",
        ".github/workflows/ci-comment.yml",
        Kind::Managed,
    ),
];

pub const TEMPLATES: &[(&str, &str)] = &[
    ("Makefile", include_str!("../../../templates/init/Makefile")),
    (
        "makefile-block.mk",
        include_str!("../../../templates/init/makefile-block.mk"),
    ),
    (
        "htdemucs-devops.mk",
        include_str!("../../../templates/init/htdemucs-devops.mk"),
    ),
    (
        "pre-commit-config.yaml",
        include_str!("../../../templates/init/pre-commit-config.yaml"),
    ),
    (
        "swiftformat",
        include_str!("../../../templates/init/swiftformat"),
    ),
    (
        "dependabot.yml",
        // The consumers' template is the one at the repository root, so there is one copy.
        include_str!("../../../dependabot-template.yml"),
    ),
    (
        "htdemucs-devops.yml",
        include_str!("../../../templates/init/htdemucs-devops.yml"),
    ),
    (
        "workflow.yml",
        include_str!("../../../templates/init/workflow.yml"),
    ),
    ("ci.yml", include_str!("../../../templates/init/ci.yml")),
    (
        "ci-job.yml",
        include_str!("../../../templates/init/ci-job.yml"),
    ),
    (
        "ci-comment.yml",
        include_str!("../../../templates/init/ci-comment.yml"),
    ),
];

/// The Makefile targets of the foundation design, with their help text; the included
/// makefile defines the plain name only where the user's Makefile has none.
pub const TARGETS: &[(&str, &str)] = &[
    ("help", "List the targets"),
    ("build", "swift build -c release"),
    ("build-cli", "Build the command-line product only"),
    ("clean", "Remove build products"),
    ("test", "Swift unit tests"),
    ("test-parity", "Python parity tests"),
    ("test-all", "Swift and parity tests"),
    ("lint", "swiftformat --lint, swiftlint, ruff (one report)"),
    ("format", "Check formatting"),
    ("format-fix", "Apply formatting"),
    ("setup", "Create the Python virtual environment"),
    ("setup-hooks", "Install the pre-commit hooks"),
    (
        "setup-torch",
        "Install the stage runner's torch into a private cache (port pins another)",
    ),
    ("benchmark", "Run the benchmark producers"),
    (
        "benchmark-compare",
        "Compare a run (CURRENT=file.json) with the baseline",
    ),
    (
        "parity-report",
        "Compare the stems and write the HTML parity report",
    ),
];
