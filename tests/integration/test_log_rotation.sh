#!/usr/bin/env bash
# The json-file log has a limit (issue 18, "Logs"): --log-opt max-size/max-file
# rotate it as Docker does (<id>-json.log, .1, ...), a container without
# --log-opt gets max-size=10m max-file=3, bad options are refused at create
# (125, nothing made), and `logs` / `logs -f` read across the rotated files.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null

wait_exited() {
  for _ in $(seq 300); do
    [[ $(mctr inspect -f '{{.State.Status}}' "$1") == exited ]] && return 0
    sleep 0.1
  done
  fail "$1 did not exit"
}

# check_files ID MAX_FILES MAX_SIZE: the log files exist, no more of them
# than MAX_FILES, none above MAX_SIZE bytes.
check_files() {
  local dir=$MINICTR_ROOT/containers/$1 n=0 f size
  for f in "$dir/$1-json.log"*; do
    size=$(stat -c %s "$f")
    ((size <= $3)) || fail "$(basename "$f") is $size bytes, max-size is $3"
    n=$((n + 1))
  done
  ((n >= 2 && n <= $2)) || fail "$n log files, expected 2..$2"
  echo "$n"
}

count_lines='i=0; while [ $i -lt $0 ]; do echo "line $i"; i=$((i+1)); done'

# 3000 lines (~200 KB of JSON) through max-size=10k max-file=2.
id=$(mctr run -d --network none --log-opt max-size=10k --log-opt max-file=2 busybox sh -c "$count_lines" 3000)
wait_exited "$id"
check_files "$id" 2 10000 >/dev/null
assert_eq 'json-file {"max-file":"2","max-size":"10k"}' \
  "$(mctr inspect -f '{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}' "$id")" "inspect's LogConfig"
out=$(mctr logs "$id")
assert_eq "line 2999" "$(tail -n1 <<<"$out")" "logs ends with the last line"
first=$(head -n1 <<<"$out" | cut -d' ' -f2)
((first > 2000)) || fail "logs starts at line $first: older lines were kept beyond max-file"
expected=$(seq "$first" 2999 | sed 's/^/line /')
[[ "$out" == "$expected" ]] || fail "logs across the two files is not line $first..2999 in order"
assert_eq "$(seq 2990 2999 | sed 's/^/line /')" "$(mctr logs --tail 10 "$id")" "logs --tail 10"
echo "ok  max-size=10k max-file=2: two files of at most 10k; logs reads both, oldest first (lines $first..2999)"

# logs -f follows through many rotations: with max-file=200 nothing is
# dropped, so it sees every line once, in order.
id=$(mctr run -d --network none --log-opt max-size=2k --log-opt max-file=200 busybox sh -c \
  'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); [ $((i % 100)) = 0 ] && sleep 0.05; done')
out=$(timeout 30 "$MINICTR" logs -f "$id")
[[ "$out" == "$(seq 0 1999 | sed 's/^/line /')" ]] || fail "logs -f across rotations: $(wc -l <<<"$out") lines, not line 0..1999"
files=$(ls "$MINICTR_ROOT/containers/$id/" | grep -c -- '-json.log')
((files > 20)) || fail "only $files log files: the test did not rotate"
echo "ok  logs -f follows across $files rotated files, every line once and in order"

# No --log-opt: max-size=10m max-file=3. 1 MB of "y\n" is 36 MB of JSON
# (72 bytes a line, as in Docker): it is cut to 3 files of at most 10 MB.
id=$(mctr run -d --network none busybox sh -c 'yes | head -c 1000000')
wait_exited "$id"
assert_eq 3 "$(check_files "$id" 3 10000000)" "default limit: log files"
assert_eq y "$(mctr logs --tail 1 "$id")" "default limit: the last line"
echo "ok  no --log-opt: 1 MB of short lines stays within 3 files of 10 MB"

# Refused at create: one line, 125, no container made.
before=$(mctr ps -aq | wc -l)
for opt in max-file=2 max-size=0 max-size=10x max-size=1k,max-file=2 compress=true max-size; do
  set +e
  err=$(mctr run --network none --log-opt "$opt" busybox true 2>&1)
  rc=$?
  set -e
  assert_eq 125 "$rc" "--log-opt $opt"
  assert_eq 1 "$(wc -l <<<"$err")" "--log-opt $opt: one line"
done
assert_contains "$(mctr create --log-opt max-file=2 busybox true 2>&1 || true)" "max-file cannot be set without max-size" "create"
assert_eq "$before" "$(mctr ps -aq | wc -l)" "a refused --log-opt made a container"
echo "ok  bad --log-opt values are refused with 125 and make nothing"
