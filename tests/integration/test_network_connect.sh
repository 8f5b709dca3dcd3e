#!/usr/bin/env bash
# `network connect [--alias]` / `network disconnect [-f]` of a running
# container, as Docker: connect adds eth1 on the other network's bridge with
# an address leased there, so that network's name server and its containers'
# /etc/hosts know the container (and its alias); inspect lists both
# networks; disconnect takes the veth, the lease and the names away again,
# and so do the container's exit and its rm. The connection outlives a run:
# the next start attaches it again, and a stopped container can be
# connected. Refusals: Docker's messages.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
front_subnet=10.194.$_n.0/26
back_subnet=10.194.$_n.64/26
trap 'rc=$?; set +e; mctr rm -f a b >/dev/null 2>&1; mctr network rm front back >/dev/null 2>&1; _cleanup $rc' EXIT
mctr network create --subnet "$front_subnet" front >/dev/null
back_id=$(mctr network create --subnet "$back_subnet" back)
back_leases=$MINICTR_RUN_DIR/networks/br-${back_id:0:12}/leases

mctr run -d --name a --network front busybox sleep 1000 >/dev/null
mctr run -d --name b --network back busybox sleep 1000 >/dev/null
a_id=$(mctr inspect -f '{{.Id}}' a)
veth=mctr${a_id:0:8}.1

# resolves NAME IP: does back's name server answer NAME with IP (asked by b, on back)?
resolves() { mctr exec b nslookup "$1" 2>/dev/null | grep -A3 "^Name:" | grep -c "$2\$" >/dev/null; }
# networks_of C: the networks inspect lists; ip_on C NET: C's address there.
networks_of() { mctr inspect "$1" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"])))'; }
ip_on() { mctr inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"].get(sys.argv[1], {}).get("IPAddress", ""))' "$2"; }

echo "-- connect: eth1 with an address of back, names on back"
mctr network connect --alias db-primary back a
a_back_ip=$(ip_on a back)
[[ $a_back_ip == 10.194.$_n.* ]] || fail "inspect shows no address of back for a: '$a_back_ip'"
assert_eq "back front" "$(networks_of a)" "inspect lists both networks"
assert_contains "$(mctr exec a ip -4 addr show eth1)" "$a_back_ip/26" "eth1 in a carries the back address"
[[ $(mctr exec a ip route) == "default via 10.194.$_n.1 dev eth0"* ]] || fail "the default route left eth0: $(mctr exec a ip route)"
mctr exec b ping -c 1 -W 2 a >/dev/null || fail "b cannot reach a by name on back"
mctr exec a ping -c 1 -W 2 b >/dev/null || fail "a cannot reach b by name over eth1"
resolves db-primary "$a_back_ip" || fail "back's name server does not answer a's alias"
grep -c "^$a_id"$'\t' "$back_leases" >/dev/null || fail "no lease of a in back's lease file"
[[ -d /sys/class/net/$veth ]] || fail "no host veth $veth"

echo "-- refusals"
set +e
out=$(mctr network connect back a 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "connect twice: exit code ($out)"
assert_contains "$out" "endpoint with name a already exists in network back" "connect twice"
set +e
out=$(mctr network connect host a 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "connect to host: exit code ($out)"
set +e
out=$(mctr network rm back 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "network rm of a network a is connected to ($out)"
assert_contains "$out" "has active endpoints" "network rm of a connected network"

echo "-- disconnect: veth, lease and names gone"
mctr network disconnect back a
! mctr exec a ip addr show eth1 >/dev/null 2>&1 || fail "eth1 is still in a"
[[ ! -e /sys/class/net/$veth ]] || fail "disconnect left the veth $veth"
! grep -c "^$a_id"$'\t' "$back_leases" >/dev/null || fail "disconnect left a's lease"
! resolves db-primary "$a_back_ip" || fail "back's name server still answers a's alias"
assert_eq "front" "$(networks_of a)" "inspect after disconnect"
set +e
out=$(mctr network disconnect back a 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "disconnect of a network a is not on ($out)"
mctr network disconnect -f back a || fail "disconnect -f of a network a is not on"

echo "-- the container's exit undoes a connect"
mctr network connect back a
a_back_ip=$(ip_on a back)
resolves a "$a_back_ip" || fail "a not resolvable on back after the second connect"
mctr stop -t 0 a >/dev/null
! grep -c "^$a_id"$'\t' "$back_leases" >/dev/null || fail "the exit left a's lease on back"
[[ ! -e /sys/class/net/$veth ]] || fail "the exit left the veth $veth"
! resolves a "$a_back_ip" || fail "back's name server still answers a after its exit"
assert_contains "$(networks_of a)" "back" "a stopped keeps its connection (Docker's endpoint config)"
assert_eq "" "$(ip_on a back)" "a stopped has no address on back"

echo "-- the next start attaches it again"
mctr start a >/dev/null
a_back_ip=$(ip_on a back)
[[ $a_back_ip == 10.194.$_n.* ]] || fail "a restarted has no address on back: '$a_back_ip'"
assert_contains "$(mctr exec a ip -4 addr show eth1)" "$a_back_ip/26" "eth1 again after the restart"
resolves a "$a_back_ip" || fail "back's name server does not answer a after its restart"
mctr exec a ping -c 1 -W 2 b >/dev/null || fail "a cannot reach b after its restart"

echo "-- a stopped container can be connected: attached at its start"
mctr network disconnect back a
mctr stop -t 0 a >/dev/null
mctr network connect --alias late back a
assert_contains "$(networks_of a)" "back" "connect of a stopped container is recorded"
mctr start a >/dev/null
resolves late "$(ip_on a back)" || fail "the alias given while stopped does not resolve after the start"

echo "-- and rm -f undoes it"
mctr rm -f a >/dev/null
! grep -c "^$a_id"$'\t' "$back_leases" >/dev/null || fail "rm -f left a's lease on back"
mctr network rm front >/dev/null
echo "PASS test_network_connect"
