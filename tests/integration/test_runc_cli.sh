#!/usr/bin/env bash
# minictr-runc, the runc command line, driven as containerd's shim and
# conmon drive runc: spec, create/state/start/kill/delete with a pid file,
# exec (detached and not), ps, pause/resume, update, a console socket, the
# JSON error log, hooks, a container joining another's network namespace,
# and `run`. State root, bundles and cgroups are the test's own.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runc_lib.sh"

STATE=$TEST_TMP/runc-state
LOG=$TEST_TMP/log.json
CG=minictr-runc-test-$$
r() { "$RUNC" --root "$STATE" --log "$LOG" --log-format json "$@"; }
status_is() { [[ $(r state "$1" | jq -r .status) == "$2" ]]; }

runc_cleanup() {
  local rc=$1 id
  set +e
  for id in $("$RUNC" --root "$STATE" list -q 2>/dev/null); do
    "$RUNC" --root "$STATE" delete --force "$id" >/dev/null 2>&1
  done
  remove_cgroup_tree "$CG"
  _cleanup "$rc"
}
trap 'runc_cleanup $?' EXIT

# ---- spec: runc's default config.json ----------------------------------------
B=$TEST_TMP/bundle
mkdir -p "$B"
(cd "$B" && r spec)
[[ -f $B/config.json ]] || fail "spec wrote no config.json"
assert_eq "sh true rootfs" "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["process"]["args"][0], str(c["process"]["terminal"]).lower(), c["root"]["path"])' "$B/config.json")" "default spec"
rc=$(run_rc r spec --bundle "$B")
assert_eq 1 "$rc" "spec over an existing config.json"
unpack_busybox "$B/rootfs"
[[ -x $B/rootfs/bin/busybox ]] || fail "busybox rootfs not unpacked"

# A long-running container: prints, then waits. Its own cgroup, a memory limit.
edit_config "$B/config.json" \
  'c["process"]["terminal"] = False' \
  'c["process"]["args"] = ["sh", "-c", "echo started-$(hostname); exec sleep 1000"]' \
  'c["root"]["readonly"] = False' \
  "c['linux']['cgroupsPath'] = '/$CG/c1'" \
  'c["linux"]["resources"]["memory"] = {"limit": 67108864}' \
  'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}'

# ---- create: the init waits; the pid file names it ---------------------------
OUT=$TEST_TMP/c1.out
r create --bundle "$B" --pid-file "$TEST_TMP/c1.pid" c1 >"$OUT" 2>&1 </dev/null
pid=$(cat "$TEST_TMP/c1.pid")
[[ $pid =~ ^[0-9]+$ ]] || fail "pid file: '$pid'"
state=$(r state c1)
assert_eq created "$(jq -r .status <<<"$state")" "status after create"
assert_eq "$pid" "$(jq -r .pid <<<"$state")" "state pid = pid file"
assert_eq "$B" "$(jq -r .bundle <<<"$state")" "state bundle"
assert_eq "$B/rootfs" "$(jq -r .rootfs <<<"$state")" "state rootfs"
[[ $(jq -r .created <<<"$state") =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || fail "created: $(jq -r .created <<<"$state")"
[[ ! -s $OUT ]] || fail "the command ran before start: $(cat "$OUT")"
# Its cgroup is the one of linux.cgroupsPath, with the limit.
found=0
for d in $(cgroup_dirs "$CG/c1"); do
  [[ -f $d/cgroup.procs ]] && grep -qx "$pid" "$d/cgroup.procs" && found=1
  [[ -f $d/memory.limit_in_bytes ]] && assert_eq 67108864 "$(cat "$d/memory.limit_in_bytes")" "memory limit (v1)"
  [[ -f $d/memory.max ]] && assert_eq 67108864 "$(cat "$d/memory.max")" "memory limit (v2)"
done
assert_eq 1 "$found" "init in the cgroup of cgroupsPath"
rc=$(run_rc r create --bundle "$B" c1)
assert_eq 1 "$rc" "create of an id in use"

# ---- start: the command runs -------------------------------------------------
r start c1
wait_for 5 grep -q started-runc "$OUT" || fail "no output after start: $(cat "$OUT")"
assert_eq running "$(r state c1 | jq -r .status)" "status after start"
rc=$(run_rc r start c1)
assert_eq 1 "$rc" "start of a running container"
# Namespaces: its own pid and mount namespaces, the hostname of the spec, the sysctl.
assert_eq runc "$(r exec c1 hostname)" "hostname"
assert_eq 1 "$(r exec c1 cat /proc/sys/net/ipv4/ip_forward)" "sysctl"
assert_eq "sleep 1000" "$(r exec c1 cat /proc/1/cmdline | tr '\0' ' ' | sed 's/ $//')" "pid 1 is the command"
[[ $(readlink /proc/$pid/ns/mnt) != $(readlink /proc/self/ns/mnt) ]] || fail "no new mount namespace"
# Default devices and masked paths.
r exec c1 sh -c 'test -c /dev/null && test -c /dev/urandom && test -L /dev/ptmx && test -L /dev/fd' ||
  fail "default devices missing"
assert_eq 0 "$(r exec c1 cat /proc/timer_list | wc -c)" "/proc/timer_list masked"
[[ $(wc -c </proc/timer_list) -gt 0 ]] || fail "the host has an empty /proc/timer_list: masking untested"
rc=$(run_rc r exec c1 sh -c 'echo 1 > /proc/sysrq-trigger')
[[ $rc != 0 ]] || fail "/proc/sysrq-trigger writable"
# The exit status of a foreground exec is ours.
rc=$(run_rc r exec c1 sh -c 'exit 7')
assert_eq 7 "$rc" "exec exit status"

# ---- exec --detach, ps --------------------------------------------------------
r exec --detach --pid-file "$TEST_TMP/e.pid" c1 sleep 500
epid=$(cat "$TEST_TMP/e.pid")
pids=$(r ps --format json c1)
jq -e --argjson p "$pid" 'index($p) != null' <<<"$pids" >/dev/null || fail "ps lacks the init: $pids"
jq -e --argjson p "$epid" 'index($p) != null' <<<"$pids" >/dev/null || fail "ps lacks the exec'd process: $pids"
# --process, as containerd and conmon call it.
cat >"$TEST_TMP/process.json" <<'P'
{"terminal": false, "user": {"uid": 65534, "gid": 65534}, "args": ["id"], "env": ["PATH=/bin"], "cwd": "/tmp"}
P
assert_contains "$(r exec --process "$TEST_TMP/process.json" c1)" "uid=65534" "exec --process user"

# ---- pause / resume / update ------------------------------------------------------
r pause c1
assert_eq paused "$(r state c1 | jq -r .status)" "status after pause"
r resume c1
assert_eq running "$(r state c1 | jq -r .status)" "status after resume"
echo '{"pids": {"limit": 42}}' >"$TEST_TMP/res.json"
r update --resources "$TEST_TMP/res.json" c1
for d in $(cgroup_dirs "$CG/c1"); do
  [[ -f $d/pids.max ]] && assert_eq 42 "$(cat "$d/pids.max")" "update pids limit"
done

# ---- kill / delete ----------------------------------------------------------------
rc=$(run_rc r delete c1)
assert_eq 1 "$rc" "delete of a running container"
assert_contains "$(tail -n 1 "$LOG")" "that is not stopped: running" "delete refusal logged"
r kill c1 KILL
wait_for 5 status_is c1 stopped || fail "not stopped after kill"
r delete c1
rc=$(run_rc r state c1)
assert_eq 1 "$rc" "state after delete"
for d in $(cgroup_dirs "$CG/c1"); do [[ ! -d $d ]] || fail "cgroup $d left after delete"; done
kill -0 "$epid" 2>/dev/null && fail "exec'd process survived delete"

# ---- errors: one line on stderr, a JSON line in --log -----------------------------
BAD=$TEST_TMP/bad
mkdir -p "$BAD/rootfs"
echo '{"ociVersion": "1.0.0", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": "not-a-list"}, "root": {"path": "rootfs"}}' >"$BAD/config.json"
: >"$LOG"
set +e
err=$(r create --bundle "$BAD" bad 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 1 "$rc" "create of a bad bundle"
assert_contains "$err" "process.args" "stderr names the field"
line=$(tail -n 1 "$LOG")
assert_eq error "$(jq -r .level <<<"$line")" "log level"
assert_contains "$(jq -r .msg <<<"$line")" "process.args" "log msg"
[[ $(jq -r .time <<<"$line") =~ ^20[0-9-]+T[0-9:]+Z$ ]] || fail "log time: $line"
[[ ! -d $STATE/bad ]] || fail "a failed create left its state dir"

# ---- console socket: the pty master over SCM_RIGHTS -----------------------------
T=$TEST_TMP/tty
mkdir -p "$T"
cp "$B/config.json" "$T/config.json"
ln -s "$B/rootfs" "$T/rootfs"
edit_config "$T/config.json" \
  'c["process"]["terminal"] = True' \
  'c["process"]["consoleSize"] = {"height": 33, "width": 77}' \
  'c["process"]["args"] = ["sh", "-c", "tty; stty size; echo tty-done"]' \
  "c['linux']['cgroupsPath'] = '/$CG/tty'"
SOCK=$TEST_TMP/console.sock
python3 - "$SOCK" >"$TEST_TMP/tty.out" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(20)
conn, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
master = fds[0]
out, end = b"", time.time() + 20
while b"tty-done" not in out and time.time() < end:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
print(out.decode(errors="replace").replace("\r", ""))
PY
recv=$!
HOST_PIDS+=("$recv")
wait_for 5 test -S "$SOCK" || fail "console receiver did not start"
r create --bundle "$T" --console-socket "$SOCK" tty1 </dev/null >/dev/null 2>&1
r start tty1
wait "$recv" || true
out=$(cat "$TEST_TMP/tty.out")
assert_contains "$out" "/dev/pts/" "tty names a pty"
assert_contains "$out" "33 77" "consoleSize"
assert_contains "$out" "tty-done" "the command's output came through the master"
wait_for 5 status_is tty1 stopped || fail "tty1 not stopped"
r delete tty1

# ---- joining another container's network namespace by path; hooks -----------------
r create --bundle "$B" --pid-file "$TEST_TMP/s.pid" sandbox </dev/null >/dev/null 2>&1
r start sandbox
spid=$(cat "$TEST_TMP/s.pid")
J=$TEST_TMP/join
mkdir -p "$J"
cp "$B/config.json" "$J/config.json"
ln -s "$B/rootfs" "$J/rootfs"
HOOK_OUT=$TEST_TMP/hook
edit_config "$J/config.json" \
  "c['linux']['cgroupsPath'] = '/$CG/member'" \
  "c['linux']['namespaces'] = [n if n['type'] != 'network' else {'type': 'network', 'path': '/proc/$spid/ns/net'} for n in c['linux']['namespaces']]" \
  'c["process"]["args"] = ["sh", "-c", "readlink /proc/self/ns/net; exec sleep 1000"]' \
  "c['hooks'] = {'createRuntime': [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > $HOOK_OUT.create']}], 'poststop': [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > $HOOK_OUT.stop']}]}"
r create --bundle "$J" member </dev/null >"$TEST_TMP/member.out" 2>&1
assert_eq creating "$(jq -r .status "$HOOK_OUT.create")" "createRuntime hook got the state"
assert_eq member "$(jq -r .id "$HOOK_OUT.create")" "hook state id"
r start member
wait_for 5 grep -q net: "$TEST_TMP/member.out" || fail "member printed nothing"
assert_eq "$(readlink /proc/$spid/ns/net)" "$(head -n 1 "$TEST_TMP/member.out")" "member joined the sandbox's netns"
[[ $(readlink /proc/$spid/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "the sandbox has the host's netns"
r delete --force member
assert_eq stopped "$(jq -r .status "$HOOK_OUT.stop")" "poststop hook ran"
r delete --force sandbox

# ---- no mount namespace: the mounts are the host's, the root a chroot (as runc) -----
N=$TEST_TMP/nomnt
mkdir -p "$N"
cp "$B/config.json" "$N/config.json"
ln -s "$B/rootfs" "$N/rootfs"
edit_config "$N/config.json" \
  "c['linux']['cgroupsPath'] = '/$CG/nomnt'" \
  "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] not in ('mount', 'pid')]" \
  'c["process"]["args"] = ["sh", "-c", "test -x /bin/busybox && echo ready; exec sleep 1000"]'
r create --bundle "$N" --pid-file "$TEST_TMP/n.pid" nomnt </dev/null >"$TEST_TMP/nomnt.out" 2>&1
npid=$(cat "$TEST_TMP/n.pid")
assert_eq "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/$npid/ns/mnt)" "no mount namespace: the host's"
grep -q " $B/rootfs/proc " /proc/self/mountinfo || fail "the container's /proc is not mounted on the host"
r start nomnt
wait_for 5 grep -q ready "$TEST_TMP/nomnt.out" || fail "no-mount-namespace container: $(cat "$TEST_TMP/nomnt.out")"
assert_eq "$B/rootfs" "$(readlink /proc/$npid/root)" "the init's root is the rootfs"
assert_eq in-rootfs "$(r exec nomnt sh -c "test -x /bin/busybox && test ! -e $TEST_TMP && echo in-rootfs")" \
  "exec runs in the rootfs, not at the host's root"
r delete --force nomnt
if grep -q " $B/rootfs[/ ]" /proc/self/mountinfo; then fail "delete left host mounts: $(grep " $B/rootfs" /proc/self/mountinfo)"; fi

# ---- run: create + start + wait, the command's status --------------------------
edit_config "$B/config.json" 'c["process"]["args"] = ["sh", "-c", "exit 3"]'
rc=$(run_rc r run --bundle "$B" once)
assert_eq 3 "$rc" "run's exit status"
[[ ! -d $STATE/once ]] || fail "run left its state"
[[ -z $(r list -q) ]] || fail "containers left: $(r list -q)"
echo "test_runc_cli: ok"
