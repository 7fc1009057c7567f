"""Writes a reference/candidate pair of HTDemucs-shaped stage captures (.npz) for the
parity speed/memory benchmark, streaming so the generator itself stays small.

Shapes follow the stage runner's capture of a 30 s, 44.1 kHz stereo clip through the
4-stem HTDemucs pipeline (5 stages: stft, freq_branch, time_branch, istft, output),
inputs and outputs, float32 little-endian, C order, uncompressed like numpy.savez:
about 402 MB (384 MiB) per file. The candidate is the reference rounded to float16 plus
a little noise, like a float16 CoreML conversion.

usage: make_htdemucs_npz.py OUT_DIR [--seconds 30]
"""

import argparse
import os
import zipfile

import numpy as np

CHUNK = 1 << 20


def shapes(seconds):
    t = int(seconds * 44100)
    frames = -(-t // 1024)  # hop 1024
    return [
        ("stft.mix", (1, 2, t)),
        ("stft.spec", (1, 4, 2048, frames)),
        ("freq_branch.spectrogram", (1, 4, 2048, frames)),
        ("freq_branch.freq_out", (1, 4, 4, 2048, frames)),
        ("time_branch.raw_audio", (1, 2, t)),
        ("time_branch.time_out", (1, 4, 2, t)),
        ("istft.freq_wave", (1, 4, 2, t)),
        ("output.stems", (1, 4, 2, t)),
    ]


def write_pair(out_dir, seconds):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(1234)
    paths = [os.path.join(out_dir, n) for n in ("reference.npz", "candidate.npz")]
    zips = [zipfile.ZipFile(p, "w", zipfile.ZIP_STORED, allowZip64=True) for p in paths]
    for name, shape in shapes(seconds):
        n = int(np.prod(shape))
        members = [z.open(name + ".npy", "w", force_zip64=True) for z in zips]
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        for m in members:
            np.lib.format.write_array_header_1_0(m, header)
        done = 0
        while done < n:
            k = min(CHUNK, n - done)
            i = np.arange(done, done + k, dtype=np.float64)
            ref = (0.2 * np.sin(i * 0.0313) + 0.05 * rng.standard_normal(k)).astype(np.float32)
            cand = ref.astype(np.float16).astype(np.float32)
            cand += (1e-5 * rng.standard_normal(k)).astype(np.float32)
            members[0].write(ref.tobytes())
            members[1].write(cand.tobytes())
            done += k
        for m in members:
            m.close()
    for z in zips:
        z.close()
    for p in paths:
        print(f"{p}: {os.path.getsize(p) / 2**20:.1f} MiB")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("--seconds", type=float, default=30.0)
    a = p.parse_args()
    write_pair(a.out_dir, a.seconds)


if __name__ == "__main__":
    main()
