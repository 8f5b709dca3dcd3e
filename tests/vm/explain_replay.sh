#!/bin/sh
# Runs INSIDE the test VM (pure cgroup v2, busybox sh; its root is a tmpfs it
# switched to, so pivot_root works as on a disk-booted host): the script
# `--explain-script` writes for a run, replayed with bash, makes the same
# container again — same view from inside (PID 1, capabilities, cgroup
# limit, mounts, files, address) — and leaves the VM's own host name, root,
# mounts, cgroups and network namespaces as they were.
set -eu
# The VM runs from its initramfs, where pivot_root is refused (the old root
# could never be unmounted) and minictr falls back to mount --move + chroot,
# which a script cannot replay. First move to a tmpfs root, as switch_root
# does on a real host: a copy of the initramfs, in a mount namespace of our own.
if [ -z "${EXPLAIN_REPLAY_SWITCHED:-}" ]; then
  mkdir -p /newroot
  mount -t tmpfs -o size=768m tmpfs /newroot
  for d in /*; do
    case $d in /proc | /sys | /dev | /run | /tmp | /newroot) mkdir -p "/newroot$d" ;; *) cp -a "$d" /newroot/ ;; esac
  done
  exec unshare -m sh -c 'mount --make-rprivate / && mount --rbind /proc /newroot/proc &&
    mount --rbind /sys /newroot/sys && mount --rbind /dev /newroot/dev &&
    mount -t tmpfs tmpfs /newroot/run && mount -t tmpfs tmpfs /newroot/tmp &&
    cd /newroot && mount --move . / && exec chroot . env EXPLAIN_REPLAY_SWITCHED=1 sh /explain_replay.sh'
fi
M=/usr/local/bin/minictr
BASH=/usr/local/bin/bash
fail() { echo "FAIL: $*"; exit 1; }
export MINICTR_ROOT=/var/lib/minictr
mkdir -p $MINICTR_ROOT
mount -t tmpfs tmpfs $MINICTR_ROOT # overlayfs needs xattrs for its upper dir
[ -f /sys/fs/cgroup/cgroup.controllers ] || fail "not a cgroup v2 host"
$M load /images/busybox.tar >/dev/null

probe='echo "host=$(hostname) pid=$$"; grep -E "^(CapBnd|CapEff|NoNewPrivs):" /proc/self/status
cat /sys/fs/cgroup/memory.max; grep -c . /proc/self/mountinfo; ls /; cat /etc/hostname
ip -4 -o addr show eth0 2>/dev/null | sed "s/.*inet \([^ ]*\).*/\1/"'

vm_state() {
  echo "hostname=$(hostname) root=$(stat -c %d:%i /) mounts=$(grep -v " /run/netns " /proc/self/mountinfo | grep -c .)"
  echo "groups=$(ls /sys/fs/cgroup/minictr 2>/dev/null | grep -c '^[0-9a-f]\{64\}$')"
  echo "netns=$(ls /run/netns 2>/dev/null | grep -c . || true) links=$(ip -o link | grep -c mctr || true)"
}

for net in none bridge; do
  orig=$($M --explain-script /tmp/$net.sh run --rm --network $net -m 64m busybox sh -c "$probe") ||
    fail "traced run ($net)"
  # As on a fresh host: the bridge and its table are made again by the script,
  # and so is the shared cgroup parent minictr/.
  $M network prune -f >/dev/null
  rmdir /sys/fs/cgroup/minictr || fail "rmdir /sys/fs/cgroup/minictr (the shared parent) after the traced run"
  before=$(vm_state)
  again=$($BASH /tmp/$net.sh 2>/tmp/$net.err) || fail "replay ($net): $(cat /tmp/$net.err)"
  [ "$again" = "$orig" ] || fail "replayed container ($net) differs:
--- traced
$orig
--- replayed
$again"
  $M network prune -f >/dev/null
  after=$(vm_state)
  [ "$after" = "$before" ] || fail "the VM after the replay ($net): $after (was $before)"
  echo "ok --network $net: the replay made the same container ($(echo "$orig" | head -1)); VM unchanged"
done
grep -q "ip link add minictr0 type bridge" /tmp/bridge.sh || fail "the bridge script does not make the bridge"
echo "VM explain replay: PASS"
