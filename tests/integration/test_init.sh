#!/usr/bin/env bash
# run --init (docker run --init): minictr-init is PID 1, bind-mounted
# read-only at /sbin/docker-init in front of the command. A command with no
# SIGTERM handler, which as PID 1 would never see the signal, then stops at
# once; orphans are reaped; the command's exit code comes back.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

echo "-- PID 1 is the init, the command its child"
out=$(mctr run --rm --init busybox sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo $$')
assert_eq "/sbin/docker-init -- sh -c tr \"\0\" \" \" </proc/1/cmdline; echo; echo \$\$ " "$(head -1 <<<"$out")" "PID 1's command line"
[[ $(tail -1 <<<"$out") != 1 ]] || fail "the command is still PID 1"
assert_eq true "$(mctr inspect -f '{{.HostConfig.Init}}' "$(mctr create --init busybox true)")" "HostConfig.Init"
assert_eq 1 "$(run_rc mctr run --rm --init busybox sh -c 'touch /sbin/docker-init')" "the init is read-only"

echo "-- exit codes pass through"
assert_eq 7 "$(run_rc mctr run --rm --init busybox sh -c 'exit 7')" "exit 7"
assert_eq 127 "$(run_rc mctr run --rm --init busybox /no/such/program)" "a command that is not there"

echo "-- stop: without --init PID 1 never sees SIGTERM, with it the command dies at once"
mctr run -d --name plain busybox sleep 100 >/dev/null
mctr run -d --name inited --init busybox sleep 100 >/dev/null
t=$(date +%s%N)
mctr stop -t 2 plain >/dev/null
plain_ms=$(ms_since "$t")
t=$(date +%s%N)
mctr stop -t 2 inited >/dev/null
init_ms=$(ms_since "$t")
echo "   stop -t 2: ${plain_ms} ms without --init, ${init_ms} ms with"
((plain_ms >= 2000)) || fail "without --init sleep as PID 1 stopped in ${plain_ms} ms: SIGTERM reached it?"
((init_ms < 1000)) || fail "with --init stop took ${init_ms} ms"
assert_eq 143 "$(mctr inspect -f '{{.State.ExitCode}}' inited)" "exit code after SIGTERM (128 + 15)"

echo "-- zombies: an orphan that exits is reaped by the init, not by sleep as PID 1"
zombies() { mctr exec "$1" sh -c 'for f in /proc/[0-9]*/stat; do cut -d" " -f3 "$f"; done' | grep -c Z || true; }
mctr run -d --name z0 busybox sh -c '(sleep 0.2 &); exec sleep 100' >/dev/null
mctr run -d --name z1 --init busybox sh -c '(sleep 0.2 &); exec sleep 100' >/dev/null
sleep 1
assert_eq 1 "$(zombies z0)" "zombies under sleep as PID 1 (the test can see one)"
assert_eq 0 "$(zombies z1)" "zombies under the init"
mctr rm -f z0 z1 plain inited >/dev/null
echo "PASS test_init"
