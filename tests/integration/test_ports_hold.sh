#!/usr/bin/env bash
# Published host ports are held (bound, and listened on for TCP) by the
# container's supervisor while it runs, as Docker's proxy holds them: a host
# program that binds one later gets EADDRINUSE instead of a port that never
# sees local traffic; a second container asking for it fails with Docker's
# message and leaves nothing behind; -p 0:80 and -p 80 get a free host port
# that ps/inspect show; rm frees the port again.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null
mkdir -p "$TEST_TMP/www"
echo "hello from httpd" > "$TEST_TMP/www/index.html"
port=$((19000 + _n))  # _n: the test's reserved number (lib.sh)
uport=$((19300 + _n))
busy=$((19600 + _n))

wait_http() {
  for _ in $(seq 50); do curl -fsS -m 1 "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# try_bind IP PORT tcp|udp [reuse]: what a host program's bind(2) gets,
# "ok" or the errno's name (with "reuse": SO_REUSEADDR first, as most servers do).
try_bind() {
  python3 - "$@" <<'PY'
import errno, socket, sys
ip, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
if len(sys.argv) > 4:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((ip, port))
    if proto == "tcp":
        s.listen(1)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

# host_port NAME CONTAINER_PORT/PROTO: the host port inspect reports.
host_port() {
  mctr inspect "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["NetworkSettings"]["Ports"][sys.argv[1]][0]["HostPort"])' "$2"
}

# Nothing of a failed run is left running or attached: the running
# containers are exactly $@ (by name), and only they have a veth, DNAT rules
# and an address lease.
assert_nothing_left() {
  local what=$1
  shift
  assert_eq "$(printf '%s\n' "$@" | sed '/^$/d' | sort)" "$(mctr ps | awk 'NR > 1 { print $NF }' | sort)" \
    "$what: running containers"
  assert_eq "$#" "$(ls "/sys/class/net/$MINICTR_BRIDGE/brif" 2>/dev/null | wc -l)" "$what: veths"
  assert_eq "$#" "$( (nft list table ip "$MINICTR_NFT_TABLE" 2>/dev/null || true) | grep -c 'dnat to' || true)" \
    "$what: DNAT rules"
  assert_eq "$#" "$(grep -vc '^#' "$MINICTR_RUN_DIR/networks/$MINICTR_BRIDGE/leases" || true)" \
    "$what: address leases"
}

# As Docker (its container stays "Created"), a run whose host port is taken
# leaves the container, not running, with the error recorded; it starts once
# the port is free.
assert_failed_start() {
  assert_eq "exited 125" "$(mctr inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$1")" "$1: state"
  assert_contains "$(mctr inspect -f '{{.State.Error}}' "$1")" "port is already allocated" "$1: recorded error"
}

[[ $(try_bind 0.0.0.0 "$port" tcp) == ok ]] || fail "port $port is busy on this host before the test"

echo "-- a published TCP port is held: a later host bind gets EADDRINUSE, traffic still reaches the container"
mctr run -d --name web -p "$port:80" -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
out=$(wait_http "http://127.0.0.1:$port/") || fail "no answer on 127.0.0.1:$port"
assert_eq "hello from httpd" "$out" "published port on 127.0.0.1"
assert_eq EADDRINUSE "$(try_bind 0.0.0.0 "$port" tcp)" "host bind of 0.0.0.0:$port"
assert_eq EADDRINUSE "$(try_bind 0.0.0.0 "$port" tcp reuse)" "host bind of 0.0.0.0:$port with SO_REUSEADDR"
assert_eq EADDRINUSE "$(try_bind 127.0.0.1 "$port" tcp reuse)" "host bind of 127.0.0.1:$port"
out=$(curl -fsS -m 2 "http://127.0.0.1:$port/") || fail "no answer on 127.0.0.1:$port after the binds"
assert_eq "hello from httpd" "$out" "published port still reaches the container"

echo "-- a published UDP port is held too"
mctr run -d --name dns -p "127.0.0.1:$uport:53/udp" busybox sleep 60 >/dev/null
assert_eq EADDRINUSE "$(try_bind 127.0.0.1 "$uport" udp)" "host bind of 127.0.0.1:$uport/udp"
assert_eq EADDRINUSE "$(try_bind 0.0.0.0 "$uport" udp reuse)" "host bind of 0.0.0.0:$uport/udp with SO_REUSEADDR"
assert_eq ok "$(try_bind 127.0.0.1 "$uport" tcp)" "the same port number over TCP is not held"
pid=$(mctr inspect -f '{{.State.Pid}}' dns)
[[ -z $(ls -l /proc/"$pid"/fd | grep socket:) ]] || fail "the container's sleep inherited a socket"

echo "-- a second container asking for the same host port fails with Docker's message, nothing half-made"
set +e
err=$(mctr run -d --name web2 -p "$port:80" busybox httpd -f -p 80 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "exit code of a taken host port"
assert_contains "$err" "Bind for 0.0.0.0:$port failed: port is already allocated" "taken host port message"
assert_eq 1 "$(echo "$err" | wc -l)" "one line"
assert_nothing_left "taken by a container" web dns
assert_failed_start web2
assert_eq 125 "$(run_rc mctr run --rm --name gone -p "127.0.0.1:$port:80" busybox true)" \
  "127.0.0.1 of a port held on all addresses"
[[ -z $(mctr ps -a | awk '$NF == "gone"') ]] || fail "--rm left the failed container"
assert_nothing_left "127.0.0.1 of a held port" web dns

echo "-- a host program listening on the port: the run fails the same way"
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("0.0.0.0",int(sys.argv[1]))); s.listen(1); print("up",flush=True); time.sleep(60)' "$busy" \
  > "$TEST_TMP/busy.out" &
HOST_PIDS+=($!)
for _ in $(seq 50); do [[ -s $TEST_TMP/busy.out ]] && break; sleep 0.1; done
set +e
err=$(mctr run -d --name web3 -p "$busy:80" busybox sleep 60 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "exit code of a port a host program has"
assert_contains "$err" "Bind for 0.0.0.0:$busy failed: port is already allocated" "host program's port message"
assert_nothing_left "taken by a host program" web dns
assert_failed_start web3

echo "-- -p 0:80, -p 80 and -p 127.0.0.1::80 get a free host port, shown by inspect and ps, held, reachable"
mctr run -d --name zero -p 0:80 -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
mctr run -d --name bare -p 80 -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
mctr run -d --name local -p 127.0.0.1::80 -v "$TEST_TMP/www:/www:ro" busybox httpd -f -p 80 -h /www >/dev/null
declare -A picked
for name in zero bare local; do
  hp=$(host_port "$name" 80/tcp)
  [[ $hp =~ ^[0-9]+$ && $hp -gt 0 ]] || fail "$name: inspect HostPort is '$hp'"
  picked[$name]=$hp
  ip=0.0.0.0
  [[ $name == local ]] && ip=127.0.0.1
  assert_contains "$(mctr ps | awk -v n="$name" '$NF == n')" "$ip:$hp->80/tcp" "$name: ps"
  out=$(wait_http "http://127.0.0.1:$hp/") || fail "$name: no answer on 127.0.0.1:$hp"
  assert_eq "hello from httpd" "$out" "$name: published port"
  assert_eq EADDRINUSE "$(try_bind "$ip" "$hp" tcp reuse)" "$name: host bind of the picked port $hp"
done
[[ ${picked[zero]} != "${picked[bare]}" && ${picked[bare]} != "${picked[local]}" ]] ||
  fail "two containers got the same host port: ${picked[*]}"

echo "-- rm -f frees the host ports"
mctr rm -f web dns zero bare local web2 web3 >/dev/null
assert_eq ok "$(try_bind 0.0.0.0 "$port" tcp reuse)" "host bind of $port after rm"
assert_eq ok "$(try_bind 127.0.0.1 "$uport" udp)" "host bind of $uport/udp after rm"
for name in zero bare local; do
  assert_eq ok "$(try_bind 0.0.0.0 "${picked[$name]}" tcp reuse)" "host bind of ${picked[$name]} ($name) after rm"
done
assert_nothing_left "after rm"
echo "PASS"
