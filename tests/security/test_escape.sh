#!/usr/bin/env bash
# The escape suite: from inside a default container, each classic way out of
# the box must fail; the same attempt must work where Docker's would (most
# with --privileged), so no check passes by accident.
#
# Every check runs a tiny shell snippet in a busybox container. A snippet
# exits 0 when the attempt WORKED, 1 when it was refused; any other exit
# code means the runtime itself failed, which fails the test.
# System calls busybox has no applet for go through escape_probe (a static
# helper built from escape_probe.c, bind-mounted at /probe).
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

PROBE_BIN=$MINICTR_BUILD/tests/security/escape_probe
[[ -x $PROBE_BIN ]] || fail "escape_probe not built: $PROBE_BIN (cmake --build --target escape_probe)"
[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
mkdir -p "$TEST_TMP/probe"
cp "$PROBE_BIN" "$TEST_TMP/probe/escape_probe"
P=/probe/escape_probe

# attempt [RUN FLAGS...] -- SNIPPET: run SNIPPET in a container; sets OUT
# (its output) and RC (0 worked, 1 refused).
attempt() {
  local flags=()
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  set +e
  OUT=$(mctr run --rm -v "$TEST_TMP/probe:/probe:ro" "${flags[@]}" "$BUSYBOX_TAR" \
    sh -c "( $1 ) || exit 1" 2>&1)
  RC=$?
  set -e
  OUT=${OUT//$'\n'/ | }
  if [[ $RC -ne 0 && $RC -ne 1 ]]; then fail "runtime error (exit $RC) for [$1]: $OUT"; fi
}

# denied NAME [FLAGS...] -- SNIPPET: the attempt must be refused.
denied() {
  local name=$1
  shift
  attempt "$@"
  [[ $RC -eq 1 ]] || fail "$name: ESCAPE — it worked: $OUT"
  echo "ok  denied   $name: $OUT"
}

# allowed NAME [FLAGS...] -- SNIPPET: the attempt must work (the control).
allowed() {
  local name=$1
  shift
  attempt "$@"
  [[ $RC -eq 0 ]] || fail "$name: should work here but was refused: $OUT"
  echo "ok  allowed  $name: $OUT"
}

# ---- mount, namespaces, keyrings, kernel modules ----------------------------

denied "mount tmpfs (busybox)" -- 'mount -t tmpfs none /tmp'
denied "mount tmpfs (syscall)" -- "$P mount /tmp"
allowed "mount tmpfs with --privileged" --privileged -- "$P mount /tmp"
allowed "mount tmpfs with --cap-add SYS_ADMIN (seccomp follows caps)" --cap-add SYS_ADMIN -- "$P mount /tmp"

denied "unshare mount namespace (busybox)" -- 'unshare -m true'
denied "unshare mount namespace" -- "$P unshare mnt"
denied "unshare user namespace" -- "$P unshare user"
denied "clone into a new user namespace" -- "$P clone user"
denied "clone into a new network namespace" -- "$P clone net"
allowed "unshare mount namespace with --privileged" --privileged -- "$P unshare mnt"
allowed "clone into new namespaces with --privileged" --privileged -- "$P clone user net pid"
allowed "unshare user namespace with seccomp=unconfined" --security-opt seccomp=unconfined -- "$P unshare user"

denied "keyctl (host keyrings)" -- "$P keyctl"
allowed "keyctl with --privileged" --privileged -- "$P keyctl"
allowed "keyctl with seccomp=unconfined" --security-opt seccomp=unconfined -- "$P keyctl"

denied "load a kernel module (finit_module)" -- "$P kmod"
allowed "finit_module reaches the loader with --privileged" --privileged -- "$P kmod"

denied "socket(AF_VSOCK)" -- "$P vsock"
allowed "socket(AF_VSOCK) with seccomp=unconfined" --security-opt seccomp=unconfined -- "$P vsock"
# io_uring: a ring's operations never pass through seccomp (Docker 25.0+ blocks it).
denied "io_uring_setup" -- "$P io_uring"
denied "io_uring_setup with --cap-add ALL (no capability brings it back)" --cap-add ALL -- "$P io_uring"
allowed "io_uring_setup with seccomp=unconfined" --security-opt seccomp=unconfined -- "$P io_uring"

# ---- /proc and /sys ---------------------------------------------------------

# The container's own UTS namespace: harmless even when it works.
denied "write /proc/sys (kernel.hostname)" -- 'echo escaped > /proc/sys/kernel/hostname'
allowed "write /proc/sys with --privileged" --privileged -- 'echo escaped > /proc/sys/kernel/hostname'
if [[ -e /proc/sysrq-trigger ]]; then
  # Only opened for writing: a byte written there would act on the host.
  denied "open /proc/sysrq-trigger for writing" -- "$P open-w /proc/sysrq-trigger"
  allowed "open /proc/sysrq-trigger with --privileged" --privileged -- "$P open-w /proc/sysrq-trigger"
else
  echo "skip /proc/sysrq-trigger: not in this kernel"
fi

# Masked files read as empty (/dev/null on top); --privileged sees the real ones.
masked_files=()
for f in /proc/kcore /proc/timer_list /proc/interrupts /proc/sched_debug; do
  if [[ -r $f ]] && [[ $(head -c 1 "$f" 2>/dev/null | wc -c) -eq 1 ]]; then masked_files+=("$f"); fi
done
((${#masked_files[@]})) || fail "no readable masked /proc file on this host to check"
for f in "${masked_files[@]}"; do
  denied "read $f" -- "[ \"\$($P read $f)\" != 0 ]"
  allowed "read $f with --privileged" --privileged -- "[ \"\$($P read $f)\" != 0 ]"
done
if [[ -d /sys/firmware ]] && [[ -n $(ls -A /sys/firmware) ]]; then
  denied "list /sys/firmware" -- '[ -n "$(ls -A /sys/firmware)" ]'
  allowed "list /sys/firmware with --privileged" --privileged -- '[ -n "$(ls -A /sys/firmware)" ]'
fi

# ---- devices ----------------------------------------------------------------

# A block device root may open on this host (the root disk can be off limits
# in a sandboxed VM; a loop device usually is not).
find_block_device() {
  local dev node=$TEST_TMP/probe-node
  for dev in $(cat /sys/block/*/dev 2>/dev/null); do
    mknod "$node" b "${dev%%:*}" "${dev##*:}" 2>/dev/null || continue
    if (exec 3<"$node") 2>/dev/null; then
      rm -f "$node"
      echo "$dev"
      return
    fi
    rm -f "$node"
  done
}
BLOCK=$(find_block_device)
[[ -n $BLOCK ]] || fail "no block device the host can open"
MAJ=${BLOCK%%:*} MIN=${BLOCK##*:}
# Docker allows mknod of any node ("b *:* m") but not opening it.
attempt -- "$P mknod-open $MAJ $MIN /tmp/disk"
assert_contains "$OUT" "open: Operation not permitted" "mknod $BLOCK then open (device cgroup)"
echo "ok  denied   open block device $BLOCK after mknod: $OUT"
allowed "mknod+open block device $BLOCK with --privileged" --privileged -- "$P mknod-open $MAJ $MIN /tmp/disk"
allowed "open /dev/null, /dev/zero, /dev/urandom" -- 'head -c1 /dev/zero >/dev/null && head -c1 /dev/urandom >/dev/null'

# ---- processes ----------------------------------------------------------------

sleep 3133.7 &
HOST_SLEEP=$!
HOST_PIDS+=("$HOST_SLEEP")
# The pattern 3133[.]7 does not match the grep's own command line.
for _ in $(seq 50); do grep -qs '3133[.]7' "/proc/$HOST_SLEEP/cmdline" && break; sleep 0.1; done  # exec'd yet?
grep -qs '3133[.]7' /proc/[0-9]*/cmdline || fail "control: the host cannot see its own marker process"
denied "see a host process in /proc" -- "grep -qs '3133[.]7' /proc/[0-9]*/cmdline"
denied "see a host process with --privileged (own PID namespace)" --privileged -- "grep -qs '3133[.]7' /proc/[0-9]*/cmdline"
denied "ptrace a host process (pid $HOST_SLEEP)" -- "$P ptrace $HOST_SLEEP"
allowed "ptrace its own child (ptrace itself works)" -- "$P ptrace-child"

# ---- its own cgroup limits --------------------------------------------------

# Open a limit file of the container's own cgroup for writing: through the
# /sys/fs/cgroup the runtime mounted, or a cgroup fs the container mounts.
CGROUP_WRITE='
for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max \
         /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
  [ -e $f ] && '"$P"' open-w $f && exit 0
done
mkdir -p /tmp/cg
if mount -t cgroup -o pids none /tmp/cg 2>/dev/null; then '"$P"' open-w /tmp/cg/pids.max && exit 0; fi
if mount -t cgroup2 none /tmp/cg 2>/dev/null; then '"$P"' open-w /tmp/cg/cgroup.max.descendants && exit 0; fi
exit 1'
denied "write its own cgroup limits" -- "$CGROUP_WRITE"
allowed "write its own cgroup limits with --privileged" --privileged -- "$CGROUP_WRITE"

# ---- the host's network namespace ----------------------------------------------

PORT=$((20000 + RANDOM % 20000))
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True: s.accept()[0].close()' "$PORT" &
HOST_PIDS+=("$!")
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || fail "control: host listener on 127.0.0.1:$PORT not up"
denied "reach the host's loopback listener" -- "$P connect 127.0.0.1 $PORT"
denied "reach the host's loopback listener with --privileged" --privileged -- "$P connect 127.0.0.1 $PORT"
allowed "reach it with --network host (the control)" --network host -- "$P connect 127.0.0.1 $PORT"

# ---- capabilities, no_new_privs, seccomp state --------------------------------

cap_of() { grep "^$1:" /proc/self/status | awk '{print $2}'; }
attempt -- 'grep -E "^(CapInh|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status'
assert_contains "$OUT" "CapEff:	00000000a80425fb" "default capabilities (Docker's 14)"
assert_contains "$OUT" "CapBnd:	00000000a80425fb" "default bounding set"
assert_contains "$OUT" "CapAmb:	0000000000000000" "no ambient capabilities"
assert_contains "$OUT" "CapInh:	0000000000000000" "no inheritable capabilities (Docker >= 20.10.14)"
assert_contains "$OUT" "NoNewPrivs:	1" "no_new_privs"
assert_contains "$OUT" "Seccomp:	2" "seccomp filter loaded"
echo "ok  default container status: $OUT"
attempt --privileged -- 'grep -E "^(CapEff|Seccomp):" /proc/self/status'
assert_contains "$OUT" "CapEff:	$(cap_of CapBnd)" "--privileged keeps every capability the host has"
assert_contains "$OUT" "Seccomp:	0" "--privileged runs without seccomp"
attempt --cap-drop ALL -- 'grep "^CapEff:" /proc/self/status'
assert_contains "$OUT" "CapEff:	0000000000000000" "--cap-drop ALL"
attempt --cap-add NET_ADMIN --cap-drop CAP_MKNOD -- 'grep "^CapEff:" /proc/self/status'
assert_contains "$OUT" "CapEff:	00000000a00435fb" "--cap-add NET_ADMIN --cap-drop CAP_MKNOD"
echo "ok  --privileged / --cap-drop ALL / --cap-add / --cap-drop capability sets"

denied "sethostname without CAP_SYS_ADMIN" -- 'hostname escaped'
allowed "chown with CAP_CHOWN (default)" -- 'touch /tmp/f && chown 1234 /tmp/f'
denied "chown after --cap-drop CHOWN" --cap-drop chown -- 'touch /tmp/f && chown 1234 /tmp/f'

# ---- seccomp profiles from a file, --read-only ---------------------------------

cat >"$TEST_TMP/no-mkdir.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOF
allowed "mkdir (default profile)" -- 'mkdir /tmp/d'
denied "mkdir with seccomp=no-mkdir.json" --security-opt "seccomp=$TEST_TMP/no-mkdir.json" -- 'mkdir /tmp/d'
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$TEST_TMP/broken.json"
set +e
OUT=$(mctr run --rm --security-opt "seccomp=$TEST_TMP/broken.json" "$BUSYBOX_TAR" true 2>&1)
RC=$?
set -e
assert_eq 125 "$RC" "a malformed seccomp profile is a runtime error"
assert_contains "$OUT" "seccomp" "the error names the seccomp profile"
[[ $(printf '%s\n' "$OUT" | wc -l) -eq 1 ]] || fail "malformed profile error is not one line: $OUT"
echo "ok  malformed profile: $OUT"

allowed "write the root filesystem" -- 'touch /escape-file'
denied "write the root filesystem with --read-only" --read-only -- 'touch /escape-file'

echo "PASS: escape suite"
