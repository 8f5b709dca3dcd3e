#!/usr/bin/env bash
# Health and the balanced port (swarm's routing mesh, kube-proxy readiness):
# three replicas with a healthcheck behind one published port. A replica is
# in the port's rotation only while healthy: none gets a connection while
# "starting" (its httpd already serves inside), one whose check fails leaves
# the rotation while it keeps running, and comes back when it passes again.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
port=$((21000 + _n))
mkdir -p "$TEST_TMP/uh"
# start_period: failures before the first pass leave it "starting" (not
# unhealthy); retries 1: one failure after that makes it unhealthy.
cat >"$TEST_TMP/uh/compose.yaml" <<EOF
services:
  web:
    image: busybox
    command: sh -c "rm -f /tmp/ok; mkdir -p /tmp/w && hostname > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
    ports: ["$port:80"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok"]
      interval: 100ms
      timeout: 2s
      retries: 1
      start_period: 60s
    deploy: {replicas: 3}
networks:
  default:
    ipam: {config: [{subnet: 10.191.$_n.64/26}]}
EOF
uh() { mctr compose -f "$TEST_TMP/uh/compose.yaml" "$@"; }
trap 'rc=$?; set +e; uh down -t 0 >/dev/null 2>&1; _cleanup $rc' EXIT

# ask N: N requests to the published port; prints the answers (hostnames), one a line, "-" for none.
ask() {
  for _ in $(seq "$1"); do curl -sS -m 1 "http://127.0.0.1:$port/" 2>/dev/null || echo "-"; done
}
health() { mctr inspect -f '{{.State.Health.Status}}' "uh-web-$1"; }
# wait_health I STATUS: until replica I's health is STATUS (5 s at most).
wait_health() {
  for _ in $(seq 100); do [[ $(health "$1") == "$2" ]] && return 0; sleep 0.05; done
  fail "uh-web-$1 is $(health "$1"), not $2"
}
host() { mctr inspect -f '{{.Config.Hostname}}' "uh-web-$1"; }
# serves I: replica I's own httpd, asked from inside it.
serves() { mctr exec "uh-web-$1" wget -qO- http://127.0.0.1/ 2>/dev/null; }

uh up -d >/dev/null 2>&1 || fail "up -d failed"
for i in 1 2 3; do
  for _ in $(seq 50); do [[ $(serves "$i") ]] && break; sleep 0.1; done
done

echo "-- starting: the replicas serve inside, but the port sends nobody to them"
for i in 1 2 3; do
  assert_eq "$(host "$i")" "$(serves "$i")" "uh-web-$i's httpd"
  assert_eq starting "$(health "$i")" "uh-web-$i before its check passed"
done
assert_eq 5 "$(ask 5 | grep -c '^-$' || true)" "unanswered requests of 5 while all are starting"

echo "-- healthy: all three in rotation"
for i in 1 2 3; do mctr exec "uh-web-$i" touch /tmp/ok; done
for i in 1 2 3; do wait_health "$i" healthy; done
answers=$(ask 30)
assert_eq 0 "$(grep -c '^-$' <<<"$answers" || true)" "unanswered requests of 30 with three healthy"
assert_eq 3 "$(sort -u <<<"$answers" | wc -l)" "replicas answering of 3 healthy"

echo "-- uh-web-2 unhealthy (still running): only the other two answer"
sick=$(host 2)
mctr exec uh-web-2 rm /tmp/ok
wait_health 2 unhealthy
assert_eq running "$(mctr inspect -f '{{.State.Status}}' uh-web-2)" "the unhealthy replica's status"
answers=$(ask 30)
assert_eq 0 "$(grep -c '^-$' <<<"$answers" || true)" "unanswered requests of 30 with one unhealthy"
assert_eq 2 "$(sort -u <<<"$answers" | wc -l)" "replicas answering with one unhealthy"
! grep -c "^$sick\$" <<<"$answers" >/dev/null || fail "the unhealthy replica answered: $(sort <<<"$answers" | uniq -c)"

echo "-- healthy again: back in rotation"
mctr exec uh-web-2 touch /tmp/ok
wait_health 2 healthy
answers=$(ask 30)
assert_eq 0 "$(grep -c '^-$' <<<"$answers" || true)" "unanswered requests of 30 after it recovered"
grep -c "^$sick\$" <<<"$answers" >/dev/null || fail "the recovered replica gets no request: $(sort <<<"$answers" | uniq -c)"

echo "-- killed while healthy and started again: out until its check passes"
mctr kill uh-web-2 >/dev/null
for _ in $(seq 50); do [[ $(mctr inspect -f '{{.State.Status}}' uh-web-2) == exited ]] && break; sleep 0.1; done
mctr start uh-web-2 >/dev/null
for _ in $(seq 50); do [[ $(serves 2) ]] && break; sleep 0.1; done
assert_eq starting "$(health 2)" "uh-web-2 after its restart"
answers=$(ask 20)
! grep -c "^$sick\$" <<<"$answers" >/dev/null || fail "the restarted replica answered while starting"
mctr exec uh-web-2 touch /tmp/ok
wait_health 2 healthy
grep -c "^$sick\$" <<<"$(ask 30)" >/dev/null || fail "the restarted replica gets no request once healthy"
echo "PASS test_compose_unhealthy"
