#!/usr/bin/env bash
# Bridge networking: published ports from the host's loopback, container to
# container by IP (as on Docker's default bridge, /etc/hosts names no other
# container, and no start rewrites another's), port ranges, IPv6 (MINICTR_SUBNET6),
# --network none/host, parallel address allocation, and nothing left in
# nft/ip link after rm + prune.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null
mkdir -p "$TEST_TMP/www"
echo "hello from httpd" > "$TEST_TMP/www/index.html"
port=$((17000 + _n))  # _n: the test's reserved number (lib.sh)

wait_http() {
  for _ in $(seq 50); do curl -fsS -m 1 "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

echo "-- busybox httpd published with -p answers on 127.0.0.1 and localhost"
mctr run -d --name web -p "$port:80" -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
out=$(wait_http "http://127.0.0.1:$port/") || fail "no answer on 127.0.0.1:$port"
assert_eq "hello from httpd" "$out" "published port on 127.0.0.1"
out=$(curl -fsS -m 2 "http://localhost:$port/")
assert_eq "hello from httpd" "$out" "published port on localhost"
mctr ps | grep -c "0.0.0.0:$port->80/tcp" >/dev/null || fail "ps shows the port"
ip=$(mctr inspect web | grep '"IPAddress"' | head -1 | cut -d'"' -f4)
[[ $ip == 10.199.* ]] || fail "inspect IPAddress: '$ip'"

echo "-- another container reaches it by IP and via the host address"
gw=$(mctr inspect web | grep '"Gateway"' | head -1 | cut -d'"' -f4)
out=$(mctr run --rm busybox wget -qO- "http://$ip/")
assert_eq "hello from httpd" "$out" "container to container by IP"
out=$(mctr run --rm busybox wget -qO- "http://$gw:$port/")
assert_eq "hello from httpd" "$out" "container to published port via the host address"

echo "-- /etc/hosts names the container itself only, as on Docker's default bridge"
mctr run -d --name early busybox sleep 60 >/dev/null
early_ip=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' early)
hosts_before=$(mctr exec early cat /etc/hosts)
assert_contains "$hosts_before" "$early_ip	" "early's own line"
[[ $hosts_before != *"$ip"* ]] || fail "early's /etc/hosts names web ($ip): $hosts_before"
mctr run -d --name late busybox sleep 60 >/dev/null
late_hosts=$(mctr exec late cat /etc/hosts)
[[ $late_hosts != *"$ip"* && $late_hosts != *"$early_ip"* ]] || fail "late's /etc/hosts names a peer: $late_hosts"
assert_eq "$hosts_before" "$(mctr exec early cat /etc/hosts)" "early's /etc/hosts after late started"
mctr rm -f late early >/dev/null

echo "-- an IPv4-only network gives its interfaces no IPv6 (Docker, CVE-2024-32473): neither end of the veth"
if [[ -d /proc/sys/net/ipv6 ]]; then
  assert_eq 1 "$(mctr exec web cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "web's eth0 disable_ipv6"
  assert_eq "" "$(mctr exec web cat /proc/net/if_inet6 | grep eth0)" "web's eth0 has an IPv6 address"
  assert_contains "$(mctr exec web cat /proc/net/if_inet6)" " lo" "web's lo keeps ::1"
  web_id=$(mctr inspect -f '{{.Id}}' web)
  assert_eq 1 "$(cat "/proc/sys/net/ipv6/conf/mctr${web_id:0:8}/disable_ipv6")" "host end of web's veth disable_ipv6"
fi

echo "-- port ranges: 8000-8002:80-82 publishes three ports, one DNAT rule each"
r=$((18000 + _n * 8))  # 8 ports of our own per reserved number
mctr run -d --name ranged -p "$r-$((r + 2)):80-82" -p "127.0.0.1:$((r + 3))-$((r + 4)):$((r + 3))-$((r + 4))/udp" \
  -v "$TEST_TMP/www:/www:ro" busybox sh -c 'httpd -p 80 -h /www; httpd -p 81 -h /www; httpd -f -p 82 -h /www' >/dev/null
for i in 0 1 2; do
  out=$(wait_http "http://127.0.0.1:$((r + i))/") || fail "no answer on range port $((r + i))"
  assert_eq "hello from httpd" "$out" "range port $((r + i)) -> $((80 + i))"
done
ports=$(mctr inspect ranged | python3 -c 'import json,sys; print(" ".join(sorted(k + "=" + v[0]["HostIp"] + ":" + v[0]["HostPort"] for k, v in json.load(sys.stdin)[0]["NetworkSettings"]["Ports"].items())))')
assert_eq "$((r + 3))/udp=127.0.0.1:$((r + 3)) $((r + 4))/udp=127.0.0.1:$((r + 4)) 80/tcp=0.0.0.0:$r 81/tcp=0.0.0.0:$((r + 1)) 82/tcp=0.0.0.0:$((r + 2))" \
  "$ports" "inspect NetworkSettings.Ports"
rid=$(mctr inspect ranged | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
assert_eq 5 "$(nft list table ip "$MINICTR_NFT_TABLE" | grep -c "dnat to .*comment \"$rid\"")" "one DNAT rule per port"
echo "-- 8080-8081:80 picks one free host port of the range"
mctr run -d --name pick1 -p "$((r + 5))-$((r + 6)):80" busybox sleep 60 >/dev/null
mctr run -d --name pick2 -p "$((r + 5))-$((r + 6)):80" busybox sleep 60 >/dev/null
assert_contains "$(mctr ps)" "0.0.0.0:$((r + 5))->80/tcp" "first pick"
assert_contains "$(mctr ps)" "0.0.0.0:$((r + 6))->80/tcp" "second pick"
err=$(mctr run -d --name pick3 -p "$((r + 5))-$((r + 6)):80" busybox sleep 60 2>&1) && fail "full range accepted"
assert_contains "$err" "no free host port in $((r + 5))-$((r + 6)):80/tcp" "full range error"
mctr rm -f ranged pick1 pick2 >/dev/null
mctr rm -f pick3 >/dev/null 2>&1 || true
echo "-- bad ranges exit 125 with a one-line reason"
set +e
err=$(mctr run --rm -p 8000-8001:80-82 busybox true 2>&1); rc=$?
set -e
assert_eq 125 "$rc" "exit code of a size mismatch"
assert_contains "$err" "host port range has 2 ports but container port range has 3" "size mismatch message"
assert_eq 1 "$(echo "$err" | wc -l)" "one line"
assert_eq 125 "$(run_rc mctr run --rm -p 82-80:80 busybox true)" "reversed range"
assert_eq 125 "$(run_rc mctr run --rm -p 8000:80-82 busybox true)" "one host port, three container ports"

echo "-- NET I/O in stats grows with traffic"
rx=$(mctr stats --no-stream --format json web | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["NetTxBytes"])')
[[ $rx -gt 0 ]] || fail "stats NET I/O is zero after requests"

echo "-- --network none: only lo; --network host: the host's interfaces"
assert_eq "lo" "$(mctr run --rm --network none busybox ls /sys/class/net)" "none"
# The same network namespace as the host (not a count of interfaces: tests
# running beside this one add and remove veths and bridges meanwhile).
assert_eq "$(readlink /proc/self/ns/net)" "$(mctr run --rm --network host busybox readlink /proc/self/ns/net)" "host netns"
uplink=$(ip -o route show default | awk '{print $5; exit}')
if [[ -n $uplink ]]; then
  assert_contains "$(mctr run --rm --network host busybox ls /sys/class/net)" "$uplink" "host: the uplink $uplink"
fi

echo "-- 20 containers started in parallel get 20 distinct addresses"
for i in $(seq 20); do
  mctr run -d --name p$i busybox sleep 60 >/dev/null &
done
wait
ips=$(for i in $(seq 20); do mctr inspect p$i | grep '"IPAddress"' | head -1 | cut -d'"' -f4; done)
assert_eq 20 "$(echo "$ips" | grep -c .)" "20 addresses"
assert_eq 20 "$(echo "$ips" | sort -u | wc -l)" "20 distinct addresses"
for i in $(seq 20); do mctr rm -f p$i >/dev/null & done
wait

echo "-- IPv6 (MINICTR_SUBNET6): address and route in the container, published port on the host's IPv6 address"
export MINICTR_SUBNET6="fd00:6d63:7472:$_n::/64"  # private to this test, like MINICTR_SUBNET
# minictr turns on IPv6 forwarding (as it does ip_forward); give the host its setting back at exit.
fwd6=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
trap 'rc=$?; echo "$fwd6" >/proc/sys/net/ipv6/conf/all/forwarding; _cleanup $rc' EXIT
mctr run -d --name web6 -p "$((r + 7)):80" -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
v6=$(mctr inspect web6 | python3 -c 'import json,sys; n=json.load(sys.stdin)[0]["NetworkSettings"]; print(n["GlobalIPv6Address"], n["GlobalIPv6PrefixLen"], n["IPv6Gateway"])')
read -r ip6 len6 gw6 <<<"$v6"
[[ $ip6 == fd00:6d63:7472:$_n::* && $len6 == 64 && $gw6 == "fd00:6d63:7472:$_n::1" ]] || fail "inspect IPv6: '$v6'"
# The container's default IPv6 route (/proc/net/ipv6_route: dst, len, ..., next hop) points at the bridge.
route=$(mctr exec web6 cat /proc/net/ipv6_route | awk '$1 == "00000000000000000000000000000000" && $2 == "00" {print $5}')
[[ -n $route && $route != 00000000000000000000000000000000 ]] || fail "no IPv6 default route via a gateway in web6"
mctr exec web6 grep -q "^$ip6[[:space:]].*web6" /etc/hosts || fail "web6's /etc/hosts has no line for its own IPv6 address"
assert_eq 0 "$(mctr exec web6 cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "web6's eth0 keeps IPv6"
out=$(mctr run --rm busybox wget -qO- "http://[$ip6]/") || fail "container to container over IPv6"
assert_eq "hello from httpd" "$out" "container to container over IPv6"
out=$(wait_http "http://[$gw6]:$((r + 7))/") || fail "no answer on [$gw6]:$((r + 7))"
assert_eq "hello from httpd" "$out" "published port on the host's IPv6 address"
nft list table ip6 "$MINICTR_NFT_TABLE" | grep -c "dport $((r + 7)) dnat to \[$ip6\]:80" >/dev/null || fail "no ip6 DNAT rule"
mctr rm -f web6 >/dev/null
nft list table ip6 "$MINICTR_NFT_TABLE" | grep -c "dport $((r + 7))" >/dev/null && fail "ip6 DNAT rule left after rm"

echo "-- an IPv6 subnet that overlaps a host route is refused, and nothing is left"
dummy=mctrd$_n  # a veth pair stands in for any interface with a route (no dummy module here)
ip link add "$dummy" type veth peer name "${dummy}p"
ip -6 addr add "fd00:6d63:7473:$_n::1/64" dev "$dummy" nodad
ip link set "$dummy" up
rc=$(MINICTR_SUBNET6="fd00:6d63:7473:$_n::/64" MINICTR_BRIDGE=mctrv$_n MINICTR_NFT_TABLE=minictr_v$_n \
  MINICTR_SUBNET=10.197.$_n.0/24 run_rc mctr run --rm busybox true)
err=$(MINICTR_SUBNET6="fd00:6d63:7473:$_n::/64" MINICTR_BRIDGE=mctrv$_n MINICTR_NFT_TABLE=minictr_v$_n \
  MINICTR_SUBNET=10.197.$_n.0/24 mctr run --rm busybox true 2>&1 || true)
ip link del "$dummy"
MINICTR_BRIDGE=mctrv$_n MINICTR_NFT_TABLE=minictr_v$_n MINICTR_SUBNET=10.197.$_n.0/24 mctr network prune >/dev/null
assert_eq 125 "$rc" "overlapping IPv6 subnet"
assert_contains "$err" "overlaps the host route fd00:6d63:7473:$_n::/64" "overlap error"
ip link show "mctrv$_n" >/dev/null 2>&1 && fail "bridge of the refused IPv6 subnet left behind"
unset MINICTR_SUBNET6

echo "-- rm removes the veth and the port rule; prune removes bridge and table"
mctr rm -f web >/dev/null
nft list table ip "$MINICTR_NFT_TABLE" | grep -c "dport $port" >/dev/null && fail "DNAT rule left after rm"
ip -o link | grep -c "master $MINICTR_BRIDGE" >/dev/null && fail "veth left after rm"
mctr system prune >/dev/null
nft list tables | grep -c "$MINICTR_NFT_TABLE" >/dev/null && fail "nft table (ip or ip6) left after prune"
ip link show "$MINICTR_BRIDGE" >/dev/null 2>&1 && fail "bridge left after prune"
echo PASS
