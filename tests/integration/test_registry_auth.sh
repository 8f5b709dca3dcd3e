#!/usr/bin/env bash
# minictr login / logout, and push and pull with the stored credentials,
# against real registries (Debian's docker-registry, distribution 2.8):
#  1. Basic auth: a registry with htpasswd (bcrypt, from apache2-utils'
#     htpasswd) behind TLS with a self-signed certificate. pull and push
#     without login are refused with one line naming `minictr login`; a wrong
#     password is refused (exit 1, nothing stored, the password never
#     printed); login stores Docker's config.json format in <root>/auth.json,
#     mode 0600; push and pull then work; logout removes the entry and pull is
#     refused again.
#  2. Bearer tokens: a registry with `auth: token`, which verifies the JWTs
#     itself (signature, issuer, audience, expiry, granted actions), and a
#     token server (registry_token_server.py) as its realm that asks for the
#     credentials. login, push and pull get their tokens from it.
source "$(dirname "$0")/lib.sh"

command -v docker-registry >/dev/null || fail "docker-registry is not installed (scripts/setup installs it)"
command -v htpasswd >/dev/null || fail "htpasswd is not installed (apache2-utils; scripts/setup installs it)"
reg=$TEST_TMP/registry
mkdir -p "$reg"

password='s3cret pa$$ word'  # a space and a '$': passed as bytes, never through a shell
wrong='not-the-password'
SECRETS=("$password" "$wrong")  # expect_refused: never printed
start_htpasswd_registry alice "$password"

mctr load -q "$BUSYBOX_TAR" >/dev/null
id=$(image_id "$MINICTR_ROOT" busybox)
name=127.0.0.1:$port/test/busybox
mctr tag busybox "$name:1"

# 1a. nothing stored: refused, with the way out in the message.
expect_refused 125 "no credentials stored for 127.0.0.1:$port (minictr login 127.0.0.1:$port)" mctr push "$name:1"
expect_refused 125 "unauthorized: authentication required" mctr pull "$name:1"

# 1b. a wrong password: exit 1, one line, nothing stored.
expect_refused 1 "unauthorized: incorrect username or password" \
  mctr login -u alice -p "$wrong" "127.0.0.1:$port"
[[ ! -e $MINICTR_ROOT/auth.json ]] || fail "a refused login stored something: $(cat "$MINICTR_ROOT/auth.json")"
expect_refused 1 "Must provide --username with --password-stdin" mctr login --password-stdin "127.0.0.1:$port"
expect_refused 1 "Cannot perform an interactive login from a non TTY device" mctr login "127.0.0.1:$port"

# 1c. login: Docker's format, 0600, the password in no output.
out=$(printf '%s\n' "$password" | mctr login -u alice --password-stdin "127.0.0.1:$port" 2>&1) ||
  fail "login failed: $out"
assert_contains "$out" "Login Succeeded" "login output"
[[ $out != *"$password"* ]] || fail "login printed the password"
assert_eq 600 "$(stat -c %a "$MINICTR_ROOT/auth.json")" "mode of auth.json"
assert_eq "alice:$password" "$(python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' \
  "$MINICTR_ROOT/auth.json" "127.0.0.1:$port")" "auth.json in Docker's format"
# -p works too, with Docker's warning.
out=$(mctr login -u alice -p "$password" "127.0.0.1:$port" 2>&1) || fail "login -p failed: $out"
assert_contains "$out" "WARNING! Using --password via the CLI is insecure. Use --password-stdin." "login -p warning"

# 1d. push and pull with the stored credentials; the pull into a second root
# reads the same file through MINICTR_AUTH_FILE.
out=$(mctr push "$name:1") || fail "push with credentials failed: $out"
assert_contains "$out" "Pushed" "push with credentials"
root2=$TEST_TMP/root2
expect_refused 125 "no credentials stored" "$MINICTR" --root "$root2" pull "$name:1"
out=$(MINICTR_AUTH_FILE=$MINICTR_ROOT/auth.json "$MINICTR" --root "$root2" pull "$name:1") || fail "pull with credentials failed: $out"
assert_eq "$id" "$(image_id "$root2" "$name:1")" "image ID after an authenticated push + pull"

# 1e. logout: the entry goes, pull is refused again, a second logout says so.
assert_eq "Removing login credentials for 127.0.0.1:$port" "$(mctr logout "127.0.0.1:$port")" "logout"
assert_eq '{}' "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["auths"]))' "$MINICTR_ROOT/auth.json")" \
  "auths after logout"
expect_refused 125 "no credentials stored" mctr pull "$name:1"
assert_eq "Not logged in to 127.0.0.1:$port" "$(mctr logout "127.0.0.1:$port")" "second logout"

# 2. bearer tokens from a realm that wants the credentials.
start_token_registry alice "$password"
tname=127.0.0.1:$rport/test/busybox
mctr tag busybox "$tname:1"
: >"$reg/tokens.log"
# An anonymous token grants nothing: the registry refuses it.
expect_refused 125 "no credentials stored for 127.0.0.1:$rport" mctr push "$tname:1"
expect_refused 1 "unauthorized: incorrect username or password" mctr login -u alice -p "$wrong" "127.0.0.1:$rport"
grep -c "^refused /token" "$reg/tokens.log" >/dev/null || fail "the wrong password never reached the token server"
printf '%s' "$password" | mctr login -u alice --password-stdin "127.0.0.1:$rport" >/dev/null 2>&1 ||
  fail "login to the token registry failed"
out=$(mctr push "$tname:1") || fail "push with a bearer token failed: $out"
assert_contains "$out" "Pushed" "push with a bearer token"
# The registry's challenge lists the actions in either order (pull,push or push,pull).
grep -cE "^granted /token\?service=minictr-test&scope=repository%3Atest%2Fbusybox%3A(pull%2Cpush|push%2Cpull)&account=alice" \
  "$reg/tokens.log" >/dev/null || fail "no push token was asked for with the credentials: $(cat "$reg/tokens.log")"
root3=$TEST_TMP/root3
MINICTR_AUTH_FILE=$MINICTR_ROOT/auth.json "$MINICTR" --root "$root3" pull "$tname:1" >/dev/null ||
  fail "pull with a bearer token failed"
assert_eq "$id" "$(image_id "$root3" "$tname:1")" "image ID after push + pull with bearer tokens"
echo "test_registry_auth: OK"
