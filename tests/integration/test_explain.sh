#!/usr/bin/env bash
# --explain names every mechanism of a run, in the order minictr does it.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

trace=$(mctr run --explain --rm -m 64m -p "$((19000 + _n)):80" busybox echo hi 2>&1 >/dev/null)
# Two processes trace side by side, as they work: the supervisor from the
# outside, the container's init from the inside. Each list is in its order;
# their lines interleave until the init waits for "go".
supervisor_steps=(
  "clone(2)"                      # new namespaces (cgroup v1: the cgroup comes after)
  "mkdir /sys/fs/cgroup"          # the cgroup
  "67108864 >"                    # its memory limit
  "type veth peer name eth0"      # network from the outside
  "ip route add default"
  "dnat to"                       # the published port
  'tell the child "go"'
  "waitpid(2)"
  "rmdir /sys/fs/cgroup"          # teardown
  "ip link del"                   # the veth last: after the exit is reported
)
init_steps=(
  "mount --make-rprivate /"
  "mount -t overlay"
  "mount -t proc"
  "mount -t sysfs"
  "echo 0 > /sys/fs/cgroup/.*/tasks"  # after "go": the init joins its v1 cgroup itself
  "unshare --cgroup"
  "pivot_root"
  "umount -l"
  "masked paths"
  "sethostname(2)"
  "--bounding-set=-all"
  "no-new-privs"
  "seccomp(2)"
  "exec env -i .* echo hi"
)
line_of() { echo "$trace" | grep -n -- "$1" | head -1 | cut -d: -f1; }
check_order() {
  local line_no=0 pat n
  for pat in "$@"; do
    n=$(line_of "$pat")
    [[ -n $n ]] || fail "--explain trace has no '$pat'"
    [[ $n -gt $line_no ]] || fail "'$pat' (line $n) comes before the previous step (line $line_no)"
    line_no=$n
  done
}
check_order "${supervisor_steps[@]}"
check_order "${init_steps[@]}"
# Where they meet: the init goes on only once told "go".
[[ $(line_of 'tell the child "go"') -lt $(line_of "echo 0 > /sys/fs/cgroup/.*/tasks") ]] ||
  fail "the init joined its cgroup before \"go\""
echo "$trace" | grep -v '^\[explain\] ' && fail "a trace line without the [explain] prefix"

echo "-- stop, exec and rm explain themselves too"
mctr run -d --name ex --network none busybox sleep 100 >/dev/null
out=$(mctr exec --explain ex true 2>&1)
assert_contains "$out" "nsenter --target" "exec --explain"
out=$(mctr stop --explain -t 1 ex 2>&1)
assert_contains "$out" "kill -TERM" "stop --explain"
out=$(mctr rm --explain ex 2>&1)
assert_contains "$out" "rm -rf" "rm --explain"

echo "-- a reader that leaves early (grep -q) does not leave a created container behind"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  mctr run --rm --explain --network none busybox true 2>&1 | grep -q "unshare"
done
[[ -z $(mctr ps -aq) ]] || fail "a trace cut short by its reader left: $(mctr ps -a)"
echo PASS
