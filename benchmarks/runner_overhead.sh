#!/usr/bin/env bash
# Overhead of htdemucs-stage-runner against the same TorchScript modules timed from Python.
#
# For ROUNDS rounds: the release runner runs the htdemucs-mini pipeline (pytorch backend)
# and captures every stage's inputs; runner_overhead.py then loads the same .pt files with
# torch.jit.load and times the same calls on the same tensors with the same thread count,
# warm-up and repetitions. Prints per-round tables and the median ratio over rounds.
# Target: time ratio <= 1.02 per stage, load ratio <= 1.0. Not a test: timing on shared CI
# machines is too noisy to gate on.
#
# Allocator: by default (ALLOCATOR=pinned) both processes run with fixed glibc malloc
# thresholds. With glibc's adaptive defaults both return large intermediate buffers to the
# OS after a call and page-fault them back in (the frequency branch takes twice as long
# here), Python 2.4x as often as the runner, which measures the allocator, not the runner.
# Pinned also sets THP_MEM_ALLOC_ENABLE=1, libtorch's own
# switch for 2 MiB-aligned, huge-page-backed large tensors, in both processes: with 4 KiB
# pages the strided copy inside conv_transpose2d runs about 18 % slower in any process
# that is not Python (the runner and a plain C++ loop alike; benchmarks/native/compare.sh),
# for reasons of page placement rather than of the caller. ALLOCATOR=default runs both
# with the defaults instead.
#
# Mode: MODE=chained (the default) runs the pipeline as a user does, every stage fed by its
# upstream stages, and Python chains its own outputs the same way; MODE=isolated gives the
# runner `--inputs-from` the capture and Python fresh copies of the same arrays.
#
# Env: PYTHON (default: python3), AUDIO_SECONDS (5), REPEAT (15), WARMUP (3),
#      THREADS (all cores), ROUNDS (5), ALLOCATOR (pinned|default), MODE (chained|isolated),
#      PIN (CPU list), HTDEMUCS_STAGE_RUNNER (default: target/release/...),
#      EXAMPLE (examples/htdemucs-mini; examples/htdemucs is the real model), EXPORT_ARGS
#      (for its exporter, e.g. `--sources 4`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
seconds=${AUDIO_SECONDS:-5}
repeat=${REPEAT:-15}
warmup=${WARMUP:-3}
threads=${THREADS:-$(getconf _NPROCESSORS_ONLN)}
rounds=${ROUNDS:-5}
runner=${HTDEMUCS_STAGE_RUNNER:-$root/target/release/htdemucs-stage-runner}
example=${EXAMPLE:-examples/htdemucs-mini}
case ${ALLOCATOR:-pinned} in
  pinned) export MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 \
    THP_MEM_ALLOC_ENABLE=1 ;;
  default) ;;
  *) echo "runner_overhead.sh: ALLOCATOR must be pinned or default" >&2; exit 2 ;;
esac
mode=${MODE:-chained}
case $mode in
  chained | isolated) ;;
  *) echo "runner_overhead.sh: MODE must be chained or isolated" >&2; exit 2 ;;
esac
echo "allocator: ${ALLOCATOR:-pinned}, mode: $mode, threads: $threads"

if [[ ! -x $runner ]]; then
  LIBTORCH_USE_PYTORCH=${LIBTORCH_USE_PYTORCH:-1} \
    cargo build --release --features torch --bin htdemucs-stage-runner
fi
# shellcheck disable=SC2086
"$python" "$example/model/export.py" --out "$example/build" ${EXPORT_ARGS:-}
# The runner has no rpath (htdemucs-devops sets this for it; here we start it directly).
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DYLD_LIBRARY_PATH="$torch_lib${DYLD_LIBRARY_PATH:+:$DYLD_LIBRARY_PATH}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# PIN=CPUS (e.g. PIN=1) runs both sides under `taskset -c CPUS`, away from other work.
pin=()
if [[ -n ${PIN:-} ]]; then pin=(taskset -c "$PIN"); echo "pinned to CPU(s) $PIN"; fi
input_args=(--signal-seconds "$seconds")
run_runner() {
  "${pin[@]}" "$runner" --spec "$example/pipeline.yml" --backend pytorch "${input_args[@]}" \
    --warmup "$warmup" --repeat "$repeat" --threads "$threads" --out "$1" "${@:2}"
}
# One untimed run captures every stage's inputs, so Python gets the very same values.
run_runner "$scratch/inputs.json" --capture "$scratch/inputs.npz" > /dev/null
if [[ $mode == isolated ]]; then input_args=(--inputs-from "$scratch/inputs.npz"); fi
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds"
  # Alternate which side goes first, so a machine that speeds up or slows down over the
  # run does not favour one of them.
  if (( round % 2 )); then
    run_runner "$scratch/runner$round.json"
    "${pin[@]}" "$python" benchmarks/runner_overhead.py --results "$scratch/runner$round.json" \
      --capture "$scratch/inputs.npz" --mode "$mode" --json "$scratch/compare$round.json"
  else
    "${pin[@]}" "$python" benchmarks/runner_overhead.py --python-only --results "$scratch/inputs.json" \
      --capture "$scratch/inputs.npz" --mode "$mode" --json "$scratch/python$round.json"
    run_runner "$scratch/runner$round.json"
    "$python" benchmarks/runner_overhead.py --results "$scratch/runner$round.json" \
      --capture "$scratch/inputs.npz" --python-timings "$scratch/python$round.json" \
      --json "$scratch/compare$round.json"
  fi
done
"$python" benchmarks/runner_overhead.py --summarize "$scratch"/compare*.json
