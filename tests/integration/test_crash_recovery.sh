#!/usr/bin/env bash
# After kill -9 of a container's supervisor and init (issue 18, "Crashes"),
# the first `start` works: it reclaims what the dead supervisor left (its
# cgroup, veth and address lease) instead of failing on
# "mkdir(.../minictr/ID): File exists". Then rm leaves nothing behind.
# The recorded exit is the kernel's: 137 (SIGKILL), also when only the
# supervisor is killed (the container dies with it: PR_SET_PDEATHSIG).
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

# kill_supervisor_and_init NAME: SIGKILL both, as a crash or the OOM killer would.
kill_supervisor_and_init() {
  local init supervisor
  init=$(mctr inspect -f '{{.State.Pid}}' "$1")
  supervisor=$(awk '{print $4}' "/proc/$init/stat")
  kill -9 "$supervisor" "$init"
  while kill -0 "$supervisor" 2>/dev/null || kill -0 "$init" 2>/dev/null; do sleep 0.05; done
}

for net in none bridge; do
  mctr run -d --name crash --network "$net" busybox sleep 1000 >/dev/null
  id=$(mctr inspect -f '{{.Id}}' crash)
  kill_supervisor_and_init crash
  assert_eq "exited 137" "$(mctr inspect -f '{{.State.Status}} {{.State.ExitCode}}' crash)" \
    "--network $net: the exit recorded after kill -9 of supervisor and init"
  assert_eq 0 "$(run_rc mctr start crash)" "--network $net: the first start after a crash"
  assert_eq "alive" "$(mctr exec crash echo alive)" "--network $net: running again"
  mctr rm -f crash >/dev/null
  ! find /sys/fs/cgroup -name "$id" 2>/dev/null | grep . || fail "--network $net: a cgroup of $id is left"
  ! ip -o link | grep "mctr${id:0:8}" || fail "--network $net: a veth of $id is left"
  echo "ok  --network $net: start after kill -9 of supervisor and init, rm leaves no cgroup or veth"
done

echo "-- kill -9 of the supervisor alone: the container dies with it, exit 137"
mctr run -d --name orphan busybox sleep 1000 >/dev/null
id=$(mctr inspect -f '{{.Id}}' orphan)
init=$(mctr inspect -f '{{.State.Pid}}' orphan)
supervisor=$(awk '{print $4}' "/proc/$init/stat")
kill -9 "$supervisor"
for _ in $(seq 100); do kill -0 "$init" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$init" 2>/dev/null || fail "the container's init outlived its supervisor"
assert_eq "exited 137" "$(mctr inspect -f '{{.State.Status}} {{.State.ExitCode}}' orphan)" "exit after the supervisor's kill"
assert_contains "$(mctr ps -a | grep orphan)" "Exited (137)" "ps -a"
mctr rm orphan >/dev/null
! find /sys/fs/cgroup -name "$id" 2>/dev/null | grep . || fail "a cgroup of the orphan $id is left after rm"

echo "PASS test_crash_recovery"
