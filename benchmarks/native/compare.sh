#!/usr/bin/env bash
# One stage of an example timed three ways, in interleaved rounds: the release
# htdemucs-stage-runner (isolated mode), Python (torch.jit.load and a loop) and a plain C++
# libtorch loop (loop.cpp, built here with g++ against the venv's torch). Separates what the
# runner costs from what running libtorch outside Python costs. Not a test.
#
# Env: PYTHON (python3 with torch), EXAMPLE (examples/htdemucs-mini; examples/htdemucs for
#      the real model, exported first), STAGE (freq_branch), ROUNDS (6), REPEAT (40),
#      WARMUP (3), AUDIO_SECONDS (5), PIN (CPU list for taskset, default 1), THP (0|1),
#      HTDEMUCS_STAGE_RUNNER.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
python=${PYTHON:-python3}
stage=${STAGE:-freq_branch}
rounds=${ROUNDS:-6}
repeat=${REPEAT:-40}
warmup=${WARMUP:-3}
seconds=${AUDIO_SECONDS:-5}
runner=${HTDEMUCS_STAGE_RUNNER:-$root/target/release/htdemucs-stage-runner}
example=$root/${EXAMPLE:-examples/htdemucs-mini}
spec=$example/pipeline.yml
pin=(taskset -c "${PIN:-1}")
# The same fixed glibc malloc thresholds as benchmarks/runner_overhead.sh, for all three.
# THP=1 also sets libtorch's THP_MEM_ALLOC_ENABLE=1 (2 MiB-aligned large tensors) for all.
export MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824
if [[ ${THP:-0} == 1 ]]; then export THP_MEM_ALLOC_ENABLE=1; fi

[[ -x $runner ]] || { echo "build the runner first: make build" >&2; exit 2; }
command -v g++ >/dev/null || { echo "needs g++" >&2; exit 2; }
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
# The runner has no rpath: htdemucs-devops sets its loader path; here we start it directly.
export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

g++ -O2 -std=c++17 -w "$root/benchmarks/native/loop.cpp" -o "$scratch/loop" \
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include" \
  -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -ltorch -ltorch_cpu -lc10

# Capture every stage's inputs once; then the runner runs the one stage in isolated mode
# (`--inputs-from` the capture, `--stage`), Python and C++ get the same arrays (C++ as raw
# float32 files, one per input, in the stage's input order).
"$runner" --spec "$spec" --backend pytorch --signal-seconds "$seconds" \
  --warmup 0 --repeat 1 --out "$scratch/capture.json" --capture "$scratch/capture.npz" > /dev/null
read -r artifact inputs < <("$python" - "$scratch" "$stage" <<'PY'
import json, sys
import numpy as np
scratch, stage = sys.argv[1:]
meta = json.load(open(f"{scratch}/capture.json"))["$meta"]["backends"]["pytorch"]["stages"]
spec = next(s for s in meta if s["name"] == stage)
arrays = np.load(f"{scratch}/capture.npz")
args = []
for i, name in enumerate(spec["inputs"]):
    x = np.ascontiguousarray(arrays[name], dtype="<f4")
    x.tofile(f"{scratch}/input{i}.raw")
    args.append(f"{scratch}/input{i}.raw:" + ",".join(str(d) for d in x.shape))
np.savez(f"{scratch}/inputs.npz", *[arrays[n] for n in spec["inputs"]])
print(spec["artifact"], " ".join(args))
PY
)
cat > "$scratch/loop.py" <<PY
import statistics, time
import numpy as np, torch
torch.set_num_threads(1)
npz = np.load("$scratch/inputs.npz")
xs = [torch.from_numpy(npz[f"arr_{i}"]) for i in range(len(npz.files))]
m = torch.jit.load("$artifact", map_location="cpu").eval()
ms = []
with torch.no_grad():
    for i in range($warmup + $repeat):
        t0 = time.perf_counter()
        m(*xs)
        if i >= $warmup:
            ms.append((time.perf_counter() - t0) * 1e3)
print(f"python {statistics.median(ms):.3f} {min(ms):.3f}")
PY

echo "stage $stage of $spec, inputs ${inputs//$scratch\//}, $rounds rounds of $repeat repetitions, pinned to CPU ${PIN:-1}"
for round in $(seq "$rounds"); do
  "${pin[@]}" "$runner" --spec "$spec" --backend pytorch --inputs-from "$scratch/capture.npz" --stage "$stage" \
    --warmup "$warmup" --repeat "$repeat" --threads 1 --out "$scratch/runner.json" > /dev/null
  "$python" -c "
import json, statistics, sys
s = json.load(open('$scratch/runner.json'))['pytorch']['${stage}_sec']
print(f'runner {statistics.median(s) * 1e3:.3f} {min(s) * 1e3:.3f}')" >> "$scratch/rows"
  "${pin[@]}" "$python" "$scratch/loop.py" >> "$scratch/rows"
  # shellcheck disable=SC2086
  "${pin[@]}" "$scratch/loop" "$artifact" "$warmup" "$repeat" $inputs >> "$scratch/rows"
  tail -n 3 "$scratch/rows" | tr '\n' ' '; echo
done
"$python" - "$scratch/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, med, low = line.split()
    rows.setdefault(who, []).append((float(med), float(low)))
print("median of medians (ms), min (ms), ratio to python:")
py = statistics.median(m for m, _ in rows["python"])
for who in ("runner", "python", "native"):
    med = statistics.median(m for m, _ in rows[who])
    print(f"  {who:<7}{med:>9.2f}{min(l for _, l in rows[who]):>9.2f}{med / py:>8.3f}")
PY
