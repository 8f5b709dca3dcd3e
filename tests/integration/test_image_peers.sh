#!/usr/bin/env bash
# Images made by other tools load: umoci (OCI layout, with a whiteout layer)
# and skopeo (docker-archive = docker save, oci-archive).
source "$(dirname "$0")/lib.sh"
command -v umoci >/dev/null || fail "umoci missing (scripts/setup)"
command -v skopeo >/dev/null || fail "skopeo missing (scripts/setup)"

layout=$TEST_TMP/layout
umoci init --layout "$layout"
umoci new --image "$layout:v1"
mkdir -p "$TEST_TMP/src/etc" "$TEST_TMP/src/bin"
echo one >"$TEST_TMP/src/etc/one"
echo two >"$TEST_TMP/src/etc/two"
cp /bin/busybox "$TEST_TMP/src/bin/busybox"
umoci insert --rootless=false --image "$layout:v1" "$TEST_TMP/src/etc" /etc >/dev/null
umoci insert --image "$layout:v1" "$TEST_TMP/src/bin" /bin >/dev/null
# A third layer that deletes /etc/two: umoci writes a .wh. whiteout.
umoci unpack --image "$layout:v1" "$TEST_TMP/bundle" >/dev/null
rm "$TEST_TMP/bundle/rootfs/etc/two"
umoci repack --image "$layout:v1" "$TEST_TMP/bundle" >/dev/null
umoci config --image "$layout:v1" --config.cmd /bin/busybox --config.cmd true --config.env A=1

skopeo copy -q "oci:$layout:v1" "docker-archive:$TEST_TMP/docker.tar:peer/app:v1"
skopeo copy -q "oci:$layout:v1" "oci-archive:$TEST_TMP/oci.tar:v1"

check_rootfs() {  # REF: mount the image's layers with overlayfs and check the merged view
  local lower
  lower=$(mctr image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["GraphDriver"]["Data"]["LowerDir"])')
  mkdir -p "$TEST_TMP/merged"
  mount -t overlay overlay -o "ro,lowerdir=$lower" "$TEST_TMP/merged"
  local ok=1
  [[ $(cat "$TEST_TMP/merged/etc/one") == one ]] || ok=0
  [[ ! -e $TEST_TMP/merged/etc/two ]] || ok=0
  [[ -x $TEST_TMP/merged/bin/busybox ]] || ok=0
  umount "$TEST_TMP/merged"
  ((ok)) || fail "$1: merged rootfs wrong (etc/two must be whited out)"
}

out=$(mctr load -i "$TEST_TMP/docker.tar")
assert_eq "Loaded image: peer/app:v1" "$out" "skopeo docker-archive"
check_rootfs peer/app:v1
assert_contains "$(mctr image inspect peer/app:v1)" '"A=1"' "config env"

# oci-archive from skopeo carries only the bare tag "v1": named after the file.
out=$(mctr load -i "$TEST_TMP/oci.tar")
assert_contains "$out" "Loaded image: oci:v1" "skopeo oci-archive"
check_rootfs oci:v1
# Same image content: one image id, two tags.
assert_eq 1 "$(mctr images -q | wc -l)" "one image, two tags"

# umoci's layout directory directly, and as a tar.
tar -C "$layout" -cf "$TEST_TMP/umoci.tar" .
mctr rmi peer/app:v1 oci:v1 >/dev/null
out=$(mctr load "$TEST_TMP/umoci.tar")
assert_eq "Loaded image: umoci:v1" "$out" "umoci layout tar"
check_rootfs umoci:v1
echo "PASS test_image_peers"
