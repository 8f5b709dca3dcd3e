#!/usr/bin/env bash
# examples/homework.sh end to end, small: 3 requests of 4 tokens per stage (the real
# run is 161 of 64). Each of the four stages (bare, run, compose, compose-3) leaves its
# rows in the one CSV and in summary.md, the stats were sampled at least once a second,
# the bare process has NET I/O too (its nftables counters on lo, the table gone after),
# compose-3 spread its requests over its replicas (their own /metrics counters), and
# the script removed everything it started.
source "$(dirname "$0")/lib.sh"
[[ -f $MINICTR_BUILD/images/inference.tar ]] || fail "missing $MINICTR_BUILD/images/inference.tar (target inference-image)"
[[ -x $MINICTR_BUILD/inference/minictr-infer ]] || fail "missing $MINICTR_BUILD/inference/minictr-infer"
command -v gnuplot >/dev/null || fail "gnuplot is not installed (scripts/setup installs it)"

# The example's compose file, on a subnet of this test's own.
mkdir -p "$TEST_TMP/hw"
cp "$MINICTR_SRC/examples/compose/compose.yaml" "$TEST_TMP/hw/compose.yaml"
cat >>"$TEST_TMP/hw/compose.yaml" <<EOF
networks:
  default:
    ipam: {config: [{subnet: 10.189.$_n.0/26}]}
EOF
project=hwq$_n
out=$TEST_TMP/out
MINICTR=$MINICTR MINICTR_BUILD=$MINICTR_BUILD REQUESTS=3 N_PREDICT=4 WARMUP=3 IDLE_S=1 \
  COMPOSE_FILE=$TEST_TMP/hw/compose.yaml PROJECT=$project \
  bash "$MINICTR_SRC/examples/homework.sh" "$out" >"$TEST_TMP/hw/log" 2>&1 ||
  fail "homework.sh failed: $(tail -20 "$TEST_TMP/hw/log")"

echo "-- one CSV: 3 rows for each stage, all answered"
for stage in bare run compose compose-3; do
  assert_eq 3 "$(grep -c "^$stage,[0-9]" "$out/latency.csv" || true)" "rows of stage $stage in latency.csv"
done
assert_eq 0 "$(awk -F, 'NR > 1 && $11 != 1' "$out/latency.csv" | wc -l)" "failed requests in latency.csv"

echo "-- summary.md: a row per stage, with resource columns for the containers"
for title in "bare process" "minictr run" "compose, 1 replica" "compose, 3 replicas"; do
  grep -c "^| $title | 3/3 |" "$out/summary.md" >/dev/null || fail "no row for $title in summary.md: $(cat "$out/summary.md")"
done
# MEM USAGE (the 12th field split on " | ") is a number for a container, – for the bare process
assert_eq "–" "$(awk -F' [|] ' '/^[|] bare process/ { print $12 }' "$out/summary.md")" "bare MEM USAGE"
mem=$(awk -F' [|] ' '/^[|] compose, 3 replicas/ { print $12 }' "$out/summary.md")
[[ $mem =~ ^[0-9]+\.[0-9]$ && ${mem%.*} -gt 0 ]] || fail "compose-3 MEM USAGE '$mem'"

echo "-- NET I/O (13th and 14th fields) for every stage, the bare process's from its nft counters"
for title in "bare process" "minictr run" "compose, 1 replica" "compose, 3 replicas"; do
  for field in 13 14; do
    kb=$(awk -F' [|] ' -v t="$title" -v f=$field '$1 == "| " t { print $f }' "$out/summary.md")
    [[ $kb =~ ^[0-9]+\.[0-9]$ && $kb != 0.0 ]] || fail "$title: NET I/O field $field is '$kb': $(cat "$out/summary.md")"
  done
done
python3 - "$out/stats-bare.csv" <<'PY' || fail "stats-bare.csv has no growing NET I/O"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rx, tx = [int(r["net_rx_bytes"]) for r in rows], [int(r["net_tx_bytes"]) for r in rows]
assert rx == sorted(rx) and tx == sorted(tx) and rx[-1] > rx[0] and tx[-1] > tx[0], (rx, tx)
PY
table=$(sed -n 's/^\$ nft -f - (table inet \([^:]*\):.*/\1/p' "$TEST_TMP/hw/log")
[[ $table == minictr-homework-[0-9]* ]] || fail "the log names no nft table of the bare stage: $(grep nft "$TEST_TMP/hw/log")"

echo "-- stats sampled at least once a second, with a column per replica for compose-3"
for stage in bare run compose compose-3; do
  python3 - "$out/stats-$stage.csv" <<'PY' || fail "sampling of $stage"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ts = [float(r["unix_s"]) for r in rows]
gaps = [b - a for a, b in zip(ts, ts[1:])]
assert len(rows) >= 2 and max(gaps) <= 1.0, (len(rows), gaps)
PY
done
head -1 "$out/stats-compose-3.csv" | grep -c "cpu_percent_$project-llm-3" >/dev/null || fail "no per-replica columns"

echo "-- compose-3: the requests were spread over the replicas"
served=$(tail -n +2 "$out/replicas-compose-3.csv" | cut -d, -f3)
assert_eq 6 "$(awk '{ n += $1 } END { print n }' <<<"$served")" "requests (3 + 3 warm-up) the replicas counted"
busy=$(grep -c '^[1-9]' <<<"$served" || true)
[[ $busy -ge 2 ]] || fail "only $busy replica(s) served requests: $served"
for png in latency-cdf latency-box cpu memory memory-cgroup netio replicas-compose-3; do
  [[ -s $out/$png.png ]] || fail "no $png.png"
done

echo "-- nothing left behind"
assert_eq "" "$(mctr ps -a -q)" "containers after homework.sh"
! mctr network ls | grep -c "${project}_default" >/dev/null || fail "project network left behind"
! pgrep -f -- "--metrics-log $out/metrics-bare.csv" >/dev/null || fail "the bare server still runs"
! nft list table inet "$table" >/dev/null 2>&1 || fail "the bare stage's nft table $table is left"
echo "PASS test_homework_quick"
