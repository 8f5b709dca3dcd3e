#!/usr/bin/env bash
# Detached containers and the lifecycle verbs: ps, logs, stop, start, kill,
# exec, cp, inspect, rm, volumes; and cleanup after the supervisor is SIGKILLed.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

echo "-- run -d, ps, logs"
id=$(mctr run -d --name web --network none busybox sh -c 'echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done')
[[ ${#id} -eq 64 ]] || fail "run -d prints the full id, got '$id'"
mctr ps | grep -c web >/dev/null || fail "ps does not list web"
sleep 1
out=$(mctr logs web)
assert_contains "$out" "started" "logs"
out=$(mctr logs --tail 1 web | wc -l)
assert_eq 1 "$out" "logs --tail 1"
grep -q '"stream":"stdout"' "$MINICTR_ROOT/containers/$id/$id-json.log" || fail "json-file log format"

echo "-- inspect"
pid=$(mctr inspect web | grep '"Pid"' | head -1 | tr -dc 0-9)
[[ $pid -gt 1 ]] || fail "inspect Pid"
mctr inspect web | grep -c '"Status": "running"' >/dev/null || fail "inspect Status running"

echo "-- exec joins every namespace and the cgroup"
out=$(mctr exec web hostname)
assert_eq "${id:0:12}" "$out" "exec hostname"
out=$(mctr exec web sh -c 'cat /proc/1/cmdline | tr "\0" " "')
assert_contains "$out" "while true" "exec sees the container's PID 1"
for ns in pid mnt net uts ipc; do
  a=$(readlink /proc/$pid/ns/$ns)
  b=$(mctr exec web readlink /proc/self/ns/$ns)
  assert_eq "$a" "$b" "exec in $ns namespace"
done
out=$(mctr exec -e X=y -w /tmp web sh -c 'echo $X $(pwd)')
assert_eq "y /tmp" "$out" "exec -e -w"
assert_eq 7 "$(run_rc mctr exec web sh -c 'exit 7')" "exec exit code"

echo "-- cp both ways"
echo "from host" > "$TEST_TMP/in.txt"
mctr cp "$TEST_TMP/in.txt" web:/tmp/in.txt
out=$(mctr exec web cat /tmp/in.txt)
assert_eq "from host" "$out" "cp into container"
mctr exec web sh -c 'echo a,b > /tmp/metrics.csv'
mctr cp web:/tmp/metrics.csv "$TEST_TMP/out.csv"
assert_eq "a,b" "$(cat "$TEST_TMP/out.csv")" "cp out of container"

echo "-- stop (SIGTERM to a PID 1 without handler -> SIGKILL after -t), start, kill"
mctr stop -t 1 web >/dev/null
mctr ps -a | grep web | grep -c Exited >/dev/null || fail "stopped container shows Exited"
mctr inspect web | grep -c '"ExitCode": 137' >/dev/null || fail "stop -t 1 ends with SIGKILL (137)"
mctr cp web:/tmp/metrics.csv "$TEST_TMP/out2.csv"
assert_eq "a,b" "$(cat "$TEST_TMP/out2.csv")" "cp from a stopped container"
mctr start web >/dev/null
mctr ps | grep -c web >/dev/null || fail "start restarts it"
out=$(mctr exec web cat /tmp/metrics.csv)
assert_eq "a,b" "$out" "files survive stop/start"
mctr kill -s TERM web >/dev/null  # sh as PID 1 ignores SIGTERM: still running
sleep 0.3
mctr ps | grep -c web >/dev/null || fail "PID 1 without a TERM handler ignores SIGTERM"
mctr kill web >/dev/null
for _ in $(seq 50); do mctr ps | grep -c web >/dev/null || break; sleep 0.1; done
mctr ps | grep -c web >/dev/null && fail "kill (SIGKILL) stops it"
mctr inspect web | grep -c '"ExitCode": 137' >/dev/null || fail "killed: 137"

echo "-- stop then start at once: the old run's teardown never touches the new run"
for _ in 1 2 3 4 5; do
  mctr start web >/dev/null
  mctr stop -t 0 web >/dev/null
done
mctr start web >/dev/null
sleep 0.3
assert_eq "a,b" "$(mctr exec web cat /tmp/metrics.csv)" "running after stop/start in a row"
mctr rm -f web >/dev/null

echo "-- rm refuses a running container, rm -f kills it"
mctr run -d --name sleeper --network none busybox sleep 1000 >/dev/null
assert_eq 1 "$(run_rc mctr rm sleeper)" "rm of a running container"
mctr rm -f sleeper >/dev/null
mctr ps -a | grep -c sleeper >/dev/null && fail "rm -f removed it"
# A running --rm container: its supervisor removes it; rm -f just succeeds.
before=$(ls "$MINICTR_ROOT/containers")
mctr run -d --rm --name rmsleeper --network none busybox sleep 1000 >/dev/null
assert_eq "rmsleeper" "$(mctr rm -f rmsleeper)" "rm -f of a running --rm container"
assert_eq "$before" "$(ls "$MINICTR_ROOT/containers")" "nothing left of the --rm container"

echo "-- volumes persist after rm"
mctr run --rm --network none -v vol1:/data busybox sh -c 'echo kept > /data/f'
out=$(mctr run --rm --network none -v vol1:/data busybox cat /data/f)
assert_eq "kept" "$out" "named volume"
mctr volume ls | grep -c vol1 >/dev/null || fail "volume ls"
mkdir -p "$TEST_TMP/bind"
mctr run --rm --network none -v "$TEST_TMP/bind:/b" busybox sh -c 'echo x > /b/y'
assert_eq "x" "$(cat "$TEST_TMP/bind/y")" "bind mount"
assert_eq 1 "$(run_rc mctr run --rm --network none -v "$TEST_TMP/bind:/b:ro" busybox touch /b/z)" "ro bind"
mctr volume rm vol1 >/dev/null

echo "-- SIGKILL of the supervisor: the container dies with it, ps tells the truth, rm -f cleans everything"
id=$(mctr run -d --name orphan --network none -m 64m busybox sleep 1000)
sup=$(python3 -c "import json,sys; print(json.load(open('$MINICTR_ROOT/containers/$id/state.json'))['SupervisorPid'])")
cpid=$(python3 -c "import json,sys; print(json.load(open('$MINICTR_ROOT/containers/$id/state.json'))['Pid'])")
kill -9 "$sup"
for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
mctr ps | grep -c orphan >/dev/null && fail "ps lists a container whose init died with its supervisor"
assert_contains "$(mctr ps -a | grep orphan)" "Exited (137)" "ps -a after the supervisor's SIGKILL"
mctr rm -f orphan >/dev/null
# (it may linger as a zombie until the host's init reaps it: that is dead)
if [[ -e /proc/$cpid/stat ]] && [[ $(cut -d' ' -f3 /proc/$cpid/stat) != Z ]]; then
  fail "container process survived rm -f"
fi
find /sys/fs/cgroup -maxdepth 3 -type d -name "$id" | grep -c . >/dev/null && fail "cgroup left behind"
[[ -d "$MINICTR_ROOT/containers/$id" ]] && fail "state dir left behind"

echo "-- a --rm supervisor killed between unlisting and removing: system prune sweeps the rest"
id=$(mctr run -d --rm --name half -m 64m busybox sleep 1000)
veth=mctr${id:0:8}
sup=$(python3 -c "import json,sys; print(json.load(open('$MINICTR_ROOT/containers/$id/state.json'))['SupervisorPid'])")
cpid=$(python3 -c "import json,sys; print(json.load(open('$MINICTR_ROOT/containers/$id/state.json'))['Pid'])")
kill -9 "$sup"
rm "$MINICTR_ROOT/containers/$id/config.json"  # what its unlisting had done
mctr ps -a | grep -c half >/dev/null && fail "an unlisted container is listed"
mctr system prune >/dev/null
if [[ -e /proc/$cpid/stat ]] && [[ $(cut -d' ' -f3 /proc/$cpid/stat) != Z ]]; then
  fail "unlisted container's process survived prune"
fi
find /sys/fs/cgroup -maxdepth 3 -type d -name "$id" | grep -c . >/dev/null && fail "unlisted container's cgroup left behind"
[[ -d "$MINICTR_ROOT/containers/$id" ]] && fail "unlisted container's dir left behind"
ip -o link | grep -c "$veth" >/dev/null && fail "unlisted container's veth left behind"
echo PASS
