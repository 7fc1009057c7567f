"""Export the htdemucs-mini example as TorchScript: one module per stage plus the whole pipeline.

Writes two variants side by side, with identical weights (seeded, so every export of the
same version is the same model):

  <out>/pytorch/{stft,freq_branch,time_branch,branches,istft,full_pipeline}.pt   float32
  <out>/converted/...                                                           branches in float16

"converted" stands in for a CoreML conversion on machines without macOS: CoreML computes
in float16 by default, with float32 inputs and outputs, and HTDemucsCoreML keeps the
STFT/iSTFT in float32 (vDSP). Files are written under temporary names and renamed, and a
``COMPLETE`` stamp is written last, so a reader never sees a half-written export.

Usage: python export.py --out examples/htdemucs-mini/build [--force]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mini_htdemucs import (
    Branches,
    Float16,
    FreqBranch,
    FullPipeline,
    Istft,
    Stft,
    TimeBranch,
)

# Bump when the network or the export changes, so stale exports are rebuilt.
EXPORT_VERSION = "1"
SEED = 0


def build_variants() -> dict[str, dict[str, torch.nn.Module]]:
    torch.manual_seed(SEED)
    stft, istft = Stft().eval(), Istft().eval()
    freq, time = FreqBranch().eval(), TimeBranch().eval()
    freq16, time16 = (
        Float16(copy.deepcopy(freq)).eval(),
        Float16(copy.deepcopy(time)).eval(),
    )
    variants = {}
    for name, (f, t) in {
        "pytorch": (freq, time),
        "converted": (freq16, time16),
    }.items():
        variants[name] = {
            "stft": stft,
            "freq_branch": f,
            "time_branch": t,
            "branches": Branches(f, t).eval(),
            "istft": istft,
            "full_pipeline": FullPipeline(stft, f, t, istft).eval(),
        }
    return variants


def save(module: torch.nn.Module, path: Path) -> None:
    scripted = torch.jit.script(module)
    tmp = path.with_suffix(".pt.tmp")
    scripted.save(str(tmp))
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--force", action="store_true", help="export even if up to date")
    args = parser.parse_args()
    stamp = args.out / "COMPLETE"
    if (
        not args.force
        and stamp.is_file()
        and stamp.read_text().strip() == f"{EXPORT_VERSION} {torch.__version__}"
    ):
        print(f"htdemucs-mini: {args.out} is up to date")
        return 0
    stamp.unlink(missing_ok=True)
    with torch.no_grad():
        for variant, modules in build_variants().items():
            folder = args.out / variant
            folder.mkdir(parents=True, exist_ok=True)
            for stage, module in modules.items():
                save(module, folder / f"{stage}.pt")
    params = sum(p.numel() for p in FreqBranch().parameters()) + sum(
        p.numel() for p in TimeBranch().parameters()
    )
    stamp.write_text(f"{EXPORT_VERSION} {torch.__version__}\n")
    print(f"htdemucs-mini: exported to {args.out} ({params} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
