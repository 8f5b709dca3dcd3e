#!/usr/bin/env bash
# Bridge networking: published ports from the host's loopback, container to
# container by IP and by name, --network none/host, parallel address
# allocation, and nothing left in nft/ip link after rm + prune.
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
mctr ps | grep -q "0.0.0.0:$port->80/tcp" || fail "ps shows the port"
ip=$(mctr inspect web | grep '"IPAddress"' | head -1 | cut -d'"' -f4)
[[ $ip == 10.199.* ]] || fail "inspect IPAddress: '$ip'"

echo "-- another container reaches it by IP, by name and via the host address"
gw=$(mctr inspect web | grep '"Gateway"' | head -1 | cut -d'"' -f4)
out=$(mctr run --rm busybox wget -qO- "http://$ip/")
assert_eq "hello from httpd" "$out" "container to container by IP"
out=$(mctr run --rm busybox wget -qO- "http://web/")
assert_eq "hello from httpd" "$out" "container to container by name"
out=$(mctr run --rm busybox wget -qO- "http://$gw:$port/")
assert_eq "hello from httpd" "$out" "container to published port via the host address"

echo "-- NET I/O in stats grows with traffic"
rx=$(mctr stats --no-stream --format json web | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["NetTxBytes"])')
[[ $rx -gt 0 ]] || fail "stats NET I/O is zero after requests"

echo "-- --network none: only lo; --network host: the host's interfaces"
assert_eq "lo" "$(mctr run --rm --network none busybox ls /sys/class/net)" "none"
host_ifs=$(ls /sys/class/net | wc -l)
assert_eq "$host_ifs" "$(mctr run --rm --network host busybox ls /sys/class/net | wc -l)" "host"

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

echo "-- rm removes the veth and the port rule; prune removes bridge and table"
mctr rm -f web >/dev/null
nft list table ip "$MINICTR_NFT_TABLE" | grep -q "dport $port" && fail "DNAT rule left after rm"
ip -o link | grep -q "master $MINICTR_BRIDGE" && fail "veth left after rm"
mctr system prune >/dev/null
nft list tables | grep -q "$MINICTR_NFT_TABLE" && fail "nft table left after prune"
ip link show "$MINICTR_BRIDGE" >/dev/null 2>&1 && fail "bridge left after prune"
echo PASS
