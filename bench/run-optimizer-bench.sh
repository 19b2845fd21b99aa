#!/usr/bin/env bash
# bench/run-optimizer-bench.sh: AdamW throughput against the machine's
# STREAM triad and against torch.optim.AdamW (foreach=False and True), in
# one run on the same machine, as ratios. Not a test: asserts nothing.
#   THREADS (default 2)  OpenMP / torch threads
#   bench/run-optimizer-bench.sh [params...]    default: 10000000 100000000
# Needs build/optimizer_bench (tools/setup.sh) and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000000 100000000)
ours=$(OMP_NUM_THREADS=$threads OMP_PROC_BIND=close build/optimizer_bench "${sizes[@]}")
theirs=$(OMP_NUM_THREADS=$threads /usr/bin/python3 bench/torch_adamw.py "${sizes[@]}")
echo "$ours"
echo "$theirs"
echo
printf "%12s %10s %12s %12s %14s %14s\n" params threads "triad GB/s" "ours GB/s" "vs foreach=F" "vs foreach=T"
# ours: "params triad adamw ratio%"; theirs: "params foreachF foreachT"
join <(echo "$ours" | awk '$1 ~ /^[0-9]+$/ {print $1, $2, $3}' | sort) \
     <(echo "$theirs" | awk '$1 ~ /^[0-9]+$/ {print $1, $2, $3}' | sort) |
  sort -n | awk -v t="$threads" '{printf "%12d %10d %12.2f %12.2f %13.2fx %13.2fx   (%.0f%% of triad)\n", $1, t, $2, $3, $3/$4, $3/$5, 100*$3/$2}'
