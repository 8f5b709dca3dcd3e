#!/usr/bin/env bash
# Build the "bad" and the "good" Dockerfile of app/ with minictr build, change
# one source file, build both again, and print a table: image size, layers,
# cold build time, rebuild time, steps CACHED on the rebuild.
#   sudo examples/dockerfiles/measure.sh      (MINICTR, MINICTR_BUILD as for the other examples)
# A private state root under a temp dir: the user's images are not touched.
source "$(dirname "$0")/../common.sh"
here=$EXAMPLES/dockerfiles
tmp=$(mktemp -d /tmp/minictr-dockerfiles.XXXXXX)
# RUN steps use a bridge: a private one (and nft table, subnet), not the user's minictr0.
n=$(($$ % 200 + 20))
export MINICTR_ROOT=$tmp/root MINICTR_RUN_DIR=$tmp/run
export MINICTR_BRIDGE=mctrdf$n MINICTR_NFT_TABLE=minictr_df$n MINICTR_SUBNET=10.197.$n.0/24
trap 'mctr system prune >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
mctr load -q "$BUSYBOX_TAR" >/dev/null

now() { date +%s.%N; }
# build NAME: time one build of Dockerfile.NAME on the context copy; prints "seconds cached-steps"
build() {
  local t0 out
  t0=$(now)
  out=$(mctr build -f "$here/Dockerfile.$1" -t "app:$1" "$tmp/ctx" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$(echo "$(now) - $t0" | bc) $(grep -c ' CACHED$' <<<"$out" || true)"
}
printf '%-6s %10s %7s %10s %10s %s\n' image size layers cold rebuild "CACHED on rebuild"
for df in bad good; do
  rm -rf "$tmp/ctx" && cp -r "$here/app" "$tmp/ctx"
  read -r cold _ < <(build "$df")
  echo "1.1" >"$tmp/ctx/src/VERSION"  # the one-line source change
  read -r rebuild cached < <(build "$df")
  size=$(mctr images | awk -v t="$df" '$1 == "app" && $2 == t {print $(NF)}')
  layers=$(mctr image inspect "app:$df" | jq '.[0].RootFS.Layers | length')
  printf '%-6s %10s %7s %9.2fs %9.2fs %s\n' "$df" "$size" "$layers" "$cold" "$rebuild" "$cached"
done
echo
for df in bad good; do
  echo "minictr history app:$df"
  mctr history "app:$df"
  echo "minictr run --rm app:$df"
  mctr run --rm "app:$df"
  echo
done
