#!/usr/bin/env bash
# PIDs limit: `--pids-limit N` caps the number of processes (and threads) in the
# container's cgroup. fork() beyond it fails with EAGAIN, so a fork bomb cannot
# take the host down.
#   sudo examples/pids_demo.sh
source "$(dirname "$0")/common.sh"
limit=${PIDS_LIMIT:-10}

say "A small fork bomb under --pids-limit $limit: a shell that keeps starting children"
# The inner shell starts `sleep` after `sleep`; once the cgroup holds $limit tasks,
# fork() fails with EAGAIN and busybox sh gives up. The outer shell (PID 1) stays,
# so the container keeps running and we can look at it.
id=$(show run -d --pids-limit "$limit" "$BUSYBOX_TAR" sh -c '
  sh -c "i=1; while [ \$i -le 50 ]; do sleep 300 & echo started child \$i; i=\$((i + 1)); done"
  echo "the inner shell stopped"
  sleep 300')
started "$id"
sleep 3
show stats --no-stream "$id"
show logs "$id" | tail -5
pids=$(mctr stats --no-stream --format json "$id" | python3 -c '
import json, sys
t = sys.stdin.read().strip()
d = json.loads(t) if t.startswith("[") else json.loads(t.splitlines()[0])
print((d[0] if isinstance(d, list) else d)["PidsCurrent"])')
echo "processes in the container: $pids (limit $limit)"
((pids <= limit)) || { echo "more processes than the limit!" >&2; exit 1; }

say "The inference server under --pids-limit 4: it wants $((2 + 4 + 2)) threads or so"
id=$(show run -d --pids-limit 4 "$INFERENCE_TAR")
started "$id"
sleep 3
show logs --tail 5 "$id" || true
show inspect "$id" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["State"]; print(json.dumps({k: s[k] for k in ("Status","ExitCode")}))'
