#!/usr/bin/env bash
# Parity speed/memory benchmark (not a test): compares two ~384 MiB HTDemucs-shaped
# .npz captures with the release binary, against `cat` reading both files and against
# the same metrics in numpy. Targets: time ≤ 2× cat, ≥ 5× faster than numpy, peak RSS
# < 64 MiB. Files are generated under $BENCH_DIR (default /tmp/parity-bench), never in
# the repository.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/parity-bench}"
python="${PYTHON:-python3}"
bin="$root/target/release/htdemucs-devops"
runs="${RUNS:-3}"
ref="$dir/reference.npz"
cand="$dir/candidate.npz"

[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ ! -f "$ref" ] || [ ! -f "$cand" ]; then
  "$python" "$root/benchmarks/parity/make_htdemucs_npz.py" "$dir"
fi

# Seconds and max RSS (KiB) of one command, via GNU time.
measure() {
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > /dev/null 2>"$dir/stderr.txt" || true
  cat "$dir/time.txt"
}

best() { # best (lowest) time and highest RSS over $runs runs
  local t_best="" rss_max=0
  for _ in $(seq "$runs"); do
    read -r t rss < <(measure "$@")
    if [ -z "$t_best" ] || awk "BEGIN{exit !($t < $t_best)}"; then t_best=$t; fi
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  echo "$t_best $rss_max"
}

cat "$ref" "$cand" > /dev/null # warm the page cache for everyone
read -r t_cat _ < <(best cat "$ref" "$cand")
read -r t_ours rss_ours < <(best "$bin" parity --reference "$ref" --candidate "$cand" --out-dir "$dir/out")
read -r t_np rss_np < <(RUNS=1 best "$python" "$root/benchmarks/parity/numpy_metrics.py" "$ref" "$cand")

size=$(du -m "$ref" | cut -f1)
echo "files: 2 × ${size} MB ($(basename "$ref"), $(basename "$cand"))"
printf "cat both files:        %6.2f s\n" "$t_cat"
printf "htdemucs-devops parity:%6.2f s  peak RSS %6.1f MiB\n" "$t_ours" "$(echo "$rss_ours / 1024" | bc -l)"
printf "numpy script:          %6.2f s  peak RSS %6.1f MiB\n" "$t_np" "$(echo "$rss_np / 1024" | bc -l)"
printf "ratio parity / cat:    %6.2f (target ≤ 2)\n" "$(echo "$t_ours / $t_cat" | bc -l)"
printf "speed-up vs numpy:     %6.2f× (target ≥ 5)\n" "$(echo "$t_np / $t_ours" | bc -l)"
