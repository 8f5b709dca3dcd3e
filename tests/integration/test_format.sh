#!/usr/bin/env bash
# --format on the listings, as Docker has it: ps, images, volume ls and
# version take json, a Go template, or `table TEMPLATE` (header + aligned
# columns); an unknown field is refused with the fields there are.
source "$(dirname "$0")/lib.sh"
mctr load "$BUSYBOX_TAR" >/dev/null

echo "-- ps"
id=$(mctr run -d --name fmt1 --network none -v fmtvol:/data busybox sleep 600)
mctr create --name fmt2 --network none busybox true >/dev/null
assert_eq "fmt1 ${id:0:12} running" "$(mctr ps --format '{{.Names}} {{.ID}} {{.State}}')" "ps template"
assert_eq "$(printf 'fmt1\tbusybox')" "$(mctr ps --format '{{.Names}}\t{{.Image}}')" "typed \\t is a tab"
all=$(mctr ps -a --format '{{.Names}}={{.State}}' | sort | tr '\n' ' ')
assert_eq "fmt1=running fmt2=created " "$all" "ps -a template"
assert_contains "$(mctr ps --format '{{.Mounts}}')" "fmtvol" "ps .Mounts names the volume"
table=$(mctr ps --format 'table {{.Names}}\t{{.Status}}')
assert_eq "NAMES     STATUS" "$(sed -n 1p <<<"$table")" "ps table header (tabwriter: min width 10)"
[[ $(sed -n 2p <<<"$table") =~ ^fmt1\ {6}Up\  ]] || fail "ps table row aligned: '$(sed -n 2p <<<"$table")'"
json=$(mctr ps --format json)
python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert len(rows) == 1, rows
r = rows[0]
assert r["Names"] == "fmt1" and r["ID"] == sys.argv[1][:12] and r["State"] == "running", r
assert r["Command"] == "\"sleep 600\"" and r["Image"] == "busybox" and r["Networks"] == "none", r
assert r["CreatedAt"].endswith("+0000 UTC") and r["RunningFor"].endswith(" ago"), r
' "$id" <<<"$json" || fail "ps --format json: $json"
assert_eq "${id:0:12}" "$(mctr ps -q --format '{{.Names}}')" "-q wins over --format"
assert_eq "$id" "$(mctr ps --no-trunc --format '{{.ID}}')" "--no-trunc: the full id"
# The default table is Docker's: CONTAINER ID first, NAMES last.
hdr=$(mctr ps | sed -n 1p)
[[ $hdr =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]] || fail "ps header: '$hdr'"

echo "-- errors: one line, exit 125, nothing printed on stdout"
out=$(mctr ps --format '{{.Name}}' 2>"$TEST_TMP/err") && fail "a misspelled field was accepted"
assert_eq 125 "$(run_rc mctr ps --format '{{.Name}}')" "exit code of a bad field"
assert_eq "" "$out" "nothing on stdout"
assert_contains "$(cat "$TEST_TMP/err")" "no field .Name (fields: ID, Image" "names the fields"
assert_eq 1 "$(wc -l <"$TEST_TMP/err")" "one line"
assert_eq 125 "$(run_rc mctr images --format '{{.Repository')" "unclosed action"

echo "-- images"
assert_eq "busybox:latest" "$(mctr images --format '{{.Repository}}:{{.Tag}}')" "images template"
img=$(mctr images --format json)
# mkimage.py dates images by the last commit to images/; without .git (a
# tarball, the Vagrant rsync) they are from 1970.
in_git=$(git -C "$MINICTR_SRC" rev-parse --is-inside-work-tree 2>/dev/null || echo false)
python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["Repository"] == "busybox" and r["Tag"] == "latest" and len(r["ID"]) == 12, r
assert r["CreatedSince"].endswith(" ago") and r["CreatedAt"].endswith("+0000 UTC"), r
if sys.argv[1] == "true":
    assert " years ago" not in r["CreatedSince"], r
assert r["Size"].endswith("B"), r
' "$in_git" <<<"$img" || fail "images --format json: $img"
assert_eq "REPOSITORY   TAG" "$(mctr images --format 'table {{.Repository}}\t{{.Tag}}' | sed -n 1p | sed 's/ *$//')" \
  "images table header: widest cell + 3"
assert_eq "$(mctr images -q)" "$(mctr images --format '{{.ID}}')" "images .ID is the short id"

echo "-- volume ls"
assert_eq "fmtvol" "$(mctr volume ls --format '{{.Name}}')" "volume ls template"
assert_eq "fmtvol" "$(mctr volume ls -q)" "volume ls -q"
assert_eq "local $MINICTR_ROOT/volumes/fmtvol/_data" "$(mctr volume ls --format '{{.Driver}} {{.Mountpoint}}')" \
  "volume ls .Mountpoint"
[[ -d $(mctr volume ls --format '{{.Mountpoint}}') ]] || fail "the Mountpoint is the volume's directory"
assert_eq '{"Driver":"local","Mountpoint":"'"$MINICTR_ROOT"'/volumes/fmtvol/_data","Name":"fmtvol","Scope":"local"}' \
  "$(mctr volume ls --format json)" "volume ls json"
assert_eq "DRIVER    VOLUME NAME" "$(mctr volume ls | sed -n 1p)" "volume ls default table"

echo "-- version"
assert_eq "minictr version 0.1.0" "$(mctr version)" "version"
assert_eq "0.1.0" "$(mctr version --format '{{.Client.Version}}')" "version template"
assert_eq "$(uname -r)" "$(mctr version -f '{{.Client.KernelVersion}}')" "version kernel"
assert_eq "0.1.0 linux" "$(mctr version --format json | python3 -c 'import json,sys; c=json.load(sys.stdin)["Client"]; print(c["Version"], c["Os"])')" \
  "version json"
assert_eq 125 "$(run_rc mctr version --format table)" "version has no table"

echo "-- stats"
running=$(mctr ps -q --no-trunc | head -1)
[[ -n $running ]] || fail "no running container for stats"
assert_eq "${running:0:12} $(mctr inspect -f '{{.Name}}' "$running" | tr -d /)" \
  "$(mctr stats --no-stream --format '{{.ID}} {{.Name}}' "$running")" "stats template"
pids=$(mctr stats --no-stream --format '{{.PIDs}}' "$running")
[[ $pids =~ ^[1-9][0-9]*$ ]] || fail "stats {{.PIDs}} is '$pids'"
header=$(mctr stats --no-stream --format 'table {{.Name}}\t{{.MemPerc}}' "$running" | sed -n 1p)
assert_eq "NAME      MEM %" "$header" "stats table template header"
assert_eq "CONTAINER ID   NAME" "$(mctr stats --no-stream "$running" | sed -n 1p | cut -c1-19)" "stats default table"
assert_eq 125 "$(run_rc mctr stats --no-stream --format '{{.Nope}}' "$running")" "stats: unknown field"

mctr rm -f fmt1 fmt2 >/dev/null
mctr volume rm fmtvol >/dev/null
echo "test_format: ok"
