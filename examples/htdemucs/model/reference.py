"""demucs's own answer for a capture's audio: ``apply_model`` on the exported weights.

Reads the ``audio`` array of a stage-runner capture (``--capture``), rebuilds the model that
export.py wrote (``model.json`` + ``model.pt``), and writes ``sources`` =
``apply_model(model, audio, shifts=0, split=True, overlap, transition_power)`` to an .npz,
so a test can compare it with the runner's overlap-added ``istft.sources``.

Usage: python reference.py --build BUILD --capture run.npz --out reference.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from demucs.apply import apply_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stages import build_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, type=Path, help="export.py's --out")
    parser.add_argument("--capture", required=True, type=Path, help="an .npz with `audio`")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--transition-power", type=float, default=1.0)
    args = parser.parse_args()
    config = json.loads((args.build / "model.json").read_text())
    model = build_model(config["sources"], config["size"], config["seed"])
    model.load_state_dict(torch.load(args.build / "model.pt"))
    with np.load(args.capture) as capture:
        audio = torch.from_numpy(np.ascontiguousarray(capture["audio"], dtype=np.float32))
    with torch.no_grad():
        sources = apply_model(
            model,
            audio,
            shifts=0,
            split=True,
            overlap=args.overlap,
            transition_power=args.transition_power,
            progress=False,
        )
    np.savez(args.out, sources=sources.numpy())
    print(f"reference: {tuple(sources.shape)} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
