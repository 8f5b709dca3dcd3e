#!/usr/bin/env bash
# docker's wait, port, top and rename: wait prints the exit code once the
# container stops (also for one still being started); port lists the
# published ports; top shows the container's processes with host PIDs and
# nobody else's; rename checks the name and keeps ps's order.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
port=$((19000 + _n))

echo "-- wait"
mctr run -d --name w busybox sh -c 'sleep 0.5; exit 7' >/dev/null
assert_eq 7 "$(mctr wait w)" "wait prints the exit code"
mctr create --name later busybox sh -c 'exit 3' >/dev/null
(sleep 0.5; mctr start later >/dev/null) &
HOST_PIDS+=($!)
assert_eq 3 "$(timeout 20 "$MINICTR" wait later)" "wait on a created container waits for its run"
assert_eq 1 "$(run_rc mctr wait nosuch)" "wait on a missing container"

echo "-- port"
mctr run -d --name p -p "$port:80" -p 127.0.0.1::81/udp busybox sleep 1000 >/dev/null
out=$(mctr port p)
assert_contains "$out" "80/tcp -> 0.0.0.0:$port" "port lists the tcp mapping"
assert_contains "$out" "81/udp -> 127.0.0.1:" "port lists the udp mapping"
assert_eq "0.0.0.0:$port" "$(mctr port p 80)" "port with a private port"
assert_eq 125 "$(run_rc mctr port p 9999)" "port of an unpublished port"

echo "-- top"
mctr exec -d p sleep 777 2>/dev/null || mctr exec p sh -c 'sleep 777 >/dev/null 2>&1 &'
sleep 0.3
top=$(mctr top p)
assert_contains "$(head -1 <<<"$top")" "PID" "top's header"
assert_contains "$top" "sleep 1000" "top shows the init"
assert_contains "$top" "sleep 777" "top shows an exec'd process"
[[ $top != *"minictr-shim"* ]] || fail "top shows the supervisor, which is outside the container"
init=$(mctr inspect -f '{{.State.Pid}}' p)
assert_contains "$top" " $init " "top shows host PIDs"
assert_contains "$(mctr top p -o pid,comm)" "sleep" "top with ps options"

echo "-- rename"
before=$(mctr ps -a -q)
mctr rename p q
assert_eq "q" "$(mctr inspect -f '{{.Name}}' q | tr -d /)" "renamed"
assert_eq "$before" "$(mctr ps -a -q)" "ps order kept"
assert_eq 125 "$(run_rc mctr rename q w)" "rename to a taken name"
assert_eq 125 "$(run_rc mctr rename q 'bad/name')" "rename to a bad name"
assert_eq 1 "$(run_rc mctr inspect p)" "the old name is gone"
echo "PASS test_verbs_more"
