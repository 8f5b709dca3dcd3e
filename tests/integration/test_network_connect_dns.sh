#!/usr/bin/env bash
# One resolver for all of a container's networks (Docker's 127.0.0.11): a
# container on front, connected to back with `network connect`, keeps its
# one 127.0.0.11, answered by front's name server, and that server answers
# the names and aliases of back too, for this container only; after the
# disconnect, back's names are gone again; after a restart (a new network
# namespace) it answers again. A container on the default bridge (the
# host's name servers: that bridge has none) gets a 127.0.0.11 answered by
# back's server once connected to back, and the host's again after the
# disconnect, when nothing answers at its 127.0.0.11 any more.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
trap 'rc=$?; set +e; mctr rm -f a c d db >/dev/null 2>&1; mctr network rm front back >/dev/null 2>&1; _cleanup $rc' EXIT
mctr network create --subnet "10.195.$_n.0/26" front >/dev/null
mctr network create --subnet "10.195.$_n.64/26" back >/dev/null

mctr run -d --name a --network front busybox sleep 1000 >/dev/null
mctr run -d --name c --network front busybox sleep 1000 >/dev/null
mctr run -d --name db --network back --network-alias primary busybox sleep 1000 >/dev/null
db_ip=$(mctr inspect db | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"]["back"]["IPAddress"])')
[[ $db_ip == 10.195.$_n.* ]] || fail "db has no address on back: '$db_ip'"

# answer C NAME [SERVER]: the address C's name server gives for NAME ("" for none).
answer() { mctr exec "$1" nslookup "$2" ${3:-} 2>/dev/null | grep -A3 "^Name:" | sed -n 's/^Address[ 0-9]*: *//p' | head -1 || true; }

assert_eq "" "$(answer a primary)" "a resolves back's alias before the connect"
mctr network connect back a
assert_eq "nameserver 127.0.0.11" "$(mctr exec a grep ^nameserver /etc/resolv.conf)" "a's name servers once on back too"
assert_eq "$db_ip" "$(answer a primary)" "a resolves db's alias on back"
assert_eq "$db_ip" "$(answer a primary 127.0.0.11)" "a resolves db's alias at 127.0.0.11"
assert_eq "$db_ip" "$(answer a db)" "a resolves db's name on back"
c_ip=$(mctr inspect c | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"]["front"]["IPAddress"])')
assert_eq "$c_ip" "$(answer a c)" "a still resolves c on front"
mctr exec a ping -c 1 -W 2 primary >/dev/null || fail "a cannot reach db by its alias"
assert_eq "" "$(answer c primary)" "c (on front only) resolves back's alias"

mctr network disconnect back a
assert_eq "" "$(answer a primary)" "a resolves back's alias after the disconnect"
assert_eq "$c_ip" "$(answer a c)" "a resolves c on front after the disconnect"

echo "-- a restart: a new network namespace, a new 127.0.0.11"
mctr network connect back a
mctr stop -t 0 a >/dev/null
mctr start a >/dev/null
assert_eq "nameserver 127.0.0.11" "$(mctr exec a grep ^nameserver /etc/resolv.conf)" "a's name server after the restart"
assert_eq "$c_ip" "$(answer a c)" "a resolves c after its restart"
assert_eq "$db_ip" "$(answer a primary)" "a resolves db's alias after its restart"
mctr network disconnect back a

echo "-- on the default bridge, connected to back"
mctr run -d --name d busybox sleep 1000 >/dev/null
own=$(mctr exec d cat /etc/resolv.conf)
assert_eq "" "$(answer d primary)" "d resolves back's alias before the connect"
mctr network connect back d
assert_eq "nameserver 127.0.0.11" "$(mctr exec d grep ^nameserver /etc/resolv.conf)" "d's name server once on back"
assert_eq "$db_ip" "$(answer d primary)" "d resolves db's alias on back"
mctr network disconnect back d
assert_eq "$own" "$(mctr exec d cat /etc/resolv.conf)" "d's resolv.conf after the disconnect"
assert_eq "" "$(answer d primary 127.0.0.11)" "d's 127.0.0.11 answers after the disconnect"
echo "PASS test_network_connect_dns"
