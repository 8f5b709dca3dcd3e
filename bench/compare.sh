# Sourced by bench/run/run.sh and bench/net/run.sh: time minictr against a
# peer with hyperfine in alternating rounds, then print the ratio.
#   compare_rounds PEER_NAME TARGET MINICTR_CMD PEER_CMD
# Uses $rounds $warmup $runs $work $src and optional $NICE.
compare_rounds() {
  local peer=$1 target=$2 m_cmd=$3 p_cmd=$4 r
  local prefix=() jsons=() order=()
  echo "host:    $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rounds: $rounds x (warmup $warmup + $runs runs each), order alternates per round"
  # NICE=-20: run both sides at a higher CPU priority, so other users' jobs on a shared
  # host add less scheduler noise (the container's init still competes from its cgroup).
  [[ -n ${NICE:-} ]] && prefix=(nice -n "$NICE") && echo "running at nice $NICE"
  for ((r = 1; r <= rounds; r++)); do
    # hyperfine runs all of one command, then all of the other: alternate the
    # order so a change in host load does not always hit the same side.
    if ((r % 2)); then order=("$m_cmd" "$p_cmd"); else order=("$p_cmd" "$m_cmd"); fi
    "${prefix[@]}" hyperfine -N --style none --warmup "$warmup" --runs "$runs" --output null \
      --export-json "$work/round$r.json" "${order[@]}" >/dev/null
    # stats.py wants minictr first.
    python3 - "$work/round$r.json" "$m_cmd" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["results"].sort(key=lambda r: r["command"] != sys.argv[2])
json.dump(d, open(sys.argv[1], "w"))
PY
    jsons+=("$work/round$r.json")
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$src/bench/run/stats.py" minictr "$peer" "$target" "${jsons[@]}"
}
