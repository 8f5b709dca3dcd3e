#!/usr/bin/env bash
# io_uring in a default container: refused by the seccomp profile (Docker
# 25.0+), because a ring's operations run without passing through seccomp.
# The control: the same probe reaches the kernel with seccomp=unconfined,
# so the refusal comes from the profile (not from a host that disabled
# io_uring, kernel.io_uring_disabled=2, which also answers EPERM).
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

PROBE_BIN=$MINICTR_BUILD/tests/security/escape_probe
[[ -x $PROBE_BIN ]] || fail "escape_probe not built: $PROBE_BIN (cmake --build --target escape_probe)"
[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
mkdir -p "$TEST_TMP/probe"
cp "$PROBE_BIN" "$TEST_TMP/probe/escape_probe"
mctr load -q "$BUSYBOX_TAR" >/dev/null

probe() {
  set +e
  OUT=$(mctr run --rm --network none -v "$TEST_TMP/probe:/probe:ro" "$@" busybox /probe/escape_probe io_uring 2>&1)
  RC=$?
  set -e
  [[ $RC -eq 0 || $RC -eq 1 ]] || fail "runtime error (exit $RC): $OUT"
}

probe --security-opt seccomp=unconfined
if [[ $RC -ne 0 ]]; then
  echo "SKIP: io_uring is unavailable on this host even without seccomp ($OUT)"
  exit 0
fi
echo "ok  allowed  io_uring_setup with seccomp=unconfined: $OUT"

probe
[[ $RC -eq 1 ]] || fail "io_uring_setup in a default container: ESCAPE — it worked: $OUT"
assert_contains "$OUT" "Operation not permitted" "io_uring_setup in a default container"
echo "ok  denied   io_uring_setup in a default container: $OUT"

probe --cap-add ALL
[[ $RC -eq 1 ]] || fail "io_uring_setup with --cap-add ALL: no capability brings it back: $OUT"
echo "ok  denied   io_uring_setup with --cap-add ALL: $OUT"
echo "PASS"
