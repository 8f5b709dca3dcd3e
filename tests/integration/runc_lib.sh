# Sourced by the runc-compatible tests (test_runc_*.sh, test_podman.sh) after lib.sh.
# RUNC: minictr under the name minictr-runc (made by the build next to minictr).
RUNC=${MINICTR_RUNC:-$(dirname "$MINICTR")/minictr-runc}
[[ -x $RUNC ]] || fail "$RUNC missing (the build makes it next to minictr)"

# unpack_busybox DIR: the busybox test image's layers (an OCI layout tar) into DIR.
unpack_busybox() {
  mkdir -p "$1"
  python3 - "$BUSYBOX_TAR" "$1" <<'PY'
import json, sys, tarfile, io
src, dest = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t:
    def blob(d): return t.extractfile("blobs/" + d.replace(":", "/")).read()
    index = json.loads(t.extractfile("index.json").read())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as lt:
            lt.extractall(dest)
PY
}

# edit_config FILE PYTHON...: change config.json with python (c is the dict).
edit_config() {
  local file=$1
  shift
  python3 - "$file" "$@" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
for stmt in sys.argv[2:]:
    exec(stmt)
json.dump(c, open(path, "w"), indent=1)
PY
}

# cgroup_dirs REL: the directories of group REL in each mounted hierarchy.
cgroup_dirs() {
  local rel=$1
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo "/sys/fs/cgroup/$rel"
  else
    local d
    for d in /sys/fs/cgroup/*/; do
      [[ -L ${d%/} ]] && continue
      echo "${d%/}/$rel"
    done
  fi
}

# remove_cgroup_tree REL: rmdir REL and below in every hierarchy (deepest first).
remove_cgroup_tree() {
  local d
  for d in $(cgroup_dirs "$1"); do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

# wait_for TIMEOUT_S CMD...: until CMD succeeds.
wait_for() {
  local limit=$1
  shift
  local end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.05
  done
}

# A podman of the test's own: storage, run dir, containers.conf and CNI config
# under the test's temp dir (the host's are not touched), its OCI runtime
# $RUNC. This host needs the cgroupfs manager (no systemd) and explicit
# ulimits (podman's defaults ask for more than the host's hard limits).
# Sets P and defines pm, each podman command bounded by TIMEOUT seconds: a
# runtime that hangs fails the test, not CI.
private_podman() {
  P=$TEST_TMP/podman
  PODMAN_TIMEOUT=$1
  mkdir -p "$P/cni"
  cat >"$P/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
[network]
network_config_dir = "$P/cni"
CONF
}
pm() {
  CONTAINERS_CONF=$P/containers.conf timeout "$PODMAN_TIMEOUT" podman --root "$P/root" --runroot "$P/run" \
    --tmpdir "$P/tmp" --storage-driver vfs --runtime "$RUNC" --cgroup-manager=cgroupfs --events-backend=file \
    --network-config-dir "$P/cni" "$@"
}
