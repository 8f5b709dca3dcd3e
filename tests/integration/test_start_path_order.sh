#!/usr/bin/env bash
# The link places the functions a container's start runs (runtime/start-path.order)
# together at the start of minictr's code (lld --symbol-ordering-file). A function
# renamed or removed since the list was made stays in it, silently unplaced; this test
# fails once more than 5 % of the list names nothing in the binary (remake the list:
# bench/run/order-text.sh), and checks that the link did place the ones it names
# (bench/run/text_order.py --check says how).
# Exit 77 (skipped) when minictr was not linked by lld (not installed: no order).
source "$(dirname "$0")/lib.sh"

order=$MINICTR_SRC/runtime/start-path.order
[[ -f $order ]] || fail "missing $order"
if ! LC_ALL=C readelf -p .comment "$MINICTR" | grep -c 'LLD' >/dev/null; then
  echo "SKIP: $MINICTR was not linked by lld, which alone reads the start path's order (apt install lld)"
  exit 77
fi

python3 "$MINICTR_SRC/bench/run/text_order.py" --check "$MINICTR" "$order" || fail "start path order (above)"
echo "PASS: start path order"
