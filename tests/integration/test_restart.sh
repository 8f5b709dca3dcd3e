#!/usr/bin/env bash
# --restart (docker run --restart): the supervisor starts the container again
# when its process exits, per policy, with Docker's back-off (100 ms,
# doubling); RestartCount counts; ps shows "Restarting (N) ..." between runs;
# stop and kill end the loop; update --restart changes the policy; each run
# gets a new cgroup and veth and nothing of the old ones is left.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
state() { mctr inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' "$1"; }
# wait_status NAME STATUS SECONDS
wait_status() {
  for ((i = 0; i < $3 * 20; i++)); do
    [[ $(mctr inspect -f '{{.State.Status}}' "$1") == "$2" ]] && return 0
    sleep 0.05
  done
  fail "$1 did not become $2 in $3 s: $(state "$1")"
}

echo "-- flags"
assert_eq 125 "$(run_rc mctr run -d --restart sometimes busybox true)" "unknown policy"
assert_eq 125 "$(run_rc mctr run -d --restart always:2 busybox true)" "a count without on-failure"
assert_eq 125 "$(run_rc mctr run -d --rm --restart always busybox true)" "--rm with --restart"
assert_contains "$(mctr run -d --rm --restart always busybox true 2>&1 || true)" "--restart and --rm" "message"

echo "-- on-failure:2 restarts a failing command twice"
mctr run -d --name f --restart on-failure:2 -p 18080:80 busybox sh -c 'echo ran; exit 3' >/dev/null
sleep 1.5  # 100 + 200 ms of back-off and three short runs
wait_status f exited 5
assert_eq "exited 2 3" "$(state f)" "status, RestartCount, ExitCode"
assert_eq 3 "$(mctr logs f | grep -c ran)" "runs in the log"
assert_eq "on-failure 2" "$(mctr inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' f)" "inspect"
id=$(mctr inspect -f '{{.Id}}' f)
echo "-- nothing of the three runs is left"
[[ ! -e /sys/fs/cgroup/minictr/$id && ! -e /sys/fs/cgroup/memory/minictr/$id ]] || fail "cgroup left"
assert_eq 0 "$(ip -o link show master "$MINICTR_BRIDGE" 2>/dev/null | wc -l)" "veths left on the bridge"
assert_eq 0 "$(grep -c "$id" /proc/self/mountinfo || true)" "mounts left"
assert_eq 0 "$(nft list table ip "$MINICTR_NFT_TABLE" 2>/dev/null | grep -c 18080 || true)" "nft rules of the published port left"

echo "-- on-failure does not restart a success"
mctr run -d --name ok --restart on-failure busybox true >/dev/null
wait_status ok exited 5
sleep 0.3
assert_eq "exited 0 0" "$(state ok)" "success"

echo "-- always: restarts, back-off, ps shows Restarting, one veth at a time"
mctr run -d --name a --restart always busybox sh -c 'echo ran; sleep 0.1; exit 1' >/dev/null
seen_restarting=""
for ((i = 0; i < 60; i++)); do
  ps_line=$(mctr ps | grep ' a$' || true)
  [[ $ps_line == *"Restarting (1)"* ]] && seen_restarting=yes
  veths=$(ip -o link show master "$MINICTR_BRIDGE" 2>/dev/null | wc -l)
  ((veths <= 1)) || fail "$veths veths on the bridge for one container"
  sleep 0.05
done
[[ -n $seen_restarting ]] || fail "ps never showed Restarting (1)"
count=$(mctr inspect -f '{{.RestartCount}}' a)
# 3 s with runs of ~0.15 s and delays 0.1, 0.2, 0.4, 0.8, 1.6 s: 4 to 6 restarts.
((count >= 3 && count <= 8)) || fail "RestartCount after 3 s: $count (back-off not Docker's?)"
# RestartCount counts a restart when it is decided, before its delay.
runs=$(mctr logs a | grep -c ran)
((runs == count || runs == count + 1)) || fail "$runs runs for RestartCount $count"

echo "-- stop ends the loop (while running or between runs)"
t0=$(date +%s%N)
mctr stop a >/dev/null
(( ($(date +%s%N) - t0) / 1000000 < 5000 )) || fail "stop took too long"
assert_eq exited "$(mctr inspect -f '{{.State.Status}}' a)" "after stop"
n=$(mctr inspect -f '{{.RestartCount}}' a)
sleep 2
assert_eq "exited $n" "$(mctr inspect -f '{{.State.Status}} {{.RestartCount}}' a)" "restarted after stop"
id=$(mctr inspect -f '{{.Id}}' a)
[[ ! -e /sys/fs/cgroup/minictr/$id && ! -e /sys/fs/cgroup/memory/minictr/$id ]] || fail "cgroup left after stop"

echo "-- a start after stop restarts again, RestartCount from 0"
mctr start a >/dev/null
sleep 0.8
n=$(mctr inspect -f '{{.RestartCount}}' a)
((n >= 1)) || fail "no restart after start"
mctr stop a >/dev/null

echo "-- kill ends the loop too"
mctr run -d --name k --restart unless-stopped busybox sleep 100 >/dev/null
mctr kill k >/dev/null
sleep 1
assert_eq "exited 0 137" "$(state k)" "after kill"

echo "-- update --restart changes the policy of a running container"
mctr run -d --name u busybox sh -c 'echo ran; sleep 0.5; exit 1' >/dev/null
mctr update --restart on-failure:1 u >/dev/null
assert_eq "on-failure" "$(mctr inspect -f '{{.HostConfig.RestartPolicy.Name}}' u)" "updated policy"
sleep 2
wait_status u exited 5
assert_eq "exited 1 1" "$(state u)" "restarted once after update"
assert_eq 125 "$(run_rc mctr update --restart bogus u)" "update with a bad policy"

echo "-- rm -f of a restarting container"
mctr run -d --name r --restart always busybox false >/dev/null
sleep 1
mctr rm -f r >/dev/null
assert_eq 1 "$(run_rc mctr inspect r)" "removed"
echo "PASS test_restart"
