#!/bin/sh
# Runs INSIDE the test VM (pure cgroup v2, busybox sh): minictr containers
# against the v2 cgroup manager — PID 1, OOM kill, cpu.max, pids.max, the
# BPF device filter, a default bridge container with a published port, and
# cleanup of every group, veth, bridge and nft table.
set -eu
M=/usr/local/bin/minictr
fail() { echo "FAIL: $*"; exit 1; }
export MINICTR_ROOT=/var/lib/minictr

# Should a step hang (scripts/vm kills the VM at 280 s), say where first:
# every process with its state, where it sleeps in the kernel and its
# threads' kernel stacks.
show_processes() {
  for p in /proc/[0-9]*; do
    c=$(tr '\0' ' ' < $p/cmdline 2>/dev/null) && [ -n "$c" ] || continue
    echo "${p#/proc/} $(grep -E '^(State|SigBlk|SigPnd|ShdPnd)' $p/status | tr '\n' ' ')$(cat $p/wchan 2>/dev/null) :: $c"
    for t in $p/task/*; do
      echo "   thread ${t##*/} $(cat $t/wchan 2>/dev/null)"
      sed 's/^/      /' $t/stack 2>/dev/null
    done
  done
}
(sleep 220; echo "HANG: still running after 220 s"; show_processes) &
watchdog=$!
mkdir -p $MINICTR_ROOT
mount -t tmpfs tmpfs $MINICTR_ROOT   # overlayfs needs xattrs for its upper dir
[ -f /sys/fs/cgroup/cgroup.controllers ] || fail "not a cgroup v2 host"

# The same provisioning as the Vagrant box and a fresh Debian host: no apt in
# this VM (packages are skipped), then the module and kernel checks.
setup_out=$(/usr/local/bin/bash /src/scripts/setup 2>&1) || fail "scripts/setup: $setup_out"
echo "$setup_out"
echo "$setup_out" | grep -q "setup: cgroup v2 (unified), controllers: .*memory" || fail "setup did not see cgroup v2"
echo "$setup_out" | grep -q "setup: host ready" || fail "setup: host not ready"
echo "ok scripts/setup provisions the VM"

$M load /images/busybox.tar
out=$($M run --rm --network none busybox sh -c 'echo $$')
[ "$out" = 1 ] || fail "PID inside: $out"
echo "ok PID 1"

set +e
$M run --name hog --network none -m 32m busybox dd if=/dev/zero of=/dev/null bs=128M count=1
rc=$?
set -e
[ $rc = 137 ] || fail "OOM exit code $rc"
$M inspect hog | grep -q '"OOMKilled": true' || fail "OOMKilled"
$M rm hog >/dev/null
echo "ok OOM kill -> 137, OOMKilled"

id=$($M run -d --name spin --network none --cpus 0.5 --pids-limit 32 busybox sh -c 'while :; do :; done')
cg=/sys/fs/cgroup/minictr/$id
[ "$(cat $cg/cpu.max)" = "50000 100000" ] || fail "cpu.max: $(cat $cg/cpu.max)"
[ "$(cat $cg/pids.max)" = 32 ] || fail "pids.max: $(cat $cg/pids.max)"
# Born in its group by clone3(CLONE_INTO_CGROUP): PID 1 of the container is there.
pid=$($M inspect -f '{{.State.Pid}}' spin)
grep -qx "0::/minictr/$id" /proc/$pid/cgroup || fail "init not in its cgroup: $(cat /proc/$pid/cgroup)"
grep -qx "$pid" $cg/cgroup.procs || fail "init not in $cg/cgroup.procs"
$M run --rm --explain --network none busybox true 2>&1 | grep -q "CLONE_INTO_CGROUP" ||
  fail "--explain does not show clone3(CLONE_INTO_CGROUP)"
a=$(grep usage_usec $cg/cpu.stat | cut -d' ' -f2)
sleep 3
b=$(grep usage_usec $cg/cpu.stat | cut -d' ' -f2)
pct=$(( (b - a) / 30000 ))
echo "   busy loop under --cpus 0.5: ${pct}% of one CPU"
[ $pct -le 55 ] || fail "--cpus 0.5 allowed ${pct}%"
[ $pct -ge 15 ] || fail "busy loop got only ${pct}%"
$M update --cpus 1 spin >/dev/null
[ "$(cat $cg/cpu.max)" = "100000 100000" ] || fail "update: $(cat $cg/cpu.max)"
$M stats --no-stream spin | grep -q spin || fail "stats"
$M rm -f spin >/dev/null
[ ! -d $cg ] || fail "cgroup $cg left after rm -f"
echo "ok cpu.max, pids.max, update, stats, cleanup"

set +e
out=$($M run --rm --network none busybox sh -c 'mknod /tmp/d b 7 0 && head -c 1 /tmp/d' 2>&1)
rc=$?
set -e
[ $rc != 0 ] || fail "opened a block device: $out"
echo "$out" | grep -q "Operation not permitted" || fail "device open: $out"
echo "ok BPF device filter denies a block device"

# The container's own cgroup at /sys/fs/cgroup (cgroup namespace), read-only:
# its -m limit, no minictr/ parent or sibling groups.
out=$($M run --rm --network none -m 64m busybox sh -c 'cat /sys/fs/cgroup/memory.max
ls /sys/fs/cgroup | grep -c "^minictr$"
echo 1 > /sys/fs/cgroup/memory.max && echo WROTE' 2>&1) || true
[ "$(echo "$out" | sed -n 1p)" = 67108864 ] || fail "memory.max inside: $out"
[ "$(echo "$out" | sed -n 2p)" = 0 ] || fail "minictr/ visible inside: $out"
echo "$out" | grep -q "Read-only file system" || fail "memory.max writable inside: $out"
echo "ok /sys/fs/cgroup inside shows the container's own memory.max, read-only"

# The default bridge with a published port: nft (run by minictr) and the
# nf_tables modules scripts/vm loads. busybox httpd in the container, busybox
# wget on the VM's side, to 127.0.0.1:8080 (DNAT in the nat output chain) and
# to the container's own address (routed over the bridge).
nft=/usr/sbin/nft
[ -x $nft ] || fail "no $nft in the VM (scripts/vm --no-net?)"
id=$($M run -d --name web -p 8080:80 busybox sh -c \
  'mkdir /www && echo "hello from $(hostname)" > /www/index.html && exec busybox httpd -f -p 80 -h /www') ||
  fail "run -d -p 8080:80 on the default bridge"
ip=$($M inspect -f '{{.NetworkSettings.IPAddress}}' web)
[ -n "$ip" ] || fail "no IP address for web"
# Debian's busybox-static wget segfaults when the connection is refused and
# whenever -T is given: wait for the port with nc, bound wget with timeout.
i=0
until echo | nc -w 1 127.0.0.1 8080 >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "nothing listens on 127.0.0.1:8080 after 10 s"
  sleep 0.2
done
page=$(timeout 10 wget -q -O - http://127.0.0.1:8080/) || fail "wget 127.0.0.1:8080"
[ "$page" = "hello from ${id%"${id#????????????}"}" ] || fail "127.0.0.1:8080 gave '$page' (want the container's hostname)"
page2=$(timeout 10 wget -q -O - "http://$ip/") || fail "wget http://$ip/"
[ "$page2" = "$page" ] || fail "container address $ip gave '$page2'"
veths=$(ls /sys/class/net/minictr0/brif/)
[ -n "$veths" ] || fail "no veth on minictr0"
$nft list table ip minictr | grep -q "dport 8080 dnat to $ip:80" || fail "no DNAT rule: $($nft list table ip minictr)"
$M rm -f web >/dev/null
for v in $veths; do [ ! -e /sys/class/net/$v ] || fail "veth $v left after rm"; done
! $nft list table ip minictr | grep -q "8080" || fail "DNAT rule left after rm: $($nft list table ip minictr)"
! echo | nc -w 1 127.0.0.1 8080 >/dev/null 2>&1 || fail "port 8080 still answers after rm"
$M network prune -f >/dev/null
[ ! -e /sys/class/net/minictr0 ] || fail "bridge minictr0 left after network prune"
! $nft list tables | grep -q "minictr" || fail "nft table left after network prune: $($nft list tables)"
echo "ok bridge container, -p 8080:80: wget 127.0.0.1:8080 and $ip:80 ($page); rm + network prune leave no veth, rule, bridge or table"

[ -z "$(ls /sys/fs/cgroup/minictr 2>/dev/null | grep -v '^cgroup\.\|^cpu\|^io\.\|^memory\.\|^pids\.\|^cpuset\.\|^hugetlb\.\|^rdma\.\|^misc\.')" ] ||
  fail "groups left: $(ls /sys/fs/cgroup/minictr)"
kill $watchdog 2>/dev/null || true
echo "VM containers on cgroup v2: PASS"
