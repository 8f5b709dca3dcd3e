#!/usr/bin/env bash
# A full filesystem (issue 18, "Full disks"): the supervisor records the
# container's exit in space it reserved at start (exit_record.h), so the exit
# code survives a state root with no free block; a `load` that runs out of
# space leaves no layer behind. The state root is a small tmpfs of our own.
source "$(dirname "$0")/lib.sh"
small=$TEST_TMP/small
mkdir -p "$small"
mount -t tmpfs -o size=12m tmpfs "$small"  # lib.sh's cleanup unmounts it
export MINICTR_ROOT=$small/root
mctr load -q "$BUSYBOX_TAR" >/dev/null

wait_exited() {
  for _ in $(seq 200); do
    [[ $(mctr inspect -f '{{.State.Status}}' "$1") == exited ]] && return 0
    sleep 0.05
  done
  fail "$1 did not exit"
}

echo "-- a container fills the state root, then exits 3: the exit code is kept"
mctr run -d --name filler busybox sh -c 'dd if=/dev/zero of=/fill bs=64k 2>/dev/null; echo full; exit 3' >/dev/null
wait_exited filler
assert_eq 0 "$(df --output=avail -B1 "$small" | tail -1 | tr -d " ")" "the filesystem is full"
assert_eq "exited 3" "$(mctr inspect -f '{{.State.Status}} {{.State.ExitCode}}' filler)" "exit code on a full disk"
mctr rm filler >/dev/null
assert_eq "" "$(mctr ps -a -q)" "rm on a full disk"

echo "-- a load that runs out of space fails cleanly and leaves no layer"
# An image of two layers: a small one that fits, then one larger than the
# space left (the first must not stay behind as a layer nothing references).
mkdir -p "$TEST_TMP/big/base" "$TEST_TMP/big/rootfs"
echo "base layer" >"$TEST_TMP/big/base/hello"
head -c $((16 << 20)) /dev/urandom >"$TEST_TMP/big/rootfs/blob"
echo '{"Cmd": ["/blob"]}' >"$TEST_TMP/big/config.json"
python3 "$MINICTR_SRC/images/mkimage.py" --layer "$TEST_TMP/big/base" --layer "$TEST_TMP/big/rootfs" --config "$TEST_TMP/big/config.json" \
  --tag big:latest --out "$TEST_TMP/big.tar" >/dev/null
layers_before=$(ls "$MINICTR_ROOT/layers" | sort)
set +e
out=$(mctr load -q -i "$TEST_TMP/big.tar" 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "load on a full disk: exit code ($out)"
assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "one line of error: $out"
assert_contains "$out" "No space left on device" "the error says why"
assert_eq "$layers_before" "$(ls "$MINICTR_ROOT/layers" | sort)" "no partial layer left"
[[ $(mctr images -q | wc -l) == 1 ]] || fail "the failed image is listed"
echo "PASS test_full_disk"
