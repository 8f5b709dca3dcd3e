#!/usr/bin/env bash
# build/images/inference.tar as the target inference-image builds it from
# images/inference/Dockerfile (issue 21): the server compiled in a build stage
# on the project's Debian build image, copied into a final stage FROM scratch.
# Nothing of the build stage leaks into the image: its history is the final
# stage's only (no RUN, no cmake), three layers with the model lowest, no
# compiler, header, shared library or loader in them, the server a static
# executable, the whole image small. Its config is images/inference/config.json's
# plus the HEALTHCHECK; it has no shell; it answers /health and turns healthy.
# Exit 77 (skipped) when the build dir packs the image instead
# (MINICTR_INFERENCE_IMAGE=packed, or auto without root or mmdebstrap).
source "$(dirname "$0")/lib.sh"

INFERENCE_TAR=$MINICTR_BUILD/images/inference.tar
[[ -f $INFERENCE_TAR ]] || fail "missing $INFERENCE_TAR (target inference-image)"
mctr load -q "$INFERENCE_TAR" >/dev/null
if ! mctr history --no-trunc inference:latest | grep -c 'COPY --from=build' >/dev/null; then
  echo "SKIP: $INFERENCE_TAR was not built from images/inference/Dockerfile (packed by mkimage.py)"
  exit 77
fi
# The image as `save` writes it (docker layout: manifest.json, config, layer tars).
saved=$TEST_TMP/saved.tar
mctr save -o "$saved" inference:latest
manifest=$(tar -xOf "$saved" manifest.json)
cfg=$(tar -xOf "$saved" "$(jq -r '.[0].Config' <<<"$manifest")")

# 1. History: the final stage's instructions only.
hist=$(jq -r '.history[].created_by' <<<"$cfg")
echo "$hist" | sed 's/^/  history: /'
if grep -E -c '^RUN|cmake|/src|debian-build' <<<"$hist" >/dev/null; then
  fail "the build stage's steps are in the final image's history"
fi
assert_eq 3 "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" "layers"
assert_eq 3 "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" "history entries with a layer"
assert_contains "$(jq -r '[.history[] | select(.empty_layer != true)][0].created_by' <<<"$cfg")" \
  "COPY models/minictr-fortunes-f32.gguf" "lowest layer is the model"

# 2. The files: only the server, wget (busybox), the model and /etc.
files=$TEST_TMP/files
for layer in $(jq -r '.[0].Layers[]' <<<"$manifest"); do
  tar -xOf "$saved" "$layer" | tar -tv
done >"$files"
sed 's/^/  file: /' "$files"
if grep -E -c 'gcc|g\+\+|cc1|/include/|\.so(\.|$)|ld-linux|/bin/(sh|bash)$|/usr/lib/' "$files" >/dev/null; then
  fail "build stage files in the image: $(grep -E 'gcc|g\+\+|cc1|/include/|\.so(\.|$)|ld-linux|/bin/(sh|bash)$|/usr/lib/' "$files" | head -3)"
fi
grep -c ' app/minictr-infer$' "$files" >/dev/null || fail "no /app/minictr-infer in the layers"
grep -c ' usr/bin/wget$' "$files" >/dev/null || fail "no /usr/bin/wget in the layers"
bytes=$(awk '{s += $3} END {print s}' "$files")
model_bytes=$(awk '$NF == "app/models/minictr-fortunes-f32.gguf" {print $3}' "$files")
[[ -n $model_bytes ]] || fail "no /app/models/minictr-fortunes-f32.gguf in the layers"
echo "  $bytes bytes in the layers, $model_bytes of them the model"
# The static server and busybox are ~5 MB; a leaked libc or compiler is far more.
((bytes < model_bytes + 8 * 1024 * 1024)) ||
  fail "the image holds $bytes bytes: more than the server, wget and the model ($model_bytes)"
# Static: no program interpreter (PT_INTERP) to load it.
cid=$(mctr create inference:latest)
mctr cp "$cid:/app/minictr-infer" "$TEST_TMP/minictr-infer"
mctr rm "$cid" >/dev/null
if LC_ALL=C readelf -l "$TEST_TMP/minictr-infer" | grep -c 'INTERP' >/dev/null; then
  fail "minictr-infer in the image is dynamically linked"
fi

# 3. Config: images/inference/config.json (the packed image's) + the HEALTHCHECK.
c=$(jq -S .config <<<"$cfg")
want=$(jq -S -c '{Entrypoint, Cmd, Env, WorkingDir, StopSignal, Labels, ExposedPorts, Volumes}' \
  "$MINICTR_SRC/images/inference/config.json")
got=$(jq -S -c '{Entrypoint, Cmd, Env, WorkingDir, StopSignal, Labels,
  ExposedPorts: (.ExposedPorts | keys), Volumes: (.Volumes | keys)}' <<<"$c")
assert_eq "$want" "$got" "the config of images/inference/config.json"
assert_eq '["CMD","/usr/bin/wget","-q","-O","/dev/null","http://127.0.0.1:8080/health"]' \
  "$(jq -c .Healthcheck.Test <<<"$c")" "HEALTHCHECK"
rc=$(run_rc mctr run --rm --entrypoint /bin/sh inference:latest -c true)
[[ $rc != 0 ]] || fail "the image has a shell"

# 4. It serves /health, and its HEALTHCHECK (the static wget) says healthy.
port=$((18300 + _n))
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port already in use"; fi
cid=$(mctr run -d -p "127.0.0.1:$port:8080" -m 512m inference:latest)
ok=0
for ((i = 0; i < 120; i++)); do
  if curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null; then
    ok=1
    break
  fi
  sleep 0.5
done
((ok)) || { mctr logs "$cid" >&2 || true; fail "/health not 200 within 60 s"; }
assert_contains "$(curl -sf "http://127.0.0.1:$port/health")" '"ok"' "health body"
health=
for ((i = 0; i < 60; i++)); do
  health=$(mctr inspect "$cid" | jq -r '.[0].State.Health.Status')
  [[ $health == healthy ]] && break
  sleep 0.5
done
assert_eq healthy "$health" "the HEALTHCHECK (busybox wget on /health)"
mctr rm -f "$cid" >/dev/null
echo "PASS test_inference_dockerfile ($(jq -r '.[0].Config' <<<"$manifest"))"
