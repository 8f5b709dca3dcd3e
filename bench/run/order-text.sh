#!/usr/bin/env bash
# Remakes runtime/start-path.order: the functions a container's start runs, which the link
# places together at the start of minictr's code (lld --symbol-ordering-file,
# runtime/CMakeLists.txt). The kernel maps code 64 KB around each page fault, so a process
# whose start path is spread over the whole 5.6 MB of code takes a fault for almost every
# 64 KB of it; gathered in one place, it takes one per 64 KB of the path.
#
# Records `minictr run --rm --network none busybox true` N times with perf: a user-space
# sample every 20 us of CPU, and every page fault on code. bench/run/text_order.py names
# the functions they fell in and writes the list; then minictr is relinked and recorded
# again, since a function too short to be sampled still shows up as the one fault left in
# its 64 KB. Stops when a round adds nothing (at most ROUNDS rounds).
#   bench/run/order-text.sh [BUILD_DIR]   env: N (runs per round, default 200), ROUNDS (default 5)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
minictr=$build/runtime/minictr
order=$src/runtime/start-path.order
n=${N:-200}
rounds=${ROUNDS:-5}
command -v perf >/dev/null || { echo "order-text: perf missing (apt install linux-perf)" >&2; exit 1; }
grep -q '^MINICTR_HAVE_LLD:INTERNAL=1' "$build/CMakeCache.txt" ||
  { echo "order-text: $build does not link with lld, which alone reads the order (apt install lld)" >&2; exit 1; }

work=$(mktemp -d /tmp/minictr-order.XXXXXX)
trap '"$minictr" --root "$work/root" system prune >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$minictr" --root "$work/root" load -q "$build/images/busybox.tar" >/dev/null

# A fresh list each time: functions the start no longer runs drop out.
cat >"$order" <<'EOF'
# The functions `minictr run --rm --network none busybox true` runs, in the order the link
# places them at the start of minictr's code (lld --symbol-ordering-file, runtime/CMakeLists.txt).
# Made by bench/run/order-text.sh; remake it when the start path changes. A function missing
# here is only placed elsewhere in the code: it costs a page fault, never correctness.
EOF
for ((round = 1; round <= rounds; round++)); do
  for i in 1 2 3; do "$minictr" --root "$work/root" run --rm --network none busybox true; done
  printf 'for i in $(seq %d); do %q --root %q run --rm --network none busybox true; done\n' \
    "$n" "$minictr" "$work/root" >"$work/loop.sh"
  perf record -q -a -e cpu-clock:u -c 20000 -e exceptions:page_fault_user -o "$work/perf.data" \
    -- bash "$work/loop.sh" 2>/dev/null
  result=$(python3 "$src/bench/run/text_order.py" "$minictr" "$work/perf.data" "$order")
  echo "round $round: $result"
  cmake --build "$build" --target minictr >/dev/null
  [[ $result == *" 0 functions added"* ]] && break
done
