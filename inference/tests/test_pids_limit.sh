#!/usr/bin/env bash
# minictr-infer under a tiny pids limit (as `minictr run --pids-limit 4` gives it): it must
# either serve with fewer threads (and say so) or exit 1 with a one-line error, never
# std::terminate() or hang. The server runs in a v1 pids cgroup this test makes and removes.
# usage: test_pids_limit.sh [path/to/minictr-infer]   (root; env MINICTR_INFER also works)
set -uo pipefail
bin=${1:-${MINICTR_INFER:?path to minictr-infer}}
root=/sys/fs/cgroup/pids
[[ $(id -u) == 0 && -w $root/cgroup.procs ]] || { echo "SKIP: needs root and $root"; exit 0; }
cg=$root/minictr-infer-pids-$$
tmp=$(mktemp -d /tmp/minictr-infer-pids.XXXXXX)
srv=
cleanup() {
  [[ -n $srv ]] && kill -KILL "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  [[ -d $cg ]] && { for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done; sleep 0.2; rmdir "$cg"; }
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log"; cat "$tmp/log"; exit 1; }
mkdir "$cg"

# Starts the server in the cgroup with pids.max=$1 and the remaining flags; sets $srv, $port.
start() {
  echo "$1" >"$cg/pids.max"
  shift
  : >"$tmp/log"
  (echo $BASHPID >"$cg/cgroup.procs" && exec "$bin" --host 127.0.0.1 --port 0 \
    --metrics-log "$tmp/metrics.csv" "$@") 2>"$tmp/log" &
  srv=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/log")
    [[ -n $port ]] && grep -q "ready" "$tmp/log" && return 0
    kill -0 "$srv" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Stops the server with SIGTERM and returns its exit status (killed after 10 s: a hang).
stop() {
  kill -TERM "$srv"
  for _ in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$srv" 2>/dev/null && echo "(hung, killed)" >>"$tmp/log"
  wait "$srv"
  local rc=$?
  srv=
  return $rc
}

for max in 2 3 4 6; do
  for flags in "-t 2" "-t 2 --parallel 2" "-t 4 --parallel 4"; do
    # shellcheck disable=SC2086
    start "$max" $flags || fail "pids.max=$max $flags: did not become ready"
    for i in 1 2 3; do
      curl -s -m 60 "http://127.0.0.1:$port/completion" -d '{"prompt":"Once","n_predict":8}' -o "$tmp/r$i" &
    done
    wait $(jobs -p | grep -v "^$srv\$")
    for i in 1 2 3; do grep -q '"tokens_predicted":' "$tmp/r$i" || fail "pids.max=$max $flags: request $i: $(cat "$tmp/r$i")"; done
    stop || fail "pids.max=$max $flags: exit status $?"
    grep -qi "terminate" "$tmp/log" && fail "pids.max=$max $flags: terminate()"
    if [[ $max -le 4 ]]; then
      grep -q "warning: .*of .* threads" "$tmp/log" || fail "pids.max=$max $flags: no line saying it runs with fewer threads"
    fi
    echo "ok: pids.max=$max $flags ($(grep -c warning "$tmp/log") warnings)"
  done
done

# pids.max=1: not even the listener thread can start: exit 1 with one clear line.
echo 1 >"$cg/pids.max"
(echo $BASHPID >"$cg/cgroup.procs" && exec "$bin" --host 127.0.0.1 --port 0 --metrics-log "$tmp/m.csv") \
  2>"$tmp/log" &
srv=$!
for _ in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
kill -0 "$srv" 2>/dev/null && fail "pids.max=1: still running"
wait "$srv"
rc=$?
srv=
[[ $rc == 1 ]] || fail "pids.max=1: exit status $rc, want 1"
grep -q "error: cannot start the HTTP listener thread" "$tmp/log" || fail "pids.max=1: no clear error line"
echo "ok: pids.max=1 exits 1: $(grep error "$tmp/log")"
echo PASS
