#!/usr/bin/env bash
# `minictr build` (issue 21): a multi-stage Dockerfile on the busybox image
# runs; RUN deletions become whiteouts; the cache reuses every unchanged
# step and a changed file rebuilds from the first COPY that reads it; the
# same inputs give the same image ID (also with --no-cache); save -> load
# into a second root keeps the ID; --target; a syntax error names its line;
# a failing RUN fails the build and leaves nothing behind.
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null
ctx=$TEST_TMP/ctx
mkdir -p "$ctx/lib"
cat >"$ctx/Dockerfile" <<'EOF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS b
ARG GREETING=hello
RUN echo "$GREETING" > /msg && echo gone > /gone && rm /etc/group
# a file made by the step before, deleted here: a whiteout in this layer
RUN rm /gone \
 && mkdir -p /data && echo kept > /data/kept
COPY app.txt /data/
COPY lib/ /data/lib/
ADD files.tar.gz /opt/
COPY --chown=nobody app.txt /home/by-name.txt
COPY --chown=1234:5678 app.txt /home/by-id.txt
ENV MODE=build

FROM scratch
COPY --from=b /bin/busybox /bin/busybox
COPY --from=b /msg /data/ /out/
ENV PATH=/bin MODE=final
WORKDIR /out
CMD ["busybox", "sh", "-c", "cat msg app.txt kept lib/a.txt; echo $MODE; ls -A . lib"]
EOF
echo "app v1" >"$ctx/app.txt"
echo "lib a v1" >"$ctx/lib/a.txt"
echo "scratch" >"$ctx/lib/b.tmp"
echo "do not ship" >"$ctx/secret.txt"
printf '# not in the image\nsecret.txt\nlib/*.tmp\n' >"$ctx/.dockerignore"
mkdir -p "$TEST_TMP/tarsrc/inner" && echo "from the tar" >"$TEST_TMP/tarsrc/inner/x"
tar -czf "$ctx/files.tar.gz" -C "$TEST_TMP/tarsrc" inner

# 1. Build and run.
out=$(mctr build -t app:v1 "$ctx")
id=$(mctr images --no-trunc | awk '$1 == "app" && $2 == "v1" {print $3}')
[[ $id == sha256:* ]] || fail "no image app:v1 after the build: $out"
assert_contains "$out" "naming to app:v1" "build names the image"
got=$(mctr run --rm app:v1)
want=$'hello\napp v1\nkept\nlib a v1\nfinal\n.:\napp.txt\nkept\nlib\nmsg\n\nlib:\na.txt'
assert_eq "$want" "$got" "the built image's output (.dockerignore'd files absent)"
echo "ok  multi-stage build runs: $(grep -c '^#' <<<"$out") steps"

# 2. The cache: everything again is CACHED, same image ID; --no-cache rebuilds to the same ID.
out=$(mctr build -t app:v1 "$ctx")
assert_eq "9" "$(grep -c ' CACHED$' <<<"$out")" "cached steps on the second build (RUN x2, COPY/ADD x7)"
grep -c ' DONE ' <<<"$out" >/dev/null && fail "a step ran again on the second build: $out"
assert_contains "$out" "writing image $id" "same image ID from the cache"
out=$(mctr build --no-cache -t app:nocache "$ctx")
grep -c ' CACHED$' <<<"$out" >/dev/null && fail "--no-cache used the cache"
assert_contains "$out" "writing image $id" "same image ID when every step runs again (reproducible)"
echo "ok  second build all CACHED, --no-cache rebuilds to the same ID $id"

# 3. One changed source file: the steps before the first COPY that reads it stay cached.
echo "lib a v2" >"$ctx/lib/a.txt"
out=$(mctr build -t app:v2 "$ctx")
for step in 'RUN echo' 'RUN rm /gone' 'COPY app.txt'; do
  grep -A1 "] $step" <<<"$out" | grep -c CACHED >/dev/null || fail "'$step' not cached after a change in lib/: $out"
done
grep -A1 '] COPY lib/' <<<"$out" | grep -c DONE >/dev/null || fail "COPY lib/ not rebuilt: $out"
assert_contains "$(mctr run --rm app:v2)" "lib a v2" "the rebuilt image has the new file"
echo "ok  a changed file rebuilds from the COPY that reads it"

# 4. --target and --build-arg; whiteouts of RUN deletions.
mctr build -q --target b --build-arg GREETING=bonjour -t stage-b "$ctx" >/dev/null
assert_eq "bonjour build" "$(mctr run --rm stage-b sh -c 'echo $(cat /msg) $MODE')" "--target b with --build-arg"
assert_eq "gone-deleted group-deleted" \
  "$(mctr run --rm stage-b sh -c '[ -e /gone ] || echo -n gone-deleted; [ -e /etc/group ] || echo " group-deleted"')" \
  "files deleted by RUN are gone"
mctr save -o "$TEST_TMP/b.tar" stage-b 2>/dev/null
mkdir "$TEST_TMP/b" && tar -xf "$TEST_TMP/b.tar" -C "$TEST_TMP/b"
entries=$(for l in "$TEST_TMP"/b/*/layer.tar; do tar -tf "$l"; done)
grep -cx '.wh.gone' <<<"$entries" >/dev/null || fail "no whiteout .wh.gone in the layers: $entries"
grep -cx 'etc/.wh.group' <<<"$entries" >/dev/null || fail "no whiteout etc/.wh.group in the layers"
assert_eq "from the tar|65534:65534|1234:5678" \
  "$(mctr run --rm stage-b sh -c 'echo "$(cat /opt/inner/x)|$(stat -c %u:%g /home/by-name.txt)|$(stat -c %u:%g /home/by-id.txt)"')" \
  "ADD unpacks a local tar; COPY --chown by name and by id"
echo "ok  --target, --build-arg, whiteouts .wh.gone and etc/.wh.group, ADD tar, --chown"

# 5. save -> load into a second root: same image ID; history and tag.
mctr save -o "$TEST_TMP/app.tar" app:v1
root2=$TEST_TMP/root2
MINICTR_ROOT=$root2 "$MINICTR" load -q -i "$TEST_TMP/app.tar"
id2=$(MINICTR_ROOT=$root2 "$MINICTR" images --no-trunc | awk '$1 == "app" && $2 == "v1" {print $3}')
assert_eq "$id" "$id2" "image ID after save and load into another root"
assert_contains "$(MINICTR_ROOT=$root2 "$MINICTR" run --rm --network none app:v1)" "hello" "the loaded image runs"
mctr save --format oci -o "$TEST_TMP/app-oci.tar" app:v1
tar -tf "$TEST_TMP/app-oci.tar" | grep -cx 'index.json' >/dev/null || fail "no index.json in the OCI save"
rm -rf "$root2"
MINICTR_ROOT=$root2 "$MINICTR" load -q -i "$TEST_TMP/app-oci.tar"
assert_eq "$id" "$(MINICTR_ROOT=$root2 "$MINICTR" images --no-trunc | awk '$1 == "app" && $2 == "v1" {print $3}')" "OCI save keeps the ID"
rm -rf "$root2"
hist=$(mctr history app:v1)
assert_contains "$hist" "COPY --from=b /bin/busybox /bin/busybox" "history lists the COPY"
mctr tag app:v1 other/app:latest
assert_eq "$id" "$(mctr images --no-trunc | awk '$1 == "other/app" {print $3}')" "tag"
echo "ok  save/load (docker and oci) keep the ID, history, tag"

# 6. A syntax error names the file and line; nothing is built.
printf 'FROM busybox\n\nRUNN echo hi\n' >"$ctx/Dockerfile.bad"
set +e
msg=$(mctr build -f "$ctx/Dockerfile.bad" -t bad "$ctx" 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "exit code of a syntax error"
assert_contains "$msg" "Dockerfile.bad:3: unknown instruction: RUNN" "syntax error message"
echo "ok  syntax error: $msg"

# 7. A failing RUN: exit code and message, and no container, mount, cgroup, layer or temp dir left.
printf 'FROM busybox\nRUN echo created > /f\nRUN hostname; echo failing; exit 3\n' >"$ctx/Dockerfile.fail"
layers_before=$(ls "$MINICTR_ROOT/layers" | wc -l)
set +e
msg=$(mctr build -f "$ctx/Dockerfile.fail" -t fail "$ctx" 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "exit code of a failed RUN"
assert_contains "$msg" "Dockerfile.fail:3: RUN: process \"/bin/sh -c hostname; echo failing; exit 3\" did not complete successfully: exit code: 3" "failed RUN message"
host=$(grep -A1 '] RUN hostname' <<<"$msg" | tail -1)
[[ $host =~ ^[0-9a-f]{12}$ ]] || fail "the RUN did not print its hostname: $msg"
assert_eq "" "$(mctr ps -a -q)" "containers left by the failed build"
assert_eq "" "$(ls "$MINICTR_ROOT/containers")" "container dirs left by the failed build"
find /sys/fs/cgroup -maxdepth 4 -type d -name "$host*" | grep -c . >/dev/null && fail "cgroup of $host left behind"
grep -c "$TEST_TMP" /proc/self/mountinfo >/dev/null && fail "a mount is left: $(grep "$TEST_TMP" /proc/self/mountinfo)"
# The first RUN's layer is kept (it is cached), the failed one made none.
assert_eq "$((layers_before + 2))" "$(ls "$MINICTR_ROOT/layers" | wc -l)" "layers after the failed build (one new layer + its .json)"
assert_eq "" "$(ls "$MINICTR_ROOT/tmp")" "temp dirs left by the build"
mctr images | awk '{print $1}' | grep -cx fail >/dev/null && fail "the failed build made an image"
echo "ok  failing RUN: exit 1, 'exit code: 3', nothing left behind"

# 8. commit: a container's changes (a new file, a deletion) as a new image.
mctr run --name tocommit --network none busybox sh -c 'echo committed > /new; rm /etc/passwd' >/dev/null
cid=$(mctr commit -m "add /new" tocommit committed:v1)
[[ $cid == sha256:* ]] || fail "commit printed '$cid'"
assert_eq "committed|no-passwd" "$(mctr run --rm --network none committed:v1 sh -c 'echo "$(cat /new)|$([ -e /etc/passwd ] || echo no-passwd)"')" \
  "the committed image has the container's changes"
assert_contains "$(mctr history committed:v1)" "add /new" "commit's history entry"
mctr rm tocommit >/dev/null
echo "ok  commit: new file and deletion in the new image"

# A running container is frozen while committed (docker commit --pause) and
# goes on afterwards, not left paused.
mctr run -d --name live --network none busybox sh -c 'echo live > /live; sleep 1000' >/dev/null
for _ in $(seq 50); do mctr exec live test -e /live 2>/dev/null && break; sleep 0.1; done
mctr commit live committed:live >/dev/null
assert_eq "running false" "$(mctr inspect -f '{{.State.Status}} {{.State.Paused}}' live)" "the committed container runs on"
assert_eq "live" "$(mctr run --rm --network none committed:live cat /live)" "the running container's file"
mctr rm -f live >/dev/null
echo "ok  commit of a running container: paused while read, running after"

# 9. RUN --network=none: the step has only lo (the default RUN has the bridge's
# eth0 too); a mode BuildKit does not have is refused with its line.
net=$TEST_TMP/net
mkdir -p "$net"
printf 'FROM busybox\nRUN --network=none grep -c : /proc/net/dev >/none\nRUN grep -c : /proc/net/dev >/bridge\n' \
  >"$net/Dockerfile"
mctr build -q -t netmodes "$net" >/dev/null
assert_eq "1 2" "$(mctr run --rm --network none netmodes sh -c 'echo $(cat /none) $(cat /bridge)')" \
  "interfaces in a RUN --network=none step and a default one"
printf 'FROM busybox\nRUN --network=bridge true\n' >"$net/Dockerfile"
rc=0
msg=$(mctr build "$net" 2>&1) || rc=$?
[[ $rc != 0 ]] || fail "RUN --network=bridge was accepted"
assert_contains "$msg" "Dockerfile:2: RUN: --network=bridge: expected default, none or host" "the refusal"
echo "ok  RUN --network=none: only lo; --network=bridge refused"

echo "PASS test_build"
