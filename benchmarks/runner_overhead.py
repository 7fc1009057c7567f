"""Time the same TorchScript stages from Python, as a reference for htdemucs-stage-runner.

Reads the runner's results JSON (its timings, settings, and each stage's artifact and input
names) and its --capture .npz, then for each stage: time ``torch.jit.load``, run ``warmup``
untimed calls and ``repeat`` timed calls under ``torch.no_grad()`` with the same thread
count, and print runner/Python ratios of the median time per repetition and of the load
time. 1.02 means the runner is 2 % slower.

Stages get their inputs the way the runner's did (``--mode``): chained, each from the tensors
its upstream stages returned in this process, starting from the captured audio; or isolated,
each from fresh copies of the captured inputs (the runner's ``--inputs-from``). Either way
the values are the very ones the runner used.

Usage: python runner_overhead.py --results runner.json --capture runner.npz [--json out.json] [--mode M]
       python runner_overhead.py --python-only --results runner.json --capture runner.npz --json py.json
       python runner_overhead.py --results runner.json --capture runner.npz --python-timings py.json
       python runner_overhead.py --summarize round1.json round2.json ...   (median over rounds)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def warm_up() -> None:
    """Mirror the runner's untimed warm-up: trace, save and load a trivial module.

    `import torch` already initialised most of the runtime; this pays what is left of the
    first-load cost (as the runner does) so the timed loads compare like with like.
    """
    traced = torch.jit.trace(lambda x: x * 2.0, torch.zeros(1, 2, 8))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warmup.pt"
        traced.save(str(path))
        torch.jit.load(str(path))


def python_timings(
    stages: list[dict], capture: Path, warmup: int, repeat: int, chained: bool
) -> dict:
    arrays = np.load(capture)
    out = {}
    # Chained: every stage takes the tensors its upstream stages returned in this process
    # (the runner's default mode); otherwise each takes fresh copies from the capture.
    if chained:
        produced = {"audio": torch.from_numpy(np.ascontiguousarray(arrays["audio"]))}
    warm_up()
    with torch.no_grad():
        for stage in stages:
            if chained:
                inputs = [produced[i] for i in stage["inputs"]]
            else:
                inputs = [
                    torch.from_numpy(np.ascontiguousarray(arrays[i])) for i in stage["inputs"]
                ]
            t0 = time.perf_counter()
            module = torch.jit.load(stage["artifact"], map_location="cpu")
            load = time.perf_counter() - t0
            module.eval()
            for _ in range(warmup):
                module(*inputs)
            samples = []
            for i in range(repeat):
                t0 = time.perf_counter()
                if i + 1 < repeat:
                    module(*inputs)
                else:
                    result = module(*inputs)
                samples.append(time.perf_counter() - t0)
            out[stage["name"]] = {"load": load, "samples": samples}
            if chained:
                # The capture names every output `<stage>.<output>`, in the stage's order.
                names = [k for k in arrays.files if k.startswith(stage["name"] + ".")]
                results = list(result) if isinstance(result, (tuple, list)) else [result]
                produced.update(zip(names, results, strict=True))
            del module
    return out


def time_python(doc: dict, capture: Path, mode: str | None) -> dict:
    """Python's timings of the stages listed in a runner results document, with its settings.

    ``mode`` is how stages get their inputs, as in the runner: ``chained`` (from upstream
    stages in this process) or ``isolated`` (fresh copies from the capture); ``None`` takes
    the mode the results document was run in (``inputs_from`` marks an isolated run).
    """
    meta = doc["$meta"]
    backend = next(k for k in doc if not k.startswith("$"))
    torch.set_num_threads(meta["threads"])
    info = meta["backends"][backend]
    if mode is None:
        mode = "isolated" if "inputs_from" in info else "chained"
    chained = mode == "chained"
    return python_timings(info["stages"], capture, meta["warmup"], meta["repeat"], chained)


def compare(
    results: Path, capture: Path, out: Path | None, timings: Path | None, mode: str | None
) -> int:
    doc = json.loads(results.read_text())
    meta = doc["$meta"]
    backend = next(k for k in doc if not k.startswith("$"))
    if timings:
        py = json.loads(timings.read_text())
    else:
        py = time_python(doc, capture, mode)
    rows = []
    for stage, timing in py.items():
        runner_med = statistics.median(doc[backend][f"{stage}_sec"])
        python_med = statistics.median(timing["samples"])
        rows.append(
            {
                "stage": stage,
                "runner_sec": runner_med,
                "python_sec": python_med,
                "ratio": runner_med / python_med,
                "runner_min_sec": min(doc[backend][f"{stage}_sec"]),
                "python_min_sec": min(timing["samples"]),
                "runner_load_sec": doc[backend][f"{stage}_load_sec"],
                "python_load_sec": timing["load"],
                "runner_samples": doc[backend][f"{stage}_sec"],
                "python_samples": timing["samples"],
            }
        )
    runner_load = sum(r["runner_load_sec"] for r in rows)
    python_load = sum(r["python_load_sec"] for r in rows)
    print(
        f"threads={meta['threads']} audio={meta['audio_seconds']}s warmup={meta['warmup']} "
        f"repeat={meta['repeat']} torch={torch.__version__}"
    )
    print(
        f"{'stage':<16}{'runner ms':>11}{'python ms':>11}{'ratio':>8}{'load ms':>10}{'py load':>10}"
    )
    for r in rows:
        print(
            f"{r['stage']:<16}{r['runner_sec'] * 1e3:>11.3f}{r['python_sec'] * 1e3:>11.3f}"
            f"{r['ratio']:>8.3f}{r['runner_load_sec'] * 1e3:>10.2f}{r['python_load_sec'] * 1e3:>10.2f}"
        )
    load_ratio = runner_load / python_load
    print(
        f"{'model load':<16}{'':>22}{load_ratio:>8.3f}{runner_load * 1e3:>10.2f}"
        f"{python_load * 1e3:>10.2f}"
    )
    if out:
        summary = {"rows": rows, "runner_load_sec": runner_load, "python_load_sec": python_load}
        out.write_text(json.dumps(summary, indent=2))
    return 0


def summarize(files: list[Path]) -> int:
    """Per stage over all rounds: the median of the per-round median ratios with their
    quartiles, the ratio of the pooled medians (every repetition of every round), and the
    ratio of the fastest repetitions (other processes only ever add time, so on a busy
    machine the minimum is the steadier estimate of what each side costs)."""
    rounds = [json.loads(f.read_text()) for f in files]
    print(f"{len(rounds)} rounds, runner / python (<= 1.02 is within 2 %):")
    print(
        f"  {'stage':<16}{'median':>8}{'q1':>7}{'q3':>7}{'pooled':>8}{'min':>7}"
        f"{'runner ms':>11}{'python ms':>11}"
    )
    for i, row in enumerate(rounds[0]["rows"]):
        ratios = sorted(r["rows"][i]["ratio"] for r in rounds)
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        pooled_r = statistics.median(x for r in rounds for x in r["rows"][i]["runner_samples"])
        pooled_p = statistics.median(x for r in rounds for x in r["rows"][i]["python_samples"])
        r_min = min(r["rows"][i]["runner_min_sec"] for r in rounds)
        p_min = min(r["rows"][i]["python_min_sec"] for r in rounds)
        print(
            f"  {row['stage']:<16}{statistics.median(ratios):>8.3f}{q1:>7.3f}{q3:>7.3f}"
            f"{pooled_r / pooled_p:>8.3f}{r_min / p_min:>7.3f}"
            f"{pooled_r * 1e3:>11.3f}{pooled_p * 1e3:>11.3f}"
        )
    load = statistics.median(r["runner_load_sec"] / r["python_load_sec"] for r in rounds)
    r_load = statistics.median(r["runner_load_sec"] for r in rounds) * 1e3
    p_load = statistics.median(r["python_load_sec"] for r in rounds) * 1e3
    print(
        f"  model load: median ratio {load:.3f} (runner {r_load:.2f} ms, python {p_load:.2f} ms; "
        "<= 1.0: runner loads no slower)"
    )
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summarize", type=Path, nargs="+", help="comparison JSONs of earlier rounds")
    p.add_argument("--results", type=Path, help="the runner's results JSON")
    p.add_argument("--capture", type=Path, help="the runner's --capture .npz")
    p.add_argument("--json", type=Path, help="also write the comparison here")
    p.add_argument(
        "--python-only",
        action="store_true",
        help="only time the stages from Python and write the timings to --json",
    )
    p.add_argument(
        "--python-timings", type=Path, help="Python timings written earlier by --python-only"
    )
    p.add_argument(
        "--mode",
        choices=["chained", "isolated"],
        help="how Python feeds the stages (default: as the runner's results were run)",
    )
    args = p.parse_args()
    if args.summarize:
        return summarize(args.summarize)
    if not (args.results and args.capture):
        p.error("--results and --capture are required")
    if args.python_only:
        if not args.json:
            p.error("--python-only needs --json")
        doc = json.loads(args.results.read_text())
        args.json.write_text(json.dumps(time_python(doc, args.capture, args.mode)))
        return 0
    return compare(args.results, args.capture, args.json, args.python_timings, args.mode)


if __name__ == "__main__":
    sys.exit(main())
