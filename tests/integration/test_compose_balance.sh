#!/usr/bin/env bash
# Three replicas behind one published port (the network's numgen DNAT map):
# a replica that dies leaves the rotation at once (its detach rebuilds the
# rule over the replicas still attached: all of 30 requests are answered),
# and comes back into it when it starts again, with no compose command.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
port=$((19300 + _n))
mkdir -p "$TEST_TMP/lb"
cat >"$TEST_TMP/lb/compose.yaml" <<EOF
services:
  echo:
    image: busybox
    command: sh -c "mkdir -p /tmp/w && hostname > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
    ports: ["$port:80"]
    deploy: {replicas: 3}
networks:
  default:
    ipam: {config: [{subnet: 10.191.$_n.0/26}]}
EOF
lb() { mctr compose -f "$TEST_TMP/lb/compose.yaml" "$@"; }
trap 'rc=$?; set +e; lb down -t 0 >/dev/null 2>&1; _cleanup $rc' EXIT

# ask N: N requests to the published port; prints the answers (hostnames), one a line, "-" for none.
ask() {
  for _ in $(seq "$1"); do curl -sS -m 1 "http://127.0.0.1:$port/" 2>/dev/null || echo "-"; done
}

lb up -d >/dev/null 2>&1 || fail "up -d failed"
for _ in $(seq 50); do [[ $(curl -sS -m 1 "http://127.0.0.1:$port/" 2>/dev/null) ]] && break; sleep 0.1; done
assert_eq 3 "$(ask 30 | grep -v '^-$' | sort -u | wc -l)" "30 requests reach the 3 replicas"

echo "-- kill one replica: every request still answered, by the other two"
dead_host=$(mctr inspect -f '{{.Config.Hostname}}' lb-echo-2)
mctr kill lb-echo-2 >/dev/null
for _ in $(seq 50); do [[ $(mctr inspect -f '{{.State.Status}}' lb-echo-2) == exited ]] && break; sleep 0.1; done
answers=$(ask 30)
assert_eq 0 "$(grep -c '^-$' <<<"$answers" || true)" "unanswered requests of 30 after a replica died"
assert_eq 2 "$(sort -u <<<"$answers" | wc -l)" "the two live replicas answer"
! grep -c "^$dead_host\$" <<<"$answers" >/dev/null || fail "the dead replica answered"

echo "-- started again, it is back in the rotation"
mctr start lb-echo-2 >/dev/null
for _ in $(seq 50); do curl -sS -m 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
answers=$(ask 30)
assert_eq 0 "$(grep -c '^-$' <<<"$answers" || true)" "unanswered requests after the restart"
grep -c "^$dead_host\$" <<<"$answers" >/dev/null || fail "the restarted replica gets no request: $(sort <<<"$answers" | uniq -c)"
echo "PASS test_compose_balance"
