#!/usr/bin/env bash
# image prune and rmi -f (issue 21), as Docker's: prune removes dangling
# images (-a: those no container uses) and prints the space reclaimed; rmi of
# an image a stopped container uses needs -f, and then the container still
# starts (its layers stay until it is removed and `system prune` runs); a
# running container's image cannot be removed even with -f. Also: save of a
# loaded image keeps its ID (the store keeps the config and layer blobs as
# they came).
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null
id=$(mctr images -q --no-trunc busybox)

# save -> load elsewhere: the same ID, docker and OCI layouts.
mctr save -o "$TEST_TMP/docker.tar" busybox
mctr save --format oci -o "$TEST_TMP/oci.tar" busybox
"$MINICTR" --root "$TEST_TMP/r2" load -q "$TEST_TMP/docker.tar" >/dev/null
"$MINICTR" --root "$TEST_TMP/r3" load -q "$TEST_TMP/oci.tar" >/dev/null
assert_eq "$id" "$("$MINICTR" --root "$TEST_TMP/r2" images -q --no-trunc)" "ID after save (docker) + load"
assert_eq "$id" "$("$MINICTR" --root "$TEST_TMP/r3" images -q --no-trunc)" "ID after save (oci) + load"

# A dangling image (an import with no tag) goes with `image prune`; busybox stays.
tar -C "$TEST_TMP" -cf "$TEST_TMP/small.tar" docker.tar
dangling=$(mctr import "$TEST_TMP/small.tar")
out=$(mctr image prune -f)
assert_contains "$out" "deleted: $dangling" "prune removes the dangling image"
assert_contains "$out" "Total reclaimed space: " "prune prints the space reclaimed"
[[ $out == *"Total reclaimed space: 0B"* ]] && fail "prune reclaimed nothing: $out"
assert_eq "$id" "$(mctr images -q --no-trunc)" "the tagged image is not dangling"
out=$(mctr image prune -f)
assert_eq "Total reclaimed space: 0B" "$out" "a second prune"

# rmi under a stopped container: refused without -f; with -f the image goes and the container still runs.
mctr create --name user --network none busybox echo still-runs >/dev/null
assert_eq 1 "$(run_rc mctr rmi busybox)" "rmi of an image a stopped container uses"
assert_eq "$id" "$(mctr images -q --no-trunc)" "the image is still there"
out=$(mctr rmi -f busybox)
assert_contains "$out" "Deleted: $id" "rmi -f"
assert_eq "" "$(mctr images -q)" "no image after rmi -f"
assert_eq "still-runs" "$(mctr start -a user)" "the container starts after rmi -f of its image"
mctr rm user >/dev/null
mctr system prune >/dev/null
assert_eq 0 "$(find "$MINICTR_ROOT/layers" -mindepth 1 | wc -l)" "layers gone once the container is removed and pruned"

# A running container's image: not even -f.
mctr load -q "$BUSYBOX_TAR" >/dev/null
mctr run -d --name live --network none busybox sleep 30 >/dev/null
set +e
err=$(mctr rmi -f busybox 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "rmi -f of a running container's image"
assert_contains "$err" "(cannot be forced) - image is being used by running container" "rmi -f under a running container"
out=$(mctr image prune -a -f)
assert_eq "Total reclaimed space: 0B" "$out" "prune -a keeps an image a container uses"
mctr rm -f live >/dev/null
out=$(mctr image prune -a -f)
assert_contains "$out" "untagged: busybox:latest" "prune -a once no container uses it"
echo "test_image_prune: OK"
