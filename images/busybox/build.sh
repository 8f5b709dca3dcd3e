#!/usr/bin/env bash
# Build the busybox test image from Debian's busybox-static, without Docker.
#   build.sh OUT.tar [mkimage.py options, e.g. --format docker]
# The rootfs: /bin/busybox plus a symlink per applet, /etc/passwd (root,
# nobody), /etc/group, /tmp (1777), /root, /home. Same bytes every run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
shift
busybox=${BUSYBOX:-/bin/busybox}
[[ -x $busybox ]] || { echo "busybox/build.sh: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

stage=$(mktemp -d "$(dirname "$out")/.busybox-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 022
rootfs=$stage/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,proc,sys,dev,var,run}
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list | sort); do
  [[ $applet == busybox ]] && continue
  ln -s busybox "$rootfs/bin/$applet"
done
install -m 0644 "$here/passwd" "$rootfs/etc/passwd"
install -m 0644 "$here/group" "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

"${PYTHON:-python3}" "$here/../mkimage.py" --layer "$rootfs" --config "$here/config.json" \
  --tag busybox:latest --out "$out" "$@"
