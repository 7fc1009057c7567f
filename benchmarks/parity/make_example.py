"""Regenerates tests/fixtures/parity/example/: a small HTDemucs-shaped reference
(numpy.savez) and a float16-like candidate (numpy.savez_compressed), written by numpy
itself so the tests read real numpy output. `make parity-report` renders it.

usage: make_example.py OUT_DIR
"""

import sys

import numpy as np


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(42)
    t, frames = 2048, 4
    n = np.arange(t)
    mix = np.stack([0.3 * np.sin(n * 0.05), 0.3 * np.sin(n * 0.031)])[None]
    ref = {
        "stft.spec": rng.standard_normal((1, 4, 128, frames)),
        "freq_branch.freq_out": rng.standard_normal((1, 4, 4, 128, frames)) * 0.5,
        "time_branch.time_out": np.repeat(mix, 4, axis=0).reshape(1, 4, 2, t) * 0.5,
        "istft.freq_wave": np.repeat(mix, 4, axis=0).reshape(1, 4, 2, t) * 0.4,
        "output.stems": np.repeat(mix, 4, axis=0).reshape(1, 4, 2, t) * 0.9,
    }
    ref = {k: v.astype(np.float32) for k, v in ref.items()}
    cand = {}
    for k, v in ref.items():
        c = v.astype(np.float16).astype(np.float32)
        if k.startswith("output"):
            # Error accumulates downstream: a little more noise on the final output.
            c = c + (2e-5 * rng.standard_normal(v.shape)).astype(np.float32)
        cand[k] = c
    np.savez(f"{out}/reference.npz", **ref)
    np.savez_compressed(f"{out}/candidate.npz", **cand)


if __name__ == "__main__":
    main()
