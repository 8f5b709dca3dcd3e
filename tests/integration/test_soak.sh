#!/usr/bin/env bash
# The soak (bench/soak/run.sh) in a shortened form: 24 containers through
# run -d / exec / stop / rm, 8 at a time, half with -p 0:80, every 5th with
# its supervisor killed by SIGKILL; every exit recorded right, nothing leaked.
# The full run (200) is `bench/soak/run.sh`.
source "$(dirname "$0")/lib.sh"
BATCH=8 bash "$MINICTR_SRC/bench/soak/run.sh" 24
echo "PASS test_soak"
