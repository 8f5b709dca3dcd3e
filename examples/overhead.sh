#!/usr/bin/env bash
# How much does minictr cost? The bare server process and the same server in
# minictr (no limits) run side by side, idle; then ROUNDS rounds alternate the
# same latency test (temperature 0, fixed n_predict and seed) against one and
# the other, so a busy machine's drift hits both alike. Prints each round's p50
# and the spread of the minictr/bare ratio.
#   sudo examples/overhead.sh                 ROUNDS=10 REQUESTS=100 N_PREDICT=64
source "$(dirname "$0")/common.sh"
rounds=${ROUNDS:-10}
requests=${REQUESTS:-100}
n_predict=${N_PREDICT:-64}
infer=${MINICTR_INFER:-$MINICTR_BUILD/inference/minictr-infer}
out=${OUT:-$(mktemp -d /tmp/minictr-overhead.XXXXXX)}
mkdir -p "$out"
rm -f "$out/summary.jsonl"

bare_pid=''
EXAMPLE_CLEANUP_EXTRA='[[ -n $bare_pid ]] && kill $bare_pid 2>/dev/null; true'
bare_port=$(free_port 18580)
"$infer" --host 127.0.0.1 --port "$bare_port" --metrics-log "$out/metrics-bare.csv" >"$out/bare.log" 2>&1 &
bare_pid=$!
ctr_port=$(free_port $((bare_port + 1)))
id=$(show run -d -p "$ctr_port:8080" "$INFERENCE_TAR")
started "$id"
wait_health "$bare_port" 60
wait_health "$ctr_port" 60

lt() { python3 "$EXAMPLES/latency_test.py" -n "$requests" --n-predict "$n_predict" "$@" >/dev/null; }
for ((r = 1; r <= rounds; r++)); do
  # Alternate which one goes first, so neither always follows the other.
  if ((r % 2)); then order="bare minictr"; else order="minictr bare"; fi
  for which in $order; do
    port=$bare_port
    [[ $which == minictr ]] && port=$ctr_port
    lt --port "$port" --label "$which" --summary "$out/summary.jsonl" --csv "$out/latency-$which-$r.csv"
  done
  echo "round $r/$rounds done"
done

python3 - "$out/summary.jsonl" "$rounds" "$requests" "$n_predict" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bare = [r for r in rows if r["label"] == "bare"]
ctr = [r for r in rows if r["label"] == "minictr"]
print(f"{sys.argv[2]} rounds x {sys.argv[3]} requests, n_predict={sys.argv[4]}, temperature 0")
print(f"{'round':<7}{'bare p50':>10}{'minictr p50':>13}{'ratio':>8}{'bare mean':>11}{'minictr mean':>14}{'ratio':>8}")
r50, rmean = [], []
for i, (b, c) in enumerate(zip(bare, ctr), 1):
    r50.append(c["p50_ms"] / b["p50_ms"]); rmean.append(c["mean_ms"] / b["mean_ms"])
    print(f"{i:<7}{b['p50_ms']:>10.2f}{c['p50_ms']:>13.2f}{r50[-1]:>8.3f}{b['mean_ms']:>11.2f}{c['mean_ms']:>14.2f}{rmean[-1]:>8.3f}")
def s(xs): return f"median {statistics.median(xs):.3f}, min {min(xs):.3f}, max {max(xs):.3f}"
print(f"p50 ratio minictr/bare:  {s(r50)}")
print(f"mean ratio minictr/bare: {s(rmean)}")
bp = [b["p50_ms"] for b in bare]; cp = [c["p50_ms"] for c in ctr]
print(f"bare p50 over rounds:    {min(bp):.2f}..{max(bp):.2f} ms (median {statistics.median(bp):.2f})")
print(f"minictr p50 over rounds: {min(cp):.2f}..{max(cp):.2f} ms (median {statistics.median(cp):.2f})")
sb = [b["server_tokens_per_s_median"] for b in bare]; sc = [c["server_tokens_per_s_median"] for c in ctr]
print(f"server-side decode tokens/s (median of rounds): bare {statistics.median(sb):.0f}, minictr {statistics.median(sc):.0f}, "
      f"ratio {s([c / b for b, c in zip(sb, sc)])}")
print(f"tokens/s median: bare {statistics.median(r['tokens_per_s'] for r in bare):.0f}, "
      f"minictr {statistics.median(r['tokens_per_s'] for r in ctr):.0f}")
PY
echo "rows: $out"
