#!/usr/bin/env bash
# Memory limit: a process that wants more memory than `-m` allows is killed by
# the kernel's OOM killer inside the container's cgroup (not the host's!), and
# minictr reports it like Docker: State.OOMKilled true, ExitCode 137 (128 + SIGKILL).
#   sudo examples/oom_demo.sh
# 1. a memory hog in busybox: `tail /dev/zero` keeps one endless "line" in memory
# 2. the inference server itself under a memory limit too small for its model
source "$(dirname "$0")/common.sh"

say "1. A memory hog under -m 32m (no swap: --memory-swap 32m)"
id=$(show run -d -m 32m --memory-swap 32m "$BUSYBOX_TAR" tail /dev/zero)
started "$id"
wait_exit "$id" 60 || { echo "the hog is still running after 60 s" >&2; exit 1; }
show inspect "$id" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["State"]; print(json.dumps({k: s[k] for k in ("Status","OOMKilled","ExitCode")}))'
oom=$(inspect_field "$id" '["State"]["OOMKilled"]')
code=$(inspect_field "$id" '["State"]["ExitCode"]')
echo "OOMKilled=$oom ExitCode=$code"
[[ $oom == True && $code == 137 ]] || { echo "expected OOMKilled true and exit 137" >&2; exit 1; }

say "2. The inference server under -m ${SERVER_MEM:-8m} (its model file alone is 7.9 MB)"
port=$(free_port 18480)
id=$(show run -d -p "$port:8080" -m "${SERVER_MEM:-8m}" --memory-swap "${SERVER_MEM:-8m}" "$INFERENCE_TAR")
started "$id"
if wait_health "$port" 30 2>/dev/null &&
  curl -sf -d '{"prompt":"Once upon a time","n_predict":16,"temperature":0}' "http://127.0.0.1:$port/completion" >/dev/null; then
  echo "The server still answers: its model is mmap()ed read-only, and clean file pages count"
  echo "against the limit but can be dropped and re-read, so a tight limit makes it slow, not dead."
  echo "Only anonymous memory (heap, KV cache) that does not fit gets a process OOM-killed."
  show stats --no-stream "$id"
else
  show inspect "$id" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["State"]; print(json.dumps({k: s[k] for k in ("Status","OOMKilled","ExitCode")}))'
  show logs --tail 5 "$id" || true
fi
