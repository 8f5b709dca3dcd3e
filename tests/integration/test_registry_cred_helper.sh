#!/usr/bin/env bash
# Docker's credential helpers for login, logout, push and pull, with a REAL
# helper: Debian's docker-credential-pass (golang-docker-credential-helpers)
# over `pass`, its store and GnuPG home in this test's temp dir (a key made
# here with no passphrase, so it runs headless; the agent is stopped at exit).
# The registry is Debian's docker-registry with htpasswd behind TLS, as in
# test_registry_auth.sh.
#  1. credHelpers names pass for this registry and credsStore a helper that
#     does not exist: the per-registry helper wins. login stores through it:
#     the password is in neither the auth file nor the pass store's plain
#     files, the file keeps an empty entry; push and pull use it.
#  2. A wrong inline "auths" entry loses to the helper; credsStore alone is used.
#  3. A failing helper (the GnuPG home without the key: gpg cannot decrypt)
#     and a missing one: exit 125 and one line naming the helper, for pull,
#     push and login; a refused login stores nothing.
#  4. logout erases the entry from the helper; pull is anonymous again.
#  5. An identity token (Username "<token>") stored in the helper: push and
#     pull get their bearer tokens with it from a token realm (OAuth2
#     refresh_token, registry_token_server.py) of a registry with `auth: token`.
source "$(dirname "$0")/lib.sh"

for tool in docker-registry htpasswd docker-credential-pass pass gpg gpgconf; do
  command -v $tool >/dev/null || fail "$tool is not installed (scripts/setup installs it)"
done
reg=$TEST_TMP/registry
mkdir -p "$reg"
export GNUPGHOME=$TEST_TMP/gnupg PASSWORD_STORE_DIR=$TEST_TMP/pass-store
mkdir -m 700 "$GNUPGHOME"
# The agent gpg starts for this GNUPGHOME goes with the test.
trap 'rc=$?; gpgconf --homedir "$TEST_TMP/gnupg" --kill gpg-agent 2>/dev/null; gpgconf --homedir "$TEST_TMP/gnupg-nokey" --kill gpg-agent 2>/dev/null; _cleanup $rc' EXIT
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key minictr-test@localhost default default never \
  >/dev/null 2>&1 || fail "gpg could not make a key"
fpr=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
out=$(pass init "$fpr" 2>&1) || fail "pass init failed: $out"

# set_config JSON: the auth file's helper settings, keeping its "auths".
auth=$MINICTR_ROOT/auth.json
set_config() {
  python3 - "$auth" "$1" <<'EOF'
import json, os, sys
path, new = sys.argv[1], json.loads(sys.argv[2])
old = json.load(open(path)) if os.path.exists(path) else {}
new.setdefault("auths", old.get("auths", {}))
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(new).encode())
os.close(fd)
EOF
}
helper_list() { docker-credential-pass list; }

password='h3lper pa$$ word'
SECRETS=("$password")  # expect_refused: never printed
start_htpasswd_registry alice "$password"

mctr load -q "$BUSYBOX_TAR" >/dev/null
id=$(image_id "$MINICTR_ROOT" busybox)
server=127.0.0.1:$port
name=$server/test/busybox
mctr tag busybox "$name:1"

# 1. credHelpers wins over credsStore (which names no program at all).
set_config "{\"credsStore\": \"minictr-test-none\", \"credHelpers\": {\"$server\": \"pass\"}}"
expect_refused 125 "no credentials stored for $server" mctr pull "$name:1"  # "not found" from pass: anonymous
out=$(printf '%s\n' "$password" | mctr login -u alice --password-stdin "$server" 2>&1) || fail "login failed: $out"
assert_eq "Login Succeeded" "$out" "login through the helper (and no 'stored unencrypted' warning)"
grep -c -F "$password" "$auth" >/dev/null && fail "the password is in the auth file: $(cat "$auth")"
grep -c -F "$(printf '%s' "alice:$password" | base64 -w0)" "$auth" >/dev/null && fail "base64 credentials in the auth file"
assert_eq '{}' "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]))' "$auth" "$server")" \
  "the auth file's entry for $server (no secret)"
assert_eq pass "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credHelpers"][sys.argv[2]])' "$auth" "$server")" \
  "credHelpers kept"
assert_eq "{\"$server\":\"alice\"}" "$(helper_list)" "docker-credential-pass list after login"
assert_eq "$password" "$(printf '%s' "$server" | docker-credential-pass get | python3 -c 'import json,sys; print(json.load(sys.stdin)["Secret"])')" \
  "the secret in the helper"
grep -rc -F "$password" "$PASSWORD_STORE_DIR" >/dev/null && fail "the password is in plain text in the pass store"

out=$(mctr push "$name:1") || fail "push with the helper's credentials failed: $out"
assert_contains "$out" "Pushed" "push with the helper's credentials"
root2=$TEST_TMP/root2
out=$(MINICTR_AUTH_FILE=$auth "$MINICTR" --root "$root2" pull "$name:1") || fail "pull with the helper's credentials failed: $out"
assert_eq "$id" "$(image_id "$root2" "$name:1")" "image ID after push + pull through the helper"

# 2. A wrong inline entry loses to the helper, from credHelpers and from credsStore.
wrong_auth=$(printf 'alice:not-the-password' | base64 -w0)
set_config "{\"credHelpers\": {\"$server\": \"pass\"}, \"auths\": {\"$server\": {\"auth\": \"$wrong_auth\"}}}"
mctr rmi "$name:1" >/dev/null
out=$(mctr pull "$name:1") || fail "pull (credHelpers over a wrong inline entry) failed: $out"
set_config "{\"credsStore\": \"pass\", \"auths\": {\"$server\": {\"auth\": \"$wrong_auth\"}}}"
mctr rmi "$name:1" >/dev/null
out=$(mctr pull "$name:1") || fail "pull (credsStore over a wrong inline entry) failed: $out"
# Without a helper the wrong inline entry is what is used, and refused.
set_config "{\"auths\": {\"$server\": {\"auth\": \"$wrong_auth\"}}}"
expect_refused 125 "unauthorized: incorrect username or password" mctr pull "$name:1"

# 3. A helper that fails: pass cannot decrypt without the key (a GnuPG home
# that lacks it). One line naming the helper, exit 125, for every verb.
set_config "{\"credsStore\": \"pass\", \"auths\": {\"$server\": {}}}"
mkdir -m 700 "$TEST_TMP/gnupg-nokey"
GNUPGHOME=$TEST_TMP/gnupg-nokey expect_refused 125 "docker-credential-pass get failed (exit 1): exit status 2: gpg: decryption failed" \
  mctr pull "$name:1"
GNUPGHOME=$TEST_TMP/gnupg-nokey expect_refused 125 "docker-credential-pass get failed" mctr push "$name:1"
# A helper that is not installed; login stores nothing and still checks the password first.
set_config "{\"credHelpers\": {\"$server\": \"minictr-test-none\"}, \"auths\": {\"$server\": {}}}"
before=$(cat "$auth")
expect_refused 125 "docker-credential-minictr-test-none: not found in \$PATH" mctr pull "$name:1"
expect_refused 125 "docker-credential-minictr-test-none: not found in \$PATH" \
  bash -c 'printf "%s" "$1" | "$MINICTR" login -u alice --password-stdin "$2"' _ "$password" "$server"
assert_eq "$before" "$(cat "$auth")" "the auth file after a login whose helper is missing"
expect_refused 125 "docker-credential-minictr-test-none: not found in \$PATH" mctr logout "$server"
set_config '{"credsStore": "../../bin/sh", "auths": {}}'
expect_refused 125 "credsStore: '../../bin/sh' is not a helper name" mctr pull "$name:1"

# 4. logout erases the entry from the helper.
set_config "{\"credsStore\": \"pass\", \"auths\": {\"$server\": {}}}"
assert_eq "Removing login credentials for $server" "$(mctr logout "$server")" "logout"
assert_eq '{}' "$(helper_list)" "docker-credential-pass list after logout"
[[ -z $(find "$PASSWORD_STORE_DIR" -name '*.gpg') ]] || fail "an entry is left in the pass store: $(find "$PASSWORD_STORE_DIR")"
assert_eq '{}' "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["auths"]))' "$auth")" \
  "auths after logout"
expect_refused 125 "no credentials stored for $server" mctr pull "$name:1"
assert_eq "Not logged in to $server" "$(mctr logout "$server")" "second logout"

# 5. An identity token: the helper answers Username "<token>", and minictr
# POSTs the Secret to the token realm as an OAuth2 refresh token (Docker's
# client does so), for the bearer tokens of a registry with `auth: token`.
refresh=rt-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_token_registry alice "$password" "$refresh"
tserver=127.0.0.1:$rport
tname=$tserver/test/busybox
mctr tag busybox "$tname:1"
set_config '{"credsStore": "pass", "auths": {}}'
printf '{"ServerURL":"%s","Username":"<token>","Secret":"%s"}' "$tserver" "$refresh" | docker-credential-pass store ||
  fail "docker-credential-pass store of the identity token failed"
: >"$reg/tokens.log"
out=$(mctr push "$tname:1") || fail "push with an identity token failed: $out"
assert_contains "$out" "Pushed" "push with an identity token"
grep -cE "^granted POST /token scope=repository:test/busybox:(pull,push|push,pull)" "$reg/tokens.log" >/dev/null ||
  fail "no push token was asked for with the refresh token: $(cat "$reg/tokens.log")"
grep -c "^granted /token" "$reg/tokens.log" >/dev/null && fail "a token was asked for with Basic credentials: $(cat "$reg/tokens.log")"
root3=$TEST_TMP/root3
out=$(MINICTR_AUTH_FILE=$auth "$MINICTR" --root "$root3" pull "$tname:1") || fail "pull with an identity token failed: $out"
assert_eq "$id" "$(image_id "$root3" "$tname:1")" "image ID after push + pull with an identity token"
printf '{"ServerURL":"%s","Username":"<token>","Secret":"rt-not-this-one"}' "$tserver" | docker-credential-pass store
expect_refused 125 "unauthorized: the identity token was refused" mctr pull "$tname:1"
assert_eq "Removing login credentials for $tserver" "$(mctr logout "$tserver")" "logout of the token registry"
assert_eq '{}' "$(helper_list)" "docker-credential-pass list after the last logout"
echo "test_registry_cred_helper: OK"
