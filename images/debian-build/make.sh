#!/usr/bin/env bash
# Make (once) the project's Debian build image: bookworm with the compiler and
# the -dev packages minictr-infer needs, as an image archive (docker save
# layout, one layer, tagged minictr-debian-build:<key>), and print its path.
# images/inference/Dockerfile compiles the server in it.
#
#   images/debian-build/make.sh MINICTR        (root: mmdebstrap --mode=root)
#
# The archive lives in $MINICTR_CACHE/debian-build (default /var/cache/minictr-ci,
# outside the checkout: CI starts from a clean clone, that cache persists),
# named after a hash of the recipe below (suite, packages, source package), so
# it is reused until the recipe changes. Only Debian's mirrors are needed.
#
# cpp-httplib: Debian ships it as a shared library only (libcpp-httplib.so, with
# a declarations-only httplib.h), so a server linked against it cannot be
# static. Its source package (with Debian's patches applied) carries upstream's
# single header, which needs no library at all: it is kept as
# /usr/local/include/cpp-httplib/httplib.h, and the server is built header-only
# with it (inference/CMakeLists.txt: MINICTR_HTTPLIB_HEADER_ONLY).
set -euo pipefail

minictr=${1:?usage: make.sh MINICTR}
[[ $(id -u) -eq 0 ]] || { echo "debian-build: needs root (mmdebstrap --mode=root)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "debian-build: mmdebstrap missing (apt-get install mmdebstrap)" >&2; exit 1; }
[[ -x $minictr ]] || { echo "debian-build: $minictr is not an executable (build target minictr)" >&2; exit 1; }

suite=bookworm
mirror=http://deb.debian.org/debian
# build-essential: gcc, g++, make, libc6-dev (libc.a: a static link), dpkg-dev
# (apt-get source unpacks with it). busybox-static: the image's HEALTHCHECK wget.
packages=(build-essential cmake pkg-config libcli11-dev nlohmann-json3-dev zlib1g-dev libbrotli-dev busybox-static)
sources=(cpp-httplib)
recipe="1 $suite ${packages[*]} src:${sources[*]}"  # bump the 1 when the steps below change
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-12)
cache=${MINICTR_CACHE:-/var/cache/minictr-ci}/debian-build
out=$cache/$key.tar
tag=minictr-debian-build:$key

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [[ -f $out ]]; then
  echo "$out"
  exit 0
fi

rm -rf --one-file-system "$cache"/*.tmp  # an interrupted run's
tmp=$cache/$key.tmp
mkdir -p "$tmp"
trap 'rm -rf --one-file-system "$tmp"' EXIT
echo "debian-build: mmdebstrap $suite + ${packages[*]} (a few minutes, once per recipe)" >&2
# Security updates too: cpp-httplib's source comes from there (0.11.4+ds-1+deb12u1).
# No docs, man pages or translations: nothing a compiler run reads.
# shellcheck disable=SC2016  # "$1" in the hook is mmdebstrap's (the chroot), not ours
mmdebstrap --quiet --variant=minbase --mode=root --skip=output/dev \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='chroot "$1" sh -ec "mkdir -p /tmp/src && cd /tmp/src && apt-get source -q '"${sources[*]}"' >/dev/null
      install -D -m 0644 cpp-httplib-*/httplib.h /usr/local/include/cpp-httplib/httplib.h
      install -D -m 0644 cpp-httplib-*/debian/copyright /usr/local/share/doc/cpp-httplib/copyright
      cd / && rm -rf /tmp/src"' \
  "$suite" "$tmp/rootfs.tar" \
  "deb $mirror $suite main" "deb-src $mirror $suite main" \
  "deb http://deb.debian.org/debian-security $suite-security main" \
  "deb-src http://deb.debian.org/debian-security $suite-security main"

# rootfs.tar -> an image archive, through a private state root that goes afterwards.
root=$tmp/root
MINICTR_ROOT=$root "$minictr" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["/bin/bash"]' \
  -m "images/debian-build/make.sh: $recipe" "$tmp/rootfs.tar" "$tag" >/dev/null
MINICTR_ROOT=$root "$minictr" save -o "$tmp/image.tar" "$tag"
mv "$tmp/image.tar" "$out"
echo "$out"
