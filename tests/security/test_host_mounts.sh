#!/usr/bin/env bash
# -v over the places the runtime builds itself: the container's root, /proc
# and /dev. `-v /:/` handed a container the host's root, `-v /proc:/proc` the
# host's procfs (where none of the masks apply). Each is refused as Docker and
# runc refuse it: one line, exit 125, nothing created; however the
# destination is spelled (//, /./, .., a trailing slash).
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
mctr load -q "$BUSYBOX_TAR" >/dev/null
dir=$TEST_TMP/src
mkdir -p "$dir"
echo from-host > "$dir/marker"

# refused SPEC: `run -v SPEC` fails with 125 and one line, and leaves no container.
refused() {
  local out rc
  set +e
  out=$(mctr run --rm --network none -v "$1" busybox true 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "run -v $1: exit code (output: $out)"
  assert_contains "$out" "invalid volume specification" "run -v $1"
  assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "run -v $1: a one-line message"
  assert_eq "" "$(mctr ps -a -q)" "run -v $1 left a container"
  echo "ok  refused -v $1: $out"
}

refused "/:/"
for dst in / // /./ /.. /tmp/.. /tmp/../ /proc /proc/ //proc /./proc /tmp/../proc /proc/. \
  /proc/sys /proc/sys/kernel /proc/self/root /proc/sysrq-trigger /dev /dev/ //dev /tmp/../dev; do
  refused "$dir:$dst"
done
refused "/proc:/proc"
refused "hsvol:/"
refused "hsvol:/proc/1"
refused "$dir:/:ro"
refused "$dir:relative"

# Still allowed: an ordinary destination, one under /dev, and a /proc file
# runc lets lxcfs replace.
out=$(mctr run --rm --network none -v "$dir:/data" busybox cat /data/marker)
assert_eq from-host "$out" "-v DIR:/data"
out=$(mctr run --rm --network none -v "$dir://data/./x/../" busybox cat /data/marker)
assert_eq from-host "$out" "-v DIR://data/./x/../ (normalised to /data)"
out=$(mctr run --rm --network none -v "$dir:/dev/shm/sub" busybox cat /dev/shm/sub/marker)
assert_eq from-host "$out" "-v DIR:/dev/shm/sub"
echo "fake cpuinfo" > "$TEST_TMP/cpuinfo"
out=$(mctr run --rm --network none -v "$TEST_TMP/cpuinfo:/proc/cpuinfo:ro" busybox cat /proc/cpuinfo)
assert_eq "fake cpuinfo" "$out" "-v FILE:/proc/cpuinfo (lxcfs-style)"
echo "ok  -v DIR:/data, DIR:/dev/shm/sub and FILE:/proc/cpuinfo still work"
echo "PASS"
