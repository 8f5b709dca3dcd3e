#!/usr/bin/env bash
# pause / unpause (docker pause): every process of the container stops in its
# cgroup's freezer and goes on after unpause; ps and inspect say "Paused";
# exec into a paused container is refused; kill and stop of a paused
# container work (the signal is delivered once thawed); a paused state ends
# with the container.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
# A counter the test can read from the host: the container's log.
mctr run -d --name p busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done' >/dev/null
sleep 0.5
count() { mctr logs p | tail -1; }

echo "-- pause stops it"
mctr pause p >/dev/null
a=$(count); sleep 0.5; b=$(count)
assert_eq "$a" "$b" "the counter moved while paused"
assert_eq "paused true" "$(mctr inspect -f '{{.State.Status}} {{.State.Paused}}' p)" "inspect"
assert_contains "$(mctr ps | grep ' p$' || mctr ps)" "(Paused)" "ps"
init=$(mctr inspect -f '{{.State.Pid}}' p)
state=$(awk '{print $3}' "/proc/$init/stat")
[[ $state == D || $state == S ]] || fail "init's state while frozen: $state"
assert_eq 1 "$(run_rc mctr exec p true)" "exec into a paused container"
assert_contains "$(mctr exec p true 2>&1 || true)" "is paused" "exec's message"
assert_eq 1 "$(run_rc mctr pause p)" "pause twice"

echo "-- unpause lets it go on"
mctr unpause p >/dev/null
sleep 0.5
c=$(count)
((c > b)) || fail "the counter did not move after unpause ($b -> $c)"
assert_eq "running false" "$(mctr inspect -f '{{.State.Status}} {{.State.Paused}}' p)" "inspect after unpause"
assert_eq 1 "$(run_rc mctr unpause p)" "unpause of a running container"
assert_eq "pause unpause" "$(mctr events --since 0 --until "$(date +%s.%N)" --filter container=p \
  --filter event=pause --filter event=unpause --format '{{.Action}}' | xargs)" "pause and unpause events"

echo "-- stop of a paused container"
mctr pause p >/dev/null
start=$(date +%s)
mctr stop -t 2 p >/dev/null
assert_eq "exited false" "$(mctr inspect -f '{{.State.Status}} {{.State.Paused}}' p)" "stopped, no longer paused"
(($(date +%s) - start < 10)) || fail "stop of a paused container hung"
assert_eq 1 "$(run_rc mctr pause p)" "pause of a stopped container"
mctr rm p >/dev/null
echo "PASS test_pause"
