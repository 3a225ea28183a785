#!/usr/bin/env bash
# Kill storm (issue 17): runs quantize, export, inspect, report and a session save
# (quantize --session appending to an existing session) on the bundled model and sends each
# SIGKILL or SIGINT at a random moment of its run; after every kill it checks that
#   - nothing partial exists under the final name: an output that exists is complete (same
#     bytes as a clean run's, or a session/report that opens in full);
#   - the previous session file is unchanged (sha256) — or, when the save got through before
#     the signal, opens with exactly one run more;
#   - what is left besides the outputs is a temp file named "<final>.tmp…" (clearly named) or
#     quantize's resume state "<out>.quantize-state" (kept on purpose: quantize --resume continues
#     from it; scripts/resume_storm.sh checks that); anything else is a violation. When a kill
#     left temps or a state, the same command runs again without a signal (no --resume), and
#     they must be gone after it (removed on the next run).
# Each run ends one of three ways: killed (ended by the signal: SIGKILL, or SIGINT before the
# command installed its handler), stopped (SIGINT caught: "error: cancelled", exit 1) or
# finished (exit 0: the signal came too late). Any other ending is a violation. Commands start
# with SIGINT at its default action, as at a terminal (a script's background job would
# otherwise inherit it ignored, and a SIGINT before the handler would be lost).
#   scripts/kill_storm.sh [RUNS (default 100)] [BUILD_DIR (default build)]
# Env: QB_STORM_SEED (RANDOM seed, default 17); QB_STORM_KINDS (the commands, in turn; default
# "quantize export inspect report session"); QB_STORM_SIGNALS (chosen at random per run; default
# "KILL INT"). Exits non-zero on any violation.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-100}"
build="${2:-$here/build}"
cli="$build/app/cli/quantbench-cli"
model="$here/resources/models/stories260K"
calib="$here/resources/data/tinystories/calib.txt"
RANDOM="${QB_STORM_SEED:-17}"
[ -x "$cli" ] || { echo "kill_storm: $cli missing (build first)"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/qb-kill-storm.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"default":{"method":"gptq","bits":4,"group_size":32},"rules":[{"match":"*.down_proj","method":"rtn","bits":8}]}' >plan.json
common=(--threads 1)
qargs=(--model "$model" --plan "$work/plan.json" --calib "$calib" --calib-windows 4 --calib-ctx 64 --quiet)

# The command of kind $1 writing final name $2 (a session save appends to $2).
command_of() {
  case "$1" in
    quantize) echo "$cli quantize ${qargs[*]} --out $2 ${common[*]}" ;;
    export) echo "$cli export --model $model --type Q4_0 --out $2 --no-check ${common[*]}" ;;
    inspect) echo "$cli inspect --model $model --calib $calib --calib-windows 4 --calib-ctx 64 --quiet --out $2 ${common[*]}" ;;
    report) echo "$cli report --session ref/session.h5 --out $2 --quiet" ;;
    session) echo "$cli quantize ${qargs[*]} --out $2.q --session $2 ${common[*]}" ;;
  esac
}
digest() { find "$1" -type f -not -name quantbench_report.json -print0 | sort -z | xargs -0 sha256sum | sed "s| $1| X|" | sha256sum | cut -d' ' -f1; }
run_count() { "$cli" report --session "$1" --out "$1.count.json" --quiet >/dev/null 2>&1 &&
  python3 -c "import json,sys; print(len(json.load(open(sys.argv[1])).get('runs', [])))" "$1.count.json"; }

# Reference outputs of clean runs (their durations set the kill window).
mkdir ref
declare -A dur ref_digest
for kind in quantize export inspect report session; do
  [ "$kind" = session ] && cp ref/session.h5 ref/base.h5
  case "$kind" in quantize) out=ref/q ;; export) out=ref/m.gguf ;; inspect) out=ref/session.h5 ;; report) out=ref/r.json ;; session) out=ref/base.h5 ;; esac
  t0=$(date +%s%N)
  $(command_of "$kind" "$out") >/dev/null 2>&1
  dur[$kind]=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$kind" = quantize ] || [ "$kind" = export ] && ref_digest[$kind]=$(digest "$out")
done
rm -rf ref/base.h5.q ref/*.count.json
base_runs=$(run_count ref/session.h5)
echo "kill_storm: clean runs (ms): quantize ${dur[quantize]}, export ${dur[export]}, inspect ${dur[inspect]}, report ${dur[report]}, session save ${dur[session]}; $runs runs"

declare -A killed stopped finished violations temps stale states
read -r -a kinds <<<"${QB_STORM_KINDS:-quantize export inspect report session}"
read -r -a signals <<<"${QB_STORM_SIGNALS:-KILL INT}"
for ((i = 1; i <= runs; i++)); do
  kind=${kinds[$(( (i - 1) % ${#kinds[@]} ))]}
  sig=${signals[$(( RANDOM % ${#signals[@]} ))]}
  mkdir "r$i" && cd "r$i"
  case "$kind" in quantize) final=q ;; export) final=m.gguf ;; inspect) final=s.h5 ;; report) final=r.json ;; session) final=s.h5 ;; esac
  mkdir -p ref && ln -s "$work/ref/session.h5" ref/session.h5
  if [ "$kind" = session ] || [ "$kind" = inspect ]; then cp "$work/ref/session.h5" "$final"; fi
  before=$( [ -f "$final" ] && sha256sum "$final" | cut -d' ' -f1 || true)
  env --default-signal=INT $(command_of "$kind" "$final") >/dev/null 2>"$work/stderr" &
  pid=$!
  delay=$(( RANDOM % (dur[$kind] * 12 / 10 + 1) ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -s "$sig" "$pid" 2>/dev/null || true
  rc=0; { wait "$pid"; } 2>/dev/null || rc=$?
  key="$kind/$sig"
  bad=""
  case "$kind" in
    quantize | export)
      if [ -e "$final" ] && [ "$(digest "$final")" != "${ref_digest[$kind]}" ]; then bad="partial $final"; fi ;;
    report)
      if [ -e "$final" ] && ! python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$final" 2>/dev/null; then bad="partial $final"; fi ;;
    inspect)  # a new session replaces the previous one whole, or not at all
      now=$(sha256sum "$final" | cut -d' ' -f1)
      if [ "$now" != "$before" ] && [ -z "$(run_count "$final")" ]; then bad="$final neither the old session nor a readable new one"; fi ;;
    session)
      now=$(sha256sum "$final" | cut -d' ' -f1)
      if [ "$now" != "$before" ] && [ "$(run_count "$final")" != "$((base_runs + 1))" ]; then bad="$final changed without one whole run more"; fi ;;
  esac
  if ((rc == 0)); then finished[$key]=$(( ${finished[$key]:-0} + 1 ))
  elif ((rc > 128)); then killed[$key]=$(( ${killed[$key]:-0} + 1 ))
  elif ((rc == 1)) && [ "$(tail -n 1 "$work/stderr")" = "error: cancelled" ]; then stopped[$key]=$(( ${stopped[$key]:-0} + 1 ))
  else bad="${bad:+$bad; }exit $rc, not a signal's ending: $(tr '\n' ' ' <"$work/stderr" | head -c 200 || true)"; fi
  rm -f ./*.count.json
  # What remains besides the final name (and the session save's own --out folder): temps only.
  for f in * .[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    case "$f" in
      "$final" | ref | "$final.q") ;;
      "$final".tmp* | "$final.q".tmp*) temps[$key]=$(( ${temps[$key]:-0} + 1 )) ;;
      "$final.quantize-state" | "$final.q.quantize-state") states[$key]=$(( ${states[$key]:-0} + 1 )) ;;  # quantize --resume's
      *) bad="${bad:+$bad; }stray file $f" ;;
    esac
  done
  # The next run of the same command removes what the killed one left.
  if [ -n "$(compgen -G "$final.tmp*" || compgen -G "$final.q.tmp*" || compgen -G "$final*.quantize-state" || true)" ]; then
    [ "$kind" = session ] && rm -rf "$final.q"  # its quantize --out, which must not exist
    [ "$kind" = quantize ] && rm -rf "$final"   # likewise (a kill after its rename leaves it whole)
    $(command_of "$kind" "$final") >/dev/null 2>&1 || true
    for f in "$final".tmp* "$final.q".tmp* "$final.quantize-state" "$final.q.quantize-state"; do
      [ -e "$f" ] || continue
      stale[$key]=$(( ${stale[$key]:-0} + 1 ))
      bad="${bad:+$bad; }$f survived the next run"
    done
  fi
  if [ -n "$bad" ]; then
    violations[$key]=$(( ${violations[$key]:-0} + 1 ))
    echo "  run $i ($kind, SIG$sig after ${delay} ms, rc $rc): $bad"
  fi
  cd "$work" && rm -rf "r$i"
done

printf '%-16s %7s %8s %9s %11s %12s %15s %10s\n' 'command/signal' killed stopped finished temps-left resume-state 'after-next-run' violations
total=0
for kind in "${kinds[@]}"; do
  for sig in "${signals[@]}"; do
    key="$kind/$sig"
    printf '%-16s %7s %8s %9s %11s %12s %15s %10s\n' "$key" "${killed[$key]:-0}" "${stopped[$key]:-0}" "${finished[$key]:-0}" "${temps[$key]:-0}" "${states[$key]:-0}" \
      "${stale[$key]:-0}" "${violations[$key]:-0}"
    total=$(( total + ${violations[$key]:-0} ))
  done
done
echo "kill_storm: $runs runs, $total violations"
((total == 0))
