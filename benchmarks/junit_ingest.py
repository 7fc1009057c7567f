#!/usr/bin/env python3
"""Benchmark: `htdemucs-devops test --junit` against Python's xml.etree.ElementTree.parse.

Generates two pytest-style JUnit files in a temporary folder (200,000 passing tests;
the same with every tenth test failing with a 40-line traceback and captured output),
then measures wall time and peak RSS of our binary (the whole phase: parse, report,
JSON, rendering) and of a bare ElementTree parse (parse only) with /usr/bin/time.

Usage: python3 benchmarks/junit_ingest.py [path/to/htdemucs-devops]
       (default: target/release/htdemucs-devops, else target/debug/htdemucs-devops)
"""

import os
import random
import subprocess
import sys
import tempfile

CASES = 200_000


def write_file(path, fail_every):
    rnd = random.Random(1)
    tb = "\n".join(f"    frame {i}: some &lt;value&gt; &amp; text" for i in range(40))
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>')
        f.write('<testsuites name="pytest tests"><testsuite name="pytest">')
        for i in range(CASES):
            attrs = (
                f'classname="tests.test_m{i % 97}" name="test_{i}[p{i % 7}]" '
                f'time="{rnd.random():.3f}"'
            )
            if fail_every and i % fail_every == 0:
                f.write(
                    f'<testcase {attrs}><failure message="AssertionError: value {i} drifted">'
                    f"{tb}\ntests/test_m{i % 97}.py:{i % 300 + 1}: AssertionError</failure>"
                    f"<system-out>{'x' * 500}</system-out></testcase>"
                )
            else:
                f.write(f"<testcase {attrs} />")
        f.write("</testsuite></testsuites>")


def measure(argv, cwd):
    """Returns (seconds, peak RSS in MB) from GNU time."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    secs, kb = out.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kb) / 1024


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = sys.argv[1] if len(sys.argv) > 1 else None
    if binary is None:
        for profile in ("release", "debug"):
            candidate = os.path.join(root, "target", profile, "htdemucs-devops")
            if os.path.exists(candidate):
                binary = candidate
                break
    if binary is None:
        sys.exit("build the binary first (cargo build --release)")
    with tempfile.TemporaryDirectory() as tmp:
        for label, fail_every in (("200k passing", 0), ("200k, 10% failing", 10)):
            path = os.path.join(tmp, "results.xml")
            write_file(path, fail_every)
            size = os.path.getsize(path) / 1e6
            ours = measure(
                [binary, "test", "--junit", path, "--root", tmp, "--out-dir", tmp + "/out"], tmp
            )
            etree = measure(
                [
                    sys.executable,
                    "-c",
                    "import sys, xml.etree.ElementTree as ET; "
                    "r = ET.parse(sys.argv[1]).getroot(); "
                    "print(sum(1 for _ in r.iter('testcase')))",
                    path,
                ],
                tmp,
            )
            print(
                f"{label} ({size:.0f} MB): htdemucs-devops {ours[0]:.2f} s / {ours[1]:.0f} MB, "
                f"ElementTree.parse {etree[0]:.2f} s / {etree[1]:.0f} MB -> "
                f"time x{etree[0] / ours[0]:.2f}, memory x{etree[1] / ours[1]:.1f} less"
            )
    print(f"binary: {binary}")


if __name__ == "__main__":
    main()
