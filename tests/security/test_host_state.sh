#!/usr/bin/env bash
# The state root from the host's other users (CVE-2021-41091 class): image
# layers and named volumes hold whatever a container or an image put there,
# setuid-root binaries and device nodes included. No user but root may reach
# them: the root, layers/ and volumes/ are 0700 (Docker: 0710/0701), and a
# root an older minictr left 0711 is closed again by the next command.
# Meanwhile containers' own non-root users still work: they reach their files
# through the overlay and bind mounts, never through the host path.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"

# Only minictr's own modes may decide: the test's temp dir lets others pass.
chmod 0711 "$TEST_TMP"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# refused_to_nobody PATH: stat and exec of PATH fail with EACCES as nobody.
refused_to_nobody() {
  local out
  [[ -e $1 ]] || fail "no such path (as root): $1"
  out=$(as_nobody stat -c %n "$1" 2>&1) && fail "nobody can stat $1"
  assert_contains "$out" "Permission denied" "stat $1 as nobody"
  # Through sh: setpriv itself finds its program before it drops root.
  out=$(as_nobody sh -c '"$0" true' "$1" 2>&1) && fail "nobody can execute $1"
  assert_contains "$out" "Permission denied" "exec $1 as nobody"
  echo "ok  nobody cannot reach $1"
}

mode_of() { stat -c %a "$1"; }

# Control: nobody can reach and run a program in a 0755 dir next to the root,
# so the refusals below come from the state root's modes.
mkdir -m 0755 "$TEST_TMP/control"
cp /bin/true "$TEST_TMP/control/true"
as_nobody sh -c '"$0"' "$TEST_TMP/control/true" || fail "control: nobody cannot run $TEST_TMP/control/true"

mctr load -q "$BUSYBOX_TAR" >/dev/null
layer=$(find "$MINICTR_ROOT/layers" -mindepth 1 -maxdepth 1 -type d | head -n1)
[[ -n $layer ]] || fail "no layer dir under $MINICTR_ROOT/layers"

# A container leaves a setuid-root copy of busybox in a named volume.
mctr run --rm --network none -v hsvol:/data "$BUSYBOX_TAR" \
  sh -c 'cp /bin/busybox /data/suid && chmod 4755 /data/suid && echo kept > /data/note'
suid=$MINICTR_ROOT/volumes/hsvol/_data/suid
[[ $(stat -c %a "$suid") == 4755 ]] || fail "the container did not leave a setuid file"

assert_eq 700 "$(mode_of "$MINICTR_ROOT")" "state root mode"
assert_eq 700 "$(mode_of "$MINICTR_ROOT/layers")" "layers/ mode"
assert_eq 700 "$(mode_of "$MINICTR_ROOT/volumes")" "volumes/ mode"
assert_eq 700 "$(mode_of "$MINICTR_ROOT/volumes/hsvol")" "volumes/hsvol mode"
assert_eq 755 "$(mode_of "$MINICTR_ROOT/volumes/hsvol/_data")" "_data mode (the container's users need it)"
refused_to_nobody "$layer/bin/busybox"
refused_to_nobody "$suid"

# A store an older minictr made: root and layers/ 0711, volumes 0755.
chmod 0711 "$MINICTR_ROOT" "$MINICTR_ROOT/layers"
chmod 0755 "$MINICTR_ROOT/volumes" "$MINICTR_ROOT/volumes/hsvol"
as_nobody stat "$suid" >/dev/null 2>&1 || fail "the simulated old store is not reachable (test broken)"
mctr ps -a >/dev/null
assert_eq 700 "$(mode_of "$MINICTR_ROOT")" "state root mode after the next command"
refused_to_nobody "$layer/bin/busybox"
refused_to_nobody "$suid"
mctr load -q "$BUSYBOX_TAR" >/dev/null
assert_eq 700 "$(mode_of "$MINICTR_ROOT/layers")" "layers/ mode after load"
mctr volume create hsvol >/dev/null
assert_eq 700 "$(mode_of "$MINICTR_ROOT/volumes")" "volumes/ mode after volume create"
assert_eq 700 "$(mode_of "$MINICTR_ROOT/volumes/hsvol")" "volumes/hsvol mode after volume create"

# A container's own unprivileged user still reads its image and its volume.
out=$(mctr run --rm --network none -u nobody "$BUSYBOX_TAR" sh -c 'id -u; ls /bin/busybox')
assert_eq "65534 /bin/busybox" "$(echo $out)" "run -u nobody"
out=$(mctr run --rm --network none -u nobody -v hsvol:/data "$BUSYBOX_TAR" cat /data/note)
assert_eq kept "$out" "a named volume read by -u nobody"
echo "ok  run -u nobody still reads its image and a named volume"
echo "PASS"
