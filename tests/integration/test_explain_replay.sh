#!/usr/bin/env bash
# --explain-script: the trace of a run, as one bash script, makes the same
# container again on this host (cgroup v1 here; tests/vm/explain_replay.sh
# does the same on pure cgroup v2), and leaves the host as it was.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null
[[ -x /bin/busybox ]] && file -L /bin/busybox | grep -q "statically linked" ||
  fail "the replay needs the static /bin/busybox of busybox-static"

# What the container sees of itself: enough to tell it is the same one (not
# its Seccomp mode: the filter is the one step the script cannot replay).
probe='echo "host=$(hostname) pid=$$"; grep -E "^(CapBnd|CapEff|NoNewPrivs):" /proc/self/status;
cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;
grep -c . /proc/self/mountinfo; ls /; cat /etc/hostname; echo "env=$(env | sort | tr "\n" " ")"'

# The host, as far as this test can change it: others may start and stop
# containers meanwhile, so only what the script named $1 (mctr-<id12>) made.
host_state() {
  local id12=${1#mctr-}
  echo "hostname $(hostname)"
  echo "root $(stat -c %d:%i /)"
  echo "mounts $(grep -c "$TEST_TMP" /proc/self/mountinfo)"
  echo "netns $(ip netns list | grep -c "$1" || true)"
  echo "links $(ip -o link show | grep -c "mctr${id12:0:8}" || true)"
  echo "cgroups $(find /sys/fs/cgroup/ -maxdepth 4 -name "$id12*" | wc -l)"
}
netns_of() { sed -n 's/^export MCTR_NETNS=//p' "$1"; }

# Replays $1 (a script) after checking it names no PID of the traced run;
# removes its named network namespace if the script failed half-way.
replay() {
  local script=$1 netns
  netns=$(netns_of "$script")
  [[ -n $netns ]] || fail "$script names no network namespace"
  # shellcheck disable=SC2064
  trap "ip netns del $netns 2>/dev/null || true" RETURN
  bash "$script"
}

echo "-- --network none, a memory limit"
orig=$(mctr --explain-script "$TEST_TMP/none.sh" run --rm --network none -m 64m --name replay1 busybox sh -c "$probe")
[[ -x $TEST_TMP/none.sh ]] || fail "no script written"
before=$(host_state "$(netns_of "$TEST_TMP/none.sh")")
bash -n "$TEST_TMP/none.sh" || fail "the script is not valid bash"
again=$(replay "$TEST_TMP/none.sh") || fail "replay failed (exit $?): $again"
assert_eq "$again" "$orig" "the replayed container sees itself as the traced one did"
assert_contains "$orig" "host=" "probe ran"
assert_contains "$orig" "pid=1" "PID 1"
assert_contains "$orig" "67108864" "memory limit"
assert_eq "$(host_state "$(netns_of "$TEST_TMP/none.sh")")" "$before" "the host after the replay"
grep -q "# Not replayed (no Debian tool makes them from a shell): seccomp(2)" "$TEST_TMP/none.sh" ||
  fail "the script does not say that the seccomp filter is not replayed"

echo "-- the default bridge: address, route, /etc files"
probe_net='ip -4 -o addr show eth0 | sed "s/.*inet \([^ ]*\).*/\1/"; ip route | grep default;
ping -c 1 -W 2 "$(ip route | sed -n "s/default via \([^ ]*\).*/\1/p")" >/dev/null && echo gateway-answers;
cat /etc/hosts /etc/resolv.conf | grep -v "^#"'
orig=$(mctr --explain-script "$TEST_TMP/bridge.sh" run --rm busybox sh -c "$probe_net")
assert_contains "$orig" "gateway-answers" "traced run reaches its gateway"
# As on a fresh host: the script makes the bridge and its table again.
mctr network prune -f >/dev/null
before=$(host_state "$(netns_of "$TEST_TMP/bridge.sh")")
again=$(replay "$TEST_TMP/bridge.sh") || fail "bridge replay failed (exit $?): $again"
assert_eq "$again" "$orig" "the replayed bridge container"
mctr network prune -f >/dev/null
assert_eq "$(host_state "$(netns_of "$TEST_TMP/bridge.sh")")" "$before" "the host after the bridge replay"
grep -q "ip link add $MINICTR_BRIDGE type bridge" "$TEST_TMP/bridge.sh" || fail "the script does not make the bridge"
if grep -E -n "(/proc/[0-9]+/|netns [0-9]+)" "$TEST_TMP/bridge.sh"; then
  fail "the script names a PID of the traced run"
fi

echo "-- only a foreground run without a restart policy, and nothing left behind"
before=$(mctr ps -aq | wc -l)
out=$(mctr --explain-script "$TEST_TMP/d.sh" run -d busybox true 2>&1) && fail "--explain-script with -d succeeded"
assert_contains "$out" "foreground" "error for -d"
out=$(mctr --explain-script "$TEST_TMP/r.sh" run --restart always busybox true 2>&1) &&
  fail "--explain-script with --restart succeeded"
assert_contains "$out" "restart" "error for --restart"
assert_eq "$(mctr ps -aq | wc -l)" "$before" "containers after the refused runs"
[[ ! -e $TEST_TMP/d.sh && ! -e $TEST_TMP/r.sh ]] || fail "a script was written for a refused run"

echo "-- only run can be replayed"
out=$(mctr --explain-script "$TEST_TMP/ps.sh" ps 2>&1) && fail "--explain-script with ps succeeded"
assert_contains "$out" "only \`run\`" "error for another verb"
echo PASS
