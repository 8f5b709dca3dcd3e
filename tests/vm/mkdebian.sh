#!/usr/bin/env bash
# Build (once) the Debian 12 root image that `scripts/vm --debian` boots, and
# print its path. The image is an ext4 file in $MINICTR_CACHE/vm (default
# /var/cache/minictr-ci/vm, outside the checkout), named after a hash of what
# goes into it: this script, the student's package list
# (`scripts/setup --student --list`) and the kernel version. Reused while
# those stay the same; a changed input builds a new image and removes the old.
#
#   tests/vm/mkdebian.sh [-k KERNEL_VERSION]     (root; default: newest /boot/vmlinuz-*)
#
# What is in it:
#   - mmdebstrap --variant=minbase bookworm (Essential + Priority: required + apt);
#   - the student's provisioning, run in a chroot of it: `scripts/provision
#     --packages-only`, i.e. apt-get install of the build and runtime packages,
#     the same command the Vagrantfile's provisioning starts with;
#   - the host kernel's modules (fs, net, virtio block/net drivers; not GPU,
#     sound, wireless, ...) so modprobe and the kernel's module autoloading
#     work in the VM with the host's /boot/vmlinuz;
#   - /sbin/minictr-vm-init as PID 1: a stub that mounts scripts/vm's control
#     share and runs tests/vm/debian-init from there (so editing that init does
#     not rebuild the image).
# The ext4 file is made with `mkfs.ext4 -d` from the directory: no loop device,
# no mount.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
kver=""
while getopts k: opt; do
  case $opt in
    k) kver=$OPTARG ;;
    *) exit 2 ;;
  esac
done
if [[ -z $kver ]]; then
  kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
  kver=${kernel##*/vmlinuz-}
fi
[[ -n $kver && -d /lib/modules/$kver ]] ||
  { echo "mkdebian: no kernel modules for '$kver' (apt-get install linux-image-amd64)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "mkdebian: needs root (mmdebstrap's chroot)" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 depmod; do
  command -v "$tool" >/dev/null ||
    { echo "mkdebian: $tool missing (apt-get install mmdebstrap e2fsprogs kmod)" >&2; exit 1; }
done

cache=${MINICTR_CACHE:-/var/cache/minictr-ci}/vm
key=$( {
  cat "$0"
  "$src/scripts/setup" --student --list
  echo "$kver"
} | sha256sum | cut -c1-12)
image=$cache/debian-bookworm-$key.ext4
mkdir -p "$cache"

# One builder at a time (ctest may start two VM tests at once); the second
# waits and then finds the image.
exec 9> "$cache/debian.lock"
flock 9
if [[ -f $image ]]; then
  echo "$image"
  exit 0
fi

t0=$(date +%s)
# --one-file-system: never into a /proc or /sys a killed mmdebstrap left mounted.
rm -rf --one-file-system "$cache"/root.* "$cache"/*.tmp  # an interrupted build's
root=$(mktemp -d "$cache/root.XXXXXX")
rmdir "$root"  # mmdebstrap wants to create it
cleanup() { rm -rf --one-file-system "$root" "$image.tmp"; }
trap cleanup EXIT

echo "mkdebian: building $image (mmdebstrap bookworm minbase + the student's packages; a few minutes)" >&2
# The provisioning script runs inside the chroot with the host's network, as
# apt would in the Vagrant box; mmdebstrap mounts /proc, /sys and /dev there
# and keeps daemons from starting (policy-rc.d) until it is done.
mmdebstrap --quiet --variant=minbase --mode=root \
  --customize-hook='mkdir -p "$1/tmp/minictr/scripts"' \
  --customize-hook="copy-in $src/scripts/setup $src/scripts/provision /tmp/minictr/scripts" \
  --customize-hook='chroot "$1" /tmp/minictr/scripts/provision --packages-only' \
  --customize-hook='rm -rf "$1/tmp/minictr"' \
  bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" >&2

# The host kernel's modules, without the hardware a qemu VM does not have.
mkdir -p "$root/lib/modules/$kver/kernel/drivers"
(
  cd "/lib/modules/$kver"
  cp -a modules.order modules.builtin modules.builtin.modinfo "$root/lib/modules/$kver/"
  cp -a kernel/fs kernel/net kernel/lib kernel/crypto kernel/arch kernel/mm kernel/block kernel/virt \
    "$root/lib/modules/$kver/kernel/" 2>/dev/null || true
  cp -a kernel/drivers/block kernel/drivers/virtio kernel/drivers/net kernel/drivers/char \
    "$root/lib/modules/$kver/kernel/drivers/"
)
rm -rf "$root/lib/modules/$kver/kernel/drivers/net/"{wireless,ethernet,usb,can,wwan,ieee802154} \
  "$root/lib/modules/$kver/kernel/net/"{wireless,mac80211,bluetooth}
depmod -b "$root" "$kver"

cat > "$root/sbin/minictr-vm-init" <<'STUB'
#!/bin/sh
# PID 1 of `scripts/vm --debian` (written by tests/vm/mkdebian.sh): the real
# init, tests/vm/debian-init, comes in with scripts/vm's control share.
mkdir -p /run/vm
modprobe 9pnet_virtio && modprobe 9p &&
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 vmctl /run/vm &&
  exec /bin/bash /run/vm/init
echo "minictr-vm-init: no control share (9p) from scripts/vm"
echo o > /proc/sysrq-trigger
STUB
chmod 755 "$root/sbin/minictr-vm-init"
echo minictr-vm > "$root/etc/hostname"
: > "$root/etc/fstab"

# Room for the demo: /var/lib/minictr (images, overlay upper dirs), build trees.
used=$(du -sm "$root" | cut -f1)
mkfs.ext4 -q -F -L minictr-root -d "$root" "$image.tmp" "$((used * 5 / 4 + 1536))M" >&2
mv "$image.tmp" "$image"
for old in "$cache"/debian-bookworm-*.ext4; do
  [[ $old == "$image" ]] || rm -f "$old"
done
echo "mkdebian: $image built in $(($(date +%s) - t0))s ($(du -sm "$image" | cut -f1) MiB used of $(($(stat -c %s "$image") >> 20)) MiB)" >&2
echo "$image"
