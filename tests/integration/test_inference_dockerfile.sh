#!/usr/bin/env bash
# The inference image built from images/inference/Dockerfile by `minictr build`
# (issue 21): the context from images/inference/context.sh, the busybox image as
# the stage its wget comes from. The image has the config images/inference/
# config.json gives the packed one, three layers with the model lowest, no shell;
# it serves /health and a /completion, and its HEALTHCHECK turns it healthy. A
# second build in another state root with --no-cache gives the same image ID.
source "$(dirname "$0")/lib.sh"

INFER=$MINICTR_BUILD/inference/minictr-infer
[[ -x $INFER ]] || fail "missing $INFER (build target minictr-infer)"
[[ -f $BUSYBOX_TAR ]] || fail "missing $BUSYBOX_TAR (build target images)"
ctx=$TEST_TMP/ctx
bash "$MINICTR_SRC/images/inference/context.sh" "$ctx" "$INFER"
mctr load -q "$BUSYBOX_TAR" >/dev/null

# 1. Build: every step that makes files runs, the image is named.
out=$(mctr build -t inference:df "$ctx")
id=$(mctr images --no-trunc | awk '$1 == "inference" && $2 == "df" {print $3}')
[[ $id == sha256:* ]] || fail "no image inference:df after the build: $out"
assert_eq 3 "$(grep -c ' DONE ' <<<"$out")" "steps that made layers (model, rootfs, wget)"

# 2. The config the packed image has (images/inference/config.json), plus the
# healthcheck: read from the image config `save` writes (image inspect shows fewer fields).
mctr save -o "$TEST_TMP/inference.tar" inference:df
cfg=$(tar -xOf "$TEST_TMP/inference.tar" "$(tar -xOf "$TEST_TMP/inference.tar" manifest.json | jq -r '.[0].Config')" | jq -S .config)
# config.json lists ports and volumes as arrays, an image config as objects' keys.
want=$(jq -S -c '{Entrypoint, Cmd, Env, WorkingDir, StopSignal, Labels, ExposedPorts, Volumes}' \
  "$MINICTR_SRC/images/inference/config.json")
got=$(jq -S -c '{Entrypoint, Cmd, Env, WorkingDir, StopSignal, Labels,
  ExposedPorts: (.ExposedPorts | keys), Volumes: (.Volumes | keys)}' <<<"$cfg")
assert_eq "$want" "$got" "the config of images/inference/config.json"
assert_eq '["CMD","/usr/bin/wget","-q","-O","/dev/null","http://127.0.0.1:8080/health"]' \
  "$(jq -c .Healthcheck.Test <<<"$cfg")" "HEALTHCHECK"
# Layers: the model first, so a new server binary leaves it shared.
hist=$(mctr history --no-trunc inference:df)
assert_eq 3 "$(mctr image inspect inference:df | jq '.[0].RootFS.Layers | length')" "layers"
assert_contains "$(grep -v ' 0B ' <<<"$hist" | tail -1)" "COPY models/minictr-fortunes-f32.gguf" "lowest layer is the model"
# No shell: only the server, its libraries and wget.
rc=$(run_rc mctr run --rm --entrypoint /bin/sh inference:df -c true)
[[ $rc != 0 ]] || fail "the image has a shell"

# 3. It serves: /health, a greedy /completion, and the HEALTHCHECK says healthy.
port=$((18300 + _n))
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port already in use"; fi
cid=$(mctr run -d -p "127.0.0.1:$port:8080" -m 512m inference:df)
ok=0
for ((i = 0; i < 120; i++)); do
  if curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null; then
    ok=1
    break
  fi
  sleep 0.5
done
((ok)) || { mctr logs "$cid" >&2 || true; fail "/health not 200 within 60 s"; }
answer=$(curl -sf --max-time 30 -H 'Content-Type: application/json' \
  -d '{"prompt": "Once upon a time", "n_predict": 8, "temperature": 0}' \
  "http://127.0.0.1:$port/completion") || fail "/completion failed"
n=$(jq -r '.tokens_predicted' <<<"$answer")
((n > 0 && n <= 8)) || fail "bad /completion answer: $answer"
content=$(jq -r '.content' <<<"$answer")
[[ -n ${content//[[:space:]]/} ]] || fail "empty completion: $answer"
echo "ok  completion: Once upon a time$content"
health=
for ((i = 0; i < 60; i++)); do
  health=$(mctr inspect "$cid" | jq -r '.[0].State.Health.Status')
  [[ $health == healthy ]] && break
  sleep 0.5
done
assert_eq healthy "$health" "the HEALTHCHECK (busybox wget on /health)"
mctr rm -f "$cid" >/dev/null

# 4. Reproducible: another state root, no cache, the same image ID.
out=$(MINICTR_ROOT=$TEST_TMP/root2 "$MINICTR" build --no-cache -t inference:again --build-arg BUSYBOX="$BUSYBOX_TAR" "$ctx")
assert_contains "$out" "writing image $id" "the same image ID from another root, without the cache"
MINICTR_ROOT=$TEST_TMP/root2 "$MINICTR" system prune >/dev/null 2>&1 || true
echo "PASS test_inference_dockerfile ($id)"
