# Sourced by build.sh (the hand-packed image, MINICTR_INFERENCE_IMAGE=packed):
# lay out the server's root filesystem in ROOT.
#   server_root ROOT MINICTR_INFER
# /app/minictr-infer (debug info stripped), every shared library `ldd` lists,
# copied to the same path, plus the dynamic loader; /etc/passwd, /etc/group,
# /etc/nsswitch.conf, /tmp (1777), /app/data (the volume). No shell, no package
# manager: only what the server needs to run.
server_root() {
  local root=$1 infer=$2 here libs lib dir
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$root"/{app/data,etc,tmp,proc,sys,dev,run,root,usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64}
  # Debian 12 is merged-/usr: /lib and /lib64 are symlinks into /usr, as on the host,
  # so the paths ldd prints (/lib/x86_64-linux-gnu/..., /lib64/ld-linux-...) resolve.
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  ln -s usr/bin "$root/bin"
  # --strip-debug is deterministic: the same binary gives the same stripped bytes.
  objcopy --strip-debug "$infer" "$root/app/minictr-infer"
  chmod 0755 "$root/app/minictr-infer"
  # Every library ldd resolves ("name => /path (addr)") and the loader ("/path (addr)").
  libs=$(ldd "$infer" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
  [[ -n $libs ]] || { echo "images/inference: ldd listed no libraries for $infer" >&2; return 1; }
  for lib in $libs; do
    # Copied (cp -L: the file a soname symlink names) below the real merged-/usr
    # directory, keeping the name ldd printed.
    dir=$(realpath "$(dirname "$lib")")
    mkdir -p "$root$dir"
    cp -L "$lib" "$root$dir/$(basename "$lib")"
    chmod 0755 "$root$dir/$(basename "$lib")"
  done
  install -m 0644 "$here/passwd" "$root/etc/passwd"
  install -m 0644 "$here/group" "$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
}
