#!/usr/bin/env bash
# The name server of a user network (container/network_dns.h): containers
# on it resolve each other's names, --network-alias names and short ids
# through DNS at 127.0.0.11 in their own network namespace, as Docker's
# embedded DNS (their resolv.conf names it, with ndots:0), a container that
# leaves is no longer found and its socket is closed, other names are
# forwarded (or SERVFAIL, not a hang), the default bridge keeps the host's
# name servers, and the server is gone with the network.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
subnet=10.197.$_n.0/26
gateway=10.197.$_n.1
resolver=127.0.0.11

server_pids() { pgrep -f "dns-serve --bridge $1( |$)" || true; }
# sockets PID: how many sockets the process holds (its control socket, one
# per container it answers for, upstream queries in flight).
sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
# wait_sockets PID N: until it holds N (containers that left are dropped
# when the server next reads the leases, within a second).
wait_sockets() {
  for _ in $(seq 30); do (($(sockets "$1") == $2)) && return; sleep 0.1; done
  assert_eq "$2" "$(sockets "$1")" "sockets of the name server"
}

id=$(mctr network create --subnet "$subnet" dnsnet)
bridge=br-${id:0:12}

echo "-- resolv.conf names 127.0.0.11 (Docker's); the default bridge keeps the host's"
resolv=$(mctr run --rm --network dnsnet busybox cat /etc/resolv.conf)
assert_eq "nameserver $resolver" "$(grep nameserver <<<"$resolv")" "resolv.conf on dnsnet"
assert_contains "$resolv" "options ndots:0" "resolv.conf on dnsnet"
trace=$(mctr run --explain --rm --network dnsnet busybox true 2>&1 >/dev/null)
assert_contains "$trace" "bound to $resolver:53, sent to dnsnet's name server" "--explain of a run on dnsnet"
[[ $(mctr run --rm busybox cat /etc/resolv.conf) != *"$resolver"* ]] || fail "the default bridge got dnsnet's server"

echo "-- names and short ids resolve by DNS, not /etc/hosts"
web=$(mctr run -d --name web --network dnsnet busybox sleep 1000)
ip_web=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' web)
out=$(mctr run --rm --network dnsnet busybox nslookup -type=a web "$resolver")
assert_contains "$out" "Address: $ip_web" "nslookup web 127.0.0.11"
out=$(mctr run --rm --network dnsnet busybox nslookup -type=a web)
assert_contains "$out" "Address:"$'\t'"$resolver:53" "nslookup web (resolv.conf's server)"
assert_contains "$out" "Address: $ip_web" "nslookup web (resolv.conf's server)"
out=$(mctr exec web nslookup -type=a web)
assert_contains "$out" "Address: $ip_web" "nslookup of its own name in web"
out=$(mctr run --rm --network dnsnet busybox nslookup -type=a "${web:0:12}" "$resolver")
assert_contains "$out" "Address: $ip_web" "nslookup of web's short id"
# The name is known without IPv6: an empty answer, not NXDOMAIN.
out=$(mctr run --rm --network dnsnet busybox nslookup -type=aaaa WEB "$resolver" 2>&1 || true)
[[ $out != *NXDOMAIN* ]] || fail "AAAA of a known name says NXDOMAIN: $out"
[[ -n $(server_pids "$bridge") ]] || fail "no name server for $bridge"

echo "-- --network-alias: more names on the user network only"
mctr run -d --name db --network dnsnet --network-alias database --network-alias store busybox sleep 1000 >/dev/null
ip_db=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' db)
for name in database store; do
  out=$(mctr run --rm --network dnsnet busybox nslookup -type=a "$name" "$resolver")
  assert_contains "$out" "Address: $ip_db" "nslookup of alias $name"
done
assert_eq '["database","store"]' "$(mctr inspect -f '{{json .NetworkSettings.Networks.dnsnet.Aliases}}' db)" "inspect's Aliases"
set +e
out=$(mctr run --rm --network-alias x busybox true 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "an alias on the default bridge: exit code ($out)"
assert_contains "$out" "only supported for user-defined networks" "an alias on the default bridge"
mctr rm -f db >/dev/null

echo "-- the server answers in the containers only: not on the gateway"
set +e
out=$(timeout 20 "$MINICTR" run --rm --network dnsnet busybox nslookup -timeout=1 -retry=0 -type=a web "$gateway" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 && $out != *"Address: $ip_web"* ]] || fail "the gateway answers DNS: $out"

echo "-- a stopped container is no longer found, and its socket is closed; an unknown name fails fast"
server=$(server_pids "$bridge")
assert_eq 1 "$(wc -w <<<"$server")" "name servers of $bridge"
wait_sockets "$server" 2 # dns.sock and web's 127.0.0.11
mctr rm -f web >/dev/null
wait_sockets "$server" 1
set +e
out=$(timeout 20 "$MINICTR" run --rm --network dnsnet busybox nslookup -type=a web "$resolver" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "nslookup of a removed container: rc $rc ($out)"
start=$(date +%s)
timeout 20 "$MINICTR" run --rm --network dnsnet busybox nslookup -type=a no-such-name.invalid "$resolver" >/dev/null 2>&1 || true
(($(date +%s) - start < 15)) || fail "an unknown name took $(($(date +%s) - start)) s"

echo "-- network rm stops the server"
mctr network rm dnsnet >/dev/null
[[ -z $(server_pids "$bridge") ]] || fail "the name server of $bridge outlived its network"
echo PASS
