#!/usr/bin/env bash
# containerd runs its containers through minictr-runc (issue 20), as it would
# for Kubernetes: a private containerd (own root, state dir, socket, minimal
# config: no CRI, overlayfs snapshotter) imports the busybox image, then
#   ctr run --rm --runc-binary RT IMAGE ID echo hi
#   ctr run -d + ctr task exec + ctr task kill + ctr task delete
#   ctr run --with-ns network:/proc/PID/ns/net (a second container in the
#   first's network namespace, as a pod's containers share the sandbox's)
# first with runc (proving the harness), then with minictr-runc.
# CONTAINERD_RUNTIMES="runc minictr" (default) chooses which of the two run.
source "$(dirname "$0")/lib.sh"

command -v containerd >/dev/null && command -v ctr >/dev/null || fail "containerd/ctr not installed (apt-get install containerd)"
RUNC=${RUNC:-$(command -v runc)}
MINICTR_RUNC=${MINICTR_RUNC:-$(dirname "$MINICTR")/minictr-runc}
runtimes=${CONTAINERD_RUNTIMES:-runc minictr}

source "$MINICTR_SRC/tests/runc/containerd.sh"
trap 'rc=$?; set +e; ctd_stop; _cleanup "$rc"' EXIT
ctd_start "$TEST_TMP/containerd" "minictr-test-$$" || fail "containerd did not start"
FIFOS=("${CTD_FIFOS[@]}")

[[ -f $BUSYBOX_TAR ]] || fail "no $BUSYBOX_TAR (build target images)"
c images import --all-platforms "$BUSYBOX_TAR" >/dev/null || fail "ctr images import $BUSYBOX_TAR"
IMAGE=$(c images ls -q | grep -m1 busybox) || fail "no busybox image after import: $(c images ls -q)"

# wait_status ID STATUS: until ctr task ls shows ID in STATUS (5 s).
wait_status() {
  for _ in $(seq 50); do
    [[ $(c task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }') == "$2" ]] && return 0
    sleep 0.1
  done
  fail "task $1 not $2: $(c task ls)"
}

check_runtime() {
  local name=$1 rt=$2 out pid ns1 ns2 t0=$SECONDS
  local rflags=(--runc-binary "$rt" --runc-root "$CTD/runc/$name")
  [[ -x $rt ]] || fail "$name: no runtime binary at $rt"

  out=$(c run --rm "${FIFOS[@]}" "${rflags[@]}" "$IMAGE" "$name-rm" echo hi 2>&1) || fail "$name: ctr run --rm … echo hi: $out"
  assert_eq "hi" "$out" "$name: ctr run --rm echo hi"
  [[ -z $(c containers ls -q) ]] || fail "$name: ctr run --rm left a container: $(c containers ls -q)"

  c run -d "${FIFOS[@]}" "${rflags[@]}" "$IMAGE" "$name-d" sleep 1000 >/dev/null || fail "$name: ctr run -d"
  wait_status "$name-d" RUNNING
  # The shim called the binary we gave: its state is under the --runc-root we gave.
  [[ -n $(ls -A "$CTD/runc/$name/$CTD_NS" 2>/dev/null) ]] || fail "$name: nothing in $CTD/runc/$name/$CTD_NS: was $rt called?"
  pid=$(c task ls | awk -v id="$name-d" '$1 == id { print $2 }')
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" || fail "$name: no live pid for the task ($pid)"
  out=$(c task exec "${FIFOS[@]}" --exec-id e1 "$name-d" sh -c 'echo exec $$ $(cat /proc/1/comm)' 2>&1) || fail "$name: ctr task exec: $out"
  [[ $out =~ ^exec\ [0-9]+\ sleep$ ]] || fail "$name: ctr task exec printed '$out', expected 'exec PID sleep'"
  # ctr exits with the exec'd process's status, which the runtime reports.
  assert_eq 3 "$(run_rc c task exec "${FIFOS[@]}" --exec-id e2 "$name-d" sh -c 'exit 3')" "$name: exit status of ctr task exec"

  # The second container joins the first's network namespace.
  ns1=$(readlink "/proc/$pid/ns/net")
  [[ $ns1 != "$(readlink /proc/self/ns/net)" ]] || fail "$name: the first container shares the host's netns"
  ns2=$(c run --rm "${FIFOS[@]}" "${rflags[@]}" --with-ns "network:/proc/$pid/ns/net" "$IMAGE" "$name-peer" readlink /proc/self/ns/net 2>&1) ||
    fail "$name: ctr run --with-ns network:/proc/$pid/ns/net: $ns2"
  assert_eq "$ns1" "$ns2" "$name: the second container's netns"

  c task kill -s SIGKILL "$name-d" || fail "$name: ctr task kill"
  wait_status "$name-d" STOPPED
  kill -0 "$pid" 2>/dev/null && fail "$name: pid $pid still alive after ctr task kill and STOPPED"
  out=$(c task delete "$name-d" 2>&1) || fail "$name: ctr task delete: $out"
  c containers delete "$name-d" || fail "$name: ctr containers delete"
  [[ -z $(c task ls -q) ]] || fail "$name: tasks left: $(c task ls)"
  echo "   $name: run --rm, run -d, task exec, --with-ns network, task kill, task delete: ok ($((SECONDS - t0)) s)"
}

for r in $runtimes; do
  case $r in
    runc) check_runtime runc "$RUNC" ;;
    minictr) check_runtime minictr "$MINICTR_RUNC" ;;
    *) fail "CONTAINERD_RUNTIMES: unknown runtime $r" ;;
  esac
done
echo "test_containerd: ok"
