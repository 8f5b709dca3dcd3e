#!/usr/bin/env bash
# The report: the same latency test against
#   1. bare      the server as a plain host process (build/inference/minictr-infer)
#   2. minictr   the inference image in minictr, no limits
#   3. limited   the inference image in minictr with $LIMITS (default --cpus 0.5 -m 256m)
# while sampling resource usage (sample_stats.py: a `minictr stats --format json`
# stream, one line a second, for the containers; /proc every 0.5 s for the bare
# process) into CSVs, then PNG plots of latency, CPU, memory and network I/O with
# gnuplot. Memory is compared like with like: the RSS of the server process in all
# three runs (memory.png), and the containers' cgroup usage, what `stats` shows, on
# its own plot (memory-cgroup.png).
#   sudo examples/compare.sh [OUT_DIR]          (default ./compare-results)
#   REQUESTS=60 N_PREDICT=64 LIMITS="--cpus 1 -m 128m" sudo examples/compare.sh
source "$(dirname "$0")/common.sh"
out=$(mkdir -p "${1:-compare-results}" && cd "${1:-compare-results}" && pwd)
requests=${REQUESTS:-200}
n_predict=${N_PREDICT:-64}
limits=${LIMITS:---cpus 0.5 -m 256m}
infer=${MINICTR_INFER:-$MINICTR_BUILD/inference/minictr-infer}
[[ -x $infer ]] || { echo "compare.sh: $infer missing: run scripts/build first" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "compare.sh: gnuplot missing: apt-get install gnuplot-nox (scripts/setup)" >&2; exit 1; }
rm -f "$out"/*.csv "$out"/*.png "$out/summary.jsonl"

bare_pid='' sampler_pid=''
EXAMPLE_CLEANUP_EXTRA='[[ -n $sampler_pid ]] && kill $sampler_pid 2>/dev/null; [[ -n $bare_pid ]] && kill $bare_pid 2>/dev/null; true'

# measure NAME PORT SAMPLER-ARGS...: idle 2 s, latency test, idle 2 s, all sampled.
measure() {
  local name=$1 port=$2
  shift 2
  wait_health "$port" 60
  python3 "$EXAMPLES/sample_stats.py" "$@" --minictr "$MINICTR" --csv "$out/stats-$name.csv" &
  sampler_pid=$!
  sleep 2
  python3 "$EXAMPLES/latency_test.py" --port "$port" -n "$requests" --n-predict "$n_predict" \
    --label "$name" --csv "$out/latency-$name.csv" --summary "$out/summary.jsonl"
  sleep 2
  kill "$sampler_pid"
  wait "$sampler_pid" || true
  sampler_pid=''
}

say "1/3 bare process: $infer"
port=$(free_port 18380)
"$infer" --host 127.0.0.1 --port "$port" --metrics-log "$out/metrics-bare.csv" >"$out/bare.log" 2>&1 &
bare_pid=$!
measure bare "$port" --pid "$bare_pid"
kill "$bare_pid"
wait "$bare_pid" || true
bare_pid=''

say "2/3 in minictr, no limits"
port=$(free_port 18390)
id=$(show run -d -p "$port:8080" "$INFERENCE_TAR")
started "$id"
measure minictr "$port" --container "$id"
mctr rm -f "$id" >/dev/null

say "3/3 in minictr with $limits"
port=$(free_port 18400)
# shellcheck disable=SC2086  # $limits is a list of flags
id=$(show run -d -p "$port:8080" $limits "$INFERENCE_TAR")
started "$id"
measure limited "$port" --container "$id"
mctr rm -f "$id" >/dev/null

say "Plots"
gnuplot <<GP
set terminal pngcairo size 900,500 font "sans,10" noenhanced
set datafile separator ","
set key top left
set grid
set output "$out/latency.png"
set title "Request latency (n_predict=$n_predict, temperature 0)"
set xlabel "request #"; set ylabel "latency (ms)"
plot "$out/latency-bare.csv" using 1:4 every ::1 with linespoints title "bare process", \
     "$out/latency-minictr.csv" using 1:4 every ::1 with linespoints title "minictr", \
     "$out/latency-limited.csv" using 1:4 every ::1 with linespoints title "minictr $limits"
set output "$out/cpu.png"
set title "CPU time used / wall time (100% = one CPU): the server process (bare) or its cgroup"
set xlabel "time (s)"; set ylabel "CPU %"
plot "$out/stats-bare.csv" using 1:2 every ::1 with lines lw 2 title "bare process", \
     "$out/stats-minictr.csv" using 1:2 every ::1 with lines lw 2 title "minictr", \
     "$out/stats-limited.csv" using 1:2 every ::1 with lines lw 2 title "minictr $limits"
set output "$out/memory.png"
set title "RSS of the server process (VmRSS: anonymous memory + the model pages it touched)"
set ylabel "MiB"
plot "$out/stats-bare.csv" using 1:(\$3/1048576) every ::1 with lines lw 2 title "bare process", \
     "$out/stats-minictr.csv" using 1:(\$3/1048576) every ::1 with lines lw 2 title "minictr", \
     "$out/stats-limited.csv" using 1:(\$3/1048576) every ::1 with lines lw 2 title "minictr $limits"
set output "$out/memory-cgroup.png"
set title "Containers: cgroup memory usage minus inactive_file (minictr stats MEM USAGE; all processes + charged page cache)"
set ylabel "MiB"
plot "$out/stats-minictr.csv" using 1:(\$4/1048576) every ::1 with lines lw 2 title "minictr", \
     "$out/stats-limited.csv" using 1:(\$4/1048576) every ::1 with lines lw 2 title "minictr $limits"
set output "$out/netio.png"
set title "Container network I/O (veth counters, cumulative)"
set ylabel "kB"
plot "$out/stats-minictr.csv" using 1:(\$5/1000) every ::1 with lines lw 2 title "minictr rx", \
     "$out/stats-minictr.csv" using 1:(\$6/1000) every ::1 with lines lw 2 title "minictr tx", \
     "$out/stats-limited.csv" using 1:(\$5/1000) every ::1 with lines lw 2 title "limited rx", \
     "$out/stats-limited.csv" using 1:(\$6/1000) every ::1 with lines lw 2 title "limited tx"
GP

say "Summary"
python3 - "$out/summary.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = rows[0]["p50_ms"]
print(f"{'run':<10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'tokens/s':>10}{'p50 vs bare':>13}")
for r in rows:
    print(f"{r['label']:<10}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['mean_ms']:>9.1f}"
          f"{r['tokens_per_s']:>10.1f}{100 * (r['p50_ms'] / base - 1):>+12.1f}%")
PY
ls "$out"
