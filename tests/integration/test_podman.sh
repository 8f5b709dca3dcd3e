#!/usr/bin/env bash
# podman (Debian's, through conmon) running its containers with minictr-runc
# as its OCI runtime: run --rm, run -d + exec + logs + stop + rm, -p through
# podman's own network, run -it through the console socket. podman's
# storage, run dir, containers.conf and CNI config are the test's own.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runc_lib.sh"
command -v podman >/dev/null || fail "podman is not installed (apt-get install podman)"

private_podman 60  # runc_lib.sh: P (its files) and pm (podman on them, each call bounded)
cid=
NET=mctrpod$$
n=$((20 + $$ % 200))
BRIDGE=
podman_cleanup() {
  local rc=$1
  set +e
  pm rm -af -t 0 >/dev/null 2>&1
  pm network rm -f "$NET" >/dev/null 2>&1
  [[ -n ${BRIDGE:-} ]] && ip link del "$BRIDGE" 2>/dev/null
  pm system reset -f >/dev/null 2>&1
  # what minictr-runc may have left if podman could not ask it (podman's ids are its own)
  for id in $(pm ps -aq --no-trunc 2>/dev/null) ${cid:-}; do
    "$RUNC" delete --force "$id" >/dev/null 2>&1
  done
  remove_cgroup_tree libpod_parent_test_$$
  _cleanup "$rc"
}
trap 'podman_cleanup $?' EXIT

pm load -q -i "$BUSYBOX_TAR" >/dev/null
IMG=localhost/busybox:latest
pm image exists "$IMG" || fail "podman load did not tag $IMG"
# podman puts each container (and its conmon) under the cgroup parent: ours,
# to clean up. No network but for -p (below): podman's default one would be
# a bridge of the host's (cni-podman0), not the test's.
CGP=(--cgroup-parent "/libpod_parent_test_$$" --network none)

# ---- run --rm: the simplest round trip -------------------------------------------
out=$(pm run --rm "${CGP[@]}" "$IMG" echo hi)
assert_eq hi "$out" "podman run --rm IMG echo hi"
rc=$(run_rc pm run --rm "${CGP[@]}" "$IMG" sh -c 'exit 5')
assert_eq 5 "$rc" "exit status through conmon"

# ---- run -d, exec, logs, stop, rm ---------------------------------------------------
cid=$(pm run -d "${CGP[@]}" --name web "$IMG" sh -c 'echo up; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done')
logs_have() { pm logs "$1" 2>/dev/null | grep -c "$2" >/dev/null; }
wait_for 10 logs_have web up ||
  fail "logs: $(pm logs web 2>&1)"
assert_eq running "$(pm inspect -f '{{.State.Status}}' web)" "status after run -d"
# conmon calls the runtime without --root: the container is in minictr-runc's default state root.
assert_eq running "$("$RUNC" state "$cid" | jq -r .status)" "minictr-runc runs podman's container"
assert_eq "$(pm inspect -f '{{.State.Pid}}' web)" "$("$RUNC" state "$cid" | jq -r .pid)" "the pid podman knows"
assert_eq web-exec "$(pm exec web sh -c 'echo web-exec')" "podman exec"
rc=$(run_rc pm exec web sh -c 'exit 4')
assert_eq 4 "$rc" "exec exit status"
assert_contains "$(pm top web 2>&1 || true)" "sh" "podman top"
pm stop -t 5 web >/dev/null
assert_contains "$(pm logs web)" "bye" "stop sent SIGTERM to the container's pid 1"
assert_eq exited "$(pm inspect -f '{{.State.Status}}' web)" "status after stop"
pm rm web >/dev/null
[[ -z $(pm ps -aq) ]] || fail "containers left after rm: $(pm ps -a)"

# ---- run -it: the console socket -------------------------------------------------
out=$(pty_run 24 80 0 0 "" timeout 30 env CONTAINERS_CONF="$P/containers.conf" podman --root "$P/root" \
  --runroot "$P/run" --tmpdir "$P/tmp" --storage-driver vfs --runtime "$RUNC" --cgroup-manager=cgroupfs \
  --events-backend=file --network-config-dir "$P/cni" run --rm -it "${CGP[@]}" "$IMG" sh -c 'tty; echo it-ok')
assert_contains "$out" "/dev/pts/" "run -it has a terminal"
assert_contains "$out" "it-ok" "run -it output"

# ---- -p through podman's own (CNI) network, on a bridge of the test's own -------------
# podman 4.3 names the bridge itself (the first cni-podmanN free on the host).
pm network create --disable-dns --subnet "10.198.$n.0/24" "$NET" >/dev/null
BRIDGE=$(pm network inspect -f '{{.NetworkInterface}}' "$NET")
[[ $BRIDGE == cni-podman* ]] || fail "network $NET: bridge '$BRIDGE'"
port=$((20000 + $$ % 20000))
pm run -d --cgroup-parent "/libpod_parent_test_$$" --name srv --network "$NET" -p "127.0.0.1:$port:8080" "$IMG" \
  sh -c 'mkdir /www; echo served-by-minictr > /www/index.html; exec httpd -f -p 8080 -h /www' >/dev/null
got=""
for _ in $(seq 1 100); do
  got=$(curl -s --max-time 1 "http://127.0.0.1:$port/index.html" || true)
  [[ -n $got ]] && break
  sleep 0.1
done
assert_eq served-by-minictr "$got" "-p through podman's network"
pm rm -f -t 0 srv >/dev/null
echo "test_podman: ok"
