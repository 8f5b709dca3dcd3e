#!/usr/bin/env bash
# Published-port start-to-exit benchmark: `minictr run --rm -p 18080:80 busybox true`
# against `podman run --rm -p 18080:80 busybox true` of the same image archive, both
# timed by hyperfine in the same invocation, ROUNDS times; prints mean/median of each
# and the ratio minictr/podman. Target <= 0.06x.
#
#   bench/net/run.sh [BUILD_DIR]     (default build; needs root, podman, runc, hyperfine)
#   env: RUNS (per round, default 15), WARMUP (default 2), ROUNDS (default 2), KEEP=1,
#        NICE=-20 (run at high priority on a busy host)
#
# Isolation: minictr uses a private --root, bridge mctrb0, nft table minictr_bench and
# subnet 10.198.0.0/24 (override with MINICTR_BRIDGE / MINICTR_NFT_TABLE / MINICTR_SUBNET)
# and is pruned at the end. podman uses a private --root/--runroot/--tmpdir and
# CONTAINERS_CONF (CNI config dir in the temp dir, events off) and its own CNI network
# "minictr-bench" on 10.199.1.0/24. At exit we remove the network (and its bridge), the
# CNI host-local IPAM dir, the iptables chains/tables the CNI plugins created (only those
# that were not there before), and podman's libpod_parent cgroups if we created them.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
minictr=${MINICTR:-$build/runtime/minictr}
image=${IMAGE:-$build/images/busybox.tar}
runs=${RUNS:-15}
warmup=${WARMUP:-2}
rounds=${ROUNDS:-2}
port=${PORT:-18080}
pm_net=minictr-bench
pm_subnet=${PODMAN_SUBNET:-10.199.1.0/24}
export MINICTR_BRIDGE=${MINICTR_BRIDGE:-mctrb0}
export MINICTR_NFT_TABLE=${MINICTR_NFT_TABLE:-minictr_bench}
export MINICTR_SUBNET=${MINICTR_SUBNET:-10.198.0.0/24}
[[ $(id -u) -eq 0 ]] || { echo "bench/net: needs root" >&2; exit 1; }
[[ -x $minictr ]] || { echo "bench/net: no minictr at $minictr (build first)" >&2; exit 1; }
[[ -f $image ]] || { echo "bench/net: no image at $image (cmake --build $build --target images)" >&2; exit 1; }
for t in podman runc hyperfine python3 iptables nft; do
  command -v $t >/dev/null || { echo "bench/net: $t missing (scripts/setup)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/minictr-bench-net.XXXXXX)
# What exists before we start, so cleanup removes only what this run created.
had_cni_dir=0; [[ -d /var/lib/cni ]] && had_cni_dir=1
had_libpod_cg=0; [[ -d /sys/fs/cgroup/memory/libpod_parent || -d /sys/fs/cgroup/unified/libpod_parent ]] && had_libpod_cg=1
nft_tables_before=$(nft list tables 2>/dev/null || true)
ipt_chains_before=$( (iptables-save; ip6tables-save) 2>/dev/null | grep -o '^:[^ ]*' | sort -u || true)

mkdir -p "$work"/podman/{root,runroot,tmp,net}
cat >"$work/podman/containers.conf" <<CONF
[engine]
events_logger = "none"
cgroup_manager = "cgroupfs"
runtime = "runc"
[network]
network_backend = "cni"
network_config_dir = "$work/podman/net"
CONF
export CONTAINERS_CONF=$work/podman/containers.conf
podman=(podman --root "$work/podman/root" --runroot "$work/podman/runroot" --tmpdir "$work/podman/tmp"
  --cgroup-manager=cgroupfs --runtime /usr/sbin/runc)

remove_new_iptables_chains() {  # $1: iptables or ip6tables
  local ipt=$1 table chain
  for table in filter nat mangle; do
    for chain in $($ipt -t "$table" -S 2>/dev/null | awk '$1 == "-N" {print $2}'); do
      grep -qx ":$chain" <<<"$ipt_chains_before" && continue
      # Drop the jumps into it from built-in chains, then the chain itself.
      $ipt -t "$table" -S 2>/dev/null | grep -- "-j $chain\$" | sed 's/^-A/-D/' |
        while read -r rule; do eval "$ipt -t $table $rule" 2>/dev/null || true; done
      $ipt -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $($ipt -t "$table" -S 2>/dev/null | awk '$1 == "-N" {print $2}'); do
      grep -qx ":$chain" <<<"$ipt_chains_before" || $ipt -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

cleanup() {
  set +e
  "$minictr" --root "$work/root" system prune >/dev/null 2>&1
  "${podman[@]}" rm -af >/dev/null 2>&1
  "${podman[@]}" network rm -f "$pm_net" >/dev/null 2>&1
  "${podman[@]}" system reset -f >/dev/null 2>&1
  ip link del cni-podman1 2>/dev/null  # normally gone with the network
  rm -rf "/var/lib/cni/networks/$pm_net"
  ((had_cni_dir)) || rm -rf /var/lib/cni
  remove_new_iptables_chains iptables
  remove_new_iptables_chains ip6tables
  # iptables-nft made whole nft tables (ip nat, ip filter, ip6 nat...): drop the empty new ones.
  while read -r _ fam name; do
    [[ -n $name ]] || continue
    grep -qx "table $fam $name" <<<"$nft_tables_before" && continue
    [[ $name == "$MINICTR_NFT_TABLE" ]] && continue  # minictr prune owns that one
    if ! nft list table "$fam" "$name" | grep -Evq '^\s*(table |chain |type |\}|#|$)'; then  # no rules left
      nft delete table "$fam" "$name"
    fi
  done < <(nft list tables 2>/dev/null)
  if ((!had_libpod_cg)); then
    for d in /sys/fs/cgroup/*/libpod_parent; do
      [[ -d $d ]] || continue
      find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
      rmdir "$d" 2>/dev/null
    done
  fi
  grep -F " $work/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

"$minictr" --root "$work/root" load -q "$image" >/dev/null
"${podman[@]}" load -q -i "$image" >/dev/null
"${podman[@]}" network create --subnet "$pm_subnet" "$pm_net" >/dev/null
pm_image=$("${podman[@]}" images -q | head -1)
# Sanity: both really run and exit 0 with the port published.
"$minictr" --root "$work/root" run --rm -p "$port:80" busybox true
pm_flags=(run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --network "$pm_net" -p "$port:80")
"${podman[@]}" "${pm_flags[@]}" "$pm_image" true

echo "minictr: $minictr ($(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'))"
echo "podman:  $(podman --version), runtime $(runc --version | head -1), CNI bridge network $pm_net"
m_cmd="$minictr --root $work/root run --rm -p $port:80 busybox true"
p_cmd="${podman[*]} ${pm_flags[*]} $pm_image true"
source "$src/bench/compare.sh"
compare_rounds podman 0.06 "$m_cmd" "$p_cmd"
