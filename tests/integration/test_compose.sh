#!/usr/bin/env bash
# minictr compose: a busybox project of three services on its own network —
# `init` writes a flag into a named volume and exits, `web` (httpd) waits for
# it to complete successfully, `client` waits for web and fetches its page by
# the service's name (an alias the network's name server answers). Checks
# config, up -d, ps, logs, exec, scale, stop, start, build: with args and an
# attached `up` of a service that exits, errors with file:line:key, 3 replicas
# behind one published port, and that down -v leaves no container, network,
# bridge, nft table, volume or record.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null

proj=$TEST_TMP/demo
mkdir -p "$proj/www"
echo "hello from compose" >"$proj/www/index.html"
subnet=10.197.$_n.0/24
echo "GREETING=from-dotenv" >"$proj/.env"
cat >"$proj/compose.yaml" <<EOF
services:
  init:
    image: busybox
    command: sh -c "echo ready > /state/flag"
    volumes: ["state:/state"]
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    volumes:
      - ./www:/www:ro
      - {type: volume, source: state, target: /state}
    ports: ["80"]
    environment:
      GREETING: \${GREETING:-unset}
      FALLBACK: \${NOT_SET_ANYWHERE:-the-default}
    depends_on:
      init: {condition: service_completed_successfully}
    mem_limit: 64m
  client:
    image: busybox
    depends_on: [web]
    command: sh -c 'for i in \$\$(seq 50); do wget -q -O - http://web/ && break; sleep 0.2; done; exec sleep 1000'
networks:
  default:
    ipam: {config: [{subnet: $subnet}]}
volumes:
  state:
EOF
compose() { mctr compose -f "$proj/compose.yaml" "$@"; }
# Three replicas behind one published port.
lbport=$((19200 + _n))
mkdir -p "$TEST_TMP/lb"
cat >"$TEST_TMP/lb/compose.yaml" <<EOF
services:
  echo:
    image: busybox
    command: sh -c "mkdir /tmp/w && hostname > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
    ports: ["$lbport:80"]
    deploy: {replicas: 3}
networks:
  default:
    ipam: {config: [{subnet: 10.196.$_n.0/24}]}
EOF
lb() { mctr compose -f "$TEST_TMP/lb/compose.yaml" "$@"; }
# Whatever a failed run left: the projects (their networks are no default
# bridge that lib.sh's cleanup prunes), then lib.sh's cleanup.
trap 'rc=$?; compose down -v -t 0 >/dev/null 2>&1; lb down -t 0 >/dev/null 2>&1; _cleanup $rc' EXIT

echo "-- config: the resolved model"
config=$(compose config)
assert_contains "$config" "name: demo" "config: the project name from the directory"
assert_contains "$config" "GREETING=from-dotenv" "config: .env interpolated"
assert_contains "$config" "FALLBACK=the-default" "config: \${VAR:-default}"
assert_contains "$config" "demo_default" "config: the project network"
assert_contains "$config" "condition: service_completed_successfully" "config: depends_on"
assert_eq "init web client" "$(compose config --services | xargs)" "config --services"

echo "-- up -d: dependency order, names, network, volume"
out=$(compose up -d 2>&1) || fail "up -d failed: $out"
# init ran to completion before web was created, web before client.
order=$(printf '%s\n' "$out" | grep -E 'Container demo-(init|web|client)-1  Created' | sed 's/.*demo-\([a-z]*\)-1.*/\1/' | xargs)
assert_eq "init web client" "$order" "creation order"
assert_contains "$out" "Container demo-init-1  Exited" "up waited for init to complete"
ps_out=$(compose ps)
assert_contains "$ps_out" "demo-web-1" "ps lists web"
assert_contains "$ps_out" "demo-client-1" "ps lists client"
[[ $ps_out != *demo-init-1* ]] || fail "ps without -a lists the exited init: $ps_out"
assert_contains "$(compose ps -a)" "exited (0)" "ps -a shows init's exit"
mctr network ls --format '{{.Name}}' | grep -cx demo_default >/dev/null || fail "no network demo_default"
bridge=br-$(mctr network ls --format '{{.ID}} {{.Name}}' | awk '$2 == "demo_default" {print $1}')
[[ -d /sys/class/net/$bridge ]] || fail "no bridge $bridge for demo_default"
[[ -d $MINICTR_ROOT/volumes/demo_state/_data ]] || fail "no volume demo_state"
assert_eq "ready" "$(compose exec -T web cat /state/flag </dev/null)" "web sees init's flag in the named volume"
assert_eq "from-dotenv the-default" "$(compose exec -T web sh -c 'echo $GREETING $FALLBACK' </dev/null)" "environment"
assert_eq "67108864" "$(mctr inspect -f '{{.HostConfig.Memory}}' demo-web-1)" "mem_limit"

echo "-- the published port and the client's fetch by name"
hostport=$(mctr port demo-web-1 80 | head -1)
hostport=${hostport##*:}
for _ in $(seq 50); do curl -fsS -m 1 "http://127.0.0.1:$hostport/" 2>/dev/null && break; sleep 0.1; done |
  grep -c "hello from compose" >/dev/null || fail "web's published port $hostport does not answer"
for _ in $(seq 50); do
  compose logs client | grep -c "^client-1  | hello from compose" >/dev/null && break
  sleep 0.2
done
compose logs client | grep -c "^client-1  | hello from compose" >/dev/null ||
  fail "the client did not reach web by name: $(compose logs client)"

echo "-- scale web=2, then back to 1"
compose scale web=2 2>/dev/null
assert_contains "$(compose ps)" "demo-web-2" "scale up"
port2=$(mctr port demo-web-2 80 | head -1)
curl -fsS -m 2 "http://127.0.0.1:${port2##*:}/" | grep -c "hello from compose" >/dev/null || fail "replica 2 does not serve"
compose scale -t 1 web=1 2>/dev/null
[[ $(compose ps -a) != *demo-web-2* ]] || fail "scale down left demo-web-2"
! mctr inspect demo-web-2 >/dev/null 2>&1 || fail "scale down did not remove demo-web-2"

echo "-- stop, start, up again is idempotent"
compose stop -t 1 2>/dev/null
assert_eq 0 "$(compose ps -q | wc -l)" "nothing runs after stop"
compose start 2>/dev/null
assert_eq 2 "$(compose ps -q | wc -l)" "web and client run after start"
ids=$(compose ps -q | sort | xargs)
out=$(compose up -d 2>&1)
assert_contains "$out" "Container demo-web-1  Running" "a second up keeps the running containers"
assert_eq "$ids" "$(compose ps -q | sort | xargs)" "the same containers after a second up"

echo "-- build: with args, then an attached up: logs prefixed, the exit reported"
mkdir -p "$TEST_TMP/once/ctx"
printf 'FROM busybox\nARG WORD=unset\nRUN echo "$WORD" > /word\nCMD ["cat", "/word"]\n' >"$TEST_TMP/once/ctx/Dockerfile"
printf 'services:\n  say:\n    build: {context: ./ctx, args: {WORD: said-once}}\n' >"$TEST_TMP/once/compose.yaml"
out=$(mctr compose -f "$TEST_TMP/once/compose.yaml" up 2>/dev/null)
mctr image inspect once-say >/dev/null 2>&1 || fail "no image once-say built"
assert_contains "$out" "say-1  | said-once" "attached up prefixes the lines (and the build arg reached RUN)"
assert_contains "$out" "say-1 exited with code 0" "attached up reports the exit"
mctr compose -f "$TEST_TMP/once/compose.yaml" down >/dev/null 2>&1
! mctr inspect once-say-1 >/dev/null 2>&1 || fail "down left once-say-1"

echo "-- errors name the file, line and key"
printf 'services:\n  web:\n    image: busybox\n    ports:\n      - "1:2:3:4"\n' >"$TEST_TMP/bad.yaml"
set +e
out=$(mctr compose -f "$TEST_TMP/bad.yaml" up -d 2>&1)
rc=$?
set -e
assert_eq 125 "$rc" "a bad file: exit code"
assert_contains "$out" "$TEST_TMP/bad.yaml:5:9: services.web.ports[0]: invalid port" "a bad file: the message"
assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "a bad file: one line"

echo "-- replicas behind one published port: each new connection to the next"
lb up -d 2>/dev/null
# How many of N requests each replica (by its hostname) answered, sorted.
spread() {
  local i
  for i in $(seq "$1"); do curl -fsS -m 2 "http://127.0.0.1:$lbport/" || echo failed; done |
    sort | uniq -c | awk '{print $1}' | sort -n | xargs
}
for _ in $(seq 50); do curl -fsS -m 1 "http://127.0.0.1:$lbport/" >/dev/null 2>&1 && break; sleep 0.1; done
counts=$(spread 30)
echo "   30 requests per replica: $counts"
assert_eq 3 "$(wc -w <<<"$counts")" "30 requests reached 3 replicas ($counts)"
for c in $counts; do ((c >= 6)) || fail "a replica got $c of 30 requests, under 20 % ($counts)"; done
assert_contains "$(lb ps)" ":$lbport->80/tcp (balanced)" "ps shows the balanced port"
table=$(mctr network inspect lb_default | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Options"]["minictr.nftables.table"])')
nft list table ip "$table" | grep -c "numgen inc mod 3" >/dev/null || fail "no numgen rule in $table"
lb scale -t 1 echo=2 2>/dev/null
assert_eq "10 10" "$(spread 20)" "after scale echo=2, 20 requests alternate over 2 replicas"
lb down -t 1 2>/dev/null
! nft list table ip "$table" >/dev/null 2>&1 || fail "lb down left the table $table"
set +e
curl -fsS -m 1 "http://127.0.0.1:$lbport/" >/dev/null 2>&1
rc=$?
set -e
[[ $rc != 0 ]] || fail "port $lbport still answers after down"

echo "-- down -v leaves nothing"
compose down -v -t 1 2>/dev/null
assert_eq 0 "$(mctr ps -a -q | wc -l)" "containers left after down"
! mctr network ls --format '{{.Name}}' | grep -cx demo_default >/dev/null || fail "down left the network"
[[ ! -e /sys/class/net/$bridge ]] || fail "down left the bridge $bridge"
[[ ! -e $MINICTR_ROOT/volumes/demo_state ]] || fail "down -v left the volume"
[[ ! -e $MINICTR_ROOT/compose/demo.json ]] || fail "down left the project record"
echo "PASS test_compose"
