#!/usr/bin/env python3
"""Writes THIRD-PARTY-NOTICES for a release archive: the crates built into the binaries.

Usage: notices.py TARGET [FEATURES] > THIRD-PARTY-NOTICES

Reads `cargo metadata` (offline, from Cargo.lock) for TARGET with FEATURES, walks the
dependency graph from this package through normal dependencies only (build scripts and
dev-dependencies are not linked; procedural macros run at compile time and are left out
too), and prints, per crate, its name, version, licence expression and repository, followed
by the licence and notice files the crate ships. Crates are sorted by name, so the output
is the same on every machine for the same Cargo.lock.
"""

import json
import os
import re
import subprocess
import sys

LICENCE_FILE = re.compile(r"^(licen[cs]e|copying|notice|copyright)([-_.].*)?$", re.IGNORECASE)


def metadata(target, features):
    cmd = [
        os.environ.get("CARGO", "cargo"),
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        target,
    ]
    if features:
        cmd += ["--features", features]
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        sys.exit(f"error: notices.py: {' '.join(cmd)} failed: {err.strip()}")
    return json.loads(out)


def linked_packages(meta):
    """The packages reachable from the root through normal (non-build, non-dev) edges."""
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                stack.append(dep["pkg"])
    seen.discard(root)
    out = []
    for pid in seen:
        pkg = packages[pid]
        kinds = {k for t in pkg["targets"] for k in t["kind"]}
        if kinds == {"proc-macro"}:
            continue
        out.append(pkg)
    return sorted(out, key=lambda p: (p["name"], p["version"]))


def licence_files(pkg):
    folder = os.path.dirname(pkg["manifest_path"])
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    files = []
    for name in names:
        path = os.path.join(folder, name)
        if LICENCE_FILE.match(name) and os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                files.append((name, f.read().strip()))
    return files


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: notices.py TARGET [FEATURES]")
    target = sys.argv[1]
    features = sys.argv[2] if len(sys.argv) == 3 else ""
    meta = metadata(target, features)
    pkgs = linked_packages(meta)
    rule = "=" * 78
    print("Third-party software linked into htdemucs-devops and htdemucs-stage-runner")
    print(f"for {target}" + (f" (features: {features})" if features else "") + ".")
    print()
    print("htdemucs-stage-runner built with the torch feature loads libtorch (BSD-3-Clause,")
    print("https://github.com/pytorch/pytorch) from the user's own PyTorch installation at")
    print("run time; libtorch is not part of this archive.")
    print()
    print(f"{len(pkgs)} crates:")
    for p in pkgs:
        print(f"  {p['name']} {p['version']} ({p.get('license') or 'no licence expression'})")
    first_with = {}
    for p in pkgs:
        print()
        print(rule)
        print(f"{p['name']} {p['version']}")
        print(f"Licence: {p.get('license') or p.get('license_file') or 'not stated'}")
        if p.get("repository"):
            print(f"Source: {p['repository']}")
        print(rule)
        files = licence_files(p)
        if not files:
            print("(The crate ships no licence file; its licence expression is above.)")
        for name, text in files:
            # Identical texts (the Apache-2.0 licence, most of all) are printed once.
            earlier = first_with.setdefault(text, f"{p['name']} {p['version']}")
            if earlier != f"{p['name']} {p['version']}":
                print(f"--- {name}: the same text as {earlier}'s, above ---")
            else:
                print(f"--- {name} ---")
                print(text)


if __name__ == "__main__":
    main()
