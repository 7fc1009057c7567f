"""Export HTDemucs (demucs 4.1.0, seeded random weights) as the port's three traced stages.

Writes, under ``--out``:

  pytorch/{stft,separate,istft}.pt     float32 throughout
  converted/{stft,separate,istft}.pt   ``separate`` in float16 (float32 in, float16 out), as a
                                       CoreML conversion runs it; STFT/iSTFT stay float32
  model.pt, model.json                 the weights and constructor choices, for reference.py
  COMPLETE                             written last, naming what was exported

``separate`` takes ``spectrogram`` [1, 4, 2048, 336] and ``raw_audio`` [1, 2, 343980] and
returns the frequency branch [1, S, 4, 2048, 336] and the time branch [1, S, 2, 343980] (the
real port's ``add_66`` and ``add_67``). HTDemucs cannot be scripted, so every stage is
traced on one segment of noise: the traced modules take exactly one segment.

Usage: python export.py --out examples/htdemucs/build [--sources 4|6] [--size real|small]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stages import (
    SAMPLE_RATE,
    SEGMENT,
    Float16,
    Istft,
    Separate,
    Stft,
    build_model,
    embeddings_as,
)

# Bump when the cut or the export changes, so stale exports are rebuilt.
EXPORT_VERSION = "1"
SEED = 0


def trace(module: torch.nn.Module, inputs: tuple, path: Path) -> tuple:
    """Traces ``module`` on ``inputs``, saves it atomically, returns its outputs."""
    with warnings.catch_warnings():
        # Shapes are constants of the trace on purpose: one segment is what the port runs.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module.eval(), inputs, check_trace=False)
    tmp = path.with_suffix(".pt.tmp")
    traced.save(str(tmp))
    os.replace(tmp, path)
    out = traced(*inputs)
    return out if isinstance(out, tuple) else (out,)


def export(out: Path, sources: int, size: str) -> int:
    model = build_model(sources, size, SEED)
    length = int(SEGMENT * SAMPLE_RATE)
    audio = 0.1 * torch.randn(1, 2, length, generator=torch.Generator().manual_seed(1))
    for variant in ("pytorch", "converted"):
        folder = out / variant
        folder.mkdir(parents=True, exist_ok=True)
        (spectrogram,) = trace(Stft(), (audio,), folder / "stft.pt")
        if variant == "pytorch":
            separate = Separate(model)
            freq, time = trace(separate, (spectrogram, audio), folder / "separate.pt")
        else:
            # demucs builds the positional embeddings in float32: cast them in the trace.
            half = Float16(Separate(copy.deepcopy(model)))
            with embeddings_as(torch.float16):
                freq, time = trace(half, (spectrogram, audio), folder / "separate.pt")
        trace(Istft(), (freq, time), folder / "istft.pt")
    torch.save(model.state_dict(), out / "model.pt")
    (out / "model.json").write_text(
        json.dumps({"sources": sources, "size": size, "seed": SEED}) + "\n"
    )
    return sum(p.numel() for p in model.parameters())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--sources", type=int, choices=(4, 6), default=6)
    parser.add_argument(
        "--size",
        choices=("real", "small"),
        default="real",
        help="real: the released architecture; small: narrower, same shapes (for quick checks)",
    )
    parser.add_argument("--force", action="store_true", help="export even if up to date")
    args = parser.parse_args()
    stamp = args.out / "COMPLETE"
    want = f"{EXPORT_VERSION} {torch.__version__} sources={args.sources} size={args.size}"
    if not args.force and stamp.is_file() and stamp.read_text().strip() == want:
        print(f"htdemucs: {args.out} is up to date")
        return 0
    stamp.unlink(missing_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    params = export(args.out, args.sources, args.size)
    stamp.write_text(want + "\n")
    print(f"htdemucs: exported to {args.out} ({params} parameters, {args.sources} sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
