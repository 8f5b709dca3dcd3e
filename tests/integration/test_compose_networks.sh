#!/usr/bin/env bash
# minictr compose with several networks per service: `front` on network a,
# `back` on network b (alias db there), `api` on a, b and an external network
# made beforehand with `network create` (alias api-a on a only). api resolves
# front and back (by service, container name and alias); front cannot resolve
# back nor db (no network in common), back cannot resolve front; api's alias
# on a resolves on a only; a container outside the project, on the external
# network, reaches api by its service name there; api's published port answers.
# Errors in the file name its line and key. `down` removes the project's
# networks (bridges, nft tables) and keeps the external one.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null

proj=$TEST_TMP/cn
mkdir -p "$proj"
ext=cnext$_n
cat >"$proj/compose.yaml" <<EOF
services:
  front:
    image: busybox
    command: sleep 1000
    networks: [a]
  back:
    image: busybox
    command: sleep 1000
    networks:
      b:
        aliases: [db]
  api:
    image: busybox
    command: sh -c "mkdir -p /w && echo api-page > /w/index.html && exec httpd -f -p 80 -h /w"
    ports: ["80"]
    networks:
      a:
        aliases: [api-a]
      b:
      outside:
networks:
  a:
    ipam: {config: [{subnet: 10.188.$_n.0/26}]}
  b:
    name: cn$_n-back
    driver: bridge
    ipam: {config: [{subnet: 10.188.$_n.64/26, gateway: 10.188.$_n.65}]}
  outside:
    external: true
    name: $ext
EOF
compose() { mctr compose -f "$proj/compose.yaml" "$@"; }
trap 'rc=$?; set +e; compose down -t 0 >/dev/null 2>&1; mctr rm -f outsider >/dev/null 2>&1;
  mctr network rm "$ext" >/dev/null 2>&1; _cleanup $rc' EXIT

echo "-- an external network that does not exist yet is refused, and nothing is made"
set +e
out=$(compose up -d 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "up without the external network: exit code"
assert_contains "$out" "network $ext declared as external, but could not be found" "up without the external network"
assert_eq "" "$(mctr ps -a -q)" "containers after the refused up"
nets=$(mctr network ls --format '{{.Name}}')
[[ $nets != *cn_a* && $nets != *cn$_n-back* ]] || fail "the refused up made networks: $nets"

mctr network create --subnet "10.188.$_n.128/26" "$ext" >/dev/null
mctr run -d --name outsider --network "$ext" busybox sleep 1000 >/dev/null

echo "-- config: every network of api, the external one by its name"
config=$(compose config)
assert_contains "$config" "cn_a" "config: network a"
assert_contains "$config" "cn$_n-back" "config: network b by its name:"
assert_contains "$config" "aliases: [api-a]" "config: api's alias on a"

echo "-- up -d: a and b created, api on all three"
out=$(compose up -d 2>&1) || fail "up -d failed: $out"
assert_contains "$out" "Network cn_a  Created" "up creates a"
assert_contains "$out" "Network cn$_n-back  Created" "up creates b by its name:"
[[ $out != *"Network $ext  Created"* ]] || fail "up created the external network: $out"
[[ $out != *cn_default* ]] || fail "up made a default network no service uses: $out"

# ip C NETWORK: C's address on NETWORK (its own network or a connected one), "" if none.
ip() {
  mctr inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"].get(sys.argv[1], {}).get("IPAddress", ""))' "$2"
}
api_a=$(ip cn-api-1 cn_a)
api_b=$(ip cn-api-1 "cn$_n-back")
api_ext=$(ip cn-api-1 "$ext")
front_a=$(ip cn-front-1 cn_a)
back_b=$(ip cn-back-1 "cn$_n-back")
[[ $api_a == 10.188.$_n.* && $api_b == 10.188.$_n.* && $api_ext == 10.188.$_n.* && $front_a == 10.188.$_n.* &&
  $back_b == 10.188.$_n.* ]] ||
  fail "addresses: api on a, b, ext '$api_a' '$api_b' '$api_ext', front on a '$front_a', back on b '$back_b'"
assert_eq 3 "$(printf '%s\n' "$api_a" "$api_b" "$api_ext" | sort -u | wc -l)" "api has three different addresses"
ifs=$(compose exec -T api ls /sys/class/net </dev/null | grep -c '^eth' || true)
assert_eq 3 "$ifs" "api's interfaces (eth0 on a, eth1, eth2)"

# answer C NAME: the address C's name server gives for NAME ("" for none).
answer() {
  compose exec -T "$1" nslookup "$2" </dev/null 2>/dev/null | grep -A3 "^Name:" |
    sed -n 's/^Address[ 0-9]*: *//p' | head -1 || true
}

echo "-- api resolves both sides: service names, container names, aliases"
assert_eq "$front_a" "$(answer api front)" "api resolves front (on a)"
assert_eq "$back_b" "$(answer api back)" "api resolves back (on b)"
assert_eq "$back_b" "$(answer api db)" "api resolves back's alias db (on b)"
assert_eq "$front_a" "$(answer api cn-front-1)" "api resolves front's container name"
assert_eq "$back_b" "$(answer api cn-back-1)" "api resolves back's container name"

echo "-- front and back: only the names of their own network"
assert_eq "$api_a" "$(answer front api)" "front resolves api to its address on a"
assert_eq "$api_a" "$(answer front cn-api-1)" "front resolves api's container name on a"
assert_eq "$api_a" "$(answer front api-a)" "front resolves api's alias on a"
assert_eq "" "$(answer front back)" "front resolves back (no network in common)"
assert_eq "" "$(answer front db)" "front resolves back's alias db"
assert_eq "$api_b" "$(answer back api)" "back resolves api to its address on b"
assert_eq "" "$(answer back api-a)" "back resolves api's alias of network a"
assert_eq "" "$(answer back front)" "back resolves front"
compose exec -T front wget -q -O - http://api/ </dev/null | grep -c api-page >/dev/null || fail "front cannot fetch http://api/"
compose exec -T back wget -q -O - http://api/ </dev/null | grep -c api-page >/dev/null || fail "back cannot fetch http://api/"

echo "-- compose run: a one-off api container is on api's networks too"
run_ans=$(compose run --rm -T api nslookup db </dev/null 2>/dev/null | grep -A3 "^Name:" | sed -n 's/^Address[ 0-9]*: *//p' | head -1 || true)
assert_eq "$back_b" "$run_ans" "a one-off api resolves db (on b)"
[[ -z $(mctr ps -a --format '{{.Names}}' | grep -- -run-) ]] || fail "the --rm one-off is left: $(mctr ps -a)"

echo "-- the external network: a container outside the project finds api there"
out_ans=$(mctr exec outsider nslookup api 2>/dev/null | grep -A3 "^Name:" | sed -n 's/^Address[ 0-9]*: *//p' | head -1 || true)
assert_eq "$api_ext" "$out_ans" "outsider resolves api on $ext"

echo "-- api's published port"
hostport=$(mctr port cn-api-1 80 | head -1)
hostport=${hostport##*:}
for _ in $(seq 50); do curl -fsS -m 1 "http://127.0.0.1:$hostport/" 2>/dev/null && break; sleep 0.1; done |
  grep -c api-page >/dev/null || fail "api's published port $hostport does not answer"

echo "-- a second up changes nothing; a restart keeps the networks"
out=$(compose up -d 2>&1)
assert_contains "$out" "Container cn-api-1  Running" "a second up keeps api"
compose restart -t 0 >/dev/null 2>&1
# The leases are taken again at the start: compare with the addresses now.
back_b=$(ip cn-back-1 "cn$_n-back")
api_b=$(ip cn-api-1 "cn$_n-back")
[[ $back_b == 10.188.$_n.* && $api_b == 10.188.$_n.* ]] || fail "addresses on b after the restart: '$back_b' '$api_b'"
assert_eq "$back_b" "$(answer api db)" "api resolves db after the restart"
assert_eq "$api_b" "$(answer back api)" "back resolves api after the restart"
assert_eq "" "$(answer front db)" "front resolves db after the restart"

echo "-- errors name the file, line and key"
bad() {
  printf '%s\n' "$@" >"$TEST_TMP/bad.yaml"
  set +e
  out=$(mctr compose -f "$TEST_TMP/bad.yaml" config 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "a bad file: exit code ($out)"
  assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "a bad file: one line ($out)"
}
bad 'services:' '  w:' '    image: busybox' '    networks:' '      a:' '        ipv4_address: 10.1.2.3' 'networks:' '  a:'
assert_contains "$out" "$TEST_TMP/bad.yaml:6:23: services.w.networks.a.ipv4_address: a fixed address is not supported" "ipv4_address"
bad 'services:' '  w:' '    image: busybox' '    networks: [a, a]' 'networks:' '  a:'
assert_contains "$out" "bad.yaml:4:19: services.w.networks[1]: network a is listed twice" "a network twice"
bad 'services:' '  w:' '    image: busybox' '    networks: [a]' 'networks:' '  a:' '    external: true' '    ipam: {config: [{subnet: 10.1.0.0/24}]}'
assert_contains "$out" "bad.yaml:8:11: networks.a.ipam: conflicting parameters \"external\" and \"ipam\"" "external with ipam"
bad 'services:' '  w:' '    image: busybox' 'networks:' '  a:' '    ipam: {config: [{subnet: 10.1.0.0/24, gateway: 10.1.0.9}]}'
assert_contains "$out" "bad.yaml:6:52: networks.a.ipam.config[0].gateway: minictr's gateway is the subnet's first address (10.1.0.1)" "gateway"
bad 'services:' '  w:' '    image: busybox' '    networks: [nope]'
assert_contains "$out" "bad.yaml:4:15: services.w.networks: service \"w\" refers to undefined network nope" "undefined network"

echo "-- down: the project's networks go, the external one stays"
bridge_a=br-$(mctr network ls --format '{{.ID}} {{.Name}}' | awk '$2 == "cn_a" {print $1}')
bridge_b=br-$(mctr network ls --format '{{.ID}} {{.Name}}' | awk -v n="cn$_n-back" '$2 == n {print $1}')
table_a=$(mctr network inspect cn_a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Options"]["minictr.nftables.table"])')
[[ -d /sys/class/net/$bridge_a && -d /sys/class/net/$bridge_b ]] || fail "no bridges $bridge_a $bridge_b"
out=$(compose down -t 0 2>&1)
assert_contains "$out" "Network cn_a  Removed" "down removes a"
assert_contains "$out" "Network cn$_n-back  Removed" "down removes b"
[[ $out != *"$ext"* ]] || fail "down touched the external network: $out"
assert_eq "outsider" "$(mctr ps --format '{{.Names}}')" "containers after down (outsider only)"
nets=$(mctr network ls --format '{{.Name}}')
[[ $nets != *cn_a* && $nets != *cn$_n-back* ]] || fail "down left a project network: $nets"
assert_contains "$nets" "$ext" "the external network after down"
[[ ! -e /sys/class/net/$bridge_a && ! -e /sys/class/net/$bridge_b ]] || fail "down left a bridge"
! nft list table ip "$table_a" >/dev/null 2>&1 || fail "down left the table $table_a"
[[ ! -e $MINICTR_ROOT/compose/cn.json ]] || fail "down left the project record"
mctr exec outsider true || fail "the outsider on the external network does not run after down"
mctr rm -f outsider >/dev/null
mctr network rm "$ext" >/dev/null
echo "PASS test_compose_networks"
