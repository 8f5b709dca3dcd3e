#!/usr/bin/env bash
# CPU limit: `--cpus X` sets a CFS quota (X * 100 ms of CPU time per 100 ms period).
# The same greedy requests (temperature 0, fixed n_predict) get slower when the
# server's threads exhaust the quota and are throttled until the next period.
#   sudo examples/cpu_limit_demo.sh            # --cpus 0.5 vs --cpus 2
#   REQUESTS=40 N_PREDICT=64 SECONDS_UNDER_LOAD=10 sudo examples/cpu_limit_demo.sh
# Each run lasts at least SECONDS_UNDER_LOAD (default 6) and reads `stats` and the
# cgroup's throttling counters halfway through, while the requests run.
source "$(dirname "$0")/common.sh"
requests=${REQUESTS:-20}
n_predict=${N_PREDICT:-64}
seconds=${SECONDS_UNDER_LOAD:-6}
out=${OUT:-$(mktemp -d /tmp/cpu-limit-demo.XXXXXX)}
mkdir -p "$out"

# The container's CFS counters: periods, how many of them throttled it, and
# for how long (v1: cpu/minictr/ID/cpu.stat, throttled_time in ns; v2:
# minictr/ID/cpu.stat, throttled_usec).
throttling() {
  local dir
  for dir in $(mctr inspect -f '{{.CgroupPath}}' "$1"); do
    [[ -f $dir/cpu.stat ]] && { grep -E '^(nr_periods|nr_throttled|throttled_(time|usec)) ' "$dir/cpu.stat" || true; } | tr '\n' ' '
  done
  echo
}

for cpus in ${CPUS_LIST:-0.5 2}; do
  say "The inference server under --cpus $cpus"
  port=$(free_port 18280)
  id=$(show run -d -p "$port:8080" --cpus "$cpus" "$INFERENCE_TAR")
  started "$id"
  wait_health "$port" 60
  # Under load for at least $seconds s (60 CFS periods of 100 ms by default), and
  # the counters read while the requests run, not after.
  python3 "$EXAMPLES/latency_test.py" --port "$port" -n "$requests" --n-predict "$n_predict" \
    --min-seconds "$seconds" --label "cpus=$cpus" --csv "$out/latency-cpus-$cpus.csv" \
    --summary "$out/summary.jsonl" &
  load=$!
  sleep $((seconds / 2))
  show stats --no-stream "$id"
  echo "cpu.stat under load: $(throttling "$id")"
  wait "$load"
  echo "cpu.stat at the end: $(throttling "$id")"
  mctr rm -f "$id" >/dev/null
done

say "Summary (per-request rows and summary.jsonl in $out)"
python3 - "$out/summary.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'limit':<12}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'tokens/s':>10}")
for r in rows:
    print(f"{r['label']:<12}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['tokens_per_s']:>10.1f}")
if len(rows) >= 2 and rows[-1]["p50_ms"] > 0:
    print(f"p50 ratio {rows[0]['label']} / {rows[-1]['label']}: {rows[0]['p50_ms'] / rows[-1]['p50_ms']:.2f}x")
PY
