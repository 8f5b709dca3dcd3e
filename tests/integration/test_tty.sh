#!/usr/bin/env bash
# -t / -it with a real terminal: the container's pty starts with the size of
# ours, and a resize of our terminal reaches the container (SIGWINCH, new
# size) for `run -it` and `exec -it`, as with Docker.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

# pty_run ROWS COLS RESIZE_ROWS RESIZE_COLS WAIT_FOR CMD...: run CMD on a new
# pty of ROWS x COLS as its controlling terminal; once its output contains
# WAIT_FOR, resize the pty (0 0: no resize). Prints everything CMD wrote.
pty_run() {
  python3 - "$@" <<'EOF'
import fcntl, os, pty, select, struct, sys, termios, time
rows, cols, rrows, rcols, wait_for = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cmd = sys.argv[6:]
def set_size(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
pid, master = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
set_size(master, rows, cols)
out, resized, deadline = b"", False, time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not resized and rrows and wait_for.encode() in out:
        set_size(master, rrows, rcols)  # the kernel sends SIGWINCH to the minictr CLI
        resized = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(status))
EOF
}

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
