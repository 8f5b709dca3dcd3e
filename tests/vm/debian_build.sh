#!/usr/bin/env bash
# The student's whole provisioning, build included, on the Debian 12 image of
# `scripts/vm --debian` (tests/vm/mkdebian.sh) -- natively, in a chroot, since
# compiling under qemu's TCG would take hours. Not in ctest (a full build
# of every target on both cores); run it when the student package list
# (scripts/setup --student) or the build's dependencies change:
#
#   tests/vm/debian_build.sh        (root)
#
# A sparse copy of the cached image is loop-mounted (the cached one is not
# touched), the committed tree (`git archive HEAD`: what a student clones) is
# put at /vagrant, and /vagrant/scripts/provision runs in the chroot exactly as
# the Vagrantfile runs it: packages (all present already, or apt-get installs
# them), modules + host check (against this host's kernel), scripts/build,
# /usr/local/bin/minictr, `minictr version`; then build/ has minictr and the
# image tars. (No container here: the chroot has no cgroup mounts; the VM test
# runs those.) Everything is unmounted and deleted at exit.
#   MINICTR_CACHE   as for tests/vm/mkdebian.sh
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "debian_build: needs root (mount, chroot)" >&2; exit 1; }
image=$("$src/tests/vm/mkdebian.sh")
work=$(mktemp -d /var/tmp/minictr-debian-build.XXXXXX)
mnt=$work/root
cleanup() {
  # The image and everything on it, innermost first (lazily if still busy).
  if mountpoint -q "$mnt"; then umount -R "$mnt" 2>/dev/null || umount -R -l "$mnt"; fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

t0=$(date +%s)
cp --sparse=always "$image" "$work/root.ext4"
# The image keeps little room (the VM only runs containers); a debug build of
# every target needs a few GB more. Sparse: costs only what the build writes.
truncate -s +6G "$work/root.ext4"
e2fsck -fp "$work/root.ext4" >/dev/null
resize2fs -p "$work/root.ext4" >/dev/null 2>&1
mkdir -p "$mnt"
mount -o loop "$work/root.ext4" "$mnt"  # the loop device goes with the umount (autoclear)
mount -t proc proc "$mnt/proc"
# /sys with the host's cgroup mounts under it: the provisioning's host check
# reads them (slave: our unmounts do not reach the host's).
mount --rbind /sys "$mnt/sys"
mount --make-rslave "$mnt/sys"
mount --bind /dev "$mnt/dev"
mount --bind /dev/pts "$mnt/dev/pts"
mkdir -p "$mnt/vagrant"
git -C "$src" archive HEAD | tar -x -C "$mnt/vagrant"
cp /etc/resolv.conf "$mnt/etc/resolv.conf"  # apt, if a package were missing

echo "== /vagrant/scripts/provision in a chroot of $image"
chroot "$mnt" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  nice -n 10 /vagrant/scripts/provision
for f in runtime/minictr images/busybox.tar images/inference.tar; do
  [[ -s $mnt/vagrant/build/$f ]] || { echo "debian_build: FAIL: build/$f was not built" >&2; exit 1; }
done
echo "debian_build: provision + build took $(($(date +%s) - t0))s"
