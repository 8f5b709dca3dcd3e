#!/usr/bin/env bash
# The CLI's own errors (issue 18): an unknown verb is named, and every verb
# but `version` (and --version, --help) says that it needs root, with exit 125 — not an
# empty `ps`, "No such image" or "No such container" for a normal user.
source "$(dirname "$0")/lib.sh"

out=$(mctr frobnicate 2>&1) && fail "an unknown verb succeeded"
assert_eq 125 "$(run_rc mctr frobnicate)" "unknown verb: exit code"
assert_contains "$out" "'frobnicate' is not a minictr command" "unknown verb: message"
[[ $(wc -l <<<"$out") -eq 1 ]] || fail "unknown verb: not one line: $out"
echo "ok  unknown verb: $out"

# As a normal user (uid 65534), from a copy of the binary it can reach.
chmod 0711 "$TEST_TMP"
cp "$MINICTR" "$TEST_TMP/minictr"
chmod 0755 "$TEST_TMP/minictr"
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$TEST_TMP/minictr" "$@"; }
for verb in ps images "run busybox true" "rm x" "load x.tar" "exec x true" "stats --no-stream"; do
  set +e
  # shellcheck disable=SC2086 # the verb's words
  out=$(as_user $verb 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "'$verb' as a normal user: exit code"
  assert_contains "$out" "needs root" "'$verb' as a normal user"
  [[ $(wc -l <<<"$out") -eq 1 ]] || fail "'$verb' as a normal user: not one line: $out"
done
echo "ok  every verb as a normal user: $out"
assert_eq "minictr version 0.1.0" "$(as_user version)" "version as a normal user"
assert_eq "minictr version 0.1.0" "$(as_user --version)" "--version as a normal user (docker --version)"
as_user run --help | grep -c "Usage:" >/dev/null || fail "run --help as a normal user"
echo "ok  version, --version and --help work as a normal user"

# `run` starts the container's supervisor before it creates the container:
# when creating fails, the supervisor reads EOF instead of an id and exits.
assert_eq 125 "$(run_rc mctr run --rm no-such-image true)" "run of a missing image: exit code"
assert_eq 125 "$(run_rc mctr run --memory 1k no-such-image true)" "run with a too small limit: exit code"
for _ in $(seq 100); do
  pgrep -f "^minictr-shim $MINICTR_ROOT " >/dev/null || break
  sleep 0.02
done
if pgrep -af "^minictr-shim $MINICTR_ROOT "; then fail "a failed run left its supervisor running"; fi
echo "ok  a run that fails before its container exists leaves no supervisor"

echo "PASS test_cli_errors"
