#!/usr/bin/env bash
# Image config and flags: env, workdir, user, entrypoint; Docker's exit codes.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null
r() { mctr run --rm --network none "$@"; }

echo "-- exit codes"
assert_eq 0 "$(run_rc r busybox true)" "true"
assert_eq 3 "$(run_rc r busybox sh -c 'exit 3')" "exit 3"
assert_eq 127 "$(run_rc r busybox no-such-command)" "command not found"
assert_eq 126 "$(run_rc r busybox /etc/passwd)" "not executable"
# PID 1 is immune to signals from inside its namespace (kill -9 $$ does
# nothing), so the kill comes from the host: 128 + 9.
(sleep 1; mctr kill kfg >/dev/null) &
assert_eq 137 "$(run_rc r --name kfg busybox sleep 100)" "killed by SIGKILL"
wait
assert_eq 137 "$(run_rc r busybox sh -c 'sh -c "kill -9 \$\$"; exit $?')" "a child killed by SIGKILL"
assert_eq 125 "$(run_rc r --bogus-flag busybox true)" "bad flag"
assert_eq 125 "$(run_rc r no-such-image:latest true)" "missing image"
err=$(r busybox no-such-command 2>&1 >/dev/null || true)
assert_contains "$err" "executable file not found" "error text"

echo "-- signals to a foreground run are forwarded; a second Ctrl-C kills PID 1"
"$MINICTR" run --name fg --network none busybox sh -c 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done' > "$TEST_TMP/fg.out" &
cli=$!
for _ in $(seq 300); do grep -qs ready "$TEST_TMP/fg.out" && break; sleep 0.1; done
kill -TERM $cli
set +e; wait $cli; rc=$?; set -e
assert_eq 42 "$rc" "SIGTERM forwarded to the container's trap"
assert_contains "$(cat "$TEST_TMP/fg.out")" "got TERM" "the trap ran"
mctr rm fg >/dev/null
"$MINICTR" run --name fg2 --network none busybox sleep 100 &
cli=$!
for _ in $(seq 300); do grep -qs "\"running\"" <(mctr inspect fg2 2>/dev/null) && break; sleep 0.1; done
kill -INT $cli; sleep 0.3; kill -INT $cli
set +e; wait $cli; rc=$?; set -e
assert_eq 137 "$rc" "two Ctrl-C stop a PID 1 that ignores SIGINT"
mctr rm fg2 >/dev/null

echo "-- env, -e, --env-file, workdir, user"
out=$(r -e FOO=bar busybox sh -c 'echo $FOO')
assert_eq "bar" "$out" "-e"
echo "A=1" > "$TEST_TMP/env"
echo "# comment" >> "$TEST_TMP/env"
out=$(r --env-file "$TEST_TMP/env" busybox sh -c 'echo $A')
assert_eq "1" "$out" "--env-file"
out=$(r busybox sh -c 'echo $PATH')
assert_contains "$out" "/bin" "default PATH"
out=$(r -w /tmp/work busybox pwd)
assert_eq "/tmp/work" "$out" "-w creates and enters the dir"
out=$(r -u nobody busybox id -u)
assert_eq "65534" "$out" "-u nobody"
out=$(r -u 1234:4321 busybox sh -c 'echo $(id -u):$(id -g)')
assert_eq "1234:4321" "$out" "-u uid:gid"
out=$(r --entrypoint echo busybox hello world)
assert_eq "hello world" "$out" "--entrypoint"

echo "-- stdout and stderr are separate streams, stdin with -i"
out=$(r busybox sh -c 'echo out; echo err >&2' 2>/dev/null)
assert_eq "out" "$out" "stdout only"
out=$(echo piped | r -i busybox cat)
assert_eq "piped" "$out" "-i stdin"

echo "-- the command reaches the container as typed, brackets too (CLI11 reads [a,b] as a list)"
out=$(r busybox echo '[a b]' '[1,2]' x)
assert_eq "[a b] [1,2] x" "$out" "bracketed arguments"
rc=0
r busybox sh -c '[ -e /nonexistent ]' || rc=$?
assert_eq 1 "$rc" "sh -c '[ -e /nonexistent ]' is false"
echo PASS
