#!/usr/bin/env bash
# User-defined networks (`network create/ls/inspect/rm/prune`, `run --network
# NAME`): each is a bridge of its own (br-<id>) with its own subnet and nft
# table; containers on it find each other by name and can publish ports;
# containers elsewhere do not see those names; rm refuses while a container
# uses it and then removes bridge and table; bad requests get one line, 125.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
net1_subnet=10.198.$_n.0/26
net2_subnet=10.198.$_n.64/26
port=$((19000 + _n))

echo "-- create, ls, inspect"
id=$(mctr network create --subnet "$net1_subnet" net1)
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "network create printed '$id'"
bridge=br-${id:0:12}
[[ -d /sys/class/net/$bridge ]] || fail "no bridge $bridge"
ls_out=$(mctr network ls)
assert_contains "$ls_out" "net1" "network ls"
assert_contains "$ls_out" "bridge" "network ls lists the built-in bridge"
assert_eq "$net1_subnet" "$(mctr network inspect net1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["IPAM"]["Config"][0]["Subnet"])')" "inspect's subnet"
assert_eq "net1" "$(mctr network ls --format '{{.Name}}' | grep net1)" "ls --format"

echo "-- containers on net1 resolve each other; others do not see them"
mctr run -d --name a --network net1 busybox sleep 1000 >/dev/null
ip_a=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' a)
[[ $ip_a == 10.198.$_n.* ]] || fail "a's address $ip_a is not in $net1_subnet"
mctr run --rm --network net1 busybox ping -c 1 -W 2 a >/dev/null || fail "a is not reachable by name on net1"
hosts_default=$(mctr run --rm busybox cat /etc/hosts)
[[ $hosts_default != *"$ip_a"* ]] || fail "a container on the default bridge knows a: $hosts_default"

echo "-- a published port on a user network"
mkdir -p "$TEST_TMP/www"
echo "hello from net1" >"$TEST_TMP/www/index.html"
mctr run -d --name web --network net1 -p "$port:80" -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
for _ in $(seq 50); do curl -fsS -m 1 "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done | grep -c "hello from net1" >/dev/null ||
  fail "the published port on net1 does not answer"

echo "-- rm refuses while containers use it"
set +e
out=$(mctr network rm net1 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "network rm of a used network: exit code"
assert_contains "$out" "has active endpoints" "network rm of a used network"
[[ -d /sys/class/net/$bridge ]] || fail "the refused rm removed the bridge"

echo "-- bad requests: one line, 125, nothing made"
for args in "create net1" "create bridge" "create --subnet $net1_subnet other" "create bad/name" "create --subnet 10.1.2.3 x"; do
  set +e
  # shellcheck disable=SC2086
  out=$(mctr network $args 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "network $args: exit code ($out)"
  assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "network $args: one line ($out)"
done
set +e
out=$(mctr run --rm --network nosuch busybox true 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "run --network nosuch"
assert_contains "$out" "network nosuch not found" "run --network nosuch"
assert_eq 1 "$(mctr network ls -q | grep -vc '^-$')" "only net1 exists"

echo "-- rm and prune remove bridge and table"
mctr rm -f a web >/dev/null
mctr network create --subnet "$net2_subnet" net2 >/dev/null
mctr network rm net1 >/dev/null
[[ ! -e /sys/class/net/$bridge ]] || fail "network rm left the bridge"
[[ ! -e $MINICTR_RUN_DIR/networks/$bridge ]] || fail "network rm left its state in $MINICTR_RUN_DIR/networks/$bridge"
! nft list table ip "minictr-${id:0:12}" >/dev/null 2>&1 || fail "network rm left the nft table"
assert_contains "$(mctr network prune)" "net2" "network prune removes the unused net2"
assert_eq 0 "$(mctr network ls -q | grep -vc '^-$' || true)" "no user network left"
echo "PASS test_user_networks"
