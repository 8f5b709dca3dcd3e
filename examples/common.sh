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

# wait_health PORT [SECONDS]: until GET /health answers 200
wait_health() {
  local port=$1 secs=${2:-60} i
  for ((i = 0; i < secs * 4; i++)); do
    curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.25
  done
  echo "no /health on port $port after $secs s" >&2
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

# Containers started through `started ID` are removed on exit.
_EXAMPLE_CONTAINERS=()
started() { _EXAMPLE_CONTAINERS+=("$1"); }
_example_cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  for c in "${_EXAMPLE_CONTAINERS[@]}"; do "$MINICTR" rm -f "$c" >/dev/null 2>&1; done
  [[ -n ${EXAMPLE_CLEANUP_EXTRA:-} ]] && eval "$EXAMPLE_CLEANUP_EXTRA"
  exit "$rc"
}
trap _example_cleanup EXIT
trap 'exit 130' INT TERM
