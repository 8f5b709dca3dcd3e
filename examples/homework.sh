#!/usr/bin/env bash
# The homework on one machine: one LLM service deployed four ways, each through the
# same latency test while its resource usage is sampled, then one CSV, plots and a
# markdown table (docs/11-homework.md says which homework step each stage is).
#   1. bare       the server as a host process (build/inference/minictr-infer)
#   2. run        minictr run -d -p PORT:8080 --cpus $CPUS -m $MEMORY --restart on-failure inference:latest
#   3. compose    minictr compose -f examples/compose/compose.yaml up -d, REPLICAS=1
#   4. compose-3  the same with REPLICAS=3: three replicas behind one published port
#                 (an nftables numgen DNAT map; swarm's routing mesh, on one host)
# The same in every stage: the server binary, model and image; the latency test
# (examples/latency_test.py: $REQUESTS requests one at a time after $WARMUP warm-up
# requests that are not counted, n_predict $N_PREDICT, temperature $TEMPERATURE, seed
# $SEED); the sampling (every 0.5 s: `minictr stats --format json` streams for the
# containers, /proc for the bare process) and $IDLE_S idle seconds sampled around the test.
# The same in the three container stages: per container the limits $CPUS CPUs and
# $MEMORY (the compose file's variables, handed to `run` as --cpus/-m) and the
# restart policy (on-failure).
# What differs: bare has no namespaces, no cgroup and no limits, and is reached on
# 127.0.0.1 without NAT. run is on the default bridge (minictr0) behind a per-container
# DNAT rule; compose is on the project's own network (<project>_default, with its name
# server) behind the same kind of rule; compose-3 has three containers (three times the
# limits in total, though one request at a time keeps one busy) and one numgen map that
# sends each new connection to the next replica.
#
#   sudo examples/homework.sh [OUT_DIR]                  (default ./homework-results)
#   REQUESTS=20 IDLE_S=1 sudo -E examples/homework.sh /tmp/hw   (a quick pass)
#   STAGES="bare run" sudo -E examples/homework.sh /tmp/hw      (only these stages, in this order)
# Outputs in OUT_DIR: latency.csv (every request of every stage, `stage` first),
# latency-STAGE.csv, stats-STAGE.csv (compose-3: the sum and each replica's columns),
# replicas-compose-3.csv (requests each replica served), the PNGs of report.py
# (latency.png, latency-cdf.png, latency-box.png, cpu.png, memory.png,
# memory-cgroup.png, netio.png, replicas-compose-3.png) and summary.md.
# Everything it starts (the bare server, containers, the compose project and its
# network) is removed when it ends, also on failure or Ctrl-C; the image stays loaded.
source "$(dirname "$0")/common.sh"
out=$(mkdir -p "${1:-homework-results}" && cd "${1:-homework-results}" && pwd)
: "${REQUESTS:=161}" "${N_PREDICT:=64}" "${TEMPERATURE:=0}" "${SEED:=42}" "${WARMUP:=3}"
: "${COMPOSE_FILE:=$EXAMPLES/compose/compose.yaml}" "${PROJECT:=homework}"
: "${STAGES:=bare run compose compose-3}"
read -r -a stages <<<"$STAGES"
declare -A titles=([bare]="bare process" [run]="minictr run" [compose]="compose, 1 replica"
  [compose-3]="compose, 3 replicas")
for st in "${stages[@]}"; do
  [[ -n ${titles[$st]:-} ]] || { echo "homework.sh: unknown stage '$st' in STAGES (bare run compose compose-3)" >&2; exit 1; }
done
((${#stages[@]})) || { echo "homework.sh: STAGES is empty" >&2; exit 1; }
export CPUS=${CPUS:-0.5} MEMORY=${MEMORY:-256m} INFERENCE_IMAGE=inference:latest
[[ -z ${NO_PLOTS:-} ]] && need_gnuplot
rm -f "$out"/*.csv "$out"/*.png "$out"/*.log "$out/summary.jsonl" "$out/summary.md" "$out/plots.gp"
LATENCY_ARGS=(-n "$REQUESTS" --n-predict "$N_PREDICT" --temperature "$TEMPERATURE" --seed "$SEED"
  --warmup "$WARMUP")

compose() { mctr compose -f "$COMPOSE_FILE" -p "$PROJECT" "$@"; }
compose_down() { compose down -t 2 >/dev/null 2>&1 || true; }
if [[ -n $(compose ps -a -q 2>/dev/null) ]]; then
  echo "homework.sh: compose project $PROJECT already has containers (compose -p $PROJECT down, or PROJECT=...)" >&2
  exit 1
fi
EXAMPLE_CLEANUP_EXTRA=compose_down
for st in "${stages[@]}"; do
  [[ $st == bare ]] || { mctr load -q -i "$INFERENCE_TAR"; break; }  # the container stages' image
done

loads=()
stage_load() { loads+=("$1 $(cut -d' ' -f1 /proc/loadavg)"); }

# requests_served ADDRESS: the completion requests a server answered so far (its /metrics)
requests_served() {
  curl -sf --max-time 5 "http://$1:8080/metrics" | awk '$1 == "llamacpp:requests_total" { print $2 }'
}

# compose_stage NAME REPLICAS: up, the test against the one published port, down
compose_stage() {
  local name=$1 port names=() addrs=() before=() n a
  port=$(free_port 18500)
  stage_load "$name"
  PORT=$port REPLICAS=$2 show compose -f "$COMPOSE_FILE" -p "$PROJECT" up -d
  mapfile -t names < <(compose ps --format '{{.Name}}')
  [[ ${#names[@]} -eq $2 ]] || { echo "homework.sh: $2 replicas wanted, compose ps shows: ${names[*]}" >&2; exit 1; }
  local sampler=()
  for n in "${names[@]}"; do
    a=$(mctr inspect -f '{{.NetworkSettings.IPAddress}}' "$n")
    wait_health 8080 60 "$a"
    addrs+=("$a")
    before+=("$(requests_served "$a")")
    sampler+=(--container "$n")
  done
  PORT=$port REPLICAS=$2 measure "$out" "$name" "$port" "${sampler[@]}"
  echo "replica,address,requests" >"$out/replicas-$name.csv"
  for i in "${!names[@]}"; do
    echo "${names[$i]},${addrs[$i]},$(($(requests_served "${addrs[$i]}") - before[i]))" >>"$out/replicas-$name.csv"
  done
  compose logs >"$out/$name.log" 2>&1 || true
  PORT=$port REPLICAS=$2 show compose -f "$COMPOSE_FILE" -p "$PROJECT" down -t 2
}

stage_bare() {
  port=$(free_port 18480)
  stage_load bare
  start_bare "$out" bare "$port"
  measure "$out" bare "$port" --pid "$BARE_PID" --nft-counters "$BARE_NFT_TABLE"
  stop_bare
}

stage_run() {
  port=$(free_port 18490)
  stage_load run
  id=$(show run -d -p "$port:8080" --cpus "$CPUS" -m "$MEMORY" --restart on-failure "$INFERENCE_IMAGE")
  started "$id"
  measure "$out" run "$port" --container "$id"
  mctr logs "$id" >"$out/run.log" 2>&1 || true
  mctr rm -f "$id" >/dev/null
}

declare -A says=([bare]="bare: the server as a host process" [run]="run: minictr run, --cpus $CPUS -m $MEMORY"
  [compose]="compose: one replica" [compose-3]="compose-3: three replicas behind one port")
started_at=$SECONDS
for k in "${!stages[@]}"; do
  st=${stages[$k]}
  say "$((k + 1))/${#stages[@]} ${says[$st]}"
  case $st in
    bare) stage_bare ;;
    run) stage_run ;;
    compose) compose_stage compose 1 ;;
    compose-3) compose_stage compose-3 3 ;;
  esac
done
stage_load end
elapsed=$((SECONDS - started_at))

say "Report"
note="$REQUESTS requests one at a time, n_predict=$N_PREDICT, temperature $TEMPERATURE, seed $SEED; containers --cpus $CPUS -m $MEMORY each"
plots=()
[[ -n ${NO_PLOTS:-} ]] && plots=(--no-plots)
report_stages=()
for st in "${stages[@]}"; do report_stages+=(--stage "$st=${titles[$st]}"); done
python3 "$EXAMPLES/report.py" "$out" "${plots[@]}" --note "$note" "${report_stages[@]}" >/dev/null
{
  echo "# The homework on minictr: $(for st in "${stages[@]}"; do printf '%s, ' "${titles[$st]}"; done | sed 's/, $//')"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) CPUs, Linux $(uname -r)), minictr" \
    "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); the stages took ${elapsed} s in all." \
    "Load average (1 min) at each stage's start and at the end: $(printf '%s, ' "${loads[@]}" | sed 's/, $//')."
  echo
  cat "$out/summary.md"
} >"$out/summary.md.new"
mv "$out/summary.md.new" "$out/summary.md"
cat "$out/summary.md"
while IFS=, read -r replica _ served; do
  [[ $replica == replica || $served -gt 0 ]] || echo "homework.sh: warning: $replica served no request" >&2
done < <(cat "$out/replicas-compose-3.csv" 2>/dev/null)
echo
echo "Results in $out"
