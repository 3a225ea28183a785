#!/usr/bin/env bash
# Resume storm (issue 17): kills quantize at random moments and continues it with --resume
# until it finishes, then checks that the checkpoint is byte-identical to a clean run's.
# Each trial: quantize (a fresh start) is sent SIGKILL or SIGINT after a random delay; then
# `quantize --resume` with the same arguments is started and, up to KILLS times per trial,
# killed again; the last resume runs to the end. After every kill it checks that
#   - no output exists under the final name, or, when the kill came after the checkpoint's
#     rename and before the state's removal, a whole one (the next --resume then only removes
#     the state: "OUT was written before the interruption"; when the state was removed too,
#     the run is complete and the trial ends there);
#   - the state folder OUT.quantize-state holds a usable prefix: every layer file and the
#     activations of the last complete layer open (quantbench-cli reads them on resume);
# and after the trial that
#   - every file of the checkpoint has the clean run's bytes (quantbench_report.json: the same
#     but for its "seconds" fields, which differ between any two runs);
#   - the state folder is gone.
#   scripts/resume_storm.sh [TRIALS (default 12)] [KILLS per trial (default 3)] [BUILD_DIR] [PLAN: gptq|rtn]
# Env: QB_STORM_SEED (RANDOM seed, default 17). Exits non-zero on any violation.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-12}"
kills="${2:-3}"
build="${3:-$here/build}"
method="${4:-gptq}"
cli="$build/app/cli/quantbench-cli"
model="$here/resources/models/stories260K"
calib="$here/resources/data/tinystories/calib.txt"
RANDOM="${QB_STORM_SEED:-17}"
[ -x "$cli" ] || { echo "resume_storm: $cli missing (build first)"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/qb-resume-storm.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "{\"default\":{\"method\":\"$method\",\"bits\":4,\"group_size\":32}}" >plan.json
qargs=(quantize --model "$model" --plan plan.json --calib "$calib" --calib-windows 64 --calib-ctx 256 --threads 1 --quiet)

same_checkpoint() {  # $1 $2: folders; equal bytes, the report equal without its times
  python3 - "$1" "$2" <<'PY'
import json, os, sys
a, b = sys.argv[1], sys.argv[2]
if sorted(os.listdir(a)) != sorted(os.listdir(b)): sys.exit("files differ: %s vs %s" % (os.listdir(a), os.listdir(b)))
def untimed(p):
    j = json.load(open(p)); j.pop("seconds", None)
    for m in j.get("modules", []): m.pop("seconds", None)
    return j
for f in os.listdir(a):
    x, y = os.path.join(a, f), os.path.join(b, f)
    if f == "quantbench_report.json":
        if untimed(x) != untimed(y): sys.exit(f + " differs")
    elif open(x, "rb").read() != open(y, "rb").read(): sys.exit(f + " differs")
PY
}
layers_in() {  # complete layers of a state folder: layer files 0..k-1 and hidden-(k-1)
  local k=0 usable=0
  while [ -f "$1/$(printf 'layer-%05d.safetensors' $k)" ]; do
    k=$((k + 1))
    [ -f "$1/$(printf 'hidden-%05d.safetensors' $((k - 1)))" ] && usable=$k
  done
  echo $usable
}

t0=$(date +%s%N)
"$cli" "${qargs[@]}" --out ref >/dev/null
dur=$(( ($(date +%s%N) - t0) / 1000000 ))
# The kill window of a run that starts with n layers done: its set-up (load, tokenize, fingerprint)
# plus the layers left, from a run stopped after layer 0 (the test-only hook) and the clean run.
t0=$(date +%s%N)
QB_TEST_STOP_AFTER_LAYER=0 "$cli" "${qargs[@]}" --out probe >/dev/null 2>&1 || true
first=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf probe probe.quantize-state
layers=5
per_layer=$(( (dur - first) / (layers - 1) ))
setup=$(( first - per_layer > 0 ? first - per_layer : 0 ))
echo "resume_storm: clean run $dur ms (set-up ~$setup ms, ~$per_layer ms per layer; $method w4 g32, 64 windows x 256 tokens, 1 thread); $trials trials, up to $kills kills each"

total_kills=0 violations=0 resumed_from_zero=0 finished_before_kill=0 after_write=0
declare -A at_layer
for ((t = 1; t <= trials; t++)); do
  rm -rf out out.quantize-state
  resume=()
  for ((k = 0; k <= kills; k++)); do
    "$cli" "${qargs[@]}" --out out "${resume[@]}" >/dev/null 2>"err.$k" &
    pid=$!
    if ((k < kills)); then
      sig=$([ $((RANDOM % 3)) -eq 0 ] && echo INT || echo KILL)
      done_now=$(layers_in out.quantize-state)
      delay=$(( RANDOM % (setup + per_layer * (layers - done_now) + 200) ))
      sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
      kill -s "$sig" "$pid" 2>/dev/null || true
    fi
    rc=0; { wait "$pid"; } 2>/dev/null || rc=$?
    resume=(--resume)
    if ((rc == 0)); then
      ((k < kills)) && finished_before_kill=$((finished_before_kill + 1))
      break
    fi
    if ((k == kills)); then echo "  trial $t: the last resume failed (rc $rc): $(cat "err.$k")"; violations=$((violations + 1)); break; fi
    total_kills=$((total_kills + 1))
    n=$(layers_in out.quantize-state)
    at_layer[$n]=$(( ${at_layer[$n]:-0} + 1 ))
    [ "$n" = 0 ] && resumed_from_zero=$((resumed_from_zero + 1))
    if [ -e out ]; then  # killed after the checkpoint's rename, before the state's removal: it must be whole
      after_write=$((after_write + 1))
      if ! why=$(same_checkpoint ref out 2>&1); then echo "  trial $t kill $k (SIG$sig at ${delay} ms): a partial out: $why"; violations=$((violations + 1)); fi
      [ -e out.quantize-state ] || break  # the state was removed too: only the exit was cut short, the run is done
    fi
  done
  if ! why=$(same_checkpoint ref out 2>&1); then
    echo "  trial $t: not the clean run's checkpoint: $why ($(cat err.* | tr '\n' ' '))"; violations=$((violations + 1))
  fi
  if [ -e out.quantize-state ]; then echo "  trial $t: the state folder survived the finished run"; violations=$((violations + 1)); fi
done

printf 'kills %d (state held after the kill: ' "$total_kills"
for n in $(echo "${!at_layer[@]}" | tr ' ' '\n' | sort -n); do printf '%s layers x%s, ' "$n" "${at_layer[$n]}"; done
printf '\b\b), killed after the checkpoint was written %d, runs that finished before their kill %d\n' "$after_write" "$finished_before_kill"
echo "resume_storm: $trials trials, $total_kills kills, $violations violations"
((violations == 0))
