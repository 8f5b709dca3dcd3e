#!/usr/bin/env bash
# export / import (issue 21): a stopped container with a file added and an
# image file removed is exported as one tar (no whiteouts in it, the removed
# file absent); importing that tar gives a one-layer image that runs, with
# --change applied, and whose files are those of the container. Also: a
# running container exports too (frozen while it is read, then running on).
source "$(dirname "$0")/lib.sh"

mctr load -q "$BUSYBOX_TAR" >/dev/null
mctr run --name src --network none busybox sh -c 'echo added > /added.txt && rm /etc/group && mkdir -p /d && echo x > /d/f' >/dev/null
mctr export -o "$TEST_TMP/src.tar" src
list=$(tar -tf "$TEST_TMP/src.tar")
grep -qx 'added.txt' <<<"$list" || fail "the added file is not in the export"
grep -qx 'd/f' <<<"$list" || fail "a file in a new directory is not in the export"
grep -qx 'etc/group' <<<"$list" && fail "the removed /etc/group is in the export"
grep -qx 'etc/passwd' <<<"$list" || fail "an image file (/etc/passwd) is not in the export"
grep -q '\.wh\.' <<<"$list" && fail "a whiteout is in the export: $(grep '\.wh\.' <<<"$list" | head -3)"
# To stdout as well (as docker export does without -o): the same files.
mctr export src | tar -t | sort >"$TEST_TMP/stdout.list"
sort <<<"$list" | diff - "$TEST_TMP/stdout.list" >/dev/null || fail "export to stdout differs from -o"

# import (gzip-compressed, from stdin) with changes; it runs and holds the same files.
gzip -c "$TEST_TMP/src.tar" >"$TEST_TMP/src.tar.gz"
id=$(mctr import --change 'ENV GREETING=hi' --change 'CMD ["sh", "-c", "cat /added.txt; echo $GREETING"]' - imported:1 <"$TEST_TMP/src.tar.gz")
[[ $id == sha256:* ]] || fail "import printed no image ID: $id"
assert_eq "$id" "$(mctr images -q --no-trunc imported:1)" "the imported image is tagged"
assert_eq "$(printf 'added\nhi')" "$(mctr run --rm --network none imported:1)" "the imported image runs with its --change CMD and ENV"
assert_eq "1" "$(mctr image inspect imported:1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["RootFS"]["Layers"]))')" "one layer"
mctr run --rm --network none imported:1 sh -c 'test ! -e /etc/group && cat /d/f' | grep -cx x >/dev/null || fail "the imported files differ"
# The files, sizes and modes are the container's: export the imported image's container and compare lists.
mctr create --name again imported:1 >/dev/null
mctr export again | tar -tv | awk '{print $1, $3, $6}' | sort >"$TEST_TMP/again.list"
tar -tvf "$TEST_TMP/src.tar" | awk '{print $1, $3, $6}' | sort >"$TEST_TMP/src.list"
diff "$TEST_TMP/src.list" "$TEST_TMP/again.list" >/dev/null || fail "export -> import -> export changed files: $(diff "$TEST_TMP/src.list" "$TEST_TMP/again.list" | head -5)"

# A bad --change is refused before anything is stored.
n_before=$(mctr images -q | wc -l)
[[ $(run_rc mctr import --change 'RUN echo no' "$TEST_TMP/src.tar") == 125 ]] || fail "import --change RUN should fail with 125"
assert_eq "$n_before" "$(mctr images -q | wc -l)" "no image from a refused import"

# A running container exports and runs on.
mctr run -d --name live --network none busybox sh -c 'echo live > /live.txt; sleep 30' >/dev/null
for ((i = 0; i < 50; i++)); do mctr exec live test -e /live.txt 2>/dev/null && break; sleep 0.1; done
mctr export live | tar -t | grep -cx 'live.txt' >/dev/null || fail "a running container's new file is not in its export"
assert_eq "running" "$(mctr inspect -f '{{.State.Status}}' live)" "a running container after export"
echo "test_export_import: OK"
