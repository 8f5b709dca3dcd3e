#!/usr/bin/env bash
# Runs INSIDE `scripts/vm --debian` (a Debian 12 root on /dev/vda, ext4, pure
# cgroup v2; tests/CMakeLists.txt: vm.debian_provision): the student's path of
# the Vagrantfile, as far as it can go without a Vagrant provider and in a TCG
# VM. What runs here, in the VM:
#   1. scripts/provision --no-build: the same script the Vagrantfile runs. Its
#      apt step finds every package present (the image was provisioned with
#      `scripts/provision --packages-only` in a chroot when it was built, by
#      tests/vm/mkdebian.sh; the VM has no network, so a package missing from
#      the image fails here); then modprobe of the modules and the host check
#      (overlayfs, namespaces, cgroup v2 controllers) against this VM's kernel;
#   2. the build's dependency check: CMake configures the checkout (/src, read-only)
#      with only the student's packages installed;
#   3. the README's demo (scripts/demo's container part, same commands): the
#      inference image under -m 512m --cpus 1 -p 8080:8080 -v ./data:/app/data,
#      /health, three completions of 24 tokens through the published port,
#      stats, the volume's metrics log, then stop/rm/network prune leave
#      nothing behind (scripts/demo itself would run CI's scripts/setup and
#      compile first);
#   4. pivot_root is the real one: "/" is ext4, and `minictr --explain` shows
#      pivot_root + umount2 of the old root, not the initramfs fallback.
# What does not: compiling (hours under TCG). minictr and the images come from
# the host's build tree, shared read-only at /build (same Debian 12 packages).
#   MINICTR_VM_BUILD=/build   (scripts/vm --share BUILD:/build)
set -euo pipefail
build=${MINICTR_VM_BUILD:-/build}
step() { printf '\n== %s (%ss since boot)\n' "$*" "$(cut -d. -f1 /proc/uptime)"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "the root filesystem"
root=$(findmnt -no FSTYPE,SOURCE / | tr -s ' ')
echo "/ is $root"
[[ $root == "ext4 /dev/vda" ]] || fail "/ is '$root', not ext4 on /dev/vda"
. /etc/os-release
echo "$PRETTY_NAME; minbase + $(dpkg-query -W -f='${Status}\n' | grep -c 'install ok installed') packages"
[[ $VERSION_CODENAME == bookworm ]] || fail "not Debian 12"

step "scripts/provision --no-build (the Vagrantfile's provisioning: packages, modules, host check)"
# The script tested here is the one the Vagrantfile runs.
grep -q 'config.vm.provision .*"/vagrant/scripts/provision"' /src/Vagrantfile ||
  fail "the Vagrantfile's provisioner does not run /vagrant/scripts/provision"
t0=$SECONDS
/src/scripts/provision --no-build
echo "provision: $((SECONDS - t0))s"
[[ -f /sys/fs/cgroup/cgroup.controllers ]] || fail "not cgroup v2"
for m in overlay veth bridge nf_tables; do
  [[ -d /sys/module/$m ]] || fail "module $m not loaded by the provisioning"
done
# The CI-only packages stay out of a student's machine.
for p in qemu-system-x86 podman vagrant clang-tidy chromium golang-go; do
  ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    fail "$p is installed: the student's provisioning should not install it"
done

step "the build's dependencies: cmake configures the checkout with the student's packages"
t0=$SECONDS
cmake -S /src -B /tmp/build-check -DCMAKE_BUILD_TYPE=RelWithDebInfo > /tmp/configure.log 2>&1 ||
  { tail -30 /tmp/configure.log; fail "cmake could not configure /src with the student's packages"; }
tail -3 /tmp/configure.log
echo "configure: $((SECONDS - t0))s"

step "minictr from the host's build ($build, read-only)"
minictr=$build/runtime/minictr image=$build/images/inference.tar
[[ -x $minictr && -f $image && -f $build/images/busybox.tar ]] || fail "no minictr or images in $build"
ln -sf "$minictr" /usr/local/bin/minictr
minictr version

step "pivot_root: the container's root is entered with pivot_root(2), not mount --move + chroot"
minictr --explain run --rm --network none "$build/images/busybox.tar" \
  sh -c 'grep " / / " /proc/self/mountinfo' > /tmp/run.out 2> /tmp/explain.txt ||
  { cat /tmp/run.out /tmp/explain.txt; fail "busybox container"; }
grep -E 'pivot_root|umount|chroot' /tmp/explain.txt
grep -q 'pivot_root \. \.' /tmp/explain.txt || fail "no pivot_root in the --explain trace"
grep -q 'umount -l \.' /tmp/explain.txt || fail "the old root was not detached"
! grep -q 'mount --move' /tmp/explain.txt || fail "minictr fell back to mount --move + chroot"
echo "in the container: $(cat /tmp/run.out)"
grep -q ' / / .* - overlay ' /tmp/run.out || fail "the container's / is not its overlay"

step "the demo (scripts/demo's container part)"
name=minictr-demo port=8080
mkdir -p /root/demo/data && cd /root/demo
cleanup() {
  minictr rm -f "$name" >/dev/null 2>&1 || true
  minictr network prune >/dev/null 2>&1 || true
}
trap cleanup EXIT
t0=$SECONDS
minictr run -d --name "$name" -p "$port:8080" -m 512m --cpus 1 -v ./data:/app/data "$image"
for ((i = 0; i < 240; i++)); do
  curl -sf "http://127.0.0.1:$port/health" > /tmp/health && break
  [[ $(minictr inspect -f '{{.State.Running}}' "$name") == true ]] ||
    { minictr logs --tail 20 "$name"; fail "the inference container exited"; }
  sleep 0.5
done
[[ -s /tmp/health ]] || { minictr logs --tail 20 "$name"; fail "no /health on 127.0.0.1:$port"; }
echo "/health after $((SECONDS - t0))s: $(cat /tmp/health)"
t0=$SECONDS
for prompt in "Once upon a time" "The container said" "A wise engineer once"; do
  body=$(printf '{"prompt": "%s", "n_predict": 24, "temperature": 0}' "$prompt")
  answer=$(curl -sf --max-time 120 -H 'Content-Type: application/json' -d "$body" \
    "http://127.0.0.1:$port/completion") || fail "no completion for '$prompt'"
  python3 -c '
import json, sys
prompt, a = sys.argv[1], json.loads(sys.argv[2])
print(prompt + a["content"])
print("    (%d tokens in %.0f ms)" % (a["tokens_predicted"], a["timings"]["predicted_ms"]))
assert a["tokens_predicted"] > 0 and a["content"].strip(), "an empty completion"
' "$prompt" "$answer" || fail "bad completion: $answer"
done
echo "3 completions: $((SECONDS - t0))s"
minictr stats --no-stream "$name"
pid=$(minictr inspect -f '{{.State.Pid}}' "$name")
limit=$(cat "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/memory.max")
echo "memory.max of the container's cgroup: $limit"
[[ $limit == 536870912 ]] || fail "memory.max is $limit, not 512 MiB"
echo "data/metrics.csv (the mounted volume):"
cat data/metrics.csv
(($(wc -l < data/metrics.csv) == 4)) || fail "not one line per request in the volume's metrics.csv"

step "stop, rm, network prune"
t0=$SECONDS
minictr stop "$name"
minictr rm "$name"
minictr network prune
echo "stop + rm + prune: $((SECONDS - t0))s"
trap - EXIT
[[ ! -e /sys/class/net/minictr0 ]] || fail "the bridge is left"
! nft list tables 2>/dev/null | grep -q minictr || fail "an nft table is left"
[[ -z $(minictr ps -aq) ]] || fail "a container is left"
echo "debian_provision: all passed"
