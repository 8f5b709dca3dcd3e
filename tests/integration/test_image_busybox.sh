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
echo "PASS test_image_busybox"
