#!/usr/bin/env bash
# exec's process comes from the container's bundle (config.json's process),
# with Docker's rules for exec's flags: the container's user, capabilities,
# no_new_privs, seccomp and env; -u, -e, --privileged override them. The
# private config is not read: changing it changes nothing.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

status() { grep "^$2:" "/proc/$1/status" | cut -f2; }  # PID FIELD, on the host

id=$(mctr run -d --name p -u nobody --cap-drop CHOWN -e A=1 --network none busybox sleep 1000)
pid=$(mctr inspect p | grep '"Pid"' | head -1 | tr -dc 0-9)
[[ $pid -gt 1 ]] || fail "inspect Pid"
# What the bundle's process says, seen on the container's PID 1.
bnd=$(status "$pid" CapBnd)

# The private config says otherwise: exec must not read it.
cfg="$MINICTR_ROOT/containers/$id/config.json"
[[ -f $cfg ]] || fail "no private config at $cfg"
python3 - "$cfg" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["User"] = "0"
c["Env"] = ["A=from-private-config"]
c["CapDrop"] = []
c["CapAdd"] = ["ALL"]
json.dump(c, open(sys.argv[1], "w"))
EOF

echo "-- exec without flags: the container's process"
out=$(mctr exec p sh -c 'id -u; echo "$A"; echo "$HOME"; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | cut -f2')
home=$(mctr exec p sh -c 'grep "^nobody:" /etc/passwd | cut -d: -f6')
assert_eq "65534
1
$home
0000000000000000
$bnd
1
2" "$out" "exec: user nobody, A=1, its HOME, none effective, the bundle's bounding set, no_new_privs, seccomp"
(((0x$bnd & 1) == 0)) || fail "--cap-drop CHOWN: CAP_CHOWN still in the bounding set $bnd"

echo "-- exec -u 0 -e A=2: the user and the variable replaced"
out=$(mctr exec -u 0 -e A=2 -e B=3 p sh -c 'id -u; env | grep -c "^A="; echo "$A $B"; grep ^CapEff: /proc/self/status | cut -f2')
assert_eq "0
1
2 3
$bnd" "$out" "exec -u 0 -e A=2 -e B=3: root, one A, the bundle's capabilities effective"
assert_eq "1000 1001" "$(mctr exec -u 1000:1001 p sh -c 'echo $(id -u) $(id -g)')" "exec -u uid:gid"

echo "-- exec --privileged: every capability, no no_new_privs, no seccomp"
out=$(mctr exec --privileged -u 0 p sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | cut -f2')
assert_eq "$(status $$ CapBnd)
0
0" "$out" "exec --privileged"
assert_eq "1" "$(mctr exec p sh -c 'grep ^NoNewPrivs: /proc/self/status | cut -f2')" "a later exec is confined again"

echo "-- TERM follows exec's -t, not the container's"
mctr run -d -t --name t --network none busybox sleep 1000 >/dev/null
tpid=$(mctr inspect t | grep '"Pid"' | head -1 | tr -dc 0-9)
tr '\0' '\n' <"/proc/$tpid/environ" | grep -qx TERM=xterm || fail "run -t: no TERM=xterm in the container's env"
assert_eq unset "$(mctr exec t sh -c 'echo ${TERM-unset}')" "exec without -t in a -t container: no TERM"
out=$(pty_run 24 80 0 0 "" "$MINICTR" exec -t t sh -c 'echo "term=$TERM"')
assert_contains "$out" "term=xterm" "exec -t: TERM=xterm"

echo "ok  exec's process is the bundle's, with exec's flags"
