#!/usr/bin/env bash
# The name server of a user network (container/network_dns.h): containers
# on it resolve each other's names, --network-alias names and short ids through DNS at their
# gateway (their resolv.conf names it), a container that leaves is no longer
# found, other names are forwarded (or SERVFAIL, not a hang), the default
# bridge keeps the host's name servers, and the server is gone with the network.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
subnet=10.197.$_n.0/26
gateway=10.197.$_n.1

server_pids() { pgrep -f "dns-serve --bridge $1( |$)" || true; }

id=$(mctr network create --subnet "$subnet" dnsnet)
bridge=br-${id:0:12}

echo "-- resolv.conf names the network's server; the default bridge keeps the host's"
resolv=$(mctr run --rm --network dnsnet busybox cat /etc/resolv.conf)
assert_eq "nameserver $gateway" "$(grep nameserver <<<"$resolv")" "resolv.conf on dnsnet"
[[ $(mctr run --rm busybox cat /etc/resolv.conf) != *"$gateway"* ]] || fail "the default bridge got dnsnet's server"

echo "-- names and short ids resolve by DNS, not /etc/hosts"
web=$(mctr run -d --name web --network dnsnet busybox sleep 1000)
ip_web=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' web)
out=$(mctr run --rm --network dnsnet busybox nslookup -type=a web "$gateway")
assert_contains "$out" "Address: $ip_web" "nslookup web"
out=$(mctr run --rm --network dnsnet busybox nslookup -type=a "${web:0:12}" "$gateway")
assert_contains "$out" "Address: $ip_web" "nslookup of web's short id"
# The name is known without IPv6: an empty answer, not NXDOMAIN.
out=$(mctr run --rm --network dnsnet busybox nslookup -type=aaaa WEB "$gateway" 2>&1 || true)
[[ $out != *NXDOMAIN* ]] || fail "AAAA of a known name says NXDOMAIN: $out"
[[ -n $(server_pids "$bridge") ]] || fail "no name server for $bridge"

echo "-- --network-alias: more names on the user network only"
mctr run -d --name db --network dnsnet --network-alias database --network-alias store busybox sleep 1000 >/dev/null
ip_db=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' db)
for name in database store; do
  out=$(mctr run --rm --network dnsnet busybox nslookup -type=a "$name" "$gateway")
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

echo "-- a stopped container is no longer found; an unknown name fails fast"
mctr rm -f web >/dev/null
set +e
out=$(timeout 20 "$MINICTR" run --rm --network dnsnet busybox nslookup -type=a web "$gateway" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "nslookup of a removed container: rc $rc ($out)"
start=$(date +%s)
timeout 20 "$MINICTR" run --rm --network dnsnet busybox nslookup -type=a no-such-name.invalid "$gateway" >/dev/null 2>&1 || true
(($(date +%s) - start < 15)) || fail "an unknown name took $(($(date +%s) - start)) s"

echo "-- network rm stops the server"
mctr network rm dnsnet >/dev/null
[[ -z $(server_pids "$bridge") ]] || fail "the name server of $bridge outlived its network"
echo PASS
