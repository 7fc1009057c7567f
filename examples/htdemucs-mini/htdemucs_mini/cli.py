"""`python -m htdemucs_mini.cli`: print the model geometry the port is built around.

DELIBERATE lint findings live in this file (see README.md): an unused import (F401,
fixable), an f-string without placeholders (F541, fixable) and an ambiguous variable
name (E741, not fixable).
"""

from __future__ import annotations

import argparse
import os

from htdemucs_mini.audio import HOP_LENGTH, N_FFT, SAMPLE_RATE, SEGMENT_SAMPLES, frame_count
from htdemucs_mini.stems import stem_names


def describe(num_sources: int = 4) -> list[str]:
    """Human-readable lines describing the model's input and output shapes."""
    l = frame_count(SEGMENT_SAMPLES)
    bins = N_FFT // 2
    return [
        f"HTDemucs mini",
        f"sample rate     {SAMPLE_RATE} Hz, stereo",
        f"segment         {SEGMENT_SAMPLES} samples ({SEGMENT_SAMPLES / SAMPLE_RATE:.2f} s)",
        f"stft            nfft {N_FFT}, hop {HOP_LENGTH}, {bins} bins x {l} frames",
        f"sources         {', '.join(stem_names(num_sources))}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, choices=(4, 6), default=4)
    args = parser.parse_args(argv)
    print("\n".join(describe(args.sources)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
