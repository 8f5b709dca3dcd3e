#!/usr/bin/env bash
# The top-level Vagrantfile must stay valid: `vagrant validate` parses it and
# checks every setting (box, synced folder, forwarded port, provisioner)
# without booting anything. --ignore-provider: no VirtualBox/libvirt here.
set -euo pipefail

src="${MINICTR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
command -v vagrant >/dev/null || { echo "FAIL: vagrant is not installed (run scripts/setup)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/minictr-vagrant.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$src/Vagrantfile" "$tmp/Vagrantfile"
# Vagrant keeps its per-user data under VAGRANT_HOME; keep it in the temp dir.
export VAGRANT_HOME="$tmp/vagrant.d" VAGRANT_CHECKPOINT_DISABLE=1

if ! out=$(cd "$tmp" && vagrant validate --ignore-provider 2>&1); then
  echo "FAIL: vagrant validate rejected the Vagrantfile:" >&2
  echo "$out" >&2
  exit 1
fi
echo "$out"
grep -q "Vagrantfile validated successfully" <<<"$out" || { echo "FAIL: unexpected vagrant output" >&2; exit 1; }
echo "1 passed, 0 failed"
