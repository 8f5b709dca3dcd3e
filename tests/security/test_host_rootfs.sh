#!/usr/bin/env bash
# What a container's rootfs can make minictr do on the host (issue #17 items
# 6, 11, 12):
#  - image content (a /dev, /etc/hosts, volume target or workdir that is a
#    symlink to a host path) must not redirect anything minictr creates or
#    mounts while it builds the rootfs: all of it lands inside the rootfs;
#  - files minictr reads from a rootfs (/etc/passwd for `exec -u`) cannot
#    stall it (a FIFO) or flood it;
#  - /sys/fs/cgroup inside shows the container's own cgroup, read-only.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
BUSYBOX=${BUSYBOX:-/bin/busybox}
[[ -x $BUSYBOX ]] || fail "$BUSYBOX missing (apt-get install busybox-static)"
mctr load -q -i "$BUSYBOX_TAR" >/dev/null

# make_image NAME: a busybox rootfs in $TEST_TMP/NAME-rootfs (adjust it, then
# pack_image NAME packs it into $TEST_TMP/NAME.tar, tag NAME:latest).
make_image() {
  local r=$TEST_TMP/$1-rootfs
  mkdir -p "$r"/{bin,etc,tmp,proc,sys,root}
  cp "$BUSYBOX" "$r/bin/busybox"
  local a
  for a in $("$BUSYBOX" --list); do [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nsomeuser:x:1000:1000::/tmp:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\nsomeuser:x:1000:\n' >"$r/etc/group"
}
pack_image() {
  printf '{"Env":["PATH=/bin"],"Cmd":["sh"]}' >"$TEST_TMP/$1-config.json"
  python3 "$MINICTR_SRC/images/mkimage.py" --layer "$TEST_TMP/$1-rootfs" --config "$TEST_TMP/$1-config.json" \
    --tag "$1:latest" --out "$TEST_TMP/$1.tar" >/dev/null
  mctr load -q -i "$TEST_TMP/$1.tar" >/dev/null
}

# ---- 6. Image content redirects host writes --------------------------------
# Host directories the image's symlinks point at: each must stay empty.
HOSTDEV=$TEST_TMP/hostdev HOSTETC=$TEST_TMP/hostetc HOSTVOL=$TEST_TMP/hostvol HOSTWD=$TEST_TMP/hostwd
mkdir -p "$HOSTDEV" "$HOSTETC" "$HOSTVOL" "$HOSTWD"
make_image evil
r=$TEST_TMP/evil-rootfs
ln -s "$HOSTDEV" "$r/dev"                      # /dev -> host dir, a path the image
mkdir -p "$r$HOSTDEV"                          # has too: its tmpfs goes there
ln -s "$HOSTETC/hosts" "$r/etc/hosts"          # dangling, to a host path
ln -s "$HOSTETC/resolv.conf" "$r/etc/resolv.conf"
ln -s "$HOSTVOL" "$r/vol"                      # a volume target's parent
ln -s "$HOSTWD" "$r/work"                      # the workdir's parent...
mkdir -p "$r$HOSTWD"                           # ...which the image has (-w makes sub/)
pack_image evil

mkdir -p "$TEST_TMP/volsrc"
echo volume-content >"$TEST_TMP/volsrc/file"
set +e
out=$(timeout 60 "$MINICTR" run --rm -v "$TEST_TMP/volsrc:/vol/data" -w /work/sub evil \
  sh -c 'ls /dev/null /dev/pts/ptmx >/dev/null && cat /vol/data/file && pwd && cat /etc/hosts | grep -c localhost' 2>&1)
rc=$?
set -e
for d in "$HOSTDEV" "$HOSTETC" "$HOSTVOL" "$HOSTWD"; do
  left=$(find "$d" -mindepth 1 | head -5)
  [[ -z $left ]] || fail "image symlink redirected a host write into $d: $left"
done
assert_eq 0 "$rc" "run of an image whose /dev, /etc/hosts, volume target and workdir are links out: $out"
assert_contains "$out" volume-content "the volume is mounted where the link leads inside the rootfs"
assert_contains "$out" "$HOSTWD/sub" "the workdir, made where /work leads inside the rootfs"
echo "ok  6. /dev, /etc/hosts, resolv.conf, -v and -w through symlinks to host dirs stay in the rootfs"

# Again on the other start path (--network none: a child that shares the
# supervisor's memory builds the rootfs, see supervise()).
out=$(mctr run --rm --network none evil sh -c 'ls -d /dev/shm /dev/mqueue && readlink /dev/ptmx')
assert_contains "$out" pts/ptmx "the container's /dev is populated"
[[ -z $(find "$HOSTDEV" -mindepth 1) ]] || fail "host dir written on the second run"

# procfs and sysfs go on real directories only (runc's CVE-2019-19921 rule):
# a /proc symlink would let the container later swap in a fake /proc.
make_image procln
mv "$TEST_TMP/procln-rootfs/proc" "$TEST_TMP/procln-rootfs/realproc"
ln -s /realproc "$TEST_TMP/procln-rootfs/proc"
pack_image procln
set +e
out=$(mctr run --rm --network none procln true 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "run of an image whose /proc is a symlink: $out"
assert_contains "$out" "must be mounted on an ordinary directory" "a /proc symlink is refused with a reason"
echo "ok  6. an image whose /proc is a symlink is refused (125)"

# ---- 11. Files read from a container rootfs --------------------------------
# A running container makes its /etc/passwd a FIFO: `exec -u` must fail at
# once with a clear error, not wait forever for a writer.
id=$(mctr run -d busybox sleep 300)
mctr exec "$id" sh -c 'echo "someuser:x:1000:1000::/tmp:/bin/sh" >>/etc/passwd'
assert_eq 1000 "$(mctr exec -u someuser "$id" id -u)" "exec -u with a regular passwd"
mctr exec "$id" sh -c 'rm /etc/passwd && mkfifo /etc/passwd'
set +e
out=$(timeout 10 "$MINICTR" exec -u someuser "$id" true 2>&1)
rc=$?
set -e
[[ $rc -ne 124 ]] || fail "exec -u hung on a FIFO /etc/passwd"
assert_eq 125 "$rc" "exec -u with a FIFO passwd: $out"
assert_contains "$out" "not a regular file" "exec -u with a FIFO passwd says why"
# A passwd larger than the cap is refused the same way.
mctr exec "$id" sh -c 'rm /etc/passwd && dd if=/dev/zero of=/etc/passwd bs=1M count=5 2>/dev/null'
set +e
out=$(timeout 10 "$MINICTR" exec -u someuser "$id" true 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "exec -u with a 5 MiB passwd: $out"
assert_contains "$out" "larger than" "exec -u with a huge passwd says why"
mctr rm -f "$id" >/dev/null

# An image whose /etc/passwd is a FIFO: `run -u` fails fast too.
make_image fifo
rm "$TEST_TMP/fifo-rootfs/etc/passwd"
mkfifo "$TEST_TMP/fifo-rootfs/etc/passwd"
pack_image fifo
set +e
out=$(timeout 20 "$MINICTR" run --rm -u someuser fifo true 2>&1)
rc=$?
set -e
[[ $rc -ne 124 ]] || fail "run -u hung on an image with a FIFO /etc/passwd"
assert_eq 125 "$rc" "run -u on a FIFO passwd: $out"
assert_contains "$out" "not a regular file" "run -u on a FIFO passwd says why"
echo "ok 11. a FIFO or 5 MiB /etc/passwd: exec -u and run -u fail at once (125) instead of hanging"

# ---- 12. The container's own cgroup at /sys/fs/cgroup -----------------------
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  limit_file=/sys/fs/cgroup/memory.max            # pure v2
  others_cmd='ls /sys/fs/cgroup | grep -c "^minictr$"'
else
  limit_file=/sys/fs/cgroup/memory/memory.limit_in_bytes
  others_cmd='ls /sys/fs/cgroup/memory | grep -c "^minictr$"'
fi
other=$(mctr run -d -m 32m busybox sleep 300)  # a sibling group that must not be seen
assert_eq 67108864 "$(mctr run --rm -m 64m busybox cat "$limit_file")" "$limit_file inside with -m 64m"
assert_eq 67108864 "$(mctr run --rm --network none -m 64m busybox cat "$limit_file")" \
  "$limit_file inside with -m 64m, --network none (the other start path)"
# Read-only: writing the limit fails, even as root in the container.
set +e
out=$(mctr run --rm -m 64m busybox sh -c "echo 200000000 > $limit_file" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "the container could write its own $limit_file"
assert_contains "$out" "Read-only file system" "writing $limit_file"
# Only its own group: no minictr/ parent, no sibling (the other container's
# id), no host groups, at the root of every hierarchy.
out=$(mctr run --rm -m 64m busybox sh -c "$others_cmd; ls -R /sys/fs/cgroup 2>/dev/null | grep -c '$other'; \
  cat /proc/self/cgroup" 2>&1 || true)
first=$(echo "$out" | sed -n 1p) second=$(echo "$out" | sed -n 2p)
assert_eq 0 "$first" "a minictr/ group visible inside: $out"
assert_eq 0 "$second" "the sibling container's group visible inside: $out"
if [[ -d /sys/fs/cgroup/memory ]]; then
  # v1: the controllers the container is in, and Docker's links for co-mounted ones.
  out=$(mctr run --rm busybox sh -c 'ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max; \
    grep " /sys/fs/cgroup" /proc/self/mountinfo')
  assert_contains "$out" memory "v1 memory hierarchy inside"
  assert_contains "$out" pids "v1 pids hierarchy inside"
  assert_contains "$out" " /sys/fs/cgroup ro," "the tmpfs at /sys/fs/cgroup is read-only"
  assert_contains "$out" " /sys/fs/cgroup/memory ro," "the memory hierarchy is read-only"
  [[ $out != *systemd* ]] || fail "name=systemd (the supervisor's group, not ours) is mounted: $out"
fi
# --network host: the host's own cgroup mounts must not come along with /sys.
# (mountinfo: field 5 is the mount point, field 6 its per-mount options)
out=$(mctr run --rm --network host busybox awk '$5 ~ "^/sys/" && $6 ~ "^rw"' /proc/self/mountinfo | wc -l)
assert_eq 0 "$out" "read-write mounts under /sys with --network host"
# --privileged: read-write, as Docker does.
out=$(mctr run --rm --privileged -m 64m busybox awk '$5 == "/sys/fs/cgroup/memory" { print $6 }' /proc/self/mountinfo)
assert_contains "$out" "rw," "--privileged: /sys/fs/cgroup/memory read-write"
mctr rm -f "$other" >/dev/null
echo "ok 12. /sys/fs/cgroup shows the container's own cgroup ($limit_file = 64m), read-only, no siblings"
