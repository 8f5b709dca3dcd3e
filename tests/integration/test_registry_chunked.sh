#!/usr/bin/env bash
# Chunked blob uploads and cross-repository mounts, against Debian's
# docker-registry with its access log on:
#  1. MINICTR_UPLOAD_CHUNK_SIZE=128K: the busybox layer (~1 MB) goes up as
#     POST, ceil(size/128K) PATCHes with Content-Range, each to the Location
#     the previous answer gave, and one PUT ?digest=; the small config blob in
#     one PUT. The registry's blob is the layer's bytes (its sha256 is its
#     name), and a pull into an empty root gives the same image ID.
#  2. The same image pushed to another repository of that registry: its blobs
#     are mounted from the first (POST ?mount=&from= answered 201), no PATCH
#     or blob PUT.
#  3. A chunk size that is not a size is refused before any request.
source "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || fail "docker-registry is not installed (scripts/setup installs it)"
reg=$TEST_TMP/registry
mkdir -p "$reg/storage"
port=$(free_port)
registry_config "$reg/storage" "$port" accesslog >"$reg/config.yml"
docker-registry serve "$reg/config.yml" >"$reg/log" 2>&1 &
HOST_PIDS+=($!)
wait_registry "http://127.0.0.1:$port/v2/" "$reg/log"
# requests METHOD PATH_PART: the access log's lines (Apache combined format) for them, since the mark.
requests() { tail -n +$((mark + 1)) "$reg/log" | grep -E "\"$1 [^ ]*$2" || true; }

mctr load -q "$BUSYBOX_TAR" >/dev/null
id=$(image_id "$MINICTR_ROOT" busybox)
name=127.0.0.1:$port/test/chunked
mctr tag busybox "$name:1"

# 1. chunked.
chunk=$((128 * 1024))
mark=$(wc -l <"$reg/log")
out=$(MINICTR_UPLOAD_CHUNK_SIZE=128K mctr push "$name:1") || fail "chunked push failed: $out"
manifest=$(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/test/chunked/manifests/1")
read -r layer size < <(python3 -c 'import json,sys; l = json.loads(sys.argv[1])["layers"][0]; print(l["digest"], l["size"])' "$manifest")
((size > 2 * chunk)) || fail "the busybox layer ($size bytes) is too small for this test"
want=$(((size + chunk - 1) / chunk))
patches=$(requests PATCH /v2/test/chunked/blobs/uploads/)
assert_eq "$want" "$(grep -c . <<<"$patches")" "PATCH requests for a $size-byte layer in $chunk-byte chunks"
assert_eq "$want" "$(grep -c '" 202 ' <<<"$patches")" "PATCH requests answered 202"
# Each PATCH went to a new Location (the registry's _state changes with every chunk).
assert_eq "$want" "$(grep -o '_state=[^& ]*' <<<"$patches" | sort -u | wc -l)" "distinct upload states"
assert_eq 2 "$(requests PUT "/v2/test/chunked/blobs/uploads/[^ ]*digest=sha256" | grep -c '" 201 ')" \
  "PUT ?digest= (layer after its chunks, config whole)"
hex=${layer#sha256:}
data=$reg/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
assert_eq "$hex" "$(sha256sum <"$data" | cut -d' ' -f1)" "the registry's layer blob hashes to its name"
assert_eq "$size" "$(stat -c %s "$data")" "the registry's layer blob size"
"$MINICTR" --root "$TEST_TMP/root2" pull "$name:1" >/dev/null || fail "pull of the chunked upload failed"
assert_eq "$id" "$(image_id "$TEST_TMP/root2" "$name:1")" "image ID after a chunked push + pull"

# 2. another repository of the same registry: mounted, not sent.
mctr tag busybox "127.0.0.1:$port/test/other:1"
mark=$(wc -l <"$reg/log")
out=$(MINICTR_UPLOAD_CHUNK_SIZE=128K mctr push "127.0.0.1:$port/test/other:1") || fail "push to a second repository failed: $out"
assert_contains "$out" "${hex:0:12}: Mounted from test/chunked" "push output for the layer"
assert_eq 2 "$(requests POST "/v2/test/other/blobs/uploads/\\?mount=sha256:[0-9a-f]*&from=test/chunked" | grep -c '" 201 ')" \
  "POST ?mount= answered 201 (layer and config)"
assert_eq "" "$(requests PATCH /v2/test/other/)$(requests PUT /v2/test/other/blobs/)" "no blob bytes sent to the second repository"
"$MINICTR" --root "$TEST_TMP/root3" pull "127.0.0.1:$port/test/other:1" >/dev/null || fail "pull of the mounted image failed"
assert_eq "$id" "$(image_id "$TEST_TMP/root3" "127.0.0.1:$port/test/other:1")" "image ID pulled from the mounted repository"

# 3. a bad chunk size: one line, 125, before anything is sent.
mctr tag busybox "127.0.0.1:$port/test/third:1"
mark=$(wc -l <"$reg/log")
set +e
err=$(MINICTR_UPLOAD_CHUNK_SIZE=12Q mctr push "127.0.0.1:$port/test/third:1" 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 125 "$rc" "exit code with a bad MINICTR_UPLOAD_CHUNK_SIZE"
assert_contains "$err" "MINICTR_UPLOAD_CHUNK_SIZE=12Q: not a size" "error for a bad chunk size"
assert_eq "" "$(requests '[A-Z]*' /v2/test/third/)" "requests made with a bad chunk size"
echo "test_registry_chunked: OK"
