//! Paths as users want to read them: relative to the workspace root, `/`-separated,
//! whatever form (absolute, `./`-prefixed, Windows separators) a tool printed.

use std::path::{Component, Path, PathBuf};

/// Lexically normalises `p`: drops `.` and resolves `..` where possible.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Makes `path` relative to `root` when it lies inside it; relative paths are taken as
/// relative to `base` (the folder the tool ran in) first. Paths outside the root are
/// returned normalised but absolute, so nothing is silently mislabelled.
pub fn relativize(path: &str, base: &Path, root: &Path) -> String {
    let raw = path.replace('\\', "/");
    let p = Path::new(&raw);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let abs = normalize(&abs);
    let root_n = normalize(root);
    let stripped = abs
        .strip_prefix(&root_n)
        .map(Path::to_path_buf)
        .or_else(|_| {
            // The tool may have printed a canonical path (symlinks resolved) or we may
            // have been given one: compare canonical forms as a fallback.
            let canon_root = root.canonicalize()?;
            let canon = abs.canonicalize()?;
            canon
                .strip_prefix(&canon_root)
                .map(Path::to_path_buf)
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
    match stripped {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => abs.to_string_lossy().replace('\\', "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_inside_root() {
        let root = Path::new("/ws/repo");
        assert_eq!(relativize("/ws/repo/src/a.py", root, root), "src/a.py");
        assert_eq!(relativize("./src/../lib/b.py", root, root), "lib/b.py");
        assert_eq!(relativize("b.py", &root.join("pkg"), root), "pkg/b.py");
        assert_eq!(relativize("src\\w.py", root, root), "src/w.py");
    }

    #[test]
    fn outside_root_stays_absolute() {
        assert_eq!(
            relativize("/elsewhere/x.swift", Path::new("/ws"), Path::new("/ws")),
            "/elsewhere/x.swift"
        );
    }
}
