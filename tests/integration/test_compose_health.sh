#!/usr/bin/env bash
# compose end to end for health and restarts: `depends_on: {db: {condition:
# service_healthy}}` creates the dependent only once db's healthcheck passed
# (and `up` fails, naming the container, when db turns unhealthy instead),
# and `restart: on-failure` / `restart: always` restart a service's
# container when it exits (RestartCount counts).
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
proj=$TEST_TMP/hc
mkdir -p "$proj" "$TEST_TMP/bad"
cat >"$proj/compose.yaml" <<EOF
services:
  db:
    image: busybox
    command: sh -c "sleep 1.5; touch /tmp/ready; exec sleep 1000"
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 200ms
      timeout: 1s
      retries: 30
  web:
    image: busybox
    command: sleep 1000
    depends_on:
      db: {condition: service_healthy}
  crashy:
    image: busybox
    command: sh -c "sleep 0.2; exit 3"
    restart: on-failure
  looper:
    image: busybox
    command: sh -c "sleep 0.2; exit 0"
    restart: always
networks:
  default:
    ipam: {config: [{subnet: 10.192.$_n.0/26}]}
EOF
cat >"$TEST_TMP/bad/compose.yaml" <<EOF
services:
  db:
    image: busybox
    command: sleep 1000
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 200ms
      retries: 2
  web:
    image: busybox
    command: sleep 1000
    depends_on:
      db: {condition: service_healthy}
networks:
  default:
    ipam: {config: [{subnet: 10.192.$_n.64/26}]}
EOF
compose() { mctr compose -f "$proj/compose.yaml" "$@"; }
bad() { mctr compose -f "$TEST_TMP/bad/compose.yaml" "$@"; }
trap 'rc=$?; set +e; compose down -t 0 >/dev/null 2>&1; bad down -t 0 >/dev/null 2>&1; _cleanup $rc' EXIT

echo "-- depends_on service_healthy: web only after db is healthy"
start=$(date +%s%N)
out=$(compose up -d 2>&1) || fail "up -d failed: $out"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
healthy_line=$(printf '%s\n' "$out" | { grep -n "Container hc-db-1  Healthy" || true; } | cut -d: -f1)
web_line=$(printf '%s\n' "$out" | { grep -n "Container hc-web-1  Created" || true; } | cut -d: -f1)
[[ -n $healthy_line && -n $web_line && $healthy_line -lt $web_line ]] || fail "web was created before db was healthy: $out"
(( took_ms >= 1500 )) || fail "up returned after $took_ms ms, before db's check could pass"
assert_eq "healthy" "$(mctr inspect -f '{{.State.Health.Status}}' hc-db-1)" "db's health when web started"
assert_eq "running" "$(mctr inspect -f '{{.State.Status}}' hc-web-1)" "web runs"

echo "-- restart: on-failure and always"
for _ in $(seq 60); do
  c=$(mctr inspect -f '{{.RestartCount}}' hc-crashy-1)
  l=$(mctr inspect -f '{{.RestartCount}}' hc-looper-1)
  (( c >= 2 && l >= 2 )) && break
  sleep 0.1
done
(( c >= 2 )) || fail "restart: on-failure: RestartCount $c after 6 s"
(( l >= 2 )) || fail "restart: always: RestartCount $l after 6 s"
compose down -t 0 >/dev/null 2>&1

echo "-- an unhealthy dependency fails up, naming it; the dependent is not created"
set +e
out=$(bad up -d 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "up -d succeeded with an unhealthy dependency: $out"
assert_contains "$out" "bad-db-1 is unhealthy" "up's error"
! mctr inspect bad-web-1 >/dev/null 2>&1 || fail "web was created although db is unhealthy"
echo "PASS test_compose_health"
