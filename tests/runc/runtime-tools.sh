#!/usr/bin/env bash
# The opencontainers runtime-tools validation suite, against runc (the
# baseline) and against minictr-runc, in the same job; fails when minictr-runc
# fails an assertion runc passes on this host, unless tests/runc/known-gaps.txt
# lists it with a reason.
#
#   tests/runc/runtime-tools.sh [--baseline-only] [--build-only] [TEST...]
#
# TEST: names of validation tests (e.g. `state kill linux_sysctl`); all of them
# by default. --baseline-only runs runc alone (no minictr-runc needed).
#
# Environment:
#   MINICTR_CACHE       cache root (default /var/cache/minictr-ci); the suite is
#                       built once into $MINICTR_CACHE/runtime-tools and reused
#   RUNTIME_TOOLS_SRC   a local runtime-tools git repository (bare or not) or
#                       source tree, used to seed the cache when it is empty
#                       (default: the fetched mirror /work/.mirror/opencontainers+runtime-tools/repo)
#   RUNTIME_TOOLS_COMMIT  the commit checked out from a git source (default 260e151:
#                       it vendors its modules, so Debian's Go 1.19 builds it offline)
#   RUNC                the baseline runtime (default: runc on PATH)
#   MINICTR_RUNC        the runtime under test (default $MINICTR_BUILD/runtime/minictr-runc)
#   RT_TIMEOUT          seconds each test program may take (default 60)
#   RT_RETRIES, RT_RACY  reruns (default 2) of a regressed program that races with
#                       its own container (default: pidfile killsig linux_ns_nopath)
#   RT_KEEP             1: keep the result directory (TAP, command logs)
#
# Time on this 2-CPU host: building the cache ~20 s (once); a full run of the
# 58 programs against both runtimes (runc and minictr-runc side by side, the
# cgroup programs one after the other) 3-6 min depending on load.
#
# Seeding the cache (nothing is downloaded at build or test time): the cache
# holds a plain source tree in $MINICTR_CACHE/runtime-tools/src. It is made
# with `git archive $RUNTIME_TOOLS_COMMIT` from $RUNTIME_TOOLS_SRC, e.g. after
#   git clone --bare https://github.com/opencontainers/runtime-tools /srv/runtime-tools.git
#   RUNTIME_TOOLS_SRC=/srv/runtime-tools.git tests/runc/runtime-tools.sh --build-only
# A source tree (no .git) given as RUNTIME_TOOLS_SRC is copied as it is.
# Go builds with GOFLAGS=-mod=vendor GOPROXY=off, GOPATH and GOCACHE in the cache.
#
# Each runtime is called through a small wrapper that adds `--root` (a private
# state dir, so the tests never see or leave containers in /run/runc) and logs
# every command line with its exit code; after each test program anything left
# in that root is force-deleted and its temp dir removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src_root=$(cd "$here/../.." && pwd)

baseline_only=0 build_only=0 tests=()
for arg in "$@"; do
  case $arg in
    --baseline-only) baseline_only=1 ;;
    --build-only) build_only=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    -*) echo "runtime-tools.sh: unknown option $arg" >&2; exit 2 ;;
    *) tests+=("$arg") ;;
  esac
done

[[ $(id -u) -eq 0 ]] || { echo "runtime-tools.sh: needs root (runtimes create namespaces, mounts, cgroups)" >&2; exit 2; }

cache=${MINICTR_CACHE:-/var/cache/minictr-ci}/runtime-tools
commit=${RUNTIME_TOOLS_COMMIT:-260e151}
seed=${RUNTIME_TOOLS_SRC:-/work/.mirror/opencontainers+runtime-tools/repo}
timeout_s=${RT_TIMEOUT:-60}
runc_bin=${RUNC:-$(command -v runc || true)}
: "${MINICTR_BUILD:=$src_root/build}"
minictr_runc=${MINICTR_RUNC:-$MINICTR_BUILD/runtime/minictr-runc}

# --- the cache: source, then binaries (each step skipped when done) ---------
seed_source() {
  [[ -f $cache/src/go.mod ]] && return
  [[ -e $seed ]] || { echo "runtime-tools.sh: the cache $cache is empty and there is no source at '$seed' (set RUNTIME_TOOLS_SRC to a runtime-tools git repository or tree)" >&2; exit 2; }
  echo "== seeding $cache/src from $seed (commit $commit) =="
  rm -rf "$cache/src.tmp" && mkdir -p "$cache/src.tmp"
  if git --git-dir="$seed" rev-parse --verify -q "$commit^{commit}" >/dev/null 2>&1; then
    git --git-dir="$seed" archive "$commit" | tar -x -C "$cache/src.tmp"
  elif git -C "$seed" rev-parse --verify -q "$commit^{commit}" >/dev/null 2>&1; then
    git -C "$seed" archive "$commit" | tar -x -C "$cache/src.tmp"
  elif [[ -f $seed/go.mod && -d $seed/vendor ]]; then
    cp -a "$seed/." "$cache/src.tmp/"
  else
    echo "runtime-tools.sh: '$seed' has no commit $commit and is not a vendored source tree" >&2; exit 2
  fi
  mv "$cache/src.tmp" "$cache/src"
}

build_suite() {
  local bin=$cache/bin
  if [[ -x $bin/runtimetest && -f $bin/.built ]]; then return; fi
  command -v go >/dev/null || { echo "runtime-tools.sh: no go (apt-get install golang-go)" >&2; exit 2; }
  echo "== building runtime-tools ($(go version | cut -d' ' -f3)) into $bin =="
  local start=$SECONDS
  rm -rf "$bin" && mkdir -p "$bin/validation"
  (
    cd "$cache/src"
    export GOPATH=$cache/gopath GOCACHE=$cache/gocache GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
    # runtimetest runs inside the busybox rootfs: static, no libc needed.
    CGO_ENABLED=0 go build -tags "netgo osusergo" -o "$bin/runtimetest" ./cmd/runtimetest
    # Every validation program at once (one `go build`: the packages compile once).
    go build -o "$bin/validation/" $(go list ./validation/... | grep -v /util)
  )
  for t in "$bin"/validation/*; do mv "$t" "$t.t"; done
  cp "$cache/src/rootfs-amd64.tar.gz" "$bin/"
  touch "$bin/.built"
  echo "   built $(ls "$bin/validation" | wc -l) test programs in $((SECONDS - start)) s"
}

mkdir -p "$cache"
if [[ ! -f $cache/bin/.built ]]; then
  seed_source
  build_suite
fi
((build_only)) && exit 0

# --- running ----------------------------------------------------------------
[[ -n $runc_bin && -x $runc_bin ]] || { echo "runtime-tools.sh: no runc (apt-get install runc)" >&2; exit 2; }
runtimes=("runc=$runc_bin")
if ((!baseline_only)); then
  [[ -x $minictr_runc ]] || { echo "runtime-tools.sh: no minictr-runc at $minictr_runc (build target minictr-runc, or set MINICTR_RUNC; --baseline-only runs runc alone)" >&2; exit 2; }
  runtimes+=("minictr=$minictr_runc")
fi

if ((${#tests[@]} == 0)); then
  for t in "$cache"/bin/validation/*.t; do tests+=("$(basename "$t" .t)"); done
fi
for t in "${tests[@]}"; do
  [[ -x $cache/bin/validation/$t.t ]] || { echo "runtime-tools.sh: no validation test '$t'" >&2; exit 2; }
done

out=$(mktemp -d /tmp/minictr-runtime-tools.XXXXXX)
# Searchable by all, as /tmp is: a container with a uid mapping reaches its bundle through it.
chmod 755 "$out"
cleanup() {
  local d
  for d in "$out"/*/*/state; do if [[ -d $d ]]; then clean_state "${d%/state}"; fi; done
  if [[ ${RT_KEEP:-0} == 1 ]]; then echo "results kept in $out"; else rm -rf "$out"; fi
}
trap cleanup EXIT

# clean_state DIR: force-delete every container the runtime still has in
# DIR/state, unmount anything left under DIR/tmp, remove both.
clean_state() {
  local dir=$1 rt id m
  rt=$(cat "$dir/runtime")
  if [[ -d $dir/state ]]; then
    for id in $("$rt" --root "$dir/state" list -q 2>/dev/null); do
      echo "   left over after the test: container $id (force-deleted)" >>"$dir/leftovers"
      "$rt" --root "$dir/state" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # Mounts a runtime left in a bundle (deepest first).
  while read -r m; do
    echo "   left over after the test: mount $m" >>"$dir/leftovers"
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$dir/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf "$dir/state" "$dir/tmp"
}

# run_one NAME BINARY TEST: one validation program against one runtime.
run_one() {
  local name=$1 rt=$2 test=$3 dir=$out/$1/$3 rc start
  mkdir -p "$dir/state" "$dir/tmp" "$dir/work"
  echo "$rt" >"$dir/runtime"
  # The wrapper: the runtime's own argv (as runtime-tools calls it) + --root,
  # each call logged with its exit code.
  cat >"$dir/rt" <<EOF
#!/bin/bash
"$rt" --root "$dir/state" "\$@"
rc=\$?
printf '%s\t%s\n' "\$rc" "\$*" >>"$dir/calls"
exit \$rc
EOF
  chmod +x "$dir/rt"
  # The programs read runtimetest and rootfs-amd64.tar.gz from their cwd.
  # (runtimetest is copied into each bundle by a copy that keeps symlinks.)
  cp "$cache/bin/runtimetest" "$dir/work/runtimetest"
  ln -s "$cache/bin/rootfs-amd64.tar.gz" "$dir/work/rootfs-amd64.tar.gz"
  start=$(date +%s.%N)
  set +e
  (cd "$dir/work" && TMPDIR=$dir/tmp RUNTIME=$dir/rt timeout -k 5 "$timeout_s" "$cache/bin/validation/$test.t" >"$dir/tap" 2>"$dir/stderr" </dev/null)
  rc=$?
  set -e
  echo "$rc" >"$dir/rc"
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", e - s }' >"$dir/seconds"
  clean_state "$dir"
}

for t in "${tests[@]}"; do
  # The two runtimes run a program at the same time (the programs mostly wait
  # on 1 s status polls), except those that set a cgroupsPath: all of them use
  # the same fixed one (/cgrouptest or cgrouptest).
  for r in "${runtimes[@]}"; do
    if [[ $t == linux_cgroups_* || $t == delete_resources || $t == delete_only_create_resources ]]; then
      run_one "${r%%=*}" "${r#*=}" "$t"
    else
      run_one "${r%%=*}" "${r#*=}" "$t" &
    fi
  done
  wait
  printf '   %-40s' "$t"
  for r in "${runtimes[@]}"; do
    d=$out/${r%%=*}/$t
    printf ' %s: %5ss rc %-3s' "${r%%=*}" "$(cat "$d/seconds")" "$(cat "$d/rc")"
  done
  echo
done

args=(--out "$out" --known-gaps "$here/known-gaps.txt")
if ((!baseline_only)); then
  # Some programs race with their own container (pidfile kills a `true` that
  # may have exited: runc fails it at random too): such a program that
  # regressed is run again for minictr-runc, up to RT_RETRIES times; the last
  # run counts and the report says how many it took. Only those (RT_RACY), so
  # real regressions cost no extra time.
  racy=" ${RT_RACY:-pidfile killsig linux_ns_nopath} "
  for ((try = 2; try <= 1 + ${RT_RETRIES:-2}; try++)); do
    mapfile -t again < <(python3 "$here/tap_compare.py" "${args[@]}" --list-regressed "${tests[@]}" |
      while read -r t; do [[ $racy == *" $t "* ]] && echo "$t"; done)
    ((${#again[@]})) || break
    for t in "${again[@]}"; do
      echo "   again for minictr-runc (try $try): $t"
      mv "$out/minictr/$t" "$out/minictr/$t.try$((try - 1))"
      run_one minictr "$minictr_runc" "$t"
      echo "$try" >"$out/minictr/$t/tries"
    done
  done
  args+=(--compare)
fi
python3 "$here/tap_compare.py" "${args[@]}" "${tests[@]}"
