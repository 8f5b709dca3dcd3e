#!/usr/bin/env bash
# Bad flags are refused up front (issue 18, "Input validation"): exit 125,
# one line on stderr that names the problem, and nothing half-made (no
# container, no bind source dir; update leaves the saved and live limits).
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

# refused WANT ARGS...: `minictr ARGS` exits 125 with one stderr line holding
# WANT, and leaves no container behind.
refused() {
  local want=$1 err rc
  shift
  set +e
  err=$(mctr "$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  echo "   $* -> $rc: $err"
  assert_eq 125 "$rc" "exit code of '$*'"
  assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "stderr lines of '$*'"
  assert_contains "$err" "$want" "message of '$*'"
  assert_eq "" "$(mctr ps -a -q)" "containers left by '$*'"
}

echo "-- --cpus: nan, inf and below 0.01 get Docker's range message; 0 means no limit"
ncpu=$(nproc)
range="Range of CPUs is from 0.01 to $ncpu.00, as there are only $ncpu CPUs available"
for v in nan inf -inf 0.001 -1 $((ncpu + 1)); do
  refused "$range" run --network none "--cpus=$v" busybox true
done
assert_eq 0 "$(run_rc mctr run --rm --network none --cpus 0 busybox true)" "--cpus 0 (no limit)"

echo "-- -u: ids over 4294967294 and garbage are refused at create"
refused "out of range" run --network none -u 99999999999 busybox id
refused "out of range" run --network none -u 4294967295 busybox id
refused "out of range" run --network none -u 0:4294967295 busybox id
refused "neither a user name nor an id" run --network none -u 'a b' busybox id
refused "more than one ':'" run --network none -u 1:2:3 busybox id
assert_eq "uid=4294967294 gid=7" "$(mctr run --rm --network none -u 4294967294:7 busybox id)" "largest uid"

echo "-- --name: over 128 characters says so (and makes no bind source first)"
long=$(printf 'n%.0s' {1..129})
refused "at most 128" run --network none -v "$TEST_TMP/newdir:/x" --name "$long" busybox true
[[ ! -e $TEST_TMP/newdir ]] || fail "a refused run created its bind source"
assert_eq 0 "$(run_rc mctr run --rm --network none --name "${long:1}" busybox true)" "a 128-character name"

echo "-- -m: a size over int64 is too large, not under 6MB"
refused "too large" run --network none -m 99999999999999999999 busybox true
refused "invalid size" run --network none -m nan busybox true

echo "-- -e =x and env-file names with whitespace: Docker's messages"
refused "invalid environment variable: =x" run --network none -e =x busybox true
printf 'OK=1\na b=1\n' >"$TEST_TMP/envfile"
refused "variable 'a b' contains whitespaces" run --network none --env-file "$TEST_TMP/envfile" busybox true

echo "-- image references: Docker's grammar"
for ref in ../busybox x:y:z busybox:a:b a..b; do
  refused "invalid reference format" run --network none "$ref" true
done

echo "-- update shares run's checks: refused before the kernel sees it, limits unchanged"
mctr run -d --name upd --network none -m 64m busybox sleep 300 >/dev/null
memory_of() { mctr inspect upd | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["HostConfig"]["Memory"])'; }
before=$(memory_of)
# refused() also wants no containers: check these by hand.
for args in "-m 1b:minimum memory limit allowed is 6MB" \
  "--memory-swap 16m:minimum memoryswap limit should be larger than memory limit" \
  "--cpus 0.001:$range" "-m 99999999999999999999:too large"; do
  set +e
  err=$(mctr update ${args%%:*} upd 2>&1 >/dev/null)
  rc=$?
  set -e
  echo "   update ${args%%:*} -> $rc: $err"
  assert_eq 125 "$rc" "exit code of update ${args%%:*}"
  assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "stderr lines of update ${args%%:*}"
  assert_contains "$err" "${args#*:}" "message of update ${args%%:*}"
done
assert_eq "$before" "$(memory_of)" "saved memory limit after refused updates"
assert_eq running "$(mctr inspect -f '{{.State.Status}}' upd)" "state after refused updates"
mctr create --name nomem busybox true >/dev/null
set +e
err=$(mctr update --memory-swap 16m nomem 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 125 "$rc" "update --memory-swap without a memory limit"
assert_contains "$err" "you should always set the memory limit" "message of update --memory-swap alone"
mctr update -m 128m --memory-swap 256m upd nomem >/dev/null || fail "a valid update was refused"
mctr rm -f upd nomem >/dev/null
echo "ok"
