#!/usr/bin/env bash
# `minictr run` really isolates: PID 1, own process list, own hostname, own
# network namespace, a copy-on-write root that leaves the image untouched.
source "$(dirname "$0")/lib.sh"

mctr load "$BUSYBOX_TAR" >/dev/null

echo "-- the command is PID 1 of a new PID namespace"
out=$(mctr run --rm --network none busybox sh -c 'echo $$')
assert_eq "1" "$out" "PID inside"

echo "-- host processes are invisible"
sleep 300 &
host_sleep=$!
count=$(mctr run --rm --network none busybox sh -c 'ls -d /proc/[0-9]* | wc -l')
kill $host_sleep
# only sh and ls (and maybe wc) live in the container
[[ $count -le 3 ]] || fail "container sees $count processes"
out=$(mctr run --rm --network none busybox ps -o pid,comm)
[[ "$out" != *sleep* ]] || fail "host's sleep visible in the container: $out"

echo "-- hostname is isolated"
out=$(mctr run --rm --network none --hostname box1 busybox hostname)
assert_eq "box1" "$out" "hostname"
assert_eq "$(hostname)" "$(cat /proc/sys/kernel/hostname)" "host hostname unchanged"

echo "-- /etc/hostname and /etc/hosts are written"
out=$(mctr run --rm --network none --hostname box2 busybox cat /etc/hostname)
assert_eq "box2" "$out" "/etc/hostname"
out=$(mctr run --rm --network none busybox grep -c localhost /etc/hosts)
[[ $out -ge 1 ]] || fail "/etc/hosts has no localhost"

echo "-- /dev has the usual nodes, /sys is read-only"
out=$(mctr run --rm --network none busybox sh -c 'ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/pts /dev/shm /dev/mqueue /dev/fd >/dev/null && echo ok')
assert_eq "ok" "$out" "/dev nodes"
rc=$(run_rc mctr run --rm --network none busybox touch /sys/x)
[[ $rc -ne 0 ]] || fail "/sys is writable"

echo "-- network none has only lo, and it is up"
out=$(mctr run --rm --network none busybox sh -c 'ls /sys/class/net')
assert_eq "lo" "$out" "interfaces with --network none"

echo "-- writes go to the container's upper dir, never into the image layers"
mctr run --name writer --network none busybox sh -c 'echo hi > /bin/newfile; rm /bin/ls' >/dev/null
if grep -rl newfile "$MINICTR_ROOT/layers" >/dev/null 2>&1 || find "$MINICTR_ROOT/layers" -name newfile | grep -c . >/dev/null; then
  fail "container write reached the image layers"
fi
find "$MINICTR_ROOT/layers" -path '*/bin/ls' | grep -c . >/dev/null || fail "rm in the container removed ls from the layer"
out=$(mctr run --rm --network none busybox sh -c 'ls /bin/newfile 2>&1; ls /bin/ls')
assert_contains "$out" "/bin/ls" "a fresh container still has ls"
mctr rm writer >/dev/null

echo "-- a --rm container's upper dir is volatile (no sync at exit); a kept one's is not"
out=$(mctr run --rm --network none busybox grep ' / overlay ' /proc/mounts)
assert_contains "$out" "volatile" "--rm overlay options"
out=$(mctr run --name keeper --network none busybox grep ' / overlay ' /proc/mounts)
[[ "$out" != *volatile* ]] || fail "a kept container's overlay is volatile: $out"
mctr start keeper >/dev/null  # a kept container restarts on the same upper dir
mctr rm -f keeper >/dev/null

echo "-- no mount of the container leaks to the host"
if grep -q "$MINICTR_ROOT" /proc/self/mountinfo; then fail "container mounts visible on the host"; fi
echo PASS
