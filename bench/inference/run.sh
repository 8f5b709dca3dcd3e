#!/usr/bin/env bash
# Inference benchmark: prompt and generation tokens/s of minictr-infer's engine with 1 and 2
# threads, on the bundled model (F32, Q8_0) and on random-weight models of the stories15M
# and stories110M shapes (F32, F16, Q8_0), next to llama.cpp's llama-bench measured in the
# same run on the SAME GGUF files, with the ratio ours / llama.cpp per row.
#
# Our tool runs in its own process per round, so peak RSS is that row's alone.
# Both evaluate a 128-token prompt in one batch (llama-bench -p 128 -n 0) and generate 128
# tokens one at a time after a 128-token context (ours: after the prompt; llama-bench:
# -p 0 -n 128 -d 128). A row is $REPS rounds (default 3) of [ours, llama.cpp prompt,
# llama.cpp generation], each one run, so the machine's load at that minute affects both
# alike; the table prints mean+-sd over the rounds.
# The pp/cpu-s and gen/cpu-s columns: tokens per second of CPU time, ours (CLOCK_PROCESS_CPUTIME_ID
# around the prompt and the generation) and llama.cpp's (perf stat, see llama_cpu_tps), and
# their ratio: on a machine shared with other work they move far less than wall time.
# Our tool also measures the memory read bandwidth (1 and 2 threads, a 512 MB buffer) and
# prints each row's roofline: bandwidth / bytes read per generated token, and how close each
# tool's generation comes to it ("of roof", "llama"; where llama.cpp is at L % of it, ours can be
# r times faster only at r x L %, and above ~100 % only by reading several streams at once,
# which some CPUs serve faster than one: Zen 2 did, Zen 4 does not); and the core's FP32
# FMA throughput (GFLOP/s), the prompt's roofline for F32 and F16 weights (a matrix product):
# "pp roof" tokens/s, and how close each tool's prompt comes to it ("ours", "llama").
#
# usage: bench/inference/run.sh [build-dir] [extra minictr-infer-bench flags]
# env:   LLAMA_BENCH  path of llama-bench (default: the one bench/inference/llama-cpp.sh
#                     built in its cache, if present; else the peer is not measured)
#        MODELS       which models (default "bundled 15M 110M"); THREADS thread counts
#                     (default "1 2"); REPS (default 3); TYPES which weight types (default
#                     all: f32 q8_0 for the bundled model, F32 F16 Q8_0 for the others; any case)
#        WORKDIR      where the random models are written (default /tmp/minictr-infer-bench),
#                     removed at the end unless KEEP=1
#        INFER_BENCH  a minictr-infer-bench binary to measure instead of building build-dir's
#                     (e.g. a copy of an older build, to compare two versions of our engine)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
shift || true
workdir=${WORKDIR:-/tmp/minictr-infer-bench}
threads=${THREADS:-1 2}
shapes=${MODELS:-bundled 15M 110M}
reps=${REPS:-3}
n_prompt=128 n_gen=128
if [[ -n ${INFER_BENCH:-} ]]; then
  bench=$INFER_BENCH
else
  cmake --build "$build" -j2 --target minictr-infer-bench >/dev/null
  bench="$build/inference/minictr-infer-bench"
fi
cleanup() { [[ ${KEEP:-0} == 1 ]] || rm -rf "$workdir"; }
trap cleanup EXIT

# The peer: an explicit LLAMA_BENCH, else a finished build in llama-cpp.sh's cache.
llama=${LLAMA_BENCH:-}
if [[ -z $llama ]]; then
  for f in "${LLAMA_CPP_CACHE:-/var/cache/minictr-bench}"/llama.cpp-*/build/bin/llama-bench; do
    if [[ -x $f ]]; then
      llama=$f
      break
    fi
  done
fi
if [[ -n $llama && ! -x $llama ]]; then
  echo "LLAMA_BENCH=$llama is not an executable" >&2
  exit 1
fi
if [[ -n $llama ]] && ! command -v jq >/dev/null; then
  echo "jq is needed to read llama-bench's JSON output" >&2
  exit 1
fi
# perf (linux-perf) measures llama.cpp's CPU time per prompt; without it that column is "-".
perf=$(command -v perf || true)

# llama-bench's -d (--n-depth: run the test after that many tokens of context) is recent;
# llama-bench builds from 2025 have none and reject it. Without it, llama.cpp's generation is
# measured at depth 0 (an empty context: slightly faster than after 128 tokens) and the
# header says so, rather than printing "-".
gen_depth=()
if [[ -n $llama ]]; then
  # (The help text is read whole first: with pipefail, `llama-bench --help | grep -q` failed
  # whenever grep quit at the match before llama-bench finished writing, SIGPIPE, exit 141,
  # and a llama-bench that has -d was taken for one without.)
  llama_help=$("$llama" --help 2>&1 || true)
  if grep -q -- '--n-depth' <<<"$llama_help"; then
    gen_depth=(-d "$n_prompt")
  else
    echo "# note: $llama has no -d (--n-depth): llama.cpp's gen is measured at depth 0" >&2
  fi
fi

# One llama-bench run (-r 1, after its own warm-up run) of one test: tokens/s, or "-".
llama_tps() {  # file threads llama-bench-test-flags...
  local file=$1 t=$2
  shift 2
  local out
  if out=$("$llama" -m "$file" -t "$t" -r 1 -o jsonl "$@" 2>/dev/null) && [[ -n $out ]]; then
    jq -r .avg_ts <<<"$out" | tail -n1
  else
    echo "llama-bench failed on $file (-t $t $*)" >&2
    echo -
  fi
}
# llama.cpp's tokens per CPU-second in one test: the CPU time (perf stat task-clock) of a run
# with R repetitions minus that of a run with 1, over the R - 1 tests between them (model
# load and warm-up cancel out). On a machine shared with other work, wall time is mostly how
# much of a CPU the process got; CPU time is far less disturbed (with 2 threads it also
# counts the threads' spinning, for both tools).
llama_cpu_tps() {  # file threads tokens-per-test R llama-bench-test-flags...
  local file=$1 t=$2 n=$3 reps_hi=$4 c1 ch f ms r
  shift 4
  f=$(mktemp)
  for r in 1 "$reps_hi"; do
    if ! perf stat -x, -e task-clock -o "$f" "$llama" -m "$file" -t "$t" -r "$r" -o jsonl "$@" \
      >/dev/null 2>&1; then
      rm -f "$f"
      echo -
      return
    fi
    ms=$(awk -F, '/task-clock/ { print $1 }' "$f")
    if ((r == 1)); then c1=$ms; else ch=$ms; fi
  done
  rm -f "$f"
  awk -v a="$c1" -v b="$ch" -v n="$n" -v k="$((reps_hi - 1))" \
    'BEGIN { if (b > a) printf "%.1f", k * n * 1000 / (b - a); else print "-" }'
}

# "mean+-sd" (sample standard deviation, as llama-bench prints) of the arguments, or "-".
stats() { awk 'BEGIN { for (i = 1; i < ARGC; i++) { if (ARGV[i] == "-") { print "-"; exit }
  s += ARGV[i]; q += ARGV[i] ^ 2 } n = ARGC - 1; m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0
  printf "%.1f+-%.1f", m, sqrt(v > 0 ? v : 0) }' "$@"; }
mean() { awk 'BEGIN { for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.1f", s / (ARGC - 1) }' "$@"; }
meanp() { if [[ " $* " == *" - "* ]]; then echo -; else mean "$@"; fi; }  # "-" when one is missing
ratio() {
  if [[ $2 == - ]]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; fi
}

echo "# $(date -u '+%F %T UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n $llama ]]; then
  echo "# peer: $llama ($("$llama" --version 2>&1 | grep -m1 -i version || true))"
else
  echo "# peer: llama.cpp NOT measured (set LLAMA_BENCH or run bench/inference/llama-cpp.sh); its columns are '-'"
fi
echo "# prompt: $n_prompt tokens in one batch; gen: $n_gen tokens after $n_prompt of context; mean+-sd of $reps interleaved rounds"
if [[ -n $llama && ${#gen_depth[@]} -eq 0 ]]; then
  echo "# llama-bench has no -d: its gen column is at depth 0 (an empty context), ours after $n_prompt tokens"
fi
fmt='%-8s %-5s %3s %5s | %14s %15s %6s | %13s %14s %6s | %9s %9s %6s | %9s %9s %6s | %7s %7s %6s %8s %7s %5s | %7s %8s %4s %5s\n'
# shellcheck disable=SC2059
printf "$fmt" model type thr load "pp ours" "pp llama.cpp" ratio "gen ours" "gen llama.cpp" ratio \
  "pp/cpu-s" "llama.cpp" ratio "gen/cpu-s" "llama.cpp" ratio "RSS MB" "MB/tok" "GB/s" "roof t/s" "of roof" llama \
  "GFLOP/s" "pp roof" ours llama

models=$src/inference/models
row() {  # shape type threads [extra minictr-infer-bench flags]
  local shape=$1 type=$2 t=$3 file args
  shift 3
  if [[ $shape == bundled ]]; then
    file=$models/minictr-fortunes-$type.gguf
    args=(--bundled "$file" --models bundled)
  else
    file=$workdir/stories$shape-$type.gguf
    args=(--bundled "$models/minictr-fortunes-f32.gguf" --models "$shape" --types "$type")
  fi
  local load m ty o_pp=() o_gen=() o_cpu=() o_ppcpu=() l_pp=() l_gen=() l_ppcpu=() l_gencpu=() rss=0 mbt gbs=- roof=- r bw
  local gflops=- pp_roof=-
  load=$(cut -d' ' -f1 /proc/loadavg)
  for ((r = 0; r < reps; r++)); do
    bw=()
    ((r == 0)) || bw=(--bandwidth-mb 0)  # the roofline's bandwidth: measured in the first round
    # model type threads prompt gen gen/cpu rss mb/tok gb/s roof of-roof prompt/cpu gflops pp-roof of-roof
    local line p g c x y pc fl ppr
    line=$("$bench" --workdir "$workdir" "${args[@]}" --threads "$t" --prompt "$n_prompt" \
      --gen "$n_gen" "$@" "${bw[@]}" | sed -n 2p)
    read -r m ty _ p g c x mbt y _ _ pc fl ppr _ <<<"$line"
    o_pp+=("$p") o_gen+=("$g") o_cpu+=("$c") o_ppcpu+=("$pc")
    ((r == 0)) && gbs=$y gflops=$fl pp_roof=$ppr
    rss=$(awk -v a="$rss" -v b="$x" 'BEGIN { print (b > a ? b : a) }')
    if [[ -n $llama ]]; then
      l_pp+=("$(llama_tps "$file" "$t" -p "$n_prompt" -n 0)")
      l_gen+=("$(llama_tps "$file" "$t" -p 0 -n "$n_gen" "${gen_depth[@]}")")
      if [[ -n $perf ]]; then
        l_ppcpu+=("$(llama_cpu_tps "$file" "$t" "$n_prompt" 5 -p "$n_prompt" -n 0)")
        l_gencpu+=("$(llama_cpu_tps "$file" "$t" "$n_gen" 2 -p 0 -n "$n_gen" "${gen_depth[@]}")")
      else
        l_ppcpu+=(-) l_gencpu+=(-)
      fi
    else
      l_pp+=(-) l_gen+=(-) l_ppcpu+=(-) l_gencpu+=(-)
    fi
  done
  local o_pp_m o_gen_m l_pp_s l_gen_s pct=- l_pct=- pp_pct=- l_pp_pct=-
  o_pp_m=$(mean "${o_pp[@]}") o_gen_m=$(mean "${o_gen[@]}")
  l_pp_s=$(stats "${l_pp[@]}") l_gen_s=$(stats "${l_gen[@]}")
  if [[ $gbs != - ]]; then
    roof=$(awk -v b="$gbs" -v m="$mbt" 'BEGIN { printf "%.1f", b * 1e3 / m }')
    pct=$(awk -v g="$o_gen_m" -v r="$roof" 'BEGIN { printf "%.0f%%", 100 * g / r }')
    [[ ${l_gen_s%+-*} == - ]] ||
      l_pct=$(awk -v g="${l_gen_s%+-*}" -v r="$roof" 'BEGIN { printf "%.0f%%", 100 * g / r }')
  fi
  # The prompt's FMA roofline (F32 and F16 weights): how close each tool's prompt comes to it.
  if [[ $pp_roof != - && -n $pp_roof ]]; then
    pp_pct=$(awk -v g="$o_pp_m" -v r="$pp_roof" 'BEGIN { printf "%.0f%%", 100 * g / r }')
    [[ ${l_pp_s%+-*} == - ]] ||
      l_pp_pct=$(awk -v g="${l_pp_s%+-*}" -v r="$pp_roof" 'BEGIN { printf "%.0f%%", 100 * g / r }')
  fi
  # shellcheck disable=SC2059
  printf "$fmt" "$m" "$ty" "$t" "$load" "$(stats "${o_pp[@]}")" "$l_pp_s" "$(ratio "$o_pp_m" "${l_pp_s%+-*}")" \
    "$(stats "${o_gen[@]}")" "$l_gen_s" "$(ratio "$o_gen_m" "${l_gen_s%+-*}")" "$(mean "${o_ppcpu[@]}")" \
    "$(meanp "${l_ppcpu[@]}")" "$(ratio "$(mean "${o_ppcpu[@]}")" "$(meanp "${l_ppcpu[@]}")")" \
    "$(mean "${o_cpu[@]}")" "$(meanp "${l_gencpu[@]}")" "$(ratio "$(mean "${o_cpu[@]}")" "$(meanp "${l_gencpu[@]}")")" "$rss" "$mbt" "$gbs" "$roof" "$pct" "$l_pct" \
    "${gflops:--}" "${pp_roof:--}" "$pp_pct" "$l_pp_pct"
}

for shape in $shapes; do
  if [[ $shape == bundled ]]; then types="f32 q8_0"; else types="F32 F16 Q8_0"; fi
  for type in $types; do
    [[ -z ${TYPES:-} || " ${TYPES,,} " == *" ${type,,} "* ]] || continue
    for t in $threads; do row "$shape" "$type" "$t" "$@"; done
  done
done
echo "# end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
