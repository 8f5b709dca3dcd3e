#!/usr/bin/env bash
# -t / -it with a real terminal: the container's pty starts with the size of
# ours, and a resize of our terminal reaches the container (SIGWINCH, new
# size) for `run -it` and `exec -it`, as with Docker. The pty is the
# container's own (its devpts: /dev/pts/0), bound on /dev/console too.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

# The pty starts with our terminal's size.
out=$(pty_run 31 101 0 0 "" "$MINICTR" run --rm -it busybox stty size)
assert_contains "$out" "31 101" "run -it: initial size"

# The container's own pty, as runc makes it: /dev/pts/0 of its devpts (not a
# host pty, whose path does not exist in the container), also /dev/console.
out=$(pty_run 24 80 0 0 "" "$MINICTR" run --rm -t busybox sh -c \
  'tty; readlink /proc/self/fd/1; ls /dev/pts; [ -c /dev/console ] && echo console-is-a-tty; stat -c %t:%T /dev/console /dev/pts/0; true')
lines=$(printf '%s\n' "$out" | tr -d '\r')
[[ $(sed -n 1p <<<"$lines") == /dev/pts/0 ]] || fail "run -t: tty is not the container's /dev/pts/0: $out"
[[ $(sed -n 2p <<<"$lines") == /dev/pts/0 ]] || fail "run -t: fd 1 is not the container's /dev/pts/0: $out"
assert_contains "$out" "console-is-a-tty" "run -t: /dev/console is there"
nodes=$(grep -E '^[0-9a-f]+:[0-9a-f]+$' <<<"$lines" | sort -u | wc -l)
[[ $nodes == 1 ]] || fail "run -t: /dev/console is not the container's pts ($out)"
# Detached: the log has what the terminal showed.
mctr run -d -t --name tty-detached busybox sh -c 'tty' >/dev/null
mctr wait tty-detached >/dev/null
assert_contains "$(mctr logs tty-detached)" "/dev/pts/0" "run -d -t: the container's /dev/pts/0"
mctr rm tty-detached >/dev/null

# A resize while it runs: the trap prints the new size.
script='trap "stty size; exit 0" WINCH; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo no-winch'
out=$(pty_run 24 80 40 120 ready "$MINICTR" run --rm -it busybox sh -c "$script")
assert_contains "$out" "40 120" "run -it: SIGWINCH and the new size reach the container"

# exec -it into a running container: same.
mctr run -d --name tty-target busybox sleep 60 >/dev/null
out=$(pty_run 24 80 50 132 ready "$MINICTR" exec -it tty-target sh -c "$script")
assert_contains "$out" "50 132" "exec -it: SIGWINCH and the new size reach the process"
mctr rm -f tty-target >/dev/null

echo "PASS test_tty"
