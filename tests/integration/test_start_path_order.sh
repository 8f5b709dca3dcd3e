#!/usr/bin/env bash
# The link places the functions a container's start runs (runtime/start-path.order)
# together at the start of minictr's code (lld --symbol-ordering-file). A function
# renamed or removed since the list was made stays in it, silently unplaced; this test
# fails once more than 5 % of the list names nothing in the binary (remake the list:
# bench/run/order-text.sh), and checks that the link did place the ones it names: 95 % of
# them within twice their total size from the start of the code (a function that shares
# an input section with an unlisted one, as in glibc's archive, cannot move alone).
# Exit 77 (skipped) when minictr was not linked by lld (not installed: no order).
source "$(dirname "$0")/lib.sh"

order=$MINICTR_SRC/runtime/start-path.order
[[ -f $order ]] || fail "missing $order"
if ! LC_ALL=C readelf -p .comment "$MINICTR" | grep -c 'LLD' >/dev/null; then
  echo "SKIP: $MINICTR was not linked by lld, which alone reads the start path's order (apt install lld)"
  exit 77
fi

python3 - "$MINICTR" "$order" <<'EOF'
import subprocess, sys
binary, order_file = sys.argv[1:3]
listed = [l.strip() for l in open(order_file) if l.strip() and not l.startswith("#")]
functions = {}
for line in subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tTwW":
        functions.setdefault(f[3], (int(f[0], 16), int(f[1], 16)))
found = [functions[n] for n in listed if n in functions]
missing = len(listed) - len(found)
print(f"{len(listed)} functions listed, {missing} not in the binary")
if missing > 0.05 * len(listed):
    sys.exit(f"FAIL: {missing} of the {len(listed)} functions in {order_file} are not in minictr: "
             "remake the list (bench/run/order-text.sh)")
code_start = min(address for address, _ in functions.values())
reach = 2 * sum(size for _, size in found)
placed = sum(address - code_start < reach for address, _ in found)
print(f"{placed} of them within the first {reach // 1024} KB of the code")
if placed < 0.95 * len(found):
    sys.exit(f"FAIL: only {placed} of {len(found)} listed functions are at the start of the code: "
             "the link did not apply the order")
EOF
echo "PASS: start path order"
