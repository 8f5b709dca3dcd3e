#!/usr/bin/env bash
# The OCI bundle (issue 19): create writes <container dir>/bundle/config.json,
# inspect names it, and a start runs what it says: an edit of the file (as a
# student may make) changes what the container runs; a wrong field is refused
# with its name; limits changed by update reach the bundle and the cgroup.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

# Edit the bundle's config.json with a Python expression on `c`.
edit_bundle() {
  python3 - "$1/config.json" "$2" <<'EOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
c = json.load(open(path))
exec(expr)
json.dump(c, open(path, "w"), indent=2)
EOF
}
field() { python3 -c "import json,sys; c=json.load(open(sys.argv[1]+'/config.json')); print($2)" "$1"; }

echo "-- create writes the bundle, inspect shows where"
id=$(mctr create --name b1 --network none -m 64m --cpus 0.5 -e A=1 -w /tmp -v "$TEST_TMP/vol:/v:ro" busybox echo from-image)
bundle=$(mctr inspect -f '{{.BundlePath}}' b1)
assert_eq "$MINICTR_ROOT/containers/$id/bundle" "$bundle" "BundlePath"
assert_eq "['echo', 'from-image']" "$(field "$bundle" "c['process']['args']")" "process.args"
assert_eq "/tmp" "$(field "$bundle" "c['process']['cwd']")" "process.cwd"
assert_eq "True" "$(field "$bundle" "'A=1' in c['process']['env']")" "process.env"
assert_eq "67108864" "$(field "$bundle" "c['linux']['resources']['memory']['limit']")" "memory limit"
assert_eq "50000 100000" "$(field "$bundle" "'%d %d' % (c['linux']['resources']['cpu']['quota'], c['linux']['resources']['cpu']['period'])")" "cpu quota"
assert_eq "['rbind', 'ro']" "$(field "$bundle" "[m['options'] for m in c['mounts'] if m['destination'] == '/v'][0]")" "volume mount"

echo "-- a start runs what the bundle says"
edit_bundle "$bundle" "c['process']['args'] = ['sh', '-c', 'echo from-bundle \$B \$(hostname) \$(pwd)']; c['process']['env'].append('B=2'); c['hostname'] = 'edited'; c['process']['cwd'] = '/etc'"
assert_eq "from-bundle 2 edited /etc" "$(mctr start -a b1)" "args, env, hostname, cwd from config.json"
edit_bundle "$bundle" "c['process']['args'] = ['sh', '-c', 'ulimit -n; cat /proc/self/status | grep CapBnd']; c['process']['rlimits'] = [{'type': 'RLIMIT_NOFILE', 'hard': 99, 'soft': 42}]; c['process']['capabilities']['bounding'] = ['CAP_KILL']"
out=$(mctr start -a b1)
assert_contains "$out" "42" "process.rlimits applied"
assert_contains "$out" "CapBnd:	0000000000000020" "process.capabilities.bounding: CAP_KILL only"

echo "-- a wrong field is refused with its name, nothing is left running"
edit_bundle "$bundle" "c['linux']['namespaces'][0]['type'] = 'foo'"
rc=0
err=$(mctr start -a b1 2>&1) || rc=$?
assert_eq 125 "$rc" "exit code of a bad bundle"
assert_contains "$err" "config.json: linux.namespaces[0].type: unknown namespace \"foo\"" "the field is named"
edit_bundle "$bundle" "c['linux']['namespaces'][0]['type'] = 'pid'; c['linux']['namespaces'][0]['path'] = '/proc/1/ns/pid'"
err=$(mctr start -a b1 2>&1) || true
assert_contains "$err" "linux.namespaces[0].path: joining an existing namespace is not supported" "unsupported refused"
mctr rm b1 >/dev/null

echo "-- update's limits reach the bundle at the next start"
mctr create --name b2 --network none -m 64m busybox sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes' >/dev/null
mctr update -m 96m b2 >/dev/null
assert_eq "100663296" "$(mctr start -a b2)" "the cgroup has the updated limit"
assert_eq "100663296" "$(field "$(mctr inspect -f '{{.BundlePath}}' b2)" "c['linux']['resources']['memory']['limit']")" "the bundle too"
mctr rm b2 >/dev/null

echo "-- a container from before bundles gets one at start"
id=$(mctr create --name b3 --network none busybox true)
rm -r "$MINICTR_ROOT/containers/$id/bundle"
mctr start -a b3
[[ -f $MINICTR_ROOT/containers/$id/bundle/config.json ]] || fail "bundle written at start"
mctr rm b3 >/dev/null

echo "-- run: its supervisor writes the bundle before the container is reported running"
mctr run -d --name b4 --network none -m 32m busybox sleep 30 >/dev/null
bundle=$(mctr inspect -f '{{.BundlePath}}' b4)
assert_eq "['sleep', '30']" "$(field "$bundle" "c['process']['args']")" "run's process.args"
assert_eq "33554432" "$(field "$bundle" "c['linux']['resources']['memory']['limit']")" "run's memory limit"
mctr rm -f b4 >/dev/null
assert_eq "x" "$(mctr run --rm --network none busybox sh -c 'echo x')" "run --rm: the start makes the spec"
echo PASS test_bundle
