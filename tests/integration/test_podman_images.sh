#!/usr/bin/env bash
# Images between minictr and podman (issue 21), both ways, with the real tools:
#  - an image built by minictr build and saved (`save --format docker` and
#    `--format oci`) is loaded by podman, keeps its image ID and diffIDs, agrees
#    with skopeo's reading of its config, and runs under podman;
#  - the image podman saves (docker-archive and oci-archive) is loaded by
#    minictr into fresh state roots with the same diffIDs and runs there.
# podman's storage, run dir and containers.conf are the test's own (the host's
# are not touched); its OCI runtime is the host's runc.
source "$(dirname "$0")/lib.sh"
command -v podman >/dev/null || fail "podman is not installed (apt-get install podman)"
command -v skopeo >/dev/null || fail "skopeo is not installed (apt-get install skopeo)"
HOST_RUNC=$(command -v runc) || fail "runc is not installed (apt-get install runc)"
MINICTR_RUNC=$HOST_RUNC source "$(dirname "$0")/runc_lib.sh"  # cgroup helpers; RUNC is the host's runc

private_podman 30  # runc_lib.sh: P (its files) and pm (podman on them, each call bounded)
CGP=(--cgroup-parent "/libpod_images_test_$$" --network none)
podman_cleanup() {
  local rc=$1
  set +e
  pm rm -af -t 0 >/dev/null 2>&1
  pm system reset -f >/dev/null 2>&1
  remove_cgroup_tree "libpod_images_test_$$"
  _cleanup "$rc"
}
trap 'podman_cleanup $?' EXIT

# diff_ids_mctr IMAGE / diff_ids_pm IMAGE: the image's diffIDs, one line
diff_ids_mctr() { mctr image inspect "$1" | jq -c '.[0].RootFS.Layers'; }
diff_ids_pm() { pm image inspect "$1" | jq -c '.[0].RootFS.Layers'; }

# ---- an image built by minictr: two layers of its own on busybox -------------------
mctr load -q "$BUSYBOX_TAR" >/dev/null
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo "made by minictr" >"$ctx/msg"
cat >"$ctx/Dockerfile" <<'DF'
FROM busybox
COPY msg /srv/msg
RUN rm /etc/group && echo ran >/srv/ran
ENV WHO=interop
WORKDIR /srv
CMD ["sh", "-c", "cat msg ran; echo $WHO; test -e /etc/group || echo no-group"]
DF
mctr build -q -t interop:1 "$ctx" >/dev/null
id=$(mctr image inspect interop:1 | jq -r '.[0].Id')
layers=$(diff_ids_mctr interop:1)
want=$(mctr run --rm interop:1)
assert_eq $'made by minictr\nran\ninterop\nno-group' "$want" "the image runs under minictr"

# ---- minictr save -> podman load -> podman run, docker and oci ------------------------
for fmt in docker oci; do
  mctr save --format "$fmt" -o "$TEST_TMP/mctr-$fmt.tar" interop:1
  loaded=$(pm load -i "$TEST_TMP/mctr-$fmt.tar" 2>&1) || fail "podman load of minictr's $fmt archive: $loaded"
  img=$(sed -n 's/^Loaded image.*: //p' <<<"$loaded" | head -1)
  [[ -n $img ]] || fail "podman load named no image: $loaded"
  pid=$(pm image inspect "$img" | jq -r '.[0].Id')
  assert_eq "${id#sha256:}" "$pid" "$fmt: podman's image ID is minictr's"
  assert_eq "$layers" "$(diff_ids_pm "$img")" "$fmt: the same diffIDs in podman"
  assert_eq "$want" "$(pm run --rm "${CGP[@]}" "$img")" "$fmt: podman runs minictr's image (CMD, ENV, WORKDIR, whiteout)"
  assert_eq ok "$(pm run --rm "${CGP[@]}" "$img" echo ok)" "$fmt: podman run IMAGE echo ok"
  pm rmi -f "$img" >/dev/null
  echo "ok  minictr save --format $fmt -> podman load + run"
done
# skopeo reads the archive's config as minictr wrote it.
sk=$(skopeo inspect --config "docker-archive:$TEST_TMP/mctr-docker.tar" | jq -S -c '{c: .config, l: .rootfs.diff_ids}')
mc=$(tar -xOf "$TEST_TMP/mctr-docker.tar" "$(tar -xOf "$TEST_TMP/mctr-docker.tar" manifest.json | jq -r '.[0].Config')" |
  jq -S -c '{c: .config, l: .rootfs.diff_ids}')
assert_eq "$mc" "$sk" "skopeo inspect --config agrees with minictr's config"
assert_eq "$layers" "$(jq -c .l <<<"$sk")" "skopeo's diffIDs"

# ---- podman save -> minictr load -> minictr run ------------------------------------
pm load -q -i "$TEST_TMP/mctr-docker.tar" >/dev/null
pimg=localhost/interop:1
pm image exists "$pimg" || pimg=interop:1
for fmt in docker-archive oci-archive; do
  pm save -q --format "$fmt" -o "$TEST_TMP/pm-$fmt.tar" "$pimg" >/dev/null
  export MINICTR_ROOT=$TEST_TMP/root-$fmt  # a store without the image
  out=$(mctr load -i "$TEST_TMP/pm-$fmt.tar" 2>&1) || fail "minictr load of podman's $fmt: $out"
  ref=$(mctr images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | head -1)
  [[ -n $ref && $ref != *"<none>"* ]] || ref=$(mctr images -q | head -1)
  assert_eq localhost/interop:1 "$ref" "$fmt: minictr takes podman's name"
  assert_eq "$layers" "$(diff_ids_mctr "$ref")" "$fmt: the same diffIDs after podman save"
  # podman keeps the config's bytes in a docker archive (same image ID); in an OCI
  # archive it writes the config again as an OCI one (other bytes, another ID).
  [[ $fmt == docker-archive ]] && assert_eq "$id" "$(mctr image inspect "$ref" | jq -r '.[0].Id')" "$fmt: the same image ID"
  assert_eq "$want" "$(mctr run --rm --network none "$ref")" "$fmt: minictr runs podman's save"
  mctr rm -f $(mctr ps -aq) >/dev/null 2>&1 || true
  mctr system prune >/dev/null 2>&1 || true
  echo "ok  podman save --format $fmt -> minictr load + run ($ref)"
done
export MINICTR_ROOT=$TEST_TMP/root
echo "PASS test_podman_images"
