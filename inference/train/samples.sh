#!/bin/bash
# The before/after samples of README.md: greedy and sampled completions and chat replies of a
# model, from the C++ server (minictr-infer) as a user gets them, one Markdown line each.
# Usage: samples.sh MINICTR_INFER MODEL.gguf
set -euo pipefail
infer=$1 model=$2
dir=$(mktemp -d)
"$infer" -m "$model" --host 127.0.0.1 --port 0 -t 2 --metrics-log "$dir/m.csv" \
  --chat-history "$dir/h.json" >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
port=
for _ in $(seq 100); do
  port=$(ss -ltnpH "( sport > 0 )" 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {sub(/.*:/, "", $4); print $4; exit}')
  [[ -n $port ]] && curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
post() { curl -fsS "http://127.0.0.1:$port$1" -H 'Content-Type: application/json' -d "$2"; }
completion() {  # PROMPT N_PREDICT TEMPERATURE SEED
  post /completion "$(jq -nc --arg p "$1" --argjson n "$2" --argjson t "$3" --argjson s "$4" \
    '{prompt: $p, n_predict: $n, temperature: $t, top_k: 40, top_p: 0.95, seed: $s}')" | jq '.content'
}
chat() {  # SEED MESSAGE...
  local seed=$1
  shift
  post /v1/chat/completions "$(jq -nc --argjson s "$seed" '{messages: [$ARGS.positional[] |
    {role: "user", content: .}], temperature: 0.8, top_k: 40, top_p: 0.95, seed: $s, max_tokens: 96}' \
    --args "$@")" | jq '.choices[0].message.content'
}
for p in "Once upon a time" "A programmer is" "It is a truth universally acknowledged"; do
  echo "- greedy, 64 tokens: $p -> $(completion "$p" 64 0 0)"
done
for s in 1 2 3; do
  echo "- t=0.8 top_k=40 top_p=0.95 seed=$s: Once upon a time, there was a little robot -> $(completion "Once upon a time, there was a little robot" 96 0.8 $s)"
done
for s in 7 8; do
  echo "- chat t=0.8 seed=$s: Tell me a story about a little robot. -> $(chat $s "Tell me a story about a little robot.")"
done
echo "- chat t=0.8 seed=9: Tell me a story about Elizabeth. -> $(chat 9 "Tell me a story about Elizabeth.")"
echo "- chat t=0.8 seed=10: Tell me a joke. -> $(chat 10 "Tell me a joke.")"
