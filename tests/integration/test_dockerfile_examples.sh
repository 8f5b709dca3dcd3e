#!/usr/bin/env bash
# examples/dockerfiles (issue 21): the "bad" and the "good" Dockerfile of the
# same app, built by minictr build from a tiny context (the example's app/ with
# smaller dependencies). Both images run and print the same thing. After a
# one-line change in src/, the good one's rebuild reuses the dependency layer
# (its RUN is CACHED, the dependency layer's diffID is the same) and reruns
# only the COPY of src/; the bad one runs its dependency step again. The good
# image is smaller (its build stage's work dir stays behind).
source "$(dirname "$0")/lib.sh"

ex=$MINICTR_SRC/examples/dockerfiles
mctr load -q "$BUSYBOX_TAR" >/dev/null
ctx=$TEST_TMP/ctx
cp -r "$ex/app" "$ctx"
printf 'words 3000\nquotes 2000\n' >"$ctx/deps.txt"

build() { mctr build -f "$ex/Dockerfile.$1" -t "app:$1" "$ctx"; }
# step_result OUTPUT 'INSTRUCTION PREFIX': CACHED or DONE, from the "#N ..." line of
# the step's number (RUN output comes in between)
step_result() {
  local n
  n=$(grep -F "] $2" <<<"$1" | head -1 | cut -d' ' -f1)
  [[ -n $n ]] || { echo missing; return; }
  grep -E "^$n (CACHED|DONE)" <<<"$1" | head -1 | cut -d' ' -f2
}
layers() { mctr image inspect "app:$1" | jq -r '.[0].RootFS.Layers[]'; }
size() { mctr image inspect "app:$1" | jq '.[0].Size'; }

out_bad=$(build bad)
out_good=$(build good)
for df in bad good; do
  got=$(mctr run --rm "app:$df")
  assert_contains "$got" "app 1.0" "app:$df runs"
  assert_contains "$got" "words: words-" "app:$df has its dependencies"
  mctr run --rm "app:$df" test -s /opt/deps/quotes.gz || fail "app:$df: no /opt/deps/quotes.gz"
done
assert_eq "$(mctr run --rm app:bad)" "$(mctr run --rm app:good)" "both images print the same"
good_deps=$(layers good | sed -n 2p)  # busybox, the installed dependencies, src/

# The one-line source change.
echo "1.1" >"$ctx/src/VERSION"
re_bad=$(build bad)
re_good=$(build good)
assert_eq DONE "$(step_result "$re_bad" 'RUN sh install-deps.sh')" "bad: the dependency step runs again"
assert_eq CACHED "$(step_result "$re_good" 'RUN sh install-deps.sh')" "good: the dependency step is CACHED"
assert_eq CACHED "$(step_result "$re_good" 'COPY --from=deps')" "good: the dependency layer is CACHED"
assert_eq DONE "$(step_result "$re_good" 'COPY src/')" "good: the sources are copied again"
assert_eq "$good_deps" "$(layers good | sed -n 2p)" "good: the same dependency layer after the change"
assert_contains "$(mctr run --rm app:good)" "app 1.1" "good: the rebuilt image has the change"
assert_contains "$(mctr run --rm app:bad)" "app 1.1" "bad: the rebuilt image has the change"

sb=$(size bad) sg=$(size good)
((sg < sb)) || fail "the good image ($sg bytes) is not smaller than the bad one ($sb bytes)"
# (`test`, not `[ ... ]`: minictr run's CLI11 parser turns an argument "[a b]" into "a b")
mctr run --rm app:good test ! -e /var/cache/deps-build || fail "good: the build stage's work dir is in the image"
echo "PASS test_dockerfile_examples (bad $sb bytes, good $sg bytes)"
