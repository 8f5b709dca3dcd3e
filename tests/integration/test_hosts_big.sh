#!/usr/bin/env bash
# One container cannot slow all others (issue 18): a container that makes its
# /etc/hosts 100 MB is not read by the host when other containers come and go
# on the bridge (the peer-line update reads a hosts file only up to a cap and
# leaves a larger one alone), so their runs stay fast. (Before: 7-14 s each.)
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
mctr run -d --name big busybox sh -c 'head -c 100000000 /dev/zero > /etc/hosts; touch /tmp/done; sleep 1000' >/dev/null
for _ in $(seq 200); do mctr exec big test -e /tmp/done && break; sleep 0.1; done
assert_eq 100000000 "$(mctr exec big stat -c %s /etc/hosts)" "the big hosts file"
start=$(date +%s%N)
for _ in 1 2 3; do mctr run --rm busybox true; done
ms=$((($(date +%s%N) - start) / 3000000))
echo "run --rm busybox true next to a 100 MB /etc/hosts: $ms ms each"
((ms < 3000)) || fail "a run took $ms ms next to a container with a 100 MB /etc/hosts"
assert_eq 100000000 "$(mctr exec big stat -c %s /etc/hosts)" "the big hosts file is left alone"
echo "PASS test_hosts_big"
