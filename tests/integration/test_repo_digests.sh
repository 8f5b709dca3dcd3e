#!/usr/bin/env bash
# RepoDigests in `image inspect` (issue 21), as Docker shows them: after a push
# and after a pull (by tag and by digest), "REGISTRY/NAME@sha256:<manifest>",
# the digest the registry (and skopeo) give for the tag; kept when the image is
# tagged again or pulled again (once). Debian's docker-registry on 127.0.0.1.
source "$(dirname "$0")/lib.sh"

start_registry  # lib.sh: sets reg (its directory) and port

repo_digests() { "$MINICTR" --root "$1" image inspect "$2" | jq -c '.[0].RepoDigests'; }
name=127.0.0.1:$port/test/busybox

mctr load -q "$BUSYBOX_TAR" >/dev/null
assert_eq '[]' "$(repo_digests "$MINICTR_ROOT" busybox)" "a loaded image has no RepoDigests"
mctr tag busybox "$name:1"
out=$(mctr push "$name:1") || fail "push failed: $out"
digest=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) size: .*/\1/p' <<<"$out")
[[ $digest == sha256:* ]] || fail "push printed no manifest digest: $out"
assert_eq "$digest" "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$name:1")" "skopeo's digest"
assert_eq "[\"$name@$digest\"]" "$(repo_digests "$MINICTR_ROOT" "$name:1")" "RepoDigests after push"

# Pull by tag into a second root, twice (recorded once), then tag it again (kept).
root2=$TEST_TMP/root2
out=$("$MINICTR" --root "$root2" pull "$name:1") || fail "pull failed: $out"
assert_contains "$out" "Digest: $digest" "pull prints the manifest digest"
assert_eq "[\"$name@$digest\"]" "$(repo_digests "$root2" "$name:1")" "RepoDigests after pull"
"$MINICTR" --root "$root2" pull "$name:1" >/dev/null
"$MINICTR" --root "$root2" tag "$name:1" other:2
assert_eq "[\"$name@$digest\"]" "$(repo_digests "$root2" other:2)" "RepoDigests after a second pull and a tag"

# images --digests: the digest on the pulled repository's row, <none> on the tag's.
rows=$("$MINICTR" --root "$root2" images --digests | awk 'NR > 1 {print $1, $3}' | sort)
assert_eq "$name $digest
other <none>" "$rows" "images --digests"
assert_contains "$("$MINICTR" --root "$root2" images --digests | head -1)" "DIGEST" "images --digests header"

# Pull by digest into a third root: the image has no tag, RepoDigests names it.
root3=$TEST_TMP/root3
"$MINICTR" --root "$root3" pull "$name@$digest" >/dev/null || fail "pull by digest failed"
id=$("$MINICTR" --root "$root3" images -q --no-trunc | head -1)
assert_eq "[\"$name@$digest\"]" "$(repo_digests "$root3" "$id")" "RepoDigests after a pull by digest"
echo "PASS test_repo_digests"
