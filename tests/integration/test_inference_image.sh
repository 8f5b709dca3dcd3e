#!/usr/bin/env bash
# The inference image (build/images/inference.tar, built by the `inference-image`
# target) runs under minictr like the README shows: published port, memory and CPU
# limits, a bind-mounted data dir. Checks /health, one greedy /completion, and that
# the server's metrics CSV lands in the mounted directory.
source "$(dirname "$0")/lib.sh"

INFERENCE_TAR=$MINICTR_BUILD/images/inference.tar
[[ -f $INFERENCE_TAR ]] || fail "missing $INFERENCE_TAR (cmake --build builds target inference-image)"

# A host port private to this test (lib.sh's per-test number), checked free.
port=$((18100 + _n))
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port already in use"; fi

data=$TEST_TMP/data
mkdir -p "$data"
id=$(mctr run -d -p "$port:8080" -m 512m --cpus 1 -v "$data:/app/data" "$INFERENCE_TAR")
[[ -n $id ]] || fail "run printed no id"

# /health: 503 while the model loads, 200 when ready.
ok=0
for ((i = 0; i < 120; i++)); do
  if curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null; then
    ok=1
    break
  fi
  running=$(mctr inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Running"])')
  if [[ $running != True ]]; then
    mctr logs "$id" >&2 || true
    fail "container exited before /health answered"
  fi
  sleep 0.5
done
((ok)) || { mctr logs "$id" >&2 || true; fail "/health not 200 within 60 s"; }
assert_contains "$(curl -sf "http://127.0.0.1:$port/health")" '"ok"' "health body"

answer=$(curl -sf --max-time 30 -H 'Content-Type: application/json' \
  -d '{"prompt": "Once upon a time", "n_predict": 8, "temperature": 0}' \
  "http://127.0.0.1:$port/completion") || fail "/completion failed"
content=$(python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert 0 < a["tokens_predicted"] <= 8, a["tokens_predicted"]
print(a["content"])' "$answer") || fail "bad /completion answer: $answer"
[[ -n ${content//[[:space:]]/} ]] || fail "empty completion content: $answer"
echo "completion: Once upon a time$content"

# The server appends one CSV row per request to METRICS_LOG_FILE=/app/data/metrics.csv.
for ((i = 0; i < 20; i++)); do
  [[ -s $data/metrics.csv ]] && break
  sleep 0.1
done
[[ -f $data/metrics.csv ]] || fail "no metrics.csv in the mounted data dir"
assert_contains "$(head -1 "$data/metrics.csv")" "latency_ms" "metrics CSV header"
assert_contains "$(sed -n 2p "$data/metrics.csv")" "Once upon a time" "metrics CSV row"

mctr rm -f "$id" >/dev/null
assert_eq 0 "$(mctr ps -a -q | wc -l)" "no containers left"
echo "PASS test_inference_image"
