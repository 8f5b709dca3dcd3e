#!/usr/bin/env bash
# `minictr cp` runs as root on the host, outside the container's device
# cgroup: it must never open a device node or FIFO that a container put where
# a copy reads or writes (issue 17 item 1). A default container may mknod any
# device (as in Docker); here it makes a node of a loop device this test
# attached to a file of its own, so a write through the node shows in that
# file and nothing else on the host is at risk.
#   (a) cp HOSTFILE ctr:NODE replaces the node, for a running and a stopped
#       container, and while the container swaps file and node in a loop;
#   (b) copy-out of a FIFO or /dev/zero's node does not hang or read;
#   (c) cp ctr:PATH - and cp - ctr:DIR speak tar, and a hostile tar (device
#       entries, "../", hard link out) creates nothing of that;
#   (d) ordinary copies (file, tree, symlink, modes) still work.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
cd "$TEST_TMP"  # old code took "-" for a host path: keep anything it makes in here

LOOP=""
cleanup_loop() {
  local rc=$?
  set +e
  "$MINICTR" ps -a -q 2>/dev/null | xargs -r "$MINICTR" rm -f >/dev/null 2>&1  # nodes unused before detach
  [[ -n $LOOP ]] && losetup -d "$LOOP"
  _cleanup "$rc"
}
trap cleanup_loop EXIT

mctr load "$BUSYBOX_TAR" >/dev/null
ORIG=ORIGINAL-CONTENT
truncate -s 1M "$TEST_TMP/backing"
printf %s "$ORIG" | dd of="$TEST_TMP/backing" conv=notrunc status=none
LOOP=$(losetup -f --show "$TEST_TMP/backing")
MAJ=$((16#$(stat -c %t "$LOOP"))) MIN=$((16#$(stat -c %T "$LOOP")))
echo "-- loop device $LOOP ($MAJ:$MIN) over $TEST_TMP/backing"

# The device's first bytes, as the device (page cache) and its backing file see them.
assert_loop_untouched() {
  sync
  assert_eq "$ORIG" "$(head -c ${#ORIG} "$LOOP")" "$1: the loop device (host) was written through the node"
  assert_eq "$ORIG" "$(head -c ${#ORIG} "$TEST_TMP/backing")" "$1: the loop device's backing file changed"
}

ctr_pid() { mctr inspect "$1" | grep '"Pid"' | head -1 | tr -dc 0-9; }
wait_file() {  # wait_file PATH: until the container's start script made it
  for _ in $(seq 100); do [[ -e $1 ]] && return 0; sleep 0.1; done
  fail "timed out waiting for $1"
}

echo "OVERWRITTEN" > "$TEST_TMP/evil"

echo "-- (a) cp into a running container over a block device node"
mctr run -d --name c1 --network none busybox sh -c "
  mknod /tmp/blk b $MAJ $MIN && mkfifo /tmp/fifo && mknod /tmp/zero c 1 5 &&
  mkdir /tmp/tree /tmp/x && echo in-tree > /tmp/tree/f && mkfifo /tmp/tree/p && echo no > /tmp/notadir &&
  touch /tmp/ready && exec sleep 1000" >/dev/null
P1=$(ctr_pid c1)
R1=/proc/$P1/root
wait_file "$R1/tmp/ready"
[[ -b $R1/tmp/blk ]] || fail "the container could not mknod a block device (test premise)"
mctr cp "$TEST_TMP/evil" c1:/tmp/blk
assert_loop_untouched "running container"
[[ -f $R1/tmp/blk && ! -L $R1/tmp/blk ]] || fail "the node was not replaced by a regular file"
assert_eq OVERWRITTEN "$(cat "$R1/tmp/blk")" "content of the replaced file"
ls -a "$R1/tmp" | grep -c '^\.minictr-cp' >/dev/null && fail "a temporary file was left in /tmp"
echo "ok  running: the node was replaced, the device untouched"

echo "-- (a) cp into a stopped container over a block device node"
mctr run --name c2 --network none busybox mknod /tmp/blk b "$MAJ" "$MIN"
mctr cp "$TEST_TMP/evil" c2:/tmp/blk
assert_loop_untouched "stopped container"
mctr cp c2:/tmp/blk "$TEST_TMP/back2"
assert_eq OVERWRITTEN "$(cat "$TEST_TMP/back2")" "the stopped container holds the copied file"
echo "ok  stopped: the node was replaced, the device untouched"

echo "-- (a)+(b) races: the container swaps files and nodes under the same names"
# /tmp/r: regular file <-> node of the loop device (copy-in target);
# /tmp/o: regular file <-> node of /dev/zero (copy-out source).
mctr run -d --name c3 --network none --cpus 0.5 busybox sh -c "
  echo small > /tmp/o; touch /tmp/ready
  while :; do
    mknod /tmp/r.n b $MAJ $MIN; mv -f /tmp/r.n /tmp/r; echo x > /tmp/r.f; mv -f /tmp/r.f /tmp/r
    mknod /tmp/o.n c 1 5; mv -f /tmp/o.n /tmp/o; echo small > /tmp/o.f; mv -f /tmp/o.f /tmp/o
  done" >/dev/null
wait_file "/proc/$(ctr_pid c3)/root/tmp/ready"
for i in $(seq 15); do
  mctr cp "$TEST_TMP/evil" c3:/tmp/r 2>/dev/null || true
  rc=0
  timeout 10 "$MINICTR" cp c3:/tmp/o "$TEST_TMP/o.out" 2>/dev/null || rc=$?
  [[ $rc -ne 124 ]] || fail "copy-out hung reading a device node (round $i)"
  [[ $rc -eq 0 || $rc -eq 125 ]] || fail "copy-out exit $rc (round $i)"
  size=$(stat -c %s "$TEST_TMP/o.out" 2>/dev/null || echo 0)
  [[ $size -le 6 ]] || fail "copy-out read $size bytes from a device node (round $i)"
  rm -f "$TEST_TMP/o.out"
done
assert_loop_untouched "swap race"
mctr rm -f c3 >/dev/null
echo "ok  15 rounds each way: the device was never written nor read"

echo "-- (b) copy-out of a FIFO and a char device: refused, no hang, nothing read"
rc=0
err=$(timeout 20 "$MINICTR" cp c1:/tmp/fifo "$TEST_TMP/fifo.out" 2>&1) || rc=$?
assert_eq 125 "$rc" "exit code for a FIFO source"
assert_contains "$err" "FIFO" "the error names the kind"
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "one line of error"
[[ -e $TEST_TMP/fifo.out ]] && fail "a FIFO source left something on the host"
rc=0
timeout 20 "$MINICTR" cp c1:/tmp/zero "$TEST_TMP/zero.out" 2>/dev/null || rc=$?
assert_eq 125 "$rc" "exit code for a char device source"
[[ -e $TEST_TMP/zero.out ]] && fail "a device source left something on the host"
rc=0
err=$(timeout 20 "$MINICTR" cp c1:/tmp/tree "$TEST_TMP/tree.out" 2>&1) || rc=$?
assert_eq 0 "$rc" "a tree holding a FIFO copies"
assert_eq in-tree "$(cat "$TEST_TMP/tree.out/f")" "the tree's regular file"
[[ -e $TEST_TMP/tree.out/p ]] && fail "the FIFO inside the tree was copied"
assert_contains "$err" "skipping" "a warning for the skipped FIFO"
echo "ok  FIFO and device refused, the FIFO in a tree skipped with a warning"

echo "-- (c) cp ctr:PATH - writes a tar"
rc=0
timeout 20 "$MINICTR" cp c1:/etc - >"$TEST_TMP/etc.tar" || rc=$?
assert_eq 0 "$rc" "cp c1:/etc -"
tar tf "$TEST_TMP/etc.tar" | grep -cx 'etc/passwd' >/dev/null || fail "etc/passwd not in the tar"
mkdir "$TEST_TMP/etc.x"
tar xf "$TEST_TMP/etc.tar" -C "$TEST_TMP/etc.x"
cmp "$TEST_TMP/etc.x/etc/passwd" "$R1/etc/passwd" || fail "etc/passwd differs after the tar round trip"
rc=0
timeout 20 "$MINICTR" cp c1:/tmp/tree - >"$TEST_TMP/tree.tar" 2>/dev/null || rc=$?
assert_eq 0 "$rc" "cp c1:/tmp/tree -"
assert_eq "tree/ tree/f" "$(tar tf "$TEST_TMP/tree.tar" | sort | tr '\n' ' ' | sed 's/ $//')" "the FIFO left out of the tar"
rc=0
timeout 20 "$MINICTR" cp c1:/tmp/fifo - >"$TEST_TMP/fifo.tar" 2>/dev/null || rc=$?
assert_eq 125 "$rc" "a FIFO as the tar source"
assert_eq 0 "$(stat -c %s "$TEST_TMP/fifo.tar")" "bytes on stdout after the refusal"
echo "ok  tar out"

echo "-- (c) cp - ctr:DIR extracts a tar"
mkdir -p "$TEST_TMP/tin/d"
echo one > "$TEST_TMP/tin/d/f"
chmod 0751 "$TEST_TMP/tin/d/f"
ln -s d/f "$TEST_TMP/tin/l"
tar cf "$TEST_TMP/in.tar" -C "$TEST_TMP/tin" .
mctr cp - c1:/tmp/x <"$TEST_TMP/in.tar"
assert_eq one "$(cat "$R1/tmp/x/d/f")" "extracted file"
assert_eq 751 "$(stat -c %a "$R1/tmp/x/d/f")" "extracted mode"
assert_eq d/f "$(readlink "$R1/tmp/x/l")" "extracted symlink"
# A hostile tar: a device entry, names leaving the destination, a hard link
# to the container's /etc/passwd, an absolute name.
python3 - "$TEST_TMP/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    def add(name, type=tarfile.REGTYPE, data=b"", link="", dev=(0, 0)):
        i = tarfile.TarInfo(name); i.type = type; i.size = len(data); i.linkname = link
        i.devmajor, i.devminor = dev; i.mode = 0o644
        t.addfile(i, io.BytesIO(data) if data else None)
    add("blk", tarfile.BLKTYPE, dev=(7, 0))
    add("chr", tarfile.CHRTYPE, dev=(1, 1))
    add("fifo", tarfile.FIFOTYPE)
    add("../escape", data=b"x")
    add("d/../../../escape2", data=b"x")
    add("hl", tarfile.LNKTYPE, link="../../etc/passwd")
    add("/abs", data=b"inside")
    add("ok", data=b"fine")
EOF
rc=0
err=$(mctr cp - c1:/tmp/x <"$TEST_TMP/evil.tar" 2>&1) || rc=$?
assert_eq 0 "$rc" "a hostile tar is extracted without its hostile entries: $err"
for p in tmp/x/blk tmp/x/chr tmp/x/fifo tmp/escape escape2 tmp/escape2 tmp/x/hl abs; do
  [[ -e $R1/$p || -L $R1/$p ]] && fail "the hostile tar created /$p"
done
assert_eq inside "$(cat "$R1/tmp/x/abs")" "an absolute name lands below the destination"
assert_eq fine "$(cat "$R1/tmp/x/ok")" "the harmless entry"
assert_contains "$err" "skipping" "warnings for the skipped entries"
rc=0
err=$(mctr cp - c1:/tmp/notadir <"$TEST_TMP/in.tar" 2>&1) || rc=$?
assert_eq 125 "$rc" "a tar into a non-directory"
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "one line of error: $err"
assert_eq no "$(cat "$R1/tmp/notadir")" "the non-directory is untouched"
# The stopped container: tar in and out.
mctr cp - c2:/tmp <"$TEST_TMP/in.tar"
mctr cp c2:/tmp/d - | tar tf - | grep -cx d/f >/dev/null || fail "tar in and out of a stopped container"
echo "ok  tar in, hostile entries skipped"

echo "-- (d) ordinary copies still work"
mkdir -p "$TEST_TMP/hin/sub"
echo exe > "$TEST_TMP/hin/exe"
chmod 0750 "$TEST_TMP/hin/exe"
echo deep > "$TEST_TMP/hin/sub/file"
ln -s sub/file "$TEST_TMP/hin/ln"
mctr cp "$TEST_TMP/hin" c1:/tmp/
assert_eq 750 "$(stat -c %a "$R1/tmp/hin/exe")" "mode kept"
assert_eq deep "$(cat "$R1/tmp/hin/sub/file")" "tree copied in"
assert_eq sub/file "$(readlink "$R1/tmp/hin/ln")" "symlink copied in"
echo newer > "$TEST_TMP/newer"
mctr cp "$TEST_TMP/newer" c1:/tmp/hin/exe
assert_eq newer "$(cat "$R1/tmp/hin/exe")" "a file replaced"
assert_eq 644 "$(stat -c %a "$R1/tmp/hin/exe")" "the replacing file's mode"
mctr cp c1:/tmp/hin "$TEST_TMP/hout"
diff -r --no-dereference "$TEST_TMP/hout" "$R1/tmp/hin" || fail "tree copied out differs"
assert_eq sub/file "$(readlink "$TEST_TMP/hout/ln")" "symlink copied out"
mkdir "$TEST_TMP/into"
mctr cp c1:/tmp/hin/sub/file "$TEST_TMP/into"
assert_eq deep "$(cat "$TEST_TMP/into/file")" "a file copied into a host directory"
assert_eq 125 "$(run_rc mctr cp c1:/nonexistent "$TEST_TMP/nope")" "a missing source"
echo "ok  file, tree, symlink, modes"

echo "PASS test_host_cp"
