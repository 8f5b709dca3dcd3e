#!/usr/bin/env bash
# Two state roots on one host share the bridge, its subnet and nft table, and
# so also the address leases and published host ports (under
# $MINICTR_RUN_DIR/networks/<bridge>): no two containers get the same address
# or MAC, a host port published in one root is refused in the other, a prune
# in one root keeps the bridge while the other root's containers use it, and
# no /etc/hosts names another container. Without a configured subnet the bridge
# gets the first free one of the address pools.
source "$(dirname "$0")/lib.sh"
ROOT_B=$TEST_TMP/root-b
mctrb() { MINICTR_ROOT=$ROOT_B "$MINICTR" "$@"; }
other_br=mctro$_n
cleanup_b() {
  local rc=$?
  mctrb ps -a -q 2>/dev/null | xargs -r env MINICTR_ROOT="$ROOT_B" "$MINICTR" rm -f >/dev/null 2>&1
  ip link del "$other_br" 2>/dev/null
  _cleanup "$rc"
}
trap cleanup_b EXIT

mctr load "$BUSYBOX_TAR" >/dev/null
mctrb load "$BUSYBOX_TAR" >/dev/null
port=$((19000 + _n))

ip_of() { "$@" inspect -f '{{.NetworkSettings.IPAddress}}' web; }
mac_of() { "$@" inspect -f '{{.NetworkSettings.MacAddress}}' web; }

echo "-- one container called web in each root: different addresses and MACs"
mctr run -d --name web -p "$port:80" busybox sleep 1000 >/dev/null
mctrb run -d --name web busybox sleep 1000 >/dev/null
ip_a=$(ip_of mctr)
ip_b=$(ip_of mctrb)
[[ -n $ip_a && -n $ip_b && $ip_a != "$ip_b" ]] || fail "addresses: A=$ip_a B=$ip_b"
[[ $(mac_of mctr) != "$(mac_of mctrb)" ]] || fail "same MAC in both roots"

echo "-- a host port published in root A is refused in root B, and nothing of B's try is left"
out=$(mctrb run -d --name other -p "$port:80" busybox sleep 1000 2>&1) && fail "B published A's port: $out"
assert_contains "$out" "$port" "the error names the port"
assert_eq "" "$(mctrb ps -q --filter status=running 2>/dev/null | grep -v "$(mctrb inspect -f '{{.Id}}' web)" || true)" \
  "B's failed run left a running container"
mctrb rm -f other >/dev/null 2>&1 || true

echo "-- no container's /etc/hosts names another's (Docker's default bridge), of either root"
hosts_a=$(mctr run --rm busybox cat /etc/hosts)
[[ $hosts_a != *"$ip_a"* && $hosts_a != *"$ip_b"* ]] || fail "a web is in a new container's /etc/hosts: $hosts_a"

echo "-- prune in root A keeps the bridge while root B's container uses it"
mctr rm -f web >/dev/null
mctr system prune >/dev/null
[[ -d /sys/class/net/$MINICTR_BRIDGE ]] || fail "prune in A removed the bridge under B's container"
nft list table ip "$MINICTR_NFT_TABLE" >/dev/null 2>&1 || fail "prune in A removed the nft table"
veth_b=mctr$(mctrb inspect -f '{{.Id}}' web | cut -c1-8)
assert_eq "$MINICTR_BRIDGE" "$(basename "$(readlink "/sys/class/net/$veth_b/master")")" "B's veth is still on the bridge"
mctrb exec web ping -c 1 -W 2 "$(mctrb inspect -f '{{.NetworkSettings.Gateway}}' web)" >/dev/null ||
  fail "B's container lost its network"

echo "-- the last root's prune removes bridge and table"
mctrb rm -f web >/dev/null
mctrb system prune >/dev/null
[[ ! -e /sys/class/net/$MINICTR_BRIDGE ]] || fail "bridge left after both roots pruned"
! nft list table ip "$MINICTR_NFT_TABLE" >/dev/null 2>&1 || fail "nft table left after both roots pruned"

echo "-- no configured subnet: the first free one of the pools, skipping host addresses"
ip link add "$other_br" type bridge  # another bridge, down: no route, only its address
ip addr add "10.199.$_n.1/26" dev "$other_br"  # takes the pool's first /26
printf '{"default-address-pools": [{"base": "10.199.%s.0/24", "size": 26}]}\n' "$_n" >"$TEST_TMP/daemon.json"
got=$(MINICTR_SUBNET='' MINICTR_CONFIG=$TEST_TMP/daemon.json mctr run --rm busybox ip -4 -o addr show eth0)
assert_contains "$got" "10.199.$_n.66/26" "the second /26 of the pool (the first holds the other bridge's address)"
# A second root on the same bridge uses the bridge's subnet, whatever its own setting.
got=$(MINICTR_SUBNET='' MINICTR_CONFIG=$TEST_TMP/daemon.json mctrb run --rm busybox ip -4 -o addr show eth0)
assert_contains "$got" "10.199.$_n.66/26" "root B on the existing bridge"
out=$(MINICTR_SUBNET=10.199.$_n.128/26 mctrb run --rm busybox true 2>&1) && fail "a conflicting subnet was accepted"
assert_contains "$out" "already has subnet 10.199.$_n.64/26" "a configured subnet that disagrees with the bridge"
printf '{"bip": "10.199.%s.1/40"}\n' "$_n" >"$TEST_TMP/bad.json"
out=$(MINICTR_SUBNET='' MINICTR_CONFIG=$TEST_TMP/bad.json mctr run --rm busybox true 2>&1) && fail "bad settings accepted"
assert_contains "$out" "$TEST_TMP/bad.json: bip:" "a bad settings file is named"
echo "PASS test_shared_roots"
