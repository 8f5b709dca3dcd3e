#!/usr/bin/env bash
# `system prune` deletes the layers no image references and no container
# uses — what a killed or failed load leaves (issue 18, "Full disks") — and
# the temp dirs of loads that died, and keeps every layer still in use.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null
layers=$MINICTR_ROOT/layers
kept=$(ls "$layers" | grep -v json)

# What a load killed after its first layer leaves: a complete layer, no image record.
orphan=$(printf 'ab%.0s' {1..32})
cp -a "$layers/$kept" "$layers/$orphan"
echo '{}' >"$layers/$orphan.json"
# ... and what one killed mid-unpack leaves: its temp dir, named with its (dead) pid.
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "$MINICTR_ROOT/tmp/layer-$orphan.$dead/bin"

mctr run -d --name user --network none busybox sleep 100 >/dev/null
out=$(mctr system prune)
assert_contains "$out" "sha256:$orphan" "prune names the orphan layer"
[[ ! -e $layers/$orphan && ! -e $layers/$orphan.json ]] || fail "the orphan layer is still there"
[[ ! -e $MINICTR_ROOT/tmp/layer-$orphan.$dead ]] || fail "the dead load's temp dir is still there"
[[ -d $layers/$kept ]] || fail "prune removed the layer of an image in use"
assert_eq "ok" "$(mctr exec user echo ok)" "the running container still works"
echo "ok  prune removed the orphan layer and the dead load's temp dir, kept the used one"

mctr rm -f user >/dev/null
echo "PASS test_prune_layers"
