#!/usr/bin/env bash
# The busybox test image through the CLI: load (OCI and docker-save variants),
# images, image inspect, rmi, implicit load via FILE.tar[:tag], and errors.
source "$(dirname "$0")/lib.sh"

[[ -f $BUSYBOX_TAR ]] || fail "missing $BUSYBOX_TAR (cmake --build builds it)"

out=$(mctr load -i "$BUSYBOX_TAR")
assert_eq "Loaded image: busybox:latest" "$out" "load output"

list=$(mctr images)
assert_contains "$list" "REPOSITORY" "images header"
assert_contains "$(echo "$list" | sed -n 2p)" "busybox" "images row"
assert_eq 1 "$(mctr images -q | wc -l)" "one image"

inspect=$(mctr image inspect busybox:latest)
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])' <<<"$inspect")
[[ $id == sha256:* ]] || fail "inspect Id: $id"
lower=$(python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["GraphDriver"]["Data"]["LowerDir"]); assert d["RootFS"]["Type"]=="layers"; assert d["Config"]["Cmd"]==["sh"]' <<<"$inspect")
[[ -x $lower/bin/busybox ]] || fail "no bin/busybox in layer $lower"
assert_eq busybox "$(readlink "$lower/bin/ls")" "applet symlink"
assert_eq 1777 "$(stat -c %a "$lower/tmp")" "/tmp mode"
assert_contains "$(cat "$lower/etc/passwd")" "nobody:x:65534" "passwd"
# The layer is a usable root: run busybox from it with chroot.
assert_eq hello "$(chroot "$lower" /bin/echo hello)" "chroot into the layer"

# Loading again is a no-op that keeps the same image.
mctr load "$BUSYBOX_TAR" >/dev/null
assert_eq 1 "$(mctr images -q | wc -l)" "still one image"

# The docker-save variants of the same rootfs: same config digest = same image.
for fmt in docker docker-oci; do
  "$MINICTR_SRC/images/busybox/build.sh" "$TEST_TMP/bb-$fmt.tar" --format "$fmt" >/dev/null
  mctr load -q "$TEST_TMP/bb-$fmt.tar"
  assert_eq 1 "$(mctr images -q | wc -l)" "$fmt: same image id"
done
# zstd layers.
"$MINICTR_SRC/images/busybox/build.sh" "$TEST_TMP/bb-zstd.tar" --compress zstd >/dev/null
mctr load -q "$TEST_TMP/bb-zstd.tar"

# rmi removes the record and the layers.
out=$(mctr rmi busybox)
assert_contains "$out" "Untagged: busybox:latest" "rmi untag"
assert_contains "$out" "Deleted: $id" "rmi delete"
assert_eq 0 "$(mctr images -q | wc -l)" "no images after rmi"
assert_eq 0 "$(find "$MINICTR_ROOT/layers" -mindepth 1 | wc -l)" "no layers after rmi"
# Docker: `docker rmi` of a missing image prints "No such image" and exits 1.
assert_eq 1 "$(run_rc mctr rmi busybox)" "rmi of a missing image"
assert_eq 125 "$(run_rc mctr image inspect busybox)" "inspect of a missing image"

# image ls/load/rm aliases.
mctr image load -q -i "$BUSYBOX_TAR"
assert_contains "$(mctr image ls)" "busybox" "image ls"
mctr image rm busybox >/dev/null
assert_eq 0 "$(mctr image ls -q | wc -l)" "image rm"

# Errors: one line, exit 125.
echo "not a tar" >"$TEST_TMP/bad.tar"
set +e
err=$(mctr load "$TEST_TMP/bad.tar" 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "bad archive exit code"
assert_eq 1 "$(echo "$err" | wc -l)" "bad archive: one error line"
head -c 300000 "$BUSYBOX_TAR" >"$TEST_TMP/cut.tar"
assert_eq 125 "$(run_rc mctr load "$TEST_TMP/cut.tar")" "truncated archive"
assert_eq 0 "$(find "$MINICTR_ROOT/layers" "$MINICTR_ROOT/images" "$MINICTR_ROOT/tmp" -mindepth 1 | wc -l)" \
  "failed loads leave nothing behind"

echo "-- 60 layers: their paths do not fit in the one page of overlay options"
deep=$TEST_TMP/deep
mkdir -p "$deep/0/bin"
cp /bin/busybox "$deep/0/bin/busybox"
ln -s busybox "$deep/0/bin/cat"
layers=(--layer "$deep/0")
for i in $(seq 1 59); do
  mkdir -p "$deep/$i"
  echo "$i" >"$deep/$i/n"  # every layer has /n: the top one must win
  echo "$i" >"$deep/$i/f$i"
  layers+=(--layer "$deep/$i")
done
echo '{"Cmd": ["cat", "/n"]}' >"$deep/config.json"
python3 "$MINICTR_SRC/images/mkimage.py" "${layers[@]}" --config "$deep/config.json" --tag deep:latest \
  --out "$deep.tar" --compress none
mctr load -q "$deep.tar" >/dev/null
trace=$(mctr run --explain --rm --network none deep cat /n /f1 /f30 /f59 2>&1 >"$TEST_TMP/deep.out")
assert_eq "$(printf '59\n1\n30\n59')" "$(cat "$TEST_TMP/deep.out")" "60-layer image: top layer wins, all visible"
assert_contains "$trace" "short lowerdir names" "60 layers are mounted through l/N"
mctr load -q "$BUSYBOX_TAR" >/dev/null
assert_eq "busybox" "$(mctr run --explain --rm --network none busybox echo busybox 2>"$TEST_TMP/bb.trace")" \
  "1-layer run"
grep -c "short lowerdir names" "$TEST_TMP/bb.trace" >/dev/null && fail "1 layer needs no l/N names"
echo "PASS test_image_busybox"
