#!/usr/bin/env bash
# Host-side holes around `exec` and the processes minictr starts in a
# container (issue 17, items 2-5): each check failed on 4bcdcda.
#  - exec without -t handed the caller's terminal and session to the
#    container (TIOCSTI then typed commands into the host shell);
#  - exec -t used a pty of the host's devpts and leaked a copy of its slave;
#  - every fd the caller had without close-on-exec reached the container;
#  - the processes that enter the container ran from the host's writable
#    binary, reachable through /proc/PID/exe (CVE-2019-5736 class);
#  - a custom seccomp profile was read again at exec, inside the container.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null
mctr run -d --name target busybox sleep 300 >/dev/null

# ---- 2. exec without -t: no terminal, its own session ------------------------
# Run from a real terminal (pty_run), as a user at a shell would.
probe='if [ -t 0 ] || [ -t 1 ] || [ -t 2 ]; then echo has-tty; fi; set -- $(cat /proc/$$/stat); echo "sid=$6 tty_nr=$7 pid=$$"'
out=$(pty_run 24 80 0 0 "" "$MINICTR" exec target sh -c "$probe")
[[ $out != *has-tty* ]] || fail "exec without -t: the command holds the caller's terminal: $out"
assert_contains "$out" "tty_nr=0 " "exec without -t: no controlling terminal"
pid=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$out")
assert_contains "$out" "sid=$pid " "exec without -t: the command leads its own session"
echo "ok  exec without -t: pipes, no controlling terminal, own session ($out)"

# Its output and status still come through, and stdin with -i (1 MiB: the
# relay must not block writing input while the command writes output).
assert_eq "hello" "$(mctr exec target echo hello)" "exec output through the relay"
assert_eq 3 "$(run_rc mctr exec target sh -c 'exit 3')" "exec exit status"
assert_eq 1048576 "$(head -c 1048576 /dev/zero | mctr exec -i target cat | wc -c)" "exec -i: 1 MiB through cat"
out=$(mctr exec target sh -c 'echo err >&2' 2>&1 >/dev/null)
assert_eq "err" "$out" "exec stderr goes to our stderr"
echo "ok  exec relays stdout, stderr, stdin and the exit status"

# ---- 2. exec -it: a pty of the container's own devpts -------------------------
out=$(pty_run 24 80 0 0 "" "$MINICTR" exec -it target sh -c 'tty; ls /proc/self/fd | tr "\n" " "')
[[ $out =~ /dev/pts/[0-9]+ ]] || fail "exec -it: tty inside is not the container's pty: $out"
assert_contains "$out" "0 1 2 3 " "exec -it: fds in the container"
[[ $out != *"0 1 2 3 1"* ]] || fail "exec -it: a stray fd reached the command: $out"
echo "ok  exec -it: $(head -1 <<<"$out" | tr -d '\r')"

# ---- 3. only fds 0-2 cross into the container ----------------------------------
mkdir -p "$TEST_TMP/hostdir"
exec 7<"$TEST_TMP/hostdir" # no close-on-exec, as a shell leaves it
out=$(mctr exec target ls /proc/self/fd | tr '\n' ' ')
assert_eq "0 1 2 3 " "$out" "exec: fds the command holds (3 is ls's own)"
out=$(mctr run --rm busybox ls /proc/self/fd | tr '\n' ' ')
assert_eq "0 1 2 3 " "$out" "run: fds the command holds"
exec 7<&-
echo "ok  no inherited fd reaches the container"

# ---- 4. minictr's own processes run from a binary nobody can write ------------
# exe_mount PID: "ro" when /proc/PID/exe is a file on a read-only mount.
# (Opening it for writing would fail with ETXTBSY while any process runs
# the file, which the supervisor always does; the attack reopens it once
# none does, and then only the read-only mount stops it: EROFS.)
exe_mount() {
  python3 -c 'import os, sys; print("ro" if os.statvfs(f"/proc/{sys.argv[1]}/exe").f_flag & os.ST_RDONLY else "rw")' "$1"
}
init=$(mctr inspect -f '{{.State.Pid}}' target)
supervisor=$(awk '{print $4}' "/proc/$init/stat")
assert_eq ro "$(exe_mount "$supervisor")" "the supervisor's executable"
"$MINICTR" exec target sleep 30 &
exec_cli=$!
for _ in $(seq 100); do
  pgrep -P "$exec_cli" >/dev/null && break
  sleep 0.05
done
setup=$(pgrep -P "$exec_cli")
assert_eq ro "$(exe_mount "$exec_cli")" "the exec CLI's executable"
assert_eq ro "$(exe_mount "$setup")" "the exec setup process's executable"
# The command entering the container through "#!/proc/self/exe" (runc's
# CVE-2019-5736 exploit) would run this same read-only copy.
kill "$exec_cli"
wait "$exec_cli" 2>/dev/null || true
echo "ok  run's supervisor and exec's processes: /proc/PID/exe is on a read-only mount"

# A Dockerfile's RUN runs the base image's code too: its supervisor (and so
# the init cloned from it) is on a read-only mount as well. (It was not: only
# the verbs in a list re-executed themselves, and `build` was not in it.)
mkdir -p "$TEST_TMP/ctx"
printf 'FROM busybox\nRUN sleep 2\n' >"$TEST_TMP/ctx/Dockerfile"
"$MINICTR" build -t exe-check "$TEST_TMP/ctx" >/dev/null 2>&1 &
build_cli=$!
shim=""
for _ in $(seq 200); do
  shim=$(pgrep -P "$build_cli" -x minictr-shim | head -1 || true)
  [[ -n $shim ]] && break
  sleep 0.025
done
[[ -n $shim ]] || fail "no supervisor seen while the build's RUN step ran"
assert_eq ro "$(exe_mount "$shim")" "a build RUN step's supervisor executable"
wait "$build_cli" || fail "the build failed"
echo "ok  build's RUN steps: the supervisor's /proc/PID/exe is on a read-only mount"

# A host file system's binary stays untouched by a container's attempt.
before=$(sha256sum <"$MINICTR")
set +e
mctr exec target sh -c 'printf "#!/proc/self/exe\n" >/tmp/evil && chmod +x /tmp/evil'
mctr exec target /tmp/evil >/dev/null 2>&1
set -e
assert_eq "$before" "$(sha256sum <"$MINICTR")" "minictr binary unchanged"

# ---- 5. the seccomp profile is the one stored at create -----------------------
profile=$TEST_TMP/profiles/no-chmod.json
mkdir -p "$(dirname "$profile")"
cat >"$profile" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["chmod", "fchmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOF
mctr run -d --name filtered --security-opt "seccomp=$profile" busybox sleep 300 >/dev/null
rm -f "$profile"
chmod_tmp='touch /tmp/f && chmod 600 /tmp/f'
assert_eq 1 "$(run_rc mctr exec filtered sh -c "$chmod_tmp")" "exec after the host profile is gone: still filtered"
# The container writes an allow-all profile at the same path: no effect.
mctr exec filtered sh -c "mkdir -p $(dirname "$profile") && echo '{\"defaultAction\": \"SCMP_ACT_ALLOW\"}' >$profile"
assert_eq 1 "$(run_rc mctr exec filtered sh -c "$chmod_tmp")" "exec with a profile planted in the container: still filtered"
assert_eq 0 "$(run_rc mctr exec target sh -c "$chmod_tmp")" "chmod works in a default container (control)"
echo "ok  exec uses the seccomp profile stored at create"

echo "PASS test_host_exec"
