# Sourced by the example scripts. Finds the binaries and images that
# scripts/build made, and removes every container the example started when
# it exits (also on failure or Ctrl-C).
#   MINICTR=...        the minictr binary   (default build/runtime/minictr)
#   MINICTR_BUILD=...  the build directory  (default build/)
#   MINICTR_ROOT=...   minictr's state root (default /var/lib/minictr, like a user)
set -euo pipefail
EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$EXAMPLES/.." && pwd)
MINICTR_BUILD=${MINICTR_BUILD:-$REPO/build}
MINICTR=${MINICTR:-$MINICTR_BUILD/runtime/minictr}
INFERENCE_TAR=${INFERENCE_TAR:-$MINICTR_BUILD/images/inference.tar}
BUSYBOX_TAR=${BUSYBOX_TAR:-$MINICTR_BUILD/images/busybox.tar}

[[ $(id -u) -eq 0 ]] || { echo "$(basename "$0"): containers need root: sudo $0" >&2; exit 1; }
[[ -x $MINICTR ]] || { echo "$(basename "$0"): $MINICTR missing: run scripts/build first" >&2; exit 1; }

mctr() { "$MINICTR" "$@"; }
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ minictr %s\n' "$*" >&2; "$MINICTR" "$@"; }

# inspect_field ID PYEXPR: e.g. inspect_field c1 'State["OOMKilled"]'
inspect_field() {
  mctr inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print(d$2)"
}

# wait_health PORT [SECONDS] [HOST]: until GET /health answers 200
wait_health() {
  local port=$1 secs=${2:-60} host=${3:-127.0.0.1} i
  for ((i = 0; i < secs * 4; i++)); do
    curl -sf --max-time 2 "http://$host:$port/health" >/dev/null && return 0
    sleep 0.25
  done
  echo "no /health on $host:$port after $secs s" >&2
  return 1
}

# wait_exit ID [SECONDS]: until the container is no longer running
wait_exit() {
  local i
  for ((i = 0; i < ${2:-60} * 4; i++)); do
    [[ $(inspect_field "$1" '["State"]["Running"]') == False ]] && return 0
    sleep 0.25
  done
  return 1
}

# free_port START: the first port from START up that nothing listens on
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# --- Measuring a deployment (compare.sh, homework.sh) ---
# LATENCY_ARGS: latency_test.py's arguments besides port, label and files (the caller sets them).
# IDLE_S: seconds sampled before and after each test (default 2).
LATENCY_ARGS=()
BARE_PID='' _SAMPLER_PID=''

# The bare process's NET I/O. A container's is its veth's counters; the bare server talks
# over the host's loopback, which counts all traffic together and nothing per process. So
# count it as an admin would: a table of our own (BARE_NFT_TABLE, unique to this run, gone
# at the end also on failure: _example_cleanup) with two named counters on lo: rx = packets
# to the server's port, tx = packets from it. A loopback packet passes the input hook once.
# The bytes are IP packets' (a veth's counters include the 14-byte Ethernet header too).
# sample_stats.py --nft-counters BARE_NFT_TABLE reads them.
BARE_NFT_TABLE=''
bare_net_count() {
  local port=$1
  command -v nft >/dev/null || { echo "$(basename "$0"): nft missing: apt-get install nftables" >&2; exit 1; }
  BARE_NFT_TABLE=minictr-$(basename "$0" .sh)-$$  # set first: the cleanup removes it if nft made it
  printf '$ nft -f - (table inet %s: counters rx, tx on lo, tcp port %s)\n' "$BARE_NFT_TABLE" "$port" >&2
  nft -f - <<EOF
table inet $BARE_NFT_TABLE {
  counter rx {}
  counter tx {}
  chain input {
    type filter hook input priority filter; policy accept;
    iif "lo" tcp dport $port counter name "rx"
    iif "lo" tcp sport $port counter name "tx"
  }
}
EOF
}
bare_net_stop() {
  [[ -n $BARE_NFT_TABLE ]] || return 0
  nft delete table inet "$BARE_NFT_TABLE" 2>/dev/null || true  # never made if nft refused it
  BARE_NFT_TABLE=''
}

# start_bare OUT NAME PORT: the server as a plain host process (in the background, BARE_PID),
# its log in OUT/NAME.log, one row per request in OUT/metrics-NAME.csv, its traffic counted
# (bare_net_count)
start_bare() {
  local infer=${MINICTR_INFER:-$MINICTR_BUILD/inference/minictr-infer}
  [[ -x $infer ]] || { echo "$(basename "$0"): $infer missing: run scripts/build first" >&2; exit 1; }
  bare_net_count "$3"
  printf '$ %s --host 127.0.0.1 --port %s\n' "$infer" "$3" >&2
  "$infer" --host 127.0.0.1 --port "$3" --metrics-log "$1/metrics-$2.csv" >"$1/$2.log" 2>&1 &
  BARE_PID=$!
}
stop_bare() {
  bare_net_stop
  [[ -n $BARE_PID ]] || return 0
  kill "$BARE_PID"
  wait "$BARE_PID" || true
  BARE_PID=''
}

# measure OUT NAME PORT SAMPLER-ARGS...: sample_stats.py SAMPLER-ARGS (--pid P
# [--nft-counters TABLE], or --container ID, repeated for replicas) into
# OUT/stats-NAME.csv, idle IDLE_S, the latency test against PORT (OUT/latency-NAME.csv, a
# line in OUT/summary.jsonl), idle IDLE_S, stop sampling. Fails when a request failed
# (after the sampler has stopped).
measure() {
  local out=$1 name=$2 port=$3 rc=0
  shift 3
  wait_health "$port" 60
  python3 "$EXAMPLES/sample_stats.py" "$@" --minictr "$MINICTR" --csv "$out/stats-$name.csv" &
  _SAMPLER_PID=$!
  # Its first sample (a header line and a row) before the idle time: the test's
  # window then always has a sample before it, however slowly a loaded host starts it.
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(wc -l <"$out/stats-$name.csv" 2>/dev/null || echo 0) -ge 2 ]] && break
    sleep 0.1
  done
  sleep "${IDLE_S:-2}"
  python3 "$EXAMPLES/latency_test.py" --port "$port" "${LATENCY_ARGS[@]}" --label "$name" \
    --csv "$out/latency-$name.csv" --summary "$out/summary.jsonl" || rc=$?
  sleep "${IDLE_S:-2}"
  kill "$_SAMPLER_PID" 2>/dev/null || true  # gone already if a Ctrl-C reached it first
  wait "$_SAMPLER_PID" || true
  _SAMPLER_PID=''
  return "$rc"
}

need_gnuplot() {
  command -v gnuplot >/dev/null && return 0
  echo "$(basename "$0"): gnuplot missing: apt-get install gnuplot-nox (scripts/setup)" >&2
  exit 1
}

# Containers started through `started ID` are removed on exit.
_EXAMPLE_CONTAINERS=()
started() { _EXAMPLE_CONTAINERS+=("$1"); }
_example_cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  [[ -n $_SAMPLER_PID ]] && kill "$_SAMPLER_PID" 2>/dev/null && wait "$_SAMPLER_PID"
  [[ -n $BARE_PID ]] && kill "$BARE_PID" 2>/dev/null && wait "$BARE_PID"
  bare_net_stop
  for c in "${_EXAMPLE_CONTAINERS[@]}"; do "$MINICTR" rm -f "$c" >/dev/null 2>&1; done
  [[ -n ${EXAMPLE_CLEANUP_EXTRA:-} ]] && eval "$EXAMPLE_CLEANUP_EXTRA"
  exit "$rc"
}
trap _example_cleanup EXIT
trap 'exit 130' INT TERM
