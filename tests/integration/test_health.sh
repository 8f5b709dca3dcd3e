#!/usr/bin/env bash
# Health checks (--health-cmd ... and the image's HEALTHCHECK): the
# supervisor's monitor execs the check in the container every interval;
# State.Health goes starting -> unhealthy after `retries` failures ->
# healthy on a pass; ps shows it; a check that overruns its timeout fails
# with exit code -1; the start period does not count failures; the monitor
# ends with the container.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
health() { mctr inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' "$1"; }
# wait_health NAME STATUS SECONDS
wait_health() {
  for ((i = 0; i < $3 * 20; i++)); do
    [[ $(mctr inspect -f '{{.State.Health.Status}}' "$1") == "$2" ]] && return 0
    sleep 0.05
  done
  fail "$1 did not become $2 in $3 s: $(health "$1")"
}

echo "-- flags"
assert_eq 125 "$(run_rc mctr run -d --health-interval 10 --health-cmd true busybox true)" "a duration without unit"
assert_eq 125 "$(run_rc mctr run -d --no-healthcheck --health-cmd true busybox true)" "--no-healthcheck with --health-cmd"

echo "-- starting -> unhealthy -> healthy"
mctr run -d --name h --health-cmd 'echo checked; test -f /tmp/ok' --health-interval 300ms --health-retries 2 \
  busybox sleep 100 >/dev/null
assert_eq starting "$(mctr inspect -f '{{.State.Health.Status}}' h)" "right after the start"
wait_health h unhealthy 3
assert_contains "$(mctr ps | grep ' h$')" "(unhealthy)" "ps when unhealthy"
mctr exec h touch /tmp/ok
wait_health h healthy 3
assert_contains "$(mctr ps | grep ' h$')" "(healthy)" "ps when healthy"
sleep 1.5  # more checks than the log keeps
log=$(mctr inspect -f '{{json .State.Health.Log}}' h)
assert_eq 5 "$(jq length <<<"$log")" "log entries kept"
assert_eq 0 "$(jq '.[-1].ExitCode' <<<"$log")" "last check's exit code"
assert_eq '"checked\n"' "$(jq '.[-1].Output' <<<"$log")" "last check's output"
assert_eq '["CMD-SHELL","echo checked; test -f /tmp/ok"]' "$(mctr inspect -f '{{json .Config.Healthcheck.Test}}' h)" "Config.Healthcheck"

echo "-- the monitor ends with the container"
sup=$(jq -r '.SupervisorPid' "$MINICTR_ROOT/containers/$(mctr inspect -f '{{.Id}}' h)/state.json")
[[ -n $(pgrep -P "$sup" -x minictr-health) ]] || fail "no health monitor under the supervisor"
mon=$(pgrep -P "$sup" -x minictr-health)
mctr stop -t 1 h >/dev/null
sleep 0.2
[[ ! -e /proc/$mon ]] || fail "the health monitor outlived its container"
assert_eq unhealthy "$(mctr inspect -f '{{.State.Health.Status}}' h)" "status of a stopped container"

echo "-- a check that overruns its timeout fails with -1"
mctr run -d --name t --health-cmd 'sleep 5' --health-timeout 300ms --health-interval 100ms --health-retries 1 \
  busybox sleep 100 >/dev/null
wait_health t unhealthy 4
first=$(mctr inspect -f '{{json .State.Health.Log}}' t | jq -c '.[0]')
assert_eq -1 "$(jq .ExitCode <<<"$first")" "timed out exit code"
assert_contains "$(jq -r .Output <<<"$first")" "exceeded timeout" "timeout output"

echo "-- failures within the start period do not count"
mctr run -d --name s --health-cmd false --health-interval 100ms --health-retries 1 --health-start-period 3s \
  busybox sleep 100 >/dev/null
sleep 1.2
assert_eq "starting 0" "$(health s)" "inside the start period"
assert_contains "$(mctr ps | grep ' s$')" "(health: starting)" "ps while starting"
(($(mctr inspect -f '{{len .State.Health.Log}}' s) >= 2)) || fail "no checks ran in the start period"
wait_health s unhealthy 5

echo "-- the image's HEALTHCHECK, and --no-healthcheck"
mkdir -p "$TEST_TMP/ctx"
printf 'FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD ["true"]\n' >"$TEST_TMP/ctx/Dockerfile"
mctr build -q -t withcheck "$TEST_TMP/ctx" >/dev/null
mctr run -d --name i withcheck sleep 100 >/dev/null
wait_health i healthy 3
assert_eq '["CMD","true"]' "$(mctr inspect -f '{{json .Config.Healthcheck.Test}}' i)" "the image's test"
mctr run -d --name n --no-healthcheck withcheck sleep 100 >/dev/null
sleep 0.5
assert_eq "<no value>" "$(mctr inspect -f '{{.State.Health}}' n)" "--no-healthcheck"
assert_contains "$(mctr ps | grep ' n$')" "Up " "ps"
[[ $(mctr ps | grep ' n$') != *"health"* ]] || fail "ps shows health without a check"
mctr rm -f t s i n h >/dev/null
echo "PASS test_health"
