#!/usr/bin/env bash
# -t / -it with a real terminal: the container's pty starts with the size of
# ours, and a resize of our terminal reaches the container (SIGWINCH, new
# size) for `run -it` and `exec -it`, as with Docker.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

# The pty starts with our terminal's size.
out=$(pty_run 31 101 0 0 "" "$MINICTR" run --rm -it busybox stty size)
assert_contains "$out" "31 101" "run -it: initial size"

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
