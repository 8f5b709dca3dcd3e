#!/bin/sh
# Runs INSIDE the test VM (pure cgroup v2, busybox sh): minictr-runc, the
# runc command line of minictr, on a bundle made here from the busybox image —
# create/start/state/ps/pause/resume/update/kill/delete as containerd's shim
# calls them, checked against the cgroup v2 files (memory.max, pids.max,
# cgroup.freeze) of the linux.cgroupsPath group.
set -eu
R=/usr/local/bin/minictr-runc
fail() { echo "FAIL: $*"; exit 1; }
[ -f /sys/fs/cgroup/cgroup.controllers ] || fail "not a cgroup v2 host"
[ -x $R ] || fail "no $R in the VM"

# The rootfs: the layers of the OCI image archive, in the manifest's order.
bundle=/tmp/bundle
img=/tmp/img
mkdir -p $bundle/rootfs $img
tar xf /images/busybox.tar -C $img
manifest=$(grep -o 'sha256:[0-9a-f]*' $img/index.json | head -1)
for layer in $(sed -n '/"layers"/,$p' "$img/blobs/sha256/${manifest#sha256:}" | grep -o 'sha256:[0-9a-f]*'); do
  tar xzf "$img/blobs/sha256/${layer#sha256:}" -C $bundle/rootfs
done
[ -x $bundle/rootfs/bin/sleep ] || fail "no bin/sleep in the rootfs"

# `spec` writes runc's default config.json (one key per line); edited with
# sed: no terminal, sleep instead of sh, a cgroups path and two limits.
cd $bundle
$R spec
[ -f config.json ] || fail "spec wrote no config.json"
cg=/sys/fs/cgroup/vmtest/c1
sed -i -e 's/"terminal": true/"terminal": false/' \
  -e 's/^\([[:space:]]*\)"sh"$/\1"sleep", "300"/' \
  -e 's/^\([[:space:]]*\)"linux": {$/&\n\1  "cgroupsPath": "\/vmtest\/c1",/' \
  -e 's/^\([[:space:]]*\)"resources": {$/&\n\1  "memory": {"limit": 67108864},\n\1  "pids": {"limit": 20},/' \
  config.json
grep -q '"cgroupsPath": "/vmtest/c1"' config.json || fail "sed did not add cgroupsPath"
grep -q '"pids": {"limit": 20}' config.json || fail "sed did not add the limits"
grep -q '"sleep", "300"' config.json || fail "sed did not set the args"

status() { $R state c1 | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
init_pid() { $R state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

$R create --bundle $bundle --pid-file $bundle/init.pid c1 || fail "create"
[ "$(status)" = created ] || fail "state after create: $($R state c1)"
[ -d $cg ] || fail "no cgroup $cg after create"
pid=$(cat $bundle/init.pid)
[ "$pid" = "$(init_pid)" ] || fail "pid-file $pid, state $(init_pid)"
grep -qx "$pid" $cg/cgroup.procs || fail "init $pid not in $cg/cgroup.procs"
[ "$(cat $cg/memory.max)" = 67108864 ] || fail "memory.max: $(cat $cg/memory.max)"
[ "$(cat $cg/pids.max)" = 20 ] || fail "pids.max: $(cat $cg/pids.max)"
echo "ok create: state created, init $pid in $cg, memory.max 64 MiB, pids.max 20"

$R start c1 || fail "start"
[ "$(status)" = running ] || fail "state after start: $($R state c1)"
# After start the init has exec'd the process: sleep, not the runtime.
[ "$(cat /proc/$pid/comm)" = sleep ] || fail "init runs $(cat /proc/$pid/comm), not sleep"
$R ps --format json c1 | grep -q "$pid" || fail "ps: $($R ps --format json c1)"
echo "ok start: running sleep; ps lists $pid"

$R pause c1 || fail "pause"
[ "$(status)" = paused ] || fail "state after pause: $($R state c1)"
[ "$(cat $cg/cgroup.freeze)" = 1 ] || fail "cgroup.freeze after pause: $(cat $cg/cgroup.freeze)"
grep -q '^frozen 1' $cg/cgroup.events || fail "cgroup.events not frozen: $(cat $cg/cgroup.events)"
$R resume c1 || fail "resume"
[ "$(status)" = running ] || fail "state after resume: $($R state c1)"
[ "$(cat $cg/cgroup.freeze)" = 0 ] || fail "cgroup.freeze after resume: $(cat $cg/cgroup.freeze)"
echo "ok pause/resume: cgroup.freeze 1 then 0"

echo '{"memory": {"limit": 134217728}, "pids": {"limit": 30}}' > /tmp/resources.json
$R update --resources /tmp/resources.json c1 || fail "update --resources"
[ "$(cat $cg/memory.max)" = 134217728 ] || fail "memory.max after update: $(cat $cg/memory.max)"
[ "$(cat $cg/pids.max)" = 30 ] || fail "pids.max after update: $(cat $cg/pids.max)"
echo "ok update --resources: memory.max 128 MiB, pids.max 30"

$R kill c1 KILL || fail "kill"
i=0
while [ "$(status)" != stopped ]; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "state 10 s after kill: $($R state c1)"
  sleep 0.2
done
$R delete c1 || fail "delete"
[ ! -d $cg ] || fail "cgroup $cg left after delete"
! $R state c1 >/dev/null 2>&1 || fail "state still answers after delete"
[ ! -d /proc/$pid ] || fail "init $pid still alive after delete"
rmdir /sys/fs/cgroup/vmtest  # the parent named by cgroupsPath: runc leaves it too
echo "ok kill + delete: stopped, cgroup removed"
echo "VM minictr-runc on cgroup v2: PASS"
