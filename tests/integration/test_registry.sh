#!/usr/bin/env bash
# push and pull against a real registry: Debian's docker-registry
# (distribution 2.8, the OCI distribution API) started here on 127.0.0.1 with
# a private config and storage. The busybox test image goes in from one
# state root and comes back into another with the same image ID, and runs;
# skopeo reads what push wrote (an independent client, verifying digests);
# pull by digest; a Docker schema 2 manifest (written by skopeo) and an
# index (linux/amd64 picked); a missing tag is one line with the registry's error; pull
# through a bearer-token gate (401 + WWW-Authenticate, a token from its realm);
# push and pull to a registry with a self-signed certificate (https tried
# first for localhost, its certificate not checked); a
# tampered blob in the registry's storage fails the pull with a digest
# error and leaves no layer, blob or image behind.
source "$(dirname "$0")/lib.sh"

start_registry  # lib.sh: sets reg (its directory) and port


# 1. push from the test's root.
mctr load -q "$BUSYBOX_TAR" >/dev/null
id=$(image_id "$MINICTR_ROOT" busybox)
name=127.0.0.1:$port/test/busybox
mctr tag busybox "$name:1"
out=$(mctr push "$name:1") || fail "push failed: $out"
assert_contains "$out" "Pushed" "push output"
digest=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) size: .*/\1/p' <<<"$out")
[[ $digest == sha256:* ]] || fail "push printed no manifest digest: $out"
out=$(mctr push "$name:1")
assert_contains "$out" "Layer already exists" "second push (HEAD finds the blobs)"

# 2. skopeo, an independent client, copies what push wrote (it checks every digest).
skopeo copy -q --src-tls-verify=false "docker://$name:1" "dir:$TEST_TMP/skopeo" >/dev/null ||
  fail "skopeo could not copy the pushed image"
sk_config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$TEST_TMP/skopeo/manifest.json")
assert_eq "$id" "$sk_config" "the pushed config is the image's own (its digest is the image ID)"
sk_digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$name:1")
assert_eq "$digest" "$sk_digest" "manifest digest push printed vs the registry's"

# 3. pull into a second root: the same image ID, and it runs.
root2=$TEST_TMP/root2
out=$("$MINICTR" --root "$root2" pull "$name:1") || fail "pull failed: $out"
assert_eq "$id" "$(image_id "$root2" "$name:1")" "image ID after push + pull"
assert_eq "pulled" "$("$MINICTR" --root "$root2" run --rm --network none "$name:1" echo pulled)" "the pulled image runs"
out=$("$MINICTR" --root "$root2" pull "$name:1")
assert_contains "$out" "Already exists" "a second pull reuses the layers"

# 4. by digest, into a third root.
root3=$TEST_TMP/root3
"$MINICTR" --root "$root3" pull "$name@$digest" >/dev/null || fail "pull by digest failed"
assert_eq "$id" "$("$MINICTR" --root "$root3" images -q --no-trunc)" "image ID pulled by digest"

# 5. a tag the registry does not have: one line, the registry's error code and status, 125.
set +e
err=$("$MINICTR" --root "$root3" pull "$name:nope" 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 125 "$rc" "exit code of a pull of a missing tag"
assert_contains "$err" "manifest unknown (MANIFEST_UNKNOWN, 404)" "pull of a missing tag"
assert_eq 1 "$(wc -l <<<"$err")" "one line of error"

# 6. what other clients write: a Docker schema 2 manifest (skopeo --format v2s2),
# and an index whose linux/amd64 entry is busybox and linux/arm64 another image.
skopeo copy -q --format v2s2 --dest-tls-verify=false "oci-archive:$BUSYBOX_TAR" "docker://$name:v2s2" >/dev/null ||
  fail "skopeo could not push a schema 2 image"
[[ $(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://127.0.0.1:$port/v2/test/busybox/manifests/v2s2" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])') == application/vnd.docker.distribution.manifest.v2+json ]] ||
  fail "skopeo did not write a schema 2 manifest"
"$MINICTR" --root "$TEST_TMP/root6" pull "$name:v2s2" >/dev/null || fail "pull of a schema 2 manifest failed"
assert_eq "$id" "$("$MINICTR" --root "$TEST_TMP/root6" images -q --no-trunc)" "image ID pulled from a schema 2 manifest"
tar -C "$TEST_TMP" -cf "$TEST_TMP/other.tar" skopeo
mctr import "$TEST_TMP/other.tar" "$name:other" >/dev/null
other=$(mctr push "$name:other" | sed -n 's/^other: digest: \(sha256:[0-9a-f]*\) size: \([0-9]*\)$/\1 \2/p')
size=$(sed -n 's/^1: digest: sha256:[0-9a-f]* size: \([0-9]*\)$/\1/p' <<<"$(mctr push "$name:1")")
python3 - "$digest" "$size" $other >"$TEST_TMP/index.json" <<'EOF'
import json, sys
amd, amd_size, arm, arm_size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
entry = lambda d, n, arch: {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": n,
                            "platform": {"os": "linux", "architecture": arch}}
print(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": [entry(arm, arm_size, "arm64"), entry(amd, amd_size, "amd64")]}))
EOF
curl -fs -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "@$TEST_TMP/index.json" \
  "http://127.0.0.1:$port/v2/test/busybox/manifests/multi" || fail "the registry refused the index"
"$MINICTR" --root "$TEST_TMP/root7" pull "$name:multi" >/dev/null || fail "pull of an index failed"
assert_eq "$id" "$("$MINICTR" --root "$TEST_TMP/root7" images -q --no-trunc)" "the index's linux/amd64 image is pulled"

# 7. bearer tokens: a gate in front of the registry (registry_token_gate.py)
# answers 401 + WWW-Authenticate: Bearer until the request carries the token
# its realm hands out, as Docker Hub does.
gport=$(free_port)
python3 "$(dirname "$0")/registry_token_gate.py" "http://127.0.0.1:$port" "$gport" "$reg/tokens" &
HOST_PIDS+=($!)
for ((i = 0; i < 50; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gport/v2/") == 401 ]] && break
  sleep 0.1
done
root5=$TEST_TMP/root5
out=$("$MINICTR" --root "$root5" pull "127.0.0.1:$gport/test/busybox:1" 2>&1) || fail "pull through the token gate failed: $out"
assert_eq "$id" "$("$MINICTR" --root "$root5" images -q --no-trunc)" "image ID pulled with a bearer token"
assert_eq 1 "$(wc -l <"$reg/tokens")" "one token fetched for the whole pull"

# 8. an insecure registry that speaks TLS (a self-signed certificate): https
# is tried first and its certificate not checked, as Docker does for
# localhost; the plain-http registry above got http after the same probe.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$reg/tls.key" -out "$reg/tls.crt" >/dev/null 2>&1 || fail "openssl could not make a certificate"
tport=$(free_port)
sed -e "s|addr: 127.0.0.1:$port|addr: 127.0.0.1:$tport\n  tls:\n    certificate: $reg/tls.crt\n    key: $reg/tls.key|" \
  -e "s|rootdirectory: $reg/storage|rootdirectory: $reg/tls-storage|" "$reg/config.yml" >"$reg/tls.yml"
docker-registry serve "$reg/tls.yml" >"$reg/tls.log" 2>&1 &
HOST_PIDS+=($!)
wait_registry "https://127.0.0.1:$tport/v2/" "$reg/tls.log" -k
mctr tag busybox "127.0.0.1:$tport/test/busybox:tls"
mctr push "127.0.0.1:$tport/test/busybox:tls" >/dev/null || fail "push to the TLS registry failed"
"$MINICTR" --root "$TEST_TMP/root8" pull "127.0.0.1:$tport/test/busybox:tls" >/dev/null || fail "pull over TLS failed"
assert_eq "$id" "$("$MINICTR" --root "$TEST_TMP/root8" images -q --no-trunc)" "image ID pulled over TLS"

# 9. a blob changed in the registry's storage (same size): pull fails on its
# digest and leaves nothing in the store.
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' "$TEST_TMP/skopeo/manifest.json")
data=$reg/storage/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
[[ -f $data ]] || fail "no blob data at $data"
python3 - "$data" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
EOF
root4=$TEST_TMP/root4
set +e
err=$("$MINICTR" --root "$root4" pull "$name:1" 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 125 "$rc" "exit code of a pull of a tampered blob"
assert_contains "$err" "digest mismatch" "pull of a tampered blob"
assert_eq "" "$("$MINICTR" --root "$root4" images -q)" "no image after a failed pull"
left=$(find "$root4/layers" -mindepth 1 2>/dev/null || true; find "$root4/blobs" "$root4/tmp" -type f 2>/dev/null || true)
assert_eq "" "$left" "nothing left in layers/, blobs/ or tmp/ after a failed pull"
echo "test_registry: OK"
