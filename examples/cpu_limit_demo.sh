#!/usr/bin/env bash
# CPU limit: `--cpus X` sets a CFS quota (X * 100 ms of CPU time per 100 ms period).
# The same greedy requests (temperature 0, fixed n_predict) get slower when the
# server's threads exhaust the quota and are throttled until the next period.
#   sudo examples/cpu_limit_demo.sh            # --cpus 0.5 vs --cpus 2
#   REQUESTS=40 N_PREDICT=64 sudo examples/cpu_limit_demo.sh
source "$(dirname "$0")/common.sh"
requests=${REQUESTS:-20}
n_predict=${N_PREDICT:-64}
out=${OUT:-$(mktemp -d /tmp/cpu-limit-demo.XXXXXX)}
mkdir -p "$out"

for cpus in ${CPUS_LIST:-0.5 2}; do
  say "The inference server under --cpus $cpus"
  port=$(free_port 18280)
  id=$(show run -d -p "$port:8080" --cpus "$cpus" "$INFERENCE_TAR")
  started "$id"
  wait_health "$port" 60
  python3 "$EXAMPLES/latency_test.py" --port "$port" -n "$requests" --n-predict "$n_predict" \
    --label "cpus=$cpus" --csv "$out/latency-cpus-$cpus.csv" --summary "$out/summary.jsonl"
  show stats --no-stream "$id"
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
