#!/usr/bin/env bash
# Container names are kept in an index (<root>/names/<name> -> id): create
# and rename check a name with one lookup, not by reading every container's
# config (which made every start O(N), docs/performance.md, Density). Checked:
# a taken name is refused, rm and rename free it, rename takes the new one;
# a link that no container's config backs (a create or rename killed half-way)
# counts as free; a root made without the index gets one from the configs;
# `create` opens the same number of config.json files with 1 and with 30
# containers; and 200 unnamed containers all get names (there are 192 base
# names: the 193rd create used to try forever, holding the store lock).
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
in_use() {  # $1: name; the create must be refused with Docker's message
  local out
  out=$(mctr create --name "$1" busybox true 2>&1) && fail "a second '$1' was created: $out"
  assert_contains "$out" "is already in use" "create --name $1"
}

echo "-- a taken name is refused; rm frees it"
mctr create --name one busybox true >/dev/null
in_use one
mctr rm one >/dev/null
id=$(mctr create --name one busybox true)
assert_eq "$id" "$(mctr inspect -f '{{.Id}}' one)" "the name resolves to the new container"

echo "-- rename moves the name"
mctr rename one two
in_use two
id2=$(mctr create --name one busybox true)
assert_eq "$id" "$(mctr inspect -f '{{.Id}}' two)" "two after the rename"
assert_eq "$id2" "$(mctr inspect -f '{{.Id}}' one)" "one is free after the rename"
out=$(mctr rename two one 2>&1) && fail "rename onto a taken name: $out"
assert_contains "$out" "already in use" "rename onto a taken name"

echo "-- a link no config backs (a killed create or rename) counts as free"
ln -s "$(printf 'f%.0s' {1..64})" "$MINICTR_ROOT/names/ghost"  # no such container
ln -sfn "$id" "$MINICTR_ROOT/names/stale"                      # a container called two
mctr create --name ghost busybox true >/dev/null
mctr create --name stale busybox true >/dev/null
assert_eq "$id" "$(mctr inspect -f '{{.Id}}' two)" "two keeps its name"

echo "-- a root without the index (an older minictr's) gets one from the configs"
rm -rf "$MINICTR_ROOT/names"
in_use two
in_use ghost
[[ -L $MINICTR_ROOT/names/one ]] || fail "no index made"

echo "-- create reads no other container's config"
count_config_opens() {  # $1: name to create; prints how many config.json files it opened
  strace -f -qq -e trace=open,openat -o "$TEST_TMP/trace" "$MINICTR" create --name "$1" busybox true >/dev/null
  grep -c 'containers/[0-9a-f]*/config.json' "$TEST_TMP/trace" || true
}
mctr ps -aq | xargs -r "$MINICTR" rm >/dev/null
mctr create --name first busybox true >/dev/null
few=$(count_config_opens probe1)
for i in $(seq 30); do mctr create --name "c$i" busybox true >/dev/null; done
many=$(count_config_opens probe2)
echo "config.json opened by create: $few with 1 container, $many with 31"
((many <= few + 1)) || fail "create opened $many config.json files with 31 containers ($few with 1)"
echo "-- more unnamed containers than the 192 base names: each still gets a free one"
mctr ps -aq | xargs -r "$MINICTR" rm >/dev/null
for i in $(seq 200); do
  timeout 10 "$MINICTR" create busybox true >/dev/null || fail "unnamed create $i failed or never ended"
done
assert_eq 200 "$(mctr ps -a --format '{{.Names}}' | sort -u | wc -l)" "distinct names of 200 unnamed containers"
mctr ps -aq | xargs -r "$MINICTR" rm >/dev/null
echo "PASS test_container_names"
