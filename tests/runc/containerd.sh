# Sourced by tests/integration/test_containerd.sh and bench/runc/run.sh: a
# private containerd (own root, state dir, socket; minimal config: no CRI,
# overlayfs snapshotter, the runc v2 shim) and its complete teardown.
#   ctd_start DIR NAMESPACE   start it under DIR (made), ctr namespace NAMESPACE
#   c ARGS...                 ctr against it (-a SOCK -n NAMESPACE)
#   CTD_FIFOS                 ctr's --fifo-dir for run/exec (stdio fifos under DIR)
#   ctd_stop                  tasks, containers, daemon, shims, cgroups, /run dirs
# The namespace is also the cgroup parent ctr gives the containers
# (/sys/fs/cgroup/[*/]NAMESPACE/ID): use a name no one else uses.

c() { ctr -a "$CTD_SOCK" -n "$CTD_NS" "$@"; }

ctd_start() {
  CTD=$1 CTD_NS=$2 CTD_SOCK=$1/containerd.sock CTD_PID=
  CTD_FIFOS=(--fifo-dir "$CTD/fifo")
  # containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its
  # state dir: ctd_stop removes those dirs again (if empty) when they were not here.
  CTD_HAD_RUN_DIR=0
  [[ -d /run/containerd ]] && CTD_HAD_RUN_DIR=1
  mkdir -p "$CTD"/{root,state,fifo}
  cat >"$CTD/config.toml" <<CONF
version = 2
root = "$CTD/root"
state = "$CTD/state"
# Only what ctr run needs: content, metadata, overlayfs snapshots, the runc v2
# shim (the tasks service still requires the v1 runtime plugin to be loaded).
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.native", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
CONF
  containerd --config "$CTD/config.toml" >"$CTD/containerd.log" 2>&1 &
  CTD_PID=$!
  local _
  for _ in $(seq 100); do
    c version >/dev/null 2>&1 && return 0
    kill -0 "$CTD_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$CTD/containerd.log" >&2
  echo "containerd did not answer on $CTD_SOCK" >&2
  return 1
}

ctd_stop() {
  local id ids p f _
  [[ -n ${CTD:-} ]] || return 0
  if [[ -n $CTD_PID ]] && kill -0 "$CTD_PID" 2>/dev/null; then
    ids=$(c containers ls -q 2>/dev/null)
    for id in $(c task ls -q 2>/dev/null); do
      c task kill -a -s SIGKILL "$id" >/dev/null 2>&1
      c task delete -f "$id" >/dev/null 2>&1
    done
    for id in $ids; do
      c containers delete "$id" >/dev/null 2>&1
    done
    kill "$CTD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CTD_PID" 2>/dev/null
    wait "$CTD_PID" 2>/dev/null
  fi
  # Shims outlive containerd: ours have our socket in their command line.
  for p in $(grep -l -a -F -- "$CTD_SOCK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [[ $p != "$$" ]] && kill -9 "$p" 2>/dev/null
  done
  # A runtime that failed to kill or delete leaves its container's processes
  # in the cgroups ctr asked for (/NAMESPACE/ID): kill them (thawed first), then
  # remove the cgroups.
  for f in /sys/fs/cgroup/freezer/$CTD_NS/*/freezer.state /sys/fs/cgroup/$CTD_NS/*/cgroup.freeze; do
    [[ -f $f ]] || continue
    if [[ $f == *freezer.state ]]; then echo THAWED >"$f"; else echo 0 >"$f"; fi
  done 2>/dev/null
  for _ in 1 2 3; do
    for f in /sys/fs/cgroup/$CTD_NS /sys/fs/cgroup/*/$CTD_NS; do
      [[ -d $f ]] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
    done
    sleep 0.1
  done
  for p in /sys/fs/cgroup/$CTD_NS /sys/fs/cgroup/*/$CTD_NS; do
    [[ -d $p ]] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  grep -o " $CTD/[^ ]*" /proc/self/mountinfo | sort -r | while read -r p; do umount -l "$p" 2>/dev/null; done
  # A shim killed above leaves its socket: /run/containerd/s/sha256(ADDRESS/NAMESPACE/ID).
  for id in $ids; do
    rm -f "/run/containerd/s/$(printf '%s' "$CTD_SOCK/$CTD_NS/$id" | sha256sum | cut -d' ' -f1)"
  done
  if ((!CTD_HAD_RUN_DIR)); then
    rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null
  fi
  CTD_PID=
  return 0
}
