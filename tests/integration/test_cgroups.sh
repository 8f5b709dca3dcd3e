#!/usr/bin/env bash
# Limits on the host's cgroups (v1 here, v2 in the VM): OOM kill with 137 and
# OOMKilled, --cpus 0.5 measured from the cgroup's own CPU counter, a fork
# bomb under --pids-limit, stats equal to the cgroup files, update, cleanup.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

stat_field() {  # stat_field CONTAINER FIELD
  mctr stats --no-stream --format json "$1" | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['$2'])"
}
cgroup_dir() {  # cgroup_dir CONTAINER CONTROLLER -> path of that controller's group
  local id
  id=$(mctr inspect "$1" | grep '"Id"' | head -1 | cut -d'"' -f4)
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then echo "/sys/fs/cgroup/minictr/$id"
  else echo "/sys/fs/cgroup/$2/minictr/$id"; fi
}

echo "-- a memory hog under -m 32m is OOM-killed: exit 137, OOMKilled true"
rc=$(run_rc mctr run --name hog --network none -m 32m busybox dd if=/dev/zero of=/dev/null bs=128M count=1)
assert_eq 137 "$rc" "OOM exit code"
mctr inspect hog | grep -c '"OOMKilled": true' >/dev/null || fail "inspect OOMKilled"
mctr rm hog >/dev/null

echo "-- --cpus 0.5: a busy loop gets at most 55% of one CPU (cgroup counter over 2 s)"
mctr run -d --name spin --network none --cpus 0.5 busybox sh -c 'while :; do :; done' >/dev/null
sleep 0.5
a=$(stat_field spin CPUUsageNs); t0=$(date +%s%N)
sleep 2.5
b=$(stat_field spin CPUUsageNs); t1=$(date +%s%N)
pct=$(( (b - a) * 100 / (t1 - t0) ))
echo "   busy loop used ${pct}% of one CPU"
[[ $pct -le 55 ]] || fail "--cpus 0.5 allowed ${pct}%"
[[ $pct -ge 15 ]] || fail "busy loop got only ${pct}%: not running or limit wrong"
if [[ -f "$(cgroup_dir spin cpu)/cpu.cfs_quota_us" ]]; then
  assert_eq 50000 "$(cat "$(cgroup_dir spin cpu)/cpu.cfs_quota_us")" "cfs quota"
else
  assert_eq "50000 100000" "$(cat "$(cgroup_dir spin cpu)/cpu.max")" "cpu.max"
fi

echo "-- minictr update changes the limit of a running container"
mctr update --cpus 1.5 spin >/dev/null
if [[ -f "$(cgroup_dir spin cpu)/cpu.cfs_quota_us" ]]; then
  assert_eq 150000 "$(cat "$(cgroup_dir spin cpu)/cpu.cfs_quota_us")" "updated quota"
else
  assert_eq "150000 100000" "$(cat "$(cgroup_dir spin cpu)/cpu.max")" "updated cpu.max"
fi
mctr rm -f spin >/dev/null

echo "-- a fork bomb under --pids-limit 32 is contained"
mctr run -d --name bomb --network none --pids-limit 32 busybox \
  sh -c 'sh -c "while :; do sleep 60 & done" 2>/dev/null; exec sleep 60' >/dev/null
sleep 2
pids=$(stat_field bomb PidsCurrent)
echo "   pids in the container: $pids"
[[ $pids -le 32 && $pids -ge 20 ]] || fail "pids.current $pids with --pids-limit 32"
assert_eq "$pids" "$(cat "$(cgroup_dir bomb pids)/pids.current")" "stats PIDS = pids.current"
assert_eq 32 "$(cat "$(cgroup_dir bomb pids)/pids.max")" "pids.max"
out=$(mctr run --rm --network none busybox echo host unaffected)
assert_eq "host unaffected" "$out" "other containers still start"

echo "-- stats equal what the cgroup files say"
mctr run -d --name mem --network none -m 64m busybox sleep 60 >/dev/null
lim=$(stat_field mem MemLimitBytes)
if [[ -f "$(cgroup_dir mem memory)/memory.limit_in_bytes" ]]; then
  assert_eq "$(cat "$(cgroup_dir mem memory)/memory.limit_in_bytes")" "$lim" "MEM LIMIT"
else
  assert_eq "$(cat "$(cgroup_dir mem memory)/memory.max")" "$lim" "MEM LIMIT"
fi
assert_eq 67108864 "$lim" "64m limit"
mctr stats --no-stream | grep -c " mem " >/dev/null || fail "stats table lists the container"

echo "-- a limit the kernel refuses: one-line error, exit 125; with --rm nothing is left"
# Only 2 CPUs here: writing cpuset.cpus "99" fails (ERANGE/EINVAL) in the supervisor.
before=$(mctr ps -aq | sort)
rc=0; err=$(mctr run --rm --network none --cpuset-cpus 99 busybox true 2>&1) || rc=$?
assert_eq 125 "$rc" "exit code of a refused cpuset"
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "one-line error: $err"
assert_contains "$err" "cpuset.cpus" "the error names the file"
assert_eq "$before" "$(mctr ps -aq | sort)" "--rm: no container left after a failed start"
rc=$(run_rc mctr run --name refused --network none --cpuset-cpus 99 busybox true)
assert_eq 125 "$rc" "exit code without --rm"
mctr ps -a | grep -q "Exited (125).*refused" || fail "without --rm the failed container stays, Exited (125)"
mctr rm refused >/dev/null

echo "-- cgroups are removed with the containers"
ids=$(mctr ps -aq)
mctr rm -f bomb mem >/dev/null
for id in $ids; do
  find /sys/fs/cgroup -maxdepth 4 -type d -name "$id*" | grep -c . >/dev/null && fail "cgroup of $id left behind"
done
echo PASS
