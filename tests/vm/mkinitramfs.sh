#!/usr/bin/env bash
# Build the initramfs (cpio.gz) of the minictr test VM:
#   busybox-static + tests/vm/init + extra files (binaries bring the shared
#   libraries ldd lists) + kernel modules with their dependencies.
#
#   mkinitramfs.sh -o OUT.cpio.gz [-k KVER] [-f SRC[:DEST]]... [-m MODULE]... [-c COMMAND_FILE]
#
# -f SRC[:DEST]  copy SRC into the image at DEST (default: same path); a
#                directory is copied recursively. ELF files get their libs.
# -m MODULE      a kernel module name (overlay, veth, bridge, nf_tables ...);
#                its dependencies are resolved with `modprobe --show-depends`
#                against /lib/modules/KVER and loaded in order by /init.
# -c FILE        shell script the VM runs instead of an interactive shell.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="" kver="" cmdfile=""
files=() modules=()
while getopts "o:k:f:m:c:" opt; do
  case $opt in
    o) out=$OPTARG ;;
    k) kver=$OPTARG ;;
    f) files+=("$OPTARG") ;;
    m) modules+=("$OPTARG") ;;
    c) cmdfile=$OPTARG ;;
    *) echo "usage: $0 -o OUT [-k KVER] [-f SRC[:DEST]]... [-m MODULE]... [-c CMDFILE]" >&2; exit 2 ;;
  esac
done
[[ -n $out ]] || { echo "mkinitramfs: -o OUT is required" >&2; exit 2; }
busybox=/bin/busybox
[[ -x $busybox ]] && ! ldd "$busybox" >/dev/null 2>&1 ||
  { echo "mkinitramfs: need busybox-static (apt-get install busybox-static)" >&2; exit 1; }

root=$(mktemp -d /tmp/minictr-initramfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

# Same merged-/usr layout as the host, so paths printed by ldd just work.
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,run,root,etc,mnt,var/lib}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e $root/usr/bin/$applet ]] || ln -s busybox "$root/usr/bin/$applet"
done
install -m 0755 "$here/init" "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

# Copy a file to DEST inside the image, resolving symlinks on the host side.
put() {
  local src=$1 dest=$2
  mkdir -p "$root/$(dirname "$dest")"
  cp -L --preserve=mode "$src" "$root/$dest"
}

# An ELF binary without its debug sections: a RelWithDebInfo minictr is
# ~200 MB, ~8 MB stripped, and the kernel unpacks the whole initramfs into RAM
# at every boot. Anything strip refuses (scripts, data) is copied as is.
put_stripped() {
  local src=$1 dest=$2
  mkdir -p "$root/$(dirname "$dest")"
  if ! strip --strip-debug -o "$root/$dest" "$src" 2>/dev/null; then
    cp -L --preserve=mode "$src" "$root/$dest"
  fi
  chmod --reference="$src" "$root/$dest"
}

# An ELF binary's shared libraries (and the dynamic loader) at the paths ldd prints.
put_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [[ -e $root/$lib ]] || put "$lib" "$lib"
  done
}

for spec in "${files[@]}"; do
  src=${spec%%:*}
  dest=${spec#*:}
  [[ $spec == *:* ]] || dest=$src
  [[ -e $src ]] || { echo "mkinitramfs: no such file: $src" >&2; exit 1; }
  if [[ -d $src ]]; then
    mkdir -p "$root/$dest"
    cp -a "$src/." "$root/$dest/"
  else
    put_stripped "$src" "$dest"
    put_libs "$src"  # nothing for scripts and static binaries
    # A real tool replaces busybox's applet of the same name (e.g. iproute2's ip).
    applet="$root/usr/bin/$(basename "$dest")"
    if [[ -L $applet && $(readlink "$applet") == busybox && $dest != /usr/bin/* && $dest != /bin/* ]]; then
      rm "$applet"
    fi
  fi
done

if ((${#modules[@]})); then
  kver=${kver:-$(ls /lib/modules | sort -V | tail -1)}
  : > "$root/etc/vm-modules"
  for m in "${modules[@]}"; do
    # "insmod /lib/modules/<kver>/kernel/net/802/stp.ko" lines, dependencies first;
    # "builtin overlay" for modules compiled into the kernel.
    while read -r kind path _; do
      [[ $kind == insmod ]] || continue
      grep -qxF "$path" "$root/etc/vm-modules" && continue
      put "$path" "$path"
      echo "$path" >> "$root/etc/vm-modules"
    done < <(modprobe -S "$kver" --show-depends "$m")
  done
fi

if [[ -n $cmdfile ]]; then install -m 0644 "$cmdfile" "$root/etc/vm-command"; fi

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
