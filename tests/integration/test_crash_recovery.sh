#!/usr/bin/env bash
# After kill -9 of a container's supervisor and init (issue 18, "Crashes"),
# the first `start` works: it reclaims what the dead supervisor left (its
# cgroup, veth and address lease) instead of failing on
# "mkdir(.../minictr/ID): File exists". Then rm leaves nothing behind.
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
  assert_eq 0 "$(run_rc mctr start crash)" "--network $net: the first start after a crash"
  assert_eq "alive" "$(mctr exec crash echo alive)" "--network $net: running again"
  mctr rm -f crash >/dev/null
  ! find /sys/fs/cgroup -name "$id" 2>/dev/null | grep . || fail "--network $net: a cgroup of $id is left"
  ! ip -o link | grep "mctr${id:0:8}" || fail "--network $net: a veth of $id is left"
  echo "ok  --network $net: start after kill -9 of supervisor and init, rm leaves no cgroup or veth"
done

echo "PASS test_crash_recovery"
