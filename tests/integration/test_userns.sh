#!/usr/bin/env bash
# run --userns (docs/01-namespaces.md): the container's root is an
# unprivileged range of host ids. Its uid_map shows the range, root inside is
# host uid H outside (a file it makes in a bind mount is H's on the host), the
# image's files show as root's through idmapped layers while the layers on
# disk stay the host root's, the overlay's upper dir takes its writes;
# --userns=host (the default) shares the host's user namespace; a bad value
# or a flag that cannot work in one fails with 125 and leaves no container.
source "$(dirname "$0")/lib.sh"
mctr load -q "$BUSYBOX_TAR" >/dev/null
H=200000 # the test's range: 0:200000:65536
host_userns=$(readlink /proc/self/ns/user)
mounts_of_root() { grep -c " $MINICTR_ROOT" /proc/self/mountinfo || true; }

echo "-- uid_map and gid_map show the range; root inside"
out=$(mctr run --rm --userns=0:$H:65536 busybox sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user')
assert_eq "0 $H 65536" "$(sed -n 1p <<<"$out" | tr -s ' ' | sed 's/^ //')" "uid_map"
assert_eq "0 $H 65536" "$(sed -n 2p <<<"$out" | tr -s ' ' | sed 's/^ //')" "gid_map"
assert_eq 0 "$(sed -n 3p <<<"$out")" "id -u inside"
assert_eq 0 "$(sed -n 4p <<<"$out")" "id -g inside"
[[ $(sed -n 5p <<<"$out") != "$host_userns" ]] || fail "--userns: the container shares the host's user namespace"

echo "-- a file made in a bind-mounted host dir is the mapped host uid's"
vol=$TEST_TMP/vol
mkdir "$vol"
chown $H:$H "$vol" # the container's root owns it, as with Docker's userns-remap
mctr run --rm --userns=0:$H:65536 -v "$vol:/data" busybox sh -c 'echo hi > /data/made-inside'
assert_eq "$H:$H" "$(stat -c %u:%g "$vol/made-inside")" "owner on the host of a file the container made"
# A host root's file in the volume: not root's inside (nobody), and not writable.
echo host > "$vol/root-file"
chown 0:0 "$vol/root-file"
assert_eq "65534 1" "$(mctr run --rm --userns=0:$H:65536 -v "$vol:/data" busybox sh -c \
  'echo "$(stat -c %u /data/root-file) $( (echo x 2>/dev/null >>/data/root-file) 2>/dev/null; echo $?)"')" \
  "a host root's file: owner seen inside and write status"
assert_eq host "$(cat "$vol/root-file")" "the host root's file is unchanged"

echo "-- the image's files are root's inside; the layer on disk stays the host root's"
assert_eq "0:0" "$(mctr run --rm --userns=0:$H:65536 busybox stat -c %u:%g /bin/busybox)" "/bin/busybox inside"
layer_busybox=$(find "$MINICTR_ROOT" -path '*/bin/busybox' -not -path '*/containers/*' | head -1)
[[ -n $layer_busybox ]] || fail "no busybox in the layer store"
assert_eq "0:0" "$(stat -c %u:%g "$layer_busybox")" "/bin/busybox in the layer on the host"

echo "-- the container's root writes /etc (overlay upper), kept in its upper dir as H's"
id=$(mctr create --userns=0:$H:65536 busybox sh -c 'echo written > /etc/made-by-root && cat /etc/made-by-root && echo ok >> /etc/passwd && touch /etc/hosts')
assert_eq "written" "$(mctr start -a "$id")" "write and read /etc in the container"
assert_eq 0 "$(mctr inspect -f '{{.State.ExitCode}}' "$id")" "exit code (/etc/passwd of the image and /etc/hosts are writable)"
upper=$MINICTR_ROOT/containers/$id/upper
assert_eq "$H:$H" "$(stat -c %u:%g "$upper/etc/made-by-root")" "owner of the new file in upper/"
assert_eq "$H:$H" "$(stat -c %u:%g "$upper/etc/passwd")" "owner of the copied-up /etc/passwd"

echo "-- the bundle and inspect carry the user namespace and its mappings"
bundle=$(mctr inspect -f '{{.BundlePath}}' "$id")
python3 - "$bundle/config.json" $H <<'EOF' || fail "config.json has no user namespace or mappings"
import json, sys
spec, h = json.load(open(sys.argv[1])), int(sys.argv[2])
lin = spec["linux"]
assert {"type": "user"} in lin["namespaces"], lin["namespaces"]
want = [{"containerID": 0, "hostID": h, "size": 65536}]
assert lin["uidMappings"] == want and lin["gidMappings"] == want, (lin.get("uidMappings"), lin.get("gidMappings"))
EOF
assert_eq "0:$H:65536" "$(mctr inspect -f '{{.HostConfig.UsernsMode}}' "$id")" "HostConfig.UsernsMode"
mctr rm "$id" >/dev/null

echo "-- a running container: host uid of its process, exec joins its user namespace"
mctr run -d --name u1 --userns=0:$H:65536 busybox sleep 100 >/dev/null
pid=$(mctr inspect -f '{{.State.Pid}}' u1)
# The idmapped layers were mounted in a private namespace of the supervisor's,
# now gone (the overlay holds its own clones): the host's table shows none.
assert_eq 0 "$(grep -c idmapped /proc/self/mountinfo || true)" "idmapped mounts in the host's mount table"
assert_eq 0 "$(mounts_of_root)" "mounts under the state root on the host while u1 runs"
assert_eq "$H" "$(awk '/^Uid:/ {print $2}' /proc/"$pid"/status)" "the container's PID 1 on the host"
out=$(mctr exec u1 sh -c 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; touch /tmp/by-exec && stat -c %u /tmp/by-exec')
assert_eq 0 "$(sed -n 1p <<<"$out")" "id -u in exec"
assert_eq "0 $H 65536" "$(sed -n 2p <<<"$out" | tr -s ' ' | sed 's/^ //')" "uid_map in exec"
assert_eq "$(readlink /proc/"$pid"/ns/user)" "$(sed -n 3p <<<"$out")" "exec's user namespace is the container's"
assert_eq 0 "$(sed -n 4p <<<"$out")" "a file exec made is root's inside"
mctr rm -f u1 >/dev/null

echo "-- --userns=remap: /etc/subuid's dockremap or root line, else 100000:65536"
want=$(awk -F: '$1 == "dockremap" || $1 == "root" {print "0 " $2 " " $3; exit}' /etc/subuid 2>/dev/null || true)
want=${want:-0 100000 65536}
assert_eq "$want" "$(mctr run --rm --userns=remap busybox cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')" "remap's uid_map"

echo "-- --userns=host and no flag: the host's user namespace"
assert_eq "$host_userns" "$(mctr run --rm --userns=host busybox readlink /proc/self/ns/user)" "--userns=host"
assert_eq "$host_userns" "$(mctr run --rm busybox readlink /proc/self/ns/user)" "no --userns"
assert_eq "" "$(mctr inspect -f '{{.HostConfig.UsernsMode}}' "$(mctr create --userns=host busybox true)")" "UsernsMode of host"
mctr ps -a -q | xargs -r "$MINICTR" rm >/dev/null

echo "-- bad values and flags that cannot work in a user namespace: 125, one line, no container"
for args in "--userns=0:100000" "--userns=1:100000:65536" "--userns=0:100000:0" "--userns=0:x:65536" \
  "--userns=0:4294967000:65536" "--userns=0:0:65536" "--userns=0:100000:10,10:200000:10" \
  "--userns=0:100000:65536 --network host" "--userns=0:100000:65536 --privileged"; do
  # shellcheck disable=SC2086
  set +e
  err=$(mctr run --rm $args busybox true 2>&1 >/dev/null)
  rc=$?
  set -e
  assert_eq 125 "$rc" "exit code of run $args"
  assert_eq 1 "$(wc -l <<<"$err")" "one line of error for $args ($err)"
  assert_contains "$err" "--userns" "the error names the flag ($args)"
  assert_eq "" "$(mctr ps -a -q)" "containers left by run $args"
done

echo "-- nothing left mounted"
assert_eq 0 "$(mounts_of_root)" "mounts under the state root"
echo "PASS test_userns"
