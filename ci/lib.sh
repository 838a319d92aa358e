# Shared helpers of the ci/ scripts; sourced, not run.
# soak's exit codes: 0 pass, 1 check failed, 2 usage/scenario error,
# 3 SUT or environment failure, 130 interrupted.

SOAK=${SOAK:-}
if [ -z "$SOAK" ]; then
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -x "$here/bin/soak" ]; then SOAK="$here/bin/soak"; else SOAK=soak; fi
fi

log() { printf 'ci: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# soak_run OUT NAME ARGS...: runs `soak run` with SIGTERM/SIGINT forwarded
# (so a CI runner's timeout still leaves a finished report), prints nothing,
# sets RUN_CODE and RUN_DIR.
soak_run() {
  local out=$1 name=$2; shift 2
  mkdir -p "$out"
  "$SOAK" run "$@" --out "$out" --name "$name" --quiet &
  local pid=$!
  trap 'kill -TERM '"$pid"' 2>/dev/null' TERM INT
  RUN_CODE=0
  wait "$pid" || RUN_CODE=$?
  # A trapped signal interrupts wait: wait again for soak to write its report.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || RUN_CODE=$?; done
  trap - TERM INT
  RUN_DIR=$(ls -1dt "$out"/*_"$name" "$out"/*_"$name"-* 2>/dev/null | head -n 1)
  if [ -n "$RUN_DIR" ] && [ ! -f "$RUN_DIR/report.html" ]; then
    log "no report in $RUN_DIR (soak killed?); rebuilding it"
    "$SOAK" report "$RUN_DIR" >/dev/null || log "soak report failed for $RUN_DIR"
  fi
  log "run $name: exit $RUN_CODE, $RUN_DIR"
}

# publish_summary DIR: appends a run's summary.md to the GitHub step summary.
publish_summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$1/summary.md" ]; then
    cat "$1/summary.md" >> "$GITHUB_STEP_SUMMARY"
  fi
}
