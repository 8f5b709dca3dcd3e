#!/usr/bin/env bash
# `run --network container:NAME|ID`: the container joins another one's
# network namespace, as Docker's container network mode (a pod's sandbox):
# the same interfaces and address, its services on 127.0.0.1, its hostname,
# /etc/hosts and resolv.conf (the same files: a later rewrite, as a
# `network connect`'s, shows in both) and its 127.0.0.11; no veth and no
# lease of its own. Refused (125)
# with -p, with --hostname, for an unknown container and for one that does
# not run.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
trap 'rc=$?; set +e; mctr rm -f a j k b >/dev/null 2>&1; mctr network rm podnet >/dev/null 2>&1; _cleanup $rc' EXIT
mctr network create --subnet "10.193.$_n.0/26" podnet >/dev/null
mkdir -p "$TEST_TMP/www"
echo "served in a" >"$TEST_TMP/www/index.html"
mctr run -d --name a --hostname sandbox --network podnet -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 127.0.0.1:8080 -h /www >/dev/null
a_id=$(mctr inspect -f '{{.Id}}' a)
a_ip=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' a)

echo "-- the joined namespace: a's loopback service, address, hostname, resolv.conf"
for _ in $(seq 30); do
  out=$(mctr run --rm --network "container:a" busybox wget -q -O - http://127.0.0.1:8080/ 2>/dev/null) && break
  sleep 0.1
done
assert_eq "served in a" "${out:-}" "a's service on 127.0.0.1 from the joined container"
assert_contains "$(mctr run --rm --network "container:${a_id:0:12}" busybox ip -4 addr show eth0)" "$a_ip/26" "the same eth0 (by id prefix)"
assert_eq "sandbox" "$(mctr run --rm --network container:a busybox hostname)" "a's hostname"
assert_eq "$(mctr exec a cat /etc/resolv.conf)" "$(mctr run --rm --network container:a busybox cat /etc/resolv.conf)" "a's resolv.conf"
mctr run -d --name j --network container:a busybox sleep 1000 >/dev/null
assert_eq "container:$a_id" "$(mctr inspect -f '{{.HostConfig.NetworkMode}}' j)" "NetworkMode records the id"
assert_eq "$a_id" "$(awk -F'\t' '!/^#/ { print $1 }' "$(ls "$MINICTR_RUN_DIR"/networks/br-*/leases)")" "one lease on podnet: a's"

echo "-- a's files, not copies: the same inodes; a resolv.conf rewritten after the join shows in the joiner"
assert_eq "$(mctr inspect -f '{{.HostsPath}} {{.ResolvConfPath}}' a)" "$(mctr inspect -f '{{.HostsPath}} {{.ResolvConfPath}}' j)" "j's HostsPath and ResolvConfPath (a's)"
assert_eq "$(stat -c %i "$(mctr inspect -f '{{.HostsPath}}' a)")" "$(mctr exec j stat -c %i /etc/hosts)" "inode of j's /etc/hosts (a's file)"
assert_eq "$(stat -c %i "$(mctr inspect -f '{{.ResolvConfPath}}' a)")" "$(mctr exec j stat -c %i /etc/resolv.conf)" "inode of j's /etc/resolv.conf (a's file)"
assert_eq "nameserver 127.0.0.11" "$(mctr exec j grep ^nameserver /etc/resolv.conf)" "j's name server"
assert_contains "$(mctr exec j nslookup -type=a a)" "Address: $a_ip" "nslookup a in j (a's 127.0.0.11)"
# b on the default bridge has the host's name servers; k joins it; then b is
# connected to podnet: b's resolv.conf is rewritten (in place) to 127.0.0.11.
mctr run -d --name b busybox sleep 1000 >/dev/null
mctr run -d --name k --network container:b busybox sleep 1000 >/dev/null
[[ $(mctr exec k cat /etc/resolv.conf) != *127.0.0.11* ]] || fail "k has 127.0.0.11 before b's connect"
mctr network connect podnet b
assert_eq "nameserver 127.0.0.11" "$(mctr exec k grep ^nameserver /etc/resolv.conf)" "k's name server after b's connect"
assert_contains "$(mctr exec k nslookup -type=a a)" "Address: $a_ip" "nslookup a in k after b's connect"
mctr rm -f k b >/dev/null
mctr rm -f j >/dev/null

echo "-- refusals: 125 and Docker's message"
refused() {  # refused MESSAGE ARGS...: run ARGS, expect 125 and MESSAGE
  local msg=$1 out rc
  shift
  set +e
  out=$(mctr run --rm "$@" busybox true 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "run $* ($out)"
  assert_contains "$out" "$msg" "run $*"
}
refused "conflicting options: port publishing and the container type network mode" --network container:a -p 8081:80
refused "conflicting options: hostname and the network mode" --network container:a --hostname other
refused "No such container: nosuch" --network container:nosuch
mctr stop -t 0 a >/dev/null
refused "non running container" --network container:a
echo "PASS test_network_container"
