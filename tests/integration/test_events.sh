#!/usr/bin/env bash
# events (docker events): every verb and supervisor appends its events to the
# state root's events.log; `events` follows it live, prints the past ones of a
# --since/--until window and exits at --until, filters them and formats them
# as Docker does (default line, --format json, a Go template).
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
# An empty log to start following from (it is made by the first event).
mctr events --since 0 --until 0 >/dev/null

echo "-- a live stream of one container's life"
# Names with a letter that is not hex (ev1, not e1): container=NAME also matches an
# id that starts with NAME, as in Docker, and a random id starts with "e1" 1 time in 256.
"$MINICTR" events --format '{{.Action}} {{.Actor.Attributes.name}}' >"$TEST_TMP/live" &  # not the function: $! must be minictr itself
HOST_PIDS+=($!)
sleep 0.3
t0=$(date +%s.%N)
mctr run --name ev1 busybox sh -c 'exit 3' >/dev/null || true
mctr rename ev1 ev2
mctr start ev2 >/dev/null
mctr wait ev2 >/dev/null
mctr run -d --name k busybox sleep 100 >/dev/null
mctr kill k >/dev/null
mctr run -d --name s busybox sleep 100 >/dev/null
mctr stop -t 1 s >/dev/null
mctr rm ev2 k s >/dev/null
sleep 0.5
t1=$(date +%s.%N)
kill "${HOST_PIDS[0]}"
expected="create ev1
start ev1
die ev1
rename ev2
start ev2
die ev2
create k
start k
kill k
die k
create s
start s
kill s
kill s
die s
stop s
destroy ev2
destroy k
destroy s"
assert_eq "$expected" "$(cat "$TEST_TMP/live")" "the live stream"

echo "-- the past: --since/--until, filters, formats"
past=$(mctr events --since "$t0" --until "$t1")
assert_eq 19 "$(wc -l <<<"$past")" "events in the window"
assert_contains "$(grep ' die ' <<<"$past" | head -1)" "(exitCode=3, image=busybox, name=ev1)" "die's attributes"
[[ $(head -1 <<<"$past") =~ ^20[0-9-]+T[0-9:.]+Z\ container\ create\ [0-9a-f]{64}\ \(image=busybox,\ name=ev1\)$ ]] ||
  fail "default line: $(head -1 <<<"$past")"
assert_contains "$(grep ' kill ' <<<"$past" | head -1)" "signal=9" "kill's signal"
assert_eq "die ev1
die ev2" "$(mctr events --since "$t0" --until "$t1" --filter event=die --filter container=ev1 --filter container=ev2 \
  --format '{{.Action}} {{.Actor.Attributes.name}}')" "filters"
json=$(mctr events --since "$t0" --until "$t1" --format json --filter event=stop)
assert_eq '"container" "stop" "stop" "local"' "$(jq -r '[.Type, .Action, .status, .scope] | map(tojson) | join(" ")' <<<"$json")" "json"
[[ $(jq '(.timeNano / 1000000000 | floor) == .time' <<<"$json") == true ]] || fail "time and timeNano disagree: $json"
assert_eq "" "$(mctr events --since "$t1" --until "$t1")" "an empty window"
assert_eq 125 "$(run_rc mctr events --since yesterday --until 1)" "a bad time"
assert_eq 125 "$(run_rc mctr events --filter colour=red --until 1)" "a bad filter"

echo "-- --until in the future: follows, then exits by itself"
start=$(date +%s%N)
"$MINICTR" events --until "$(($(date +%s) + 2))" --filter event=create --format '{{.Actor.Attributes.name}}' >"$TEST_TMP/until" &
pid=$!
HOST_PIDS+=($pid)
sleep 0.5
mctr create --name late busybox true >/dev/null
wait "$pid"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
((ms >= 1000 && ms < 4000)) || fail "events --until +2s exited after $ms ms"
assert_eq late "$(cat "$TEST_TMP/until")" "the event that came while following"

echo "-- health_status and restart events"
mctr run -d --name hs --health-cmd true --health-interval 100ms busybox sleep 100 >/dev/null
sleep 0.8
assert_contains "$(mctr events --since "$t1" --until "$(date +%s.%N)" --filter container=hs --filter event=health_status)" \
  "container health_status: healthy" "health_status"
mctr rm -f hs late >/dev/null
echo "PASS test_events"
