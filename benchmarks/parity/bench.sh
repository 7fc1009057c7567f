#!/usr/bin/env bash
# Parity speed/memory benchmark (not a test): compares two ~384 MiB HTDemucs-shaped
# .npz captures with the release binary, against `cat` reading both files and against
# the same metrics in numpy. Targets: time ≤ 2× cat, ≥ 5× faster than numpy, peak RSS
# < 64 MiB. Files are generated under $BENCH_DIR (default /tmp/parity-bench), never in
# the repository; REFERENCE and CANDIDATE compare two existing captures instead (e.g. the
# real model's 30 s captures from `make demo-htdemucs`), PARITY_ARGS adds arguments.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/parity-bench}"
python="${PYTHON:-python3}"
bin="$root/target/release/htdemucs-devops"
runs="${RUNS:-5}"
ref="${REFERENCE:-$dir/reference.npz}"
cand="${CANDIDATE:-$dir/candidate.npz}"
# Absolute, so that a --root in PARITY_ARGS does not change what they name.
ref=$(realpath -m "$ref")
cand=$(realpath -m "$cand")
# shellcheck disable=SC2206
extra=(${PARITY_ARGS:-})

[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ ! -f "$ref" ] || [ ! -f "$cand" ]; then
  "$python" "$root/benchmarks/parity/make_htdemucs_npz.py" "$dir"
fi

# Wall seconds, CPU seconds (user + sys) and max RSS (KiB) of one command, via GNU time.
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$@" > /dev/null 2>"$dir/stderr.txt" || true
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$dir/time.txt"
}

# "best_wall median_wall median_cpu max_rss" over $runs runs. On a shared machine wall
# time is noisy; CPU time shows the work done whatever the load.
stats() {
  local rows=""
  for _ in $(seq "$runs"); do rows+="$(measure "$@")"$'\n'; done
  local mid=$(( (runs + 1) / 2 ))
  local walls cpus
  walls=$(printf "%s" "$rows" | cut -d' ' -f1 | sort -g)
  cpus=$(printf "%s" "$rows" | cut -d' ' -f2 | sort -g)
  echo "$(echo "$walls" | head -1) $(echo "$walls" | sed -n "${mid}p") $(echo "$cpus" | sed -n "${mid}p") $(printf "%s" "$rows" | cut -d' ' -f3 | sort -g | tail -1)"
}

cat "$ref" "$cand" > /dev/null # warm the page cache for everyone
read -r t_cat m_cat cpu_cat _ < <(stats cat "$ref" "$cand")
read -r t_ours m_ours cpu_ours rss_ours < <(stats "$bin" parity --reference "$ref" --candidate "$cand" --out-dir "$dir/out" "${extra[@]}")
read -r t_np _ _ rss_np < <(runs=1 stats "$python" "$root/benchmarks/parity/numpy_metrics.py" "$ref" "$cand")

size=$(du -m "$ref" | cut -f1)
echo "files: 2 × ${size} MB ($(basename "$ref"), $(basename "$cand")); $runs runs, wall best / median, CPU median"
printf "cat both files:         %6.2f / %6.2f s  CPU %6.2f s\n" "$t_cat" "$m_cat" "$cpu_cat"
printf "htdemucs-devops parity: %6.2f / %6.2f s  CPU %6.2f s  peak RSS %6.1f MiB\n" "$t_ours" "$m_ours" "$cpu_ours" "$(echo "$rss_ours / 1024" | bc -l)"
printf "numpy script:           %6.2f s           peak RSS %6.1f MiB\n" "$t_np" "$(echo "$rss_np / 1024" | bc -l)"
printf "ratio parity / cat:     %6.2f best, %6.2f median, %6.2f CPU (target ≤ 2)\n" \
  "$(echo "$t_ours / $t_cat" | bc -l)" "$(echo "$m_ours / $m_cat" | bc -l)" "$(echo "$cpu_ours / $cpu_cat" | bc -l)"
printf "speed-up vs numpy:      %6.2f× (best; target ≥ 5)\n" "$(echo "$t_np / $t_ours" | bc -l)"
