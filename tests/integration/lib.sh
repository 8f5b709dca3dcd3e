# Sourced by every integration/security test script.
# Gives each test a private state root under a temp dir, and a cleanup that
# removes every container, mount and temp file the test made (even on failure).
set -euo pipefail
# In pipelines, tests use `grep -c PATTERN >/dev/null`, not `grep -q`: -q exits
# at the first match, the writer then dies of SIGPIPE, and pipefail turns that
# into a failure (or hides one, with `&& fail`).

: "${MINICTR:?set MINICTR to the minictr binary (ctest does)}"
: "${MINICTR_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MINICTR_BUILD:=$MINICTR_SRC/build}"

TEST_TMP=$(mktemp -d /tmp/minictr-test.XXXXXX)
export MINICTR_ROOT=$TEST_TMP/root
BUSYBOX_TAR=$MINICTR_BUILD/images/busybox.tar
# A private bridge, subnet and nftables table per test, so tests can run in
# parallel (and next to a user's minictr0) without sharing addresses.
# The number is reserved with a lock held for the whole test (fd 9), so two
# tests never share one. The cleanup deletes the lock file while it holds the
# lock, so a test that locked the file just before it was deleted checks that
# its path is still that file (same inode) and otherwise tries the next one.
for ((_i = 0; _i < 200; _i++)); do
  _n=$(( ($$ + _i) % 200 + 20 ))
  _lock=/tmp/minictr-test-net.$_n.lock
  exec 9>"$_lock"
  flock -n 9 && [[ $(stat -c %i "$_lock" 2>/dev/null) == $(stat -L -c %i /proc/self/fd/9) ]] && break
  exec 9>&-
done
export MINICTR_BRIDGE=mctrt$_n MINICTR_NFT_TABLE=minictr_t$_n MINICTR_SUBNET=10.199.$_n.0/24
# The host-wide network state (leases of every root on a bridge) of this test.
export MINICTR_RUN_DIR=$TEST_TMP/run

mctr() { "$MINICTR" "$@"; }

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
  if [[ "$1" != "$2" ]]; then fail "$3: expected '$1', got '$2'"; fi
}

# assert_contains HAYSTACK NEEDLE MESSAGE
assert_contains() {
  if [[ "$1" != *"$2"* ]]; then fail "$3: '$2' not in '$1'"; fi
}

# run_rc CMD...: run, print nothing, echo the exit code
run_rc() {
  set +e
  "$@" >/dev/null 2>&1
  local rc=$?
  set -e
  echo "$rc"
}

# pty_run ROWS COLS RESIZE_ROWS RESIZE_COLS WAIT_FOR CMD...: run CMD on a new
# pty of ROWS x COLS as its controlling terminal; once its output contains
# WAIT_FOR, resize the pty (0 0: no resize). Prints everything CMD wrote.
pty_run() {
  python3 - "$@" <<'EOF'
import fcntl, os, pty, select, struct, sys, termios, time
rows, cols, rrows, rcols, wait_for = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cmd = sys.argv[6:]
def set_size(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
pid, master = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
set_size(master, rows, cols)
out, resized, deadline = b"", False, time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not resized and rrows and wait_for.encode() in out:
        set_size(master, rrows, rcols)  # the kernel sends SIGWINCH to the minictr CLI
        resized = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(status))
EOF
}

# Also callable from a test's own EXIT trap as `_cleanup $rc` (set -e would
# stop the trap at a failing `(exit $rc)`).
# Host-side helper processes a test starts (servers, sleepers): append their
# pids to HOST_PIDS and the cleanup stops them first.
HOST_PIDS=()

_cleanup() {
  local rc=${1:-$?}
  set +e
  local p
  for p in "${HOST_PIDS[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if "$MINICTR" ps -a -q >/dev/null 2>&1; then
    "$MINICTR" ps -a -q | xargs -r "$MINICTR" rm -f >/dev/null 2>&1
  fi
  "$MINICTR" system prune >/dev/null 2>&1  # the test bridge and nft table
  # Anything still mounted below our temp dir (a test that failed half-way).
  grep -o " $TEST_TMP[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$TEST_TMP"
  rm -f "$_lock"  # still ours: fd 9 holds the lock until we exit
  exit "$rc"
}
trap _cleanup EXIT

# A private registry (Debian's docker-registry, the OCI distribution API) on
# 127.0.0.1 at a free port, storage under the test's temp dir, stopped by the
# cleanup. Sets reg (its directory: config.yml, storage/, log) and port.
# wait_registry URL LOG [CURL FLAGS]: until a registry answers URL (its /v2/),
# at most 10 s; else fail with the registry's log.
wait_registry() {
  local url=$1 log=$2 i
  shift 2
  for ((i = 0; i < 100; i++)); do
    curl -fs "$@" "$url" >/dev/null && return 0
    sleep 0.1
  done
  fail "the registry at $url did not start: $(cat "$log")"
}

# The id of image $2 in state root $1.
image_id() { "$MINICTR" --root "$1" image inspect "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

# expect_refused RC NEEDLE CMD...: CMD fails with exit code RC and one line of
# error containing NEEDLE (besides the warning `login -p` always prints), in
# which none of the strings in SECRETS (passwords the test uses) appears.
SECRETS=()
expect_refused() {
  local want_rc=$1 needle=$2 err rc secret
  shift 2
  set +e
  err=$("$@" 2>&1 >/dev/null </dev/null)
  rc=$?
  set -e
  err=$(grep -v '^WARNING! Using --password via the CLI is insecure' <<<"$err" || true)  # -p's own warning
  assert_eq "$want_rc" "$rc" "exit code of '$*' ($err)"
  assert_contains "$err" "$needle" "error of '$*'"
  assert_eq 1 "$(wc -l <<<"$err")" "one line of error from '$*': $err"
  for secret in "${SECRETS[@]}"; do
    [[ $err != *"$secret"* ]] || fail "a password was printed: $err"
  done
}

# A free TCP port on loopback (the kernel's pick: bound, then let go).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A docker-registry config: storage under $1, listening on 127.0.0.1:$2, its
# access log off unless $3 is "accesslog". Sections such as tls: (under
# http:) and auth: may be appended to what it prints.
registry_config() {
  printf 'version: 0.1\nlog:\n  level: warn\n'
  [[ ${3:-} == accesslog ]] || printf '  accesslog:\n    disabled: true\n'
  printf 'storage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$1" "$2"
}

# docker-registry over TLS (a certificate made here for 127.0.0.1) with
# htpasswd auth for user $1, password $2; its files in $reg (made by the
# caller: htpasswd, tls.key, tls.crt, basic.yml, basic.log). Sets port; the
# registry is stopped at exit.
start_htpasswd_registry() {
  htpasswd -Bbc "$reg/htpasswd" "$1" "$2" >/dev/null 2>&1 || fail "htpasswd failed"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$reg/tls.key" -out "$reg/tls.crt" >/dev/null 2>&1 || fail "openssl could not make a certificate"
  port=$(free_port)
  {
    registry_config "$reg/storage" "$port"
    cat <<EOF
  tls:
    certificate: $reg/tls.crt
    key: $reg/tls.key
auth:
  htpasswd:
    realm: minictr-test
    path: $reg/htpasswd
EOF
  } >"$reg/basic.yml"
  docker-registry serve "$reg/basic.yml" >"$reg/basic.log" 2>&1 &
  HOST_PIDS+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/v2/") == 401 ]] && return 0
    sleep 0.1
  done
  fail "the htpasswd registry did not start: $(cat "$reg/basic.log")"
}

# A docker-registry with `auth: token` on 127.0.0.1:$rport and its token
# server (registry_token_server.py) on 127.0.0.1:$tport, which issues tokens
# to user $1 with password $2 and, given $3, to that OAuth2 refresh token
# too. Files in $reg (made by the caller). Sets tport and rport; both are
# stopped at exit.
start_token_registry() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=minictr-test-token \
    -keyout "$reg/token.key" -out "$reg/token.crt" >/dev/null 2>&1 || fail "openssl could not make the token key"
  tport=$(free_port)
  rport=$(free_port)
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/registry_token_server.py" "$tport" "$reg/token.key" \
    "$reg/token.crt" "$1" "$2" minictr-test minictr-issuer "$reg/tokens.log" ${3:+"$3"} 2>"$reg/token-server.err" &
  HOST_PIDS+=($!)
  {
    registry_config "$reg/token-storage" "$rport"
    cat <<EOF
auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: minictr-test
    issuer: minictr-issuer
    rootcertbundle: $reg/token.crt
EOF
  } >"$reg/token.yml"
  docker-registry serve "$reg/token.yml" >"$reg/token-registry.log" 2>&1 &
  HOST_PIDS+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rport/v2/") == 401 ]] &&
      [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tport/token?service=minictr-test") == 200 ]] &&
      return 0
    sleep 0.1
  done
  fail "the token registry did not start: $(cat "$reg/token-registry.log" "$reg/token-server.err")"
}

start_registry() {
  command -v docker-registry >/dev/null || fail "docker-registry is not installed (scripts/setup installs it)"
  reg=$TEST_TMP/registry
  mkdir -p "$reg/storage"
  port=$(free_port)
  registry_config "$reg/storage" "$port" >"$reg/config.yml"
  docker-registry serve "$reg/config.yml" >"$reg/log" 2>&1 &
  HOST_PIDS+=($!)
  wait_registry "http://127.0.0.1:$port/v2/" "$reg/log"
}
