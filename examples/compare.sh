#!/usr/bin/env bash
# The report: the same latency test against
#   1. bare      the server as a plain host process (build/inference/minictr-infer)
#   2. minictr   the inference image in minictr, no limits
#   3. limited   the inference image in minictr with $LIMITS (default --cpus 0.5 -m 256m)
# while sampling resource usage every 0.5 s (sample_stats.py: `minictr stats --format
# json` streams for the containers, /proc for the bare process) into CSVs, then PNG
# plots of latency (per request and its distribution), CPU, memory and network I/O
# with gnuplot and a markdown table, summary.md (report.py). Memory is compared like with like: the RSS of
# the server process in all three runs (memory.png), and the containers' cgroup usage,
# what `stats` shows, on its own plot (memory-cgroup.png).
#   sudo examples/compare.sh [OUT_DIR]          (default ./compare-results)
#   REQUESTS=60 N_PREDICT=64 LIMITS="--cpus 1 -m 128m" sudo examples/compare.sh
source "$(dirname "$0")/common.sh"
out=$(mkdir -p "${1:-compare-results}" && cd "${1:-compare-results}" && pwd)
requests=${REQUESTS:-200}
n_predict=${N_PREDICT:-64}
limits=${LIMITS:---cpus 0.5 -m 256m}
need_gnuplot
rm -f "$out"/*.csv "$out"/*.png "$out/summary.jsonl" "$out/summary.md"
LATENCY_ARGS=(-n "$requests" --n-predict "$n_predict")

say "1/3 bare process"
port=$(free_port 18380)
start_bare "$out" bare "$port"
measure "$out" bare "$port" --pid "$BARE_PID" --nft-counters "$BARE_NFT_TABLE"
stop_bare

say "2/3 in minictr, no limits"
port=$(free_port 18390)
id=$(show run -d -p "$port:8080" "$INFERENCE_TAR")
started "$id"
measure "$out" minictr "$port" --container "$id"
mctr rm -f "$id" >/dev/null

say "3/3 in minictr with $limits"
port=$(free_port 18400)
# shellcheck disable=SC2086  # $limits is a list of flags
id=$(show run -d -p "$port:8080" $limits "$INFERENCE_TAR")
started "$id"
measure "$out" limited "$port" --container "$id"
mctr rm -f "$id" >/dev/null

say "Plots and summary"
python3 "$EXAMPLES/report.py" "$out" --stage bare="bare process" --stage minictr=minictr \
  --stage limited="minictr $limits" --note "$requests requests, n_predict=$n_predict, temperature 0, seed 42"
ls "$out"
