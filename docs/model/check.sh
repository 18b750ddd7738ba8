#!/usr/bin/env bash
# docs/model/check.sh: exhaustive spin runs of docs/model/breaker.pml.
#
#   docs/model/check.sh              the runs below (the test: about 350 s of
#                                    CPU, 180 s on 2 lightly loaded cores)
#   docs/model/check.sh --extended   and 4 more runs with 3 threads, 3
#                                    more of the shared hold, 2 of the
#                                    probe slots with the operator and 4
#                                    of slow start's gate (about 290 s of
#                                    CPU more)
#   docs/model/check.sh --quick      2 threads only
#   docs/model/check.sh --mutant     only the mutants (each must be caught)
#   docs/model/check.sh --known-bug  only the reproductions of the known bugs
#
# Each run is `spin -a`, gcc on pan.c, then pan; exhaustive (no BITSTATE, no
# hash compaction; -DNOREDUCE because every step of the model touches shared
# state, so partial-order reduction removes nothing). A run that must pass
# needs "errors: 0", a full state-space search and no truncated depth; a run
# that must fail (a mutant, the known bug) needs pan to report the named
# property. Exits non-zero if any run does not do what it must.
#
# Environment: JOBS (pan runs at once; default: min(2, nproc)), MEMLIM (MB
# per pan; default 6144), KEEP=1 keeps the work directory.
set -euo pipefail

mode="${1:---all}"
case "$mode" in
  --all | --extended | --quick | --mutant | --known-bug) ;;
  -h | --help)
    sed -n '2,20p' "$0"
    exit 0
    ;;
  *)
    echo "check.sh: unknown mode '$mode' (--all, --extended, --quick, --mutant, --known-bug)" >&2
    exit 2
    ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
model="$here/breaker.pml"
for tool in spin gcc; do
  if ! command -v "$tool" >/dev/null; then
    echo "check.sh: '$tool' not found on PATH (apt-get install -y spin gcc)" >&2
    exit 2
  fi
done
[ -f "$model" ] || { echo "check.sh: $model not found" >&2; exit 2; }

work="$(mktemp -d -p "${TEST_TMPDIR:-${TMPDIR:-/tmp}}")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi

ncpu="$(nproc 2>/dev/null || echo 1)"
jobs="${JOBS:-$((ncpu < 2 ? ncpu : 2))}"
export MEMLIM="${MEMLIM:-6144}"

# The runs: name|expect|kind|threads|spin -D flags|story or O0
#   expect: pass, or the text pan must print (a violated property)
#   kind:   safety (-DSAFETY: assertions, invariants, invalid end states)
#           liveness (-DNP, pan -l -f: non-progress cycles under weak
#           fairness, plus the assertions and invariants)
#   story:  for a run that must fail, its counterexample to print (replayed
#           with TRACE=1): "shortest" (pan -i), "short" (pan -I), or the
#           last N events; for a run that must pass, O0: compile pan.c
#           with -O0 even for 3 threads (a small search), or deep: a 2-thread
#           search of millions of states, deeper than 2 million steps (as
#           3 threads: -O1, the depth limit and the hash size)
# Longest first, so that two workers finish together.
runs=()
add() { runs+=("$1"); }
t3=1 x3=0
[ "$mode" = --quick ] && t3=0
[ "$mode" = --extended ] && x3=1
if [ "$mode" = --all ] || [ "$mode" = --extended ] || [ "$mode" = --quick ]; then
  # With 3 threads the window bits and the operator together are too many
  # states for a test (README.md), so each 3-thread run leaves one out:
  # the trials, deadlines and operator without the window bits, or the
  # window bits without the operator. 2 threads have both.
  # The deadline fix: every invariant, I5 included, and no non-progress
  # cycle. One operator action, so it cannot mask one.
  [ $t3 = 1 ] && add "fixed-nowindow-liveness-3|pass|liveness|3|-DFIX_DEADLINE=1 -DWINDOW=0 -DNOPS=1"
  # The code as it is: every invariant, I5 too, and invalid end states, with
  # an operator acting any number of times (the liveness run above checks
  # the same invariants with one operator action).
  [ $x3 = 1 ] && add "code-nowindow-safety-3|pass|safety|3|-DWINDOW=0"
  # The window bits, no operator.
  [ $t3 = 1 ] && add "fixed-liveness-3|pass|liveness|3|-DFIX_DEADLINE=1 -DOPERATOR=0|O0"
  [ $t3 = 1 ] && add "code-safety-3|pass|safety|3|-DOPERATOR=0|O0"
  # Configuration variants: half_open_judge_by_rate, no
  # half_open_max_duration, and the defaults K = T = 1.
  [ $x3 = 1 ] && add "code-rate-safety-3|pass|safety|3|-DRATE=1 -DOPERATOR=0|O0"
  [ $x3 = 1 ] && add "code-nomaxdur-safety-3|pass|safety|3|-DHO_LIMIT=0 -DOPERATOR=0|O0"
  [ $x3 = 1 ] && add "code-k1t1-safety-3|pass|safety|3|-DK=1 -DT=1 -DOPERATOR=0|O0"
  # The shared hold (SHARED=1, README.md): a coordinator that toggles
  # sharing_, follows, reopens and lends trial slots, any number of times.
  # The operator and the coordinator together multiply the states, so:
  # I1-I11 with 2 threads and the window bits, no operator; with the
  # operator, 2 threads with K = T = 1 and no window bits, or 1 thread
  # with both; and no non-progress cycle once the coordinator, after 3
  # actions, lets go. --extended: the operator with K = T = 2 (no window
  # bits), RATE, HO_LIMIT=0.
  [ $x3 = 1 ] && add "shared-nowindow-operator-safety-2|pass|safety|2|-DSHARED=1 -DWINDOW=0|deep"
  add "shared-k1t1-operator-safety-2|pass|safety|2|-DSHARED=1 -DK=1 -DT=1 -DWINDOW=0|deep"
  add "shared-safety-2|pass|safety|2|-DSHARED=1 -DOPERATOR=0"
  add "shared-nowindow-liveness-2|pass|liveness|2|-DSHARED=1 -DNCOORD=3 -DOPERATOR=0 -DWINDOW=0"
  add "shared-operator-safety-1|pass|safety|1|-DSHARED=1"
  [ $x3 = 1 ] && add "shared-rate-safety-2|pass|safety|2|-DSHARED=1 -DRATE=1 -DOPERATOR=0"
  [ $x3 = 1 ] && add "shared-nomaxdur-safety-2|pass|safety|2|-DSHARED=1 -DHO_LIMIT=0 -DOPERATOR=0"
  # Both, with 2 threads (FIX_DEADLINE=1 is the default: the code).
  add "fixed-liveness-2|pass|liveness|2|-DFIX_DEADLINE=1 -DNOPS=1"
  add "code-safety-2|pass|safety|2|"
  add "code-rate-safety-2|pass|safety|2|-DRATE=1"
  add "code-nomaxdur-safety-2|pass|safety|2|-DHO_LIMIT=0"
  add "code-k1t1-safety-2|pass|safety|2|-DK=1 -DT=1"
  # The per-probe deadlines (PROBES=1, README.md): 2 probe slots, a reaper
  # any time, the clock's millisecond moving on; no operator and no window
  # bits (the operator multiplies the states by 20: --extended). Entries
  # never repeat (PROBE_UNIQUE=1, the default), as the code's claim stamps
  # make them; the first version, whose entries could, is the known bug below.
  add "probes-safety-2|pass|safety|2|-DPROBES=1 -DOPERATOR=0 -DWINDOW=0"
  add "probes-released-safety-2|pass|safety|2|-DPROBES=1 -DPROBE_RELEASED=1 -DOPERATOR=0 -DWINDOW=0"
  add "probes-rate-safety-2|pass|safety|2|-DPROBES=1 -DRATE=1 -DOPERATOR=0 -DWINDOW=0"
  [ $x3 = 1 ] && add "probes-released-operator-safety-2|pass|safety|2|-DPROBES=1 -DPROBE_RELEASED=1 -DWINDOW=0|deep"
  [ $x3 = 1 ] && add "probes-operator1-safety-2|pass|safety|2|-DPROBES=1 -DNOPS=1 -DWINDOW=0|deep"
  # Slow start's gate (RAMP=1, README.md): the verdict's close sets the
  # gate bit and stores the ramp's end; a gated admission sheds, draws or,
  # past the ramp, CASes the gate clear. I12-I18 and every invariant above,
  # with the operator and the window bits; no non-progress cycle (the
  # ramp never stalls CLOSED for good); under the shared hold (I10, I11;
  # no window bits) and with the probe slots, whose reaper's failure can
  # close by rate (P1-P4). --extended: RATE, K = T = 1, the shared hold
  # with the window bits, and 3 threads (no operator).
  [ $x3 = 1 ] && add "ramp-safety-3|pass|safety|3|-DRAMP=1 -DOPERATOR=0|O0"
  [ $x3 = 1 ] && add "shared-ramp-safety-2|pass|safety|2|-DSHARED=1 -DRAMP=1 -DOPERATOR=0"
  add "ramp-liveness-2|pass|liveness|2|-DRAMP=1 -DNOPS=1"
  add "ramp-safety-2|pass|safety|2|-DRAMP=1"
  add "shared-ramp-nowindow-safety-2|pass|safety|2|-DSHARED=1 -DRAMP=1 -DOPERATOR=0 -DWINDOW=0"
  add "probes-ramp-rate-safety-2|pass|safety|2|-DPROBES=1 -DRAMP=1 -DRATE=1 -DOPERATOR=0 -DWINDOW=0"
  [ $x3 = 1 ] && add "ramp-rate-safety-2|pass|safety|2|-DRAMP=1 -DRATE=1"
  [ $x3 = 1 ] && add "ramp-k1t1-safety-2|pass|safety|2|-DRAMP=1 -DK=1 -DT=1"
fi
if [ "$mode" != --mutant ]; then
  # The code before the fix, with I5 on: the stale deadline store
  # (README.md) must be found, and with it the breaker stuck OPEN for good.
  add "known-bug-deadline-2|I5_deadline_published_for_current_gen|safety|2|-DFIX_DEADLINE=0 -DCHECK_DEADLINE=1 -DOPERATOR=0 -DWINDOW=0|shortest"
  add "known-bug-stuck-open-2|non-progress cycle|liveness|2|-DFIX_DEADLINE=0 -DNOPS=1|14"
  # The probe slots as the first version had them (fixed with claim stamps):
  # the deadline read before the scan (PROBE_UNIQUE=0). A late trial frees
  # its successor's equal entry (P3).
  add "known-bug-probe-aba-2|P3_free_only_own_entry|safety|2|-DPROBES=1 -DPROBE_UNIQUE=0 -DPROBE_RELEASED=1 -DOPERATOR=0 -DWINDOW=0|short"
fi
if [ "$mode" != --known-bug ]; then
  # Deliberately broken protocols: each must be caught.
  add "mutant-1-slot-store|I3_in_flight_equals_live_trial_permits|safety|2|-DMUTANT=1 -DOPERATOR=0|short"
  add "mutant-2-edge-store|I7_one_edge_winner_per_open_gen|safety|2|-DMUTANT=2 -DOPERATOR=0|short"
  add "mutant-3-no-gen-check|I6_stale_outcome_never_changes_word|safety|2|-DMUTANT=3 -DOPERATOR=0|short"
  add "mutant-4-no-T-bound|I1_trial_counts_bounded|safety|2|-DMUTANT=4 -DOPERATOR=0|short"
  add "mutant-5-transition-keeps-window-bits|I8_window_bits_only_in_closed|safety|2|-DMUTANT=5 -DOPERATOR=0|short"
  add "mutant-6-window-bits-any-state|I8_window_bits_only_in_closed|safety|2|-DMUTANT=6 -DOPERATOR=0 -DCHECK_JUDGED=0|short"
  add "mutant-7-window-bits-any-gen|I9_bits_set_only_into_judged_gen|safety|2|-DMUTANT=7|short"
  # The shared hold's (SHARED=1): the coordinator takes only the few actions
  # each needs (NCOORD), so that the first counterexample pan finds is a
  # short one (pan -I would take 10 to 30 s here).
  add "mutant-8-shared-admission-ignores-lent-slots|I10_shared_trials_within_lent_slots|safety|2|-DSHARED=1 -DMUTANT=8 -DNCOORD=2 -DOPERATOR=0 -DWINDOW=0|20"
  add "mutant-9-lend-lowers-slots|I10_shared_trials_within_lent_slots|safety|2|-DSHARED=1 -DMUTANT=9 -DNCOORD=4 -DOPERATOR=0 -DWINDOW=0|20"
  add "mutant-10-leaving-shared-keeps-half-open|I4_released_half_open_admits_next|safety|2|-DSHARED=1 -DMUTANT=10 -DNCOORD=3 -DOPERATOR=0 -DWINDOW=0|20"
  add "mutant-11-shared-trial-verdict|I11_shared_state_moves_only_by_coordinator|safety|2|-DSHARED=1 -DMUTANT=11 -DNCOORD=3 -DOPERATOR=0 -DWINDOW=0|20"
  # The probe slots' (PROBES=1).
  add "mutant-12-free-after-count|P2_reaped_trial_gives_nothing_back|safety|2|-DPROBES=1 -DMUTANT=12 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-13-reaper-plain-store|I3_in_flight_equals_live_trial_permits|safety|2|-DPROBES=1 -DMUTANT=13 -DPROBE_RELEASED=1 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-14-claim-current-gen-slot|P4_claim_never_takes_current_gen_slot|safety|2|-DPROBES=1 -DMUTANT=14 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-15-late-trial-ignores-free|P2_reaped_trial_gives_nothing_back|safety|2|-DPROBES=1 -DMUTANT=15 -DOPERATOR=0 -DWINDOW=0|short"
  # Slow start's gate's (RAMP=1). K = T = 1 (one trial closes) and, but for
  # mutant 16 (the window bits it drops), no window bits: short stories.
  add "mutant-16-gate-clear-drops-window-bits|I17_window_bits_change_only_by_set_serve|safety|2|-DRAMP=1 -DMUTANT=16 -DK=1 -DT=1 -DOPERATOR=0|short"
  add "mutant-17-transition-keeps-gate|I12_gate_only_in_closed|safety|2|-DRAMP=1 -DMUTANT=17 -DK=1 -DT=1 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-18-outcome-compares-gate|I16_current_gen_outcome_counted|safety|2|-DRAMP=1 -DMUTANT=18 -DK=1 -DT=1 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-19-reset-sets-gate|I13_gate_set_only_by_verdict_close|safety|2|-DRAMP=1 -DMUTANT=19 -DK=1 -DT=1 -DWINDOW=0|short"
  add "mutant-20-gate-clear-flips-and-retries|I14_gate_never_set_again_in_gen|safety|2|-DRAMP=1 -DMUTANT=20 -DK=1 -DT=1 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-21-shed-stores-ramp-end|I15_shed_changes_no_word|safety|2|-DRAMP=1 -DMUTANT=21 -DK=1 -DT=1 -DOPERATOR=0 -DWINDOW=0|short"
  add "mutant-22-gate-ignores-deadline-tag|I18_gate_cleared_only_past_its_ramp|safety|2|-DRAMP=1 -DMUTANT=22 -DK=1 -DT=1 -DOPERATOR=0 -DWINDOW=0|short"
fi

# One run, in its own directory; writes $dir/result (a single line).
run_one() {
  local spec="$1" model="$2" work="$3"
  local name expect kind threads defines tell
  IFS='|' read -r name expect kind threads defines tell <<<"$spec"
  local dir="$work/$name"
  mkdir -p "$dir"
  cp "$model" "$dir/breaker.pml"
  cd "$dir"
  # Compiling pan.c costs more than optimising it saves, except a little
  # for the searches of millions of states: 2 threads (a second of search
  # at most) -O0; 3 threads -O1 (-O2 compiles for 20 s more and saves 10).
  local depth=2000000 hash=22 opt=-O0
  if [ "$threads" -ge 3 ]; then depth=10000000 hash=26 opt=-O1; fi
  if [ "$tell" = O0 ]; then opt=-O0 tell=; fi
  if [ "$tell" = deep ]; then depth=10000000 hash=24 opt=-O1 tell=; fi
  local cflags=("$opt" -w -DNOREDUCE "-DMEMLIM=$MEMLIM") panflags=("-m$depth" "-w$hash")
  if [ "$kind" = liveness ]; then
    cflags+=(-DNP -DNFAIR=3)
    panflags+=(-l -f)
  else
    cflags+=(-DSAFETY)
  fi
  local extra=() sflags
  read -r -a extra <<<"$defines"
  sflags=("-DTHREADS=$threads" ${extra[@]+"${extra[@]}"})
  if [ "$expect" != pass ]; then
    sflags+=(-DTRACE=1)   # printfs for the replay; pan prints none
  fi
  case "$tell" in
    shortest) cflags+=(-DREACH) panflags+=(-i) ;; # search on for the shortest counterexample
    short) cflags+=(-DREACH) panflags+=(-I) ;;    # the same, approximately
  esac
  local start end
  start=$(date +%s.%N)
  if ! spin -a "${sflags[@]}" breaker.pml >spin.out 2>&1; then
    echo "FAIL $name: spin -a failed: $(tr '\n' ' ' <spin.out)" >result
    return
  fi
  if ! gcc "${cflags[@]}" -o pan pan.c >gcc.out 2>&1; then
    echo "FAIL $name: gcc failed: $(head -c 600 gcc.out | tr '\n' ' ')" >result
    return
  fi
  ./pan "${panflags[@]}" >pan.out 2>&1 || true
  end=$(date +%s.%N)
  local secs states trans depthr errors
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  states=$(awk '/states, stored/ { print $1; exit }' pan.out)
  trans=$(awk '/transitions \(= / { print $1; exit }' pan.out)
  depthr=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.out | head -1)
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -1)
  local figures="states stored=${states:-?} transitions=${trans:-?} depth=${depthr:-?} ${secs}s"
  local what
  what=$(grep -m1 -E '^pan:[0-9]+: (assertion violated|non-progress cycle|acceptance cycle|invalid end state)' pan.out |
    sed -e 's/^pan:[0-9]*: *//' -e 's/ (at depth [0-9]*)//' || true)
  if [ "$expect" = pass ]; then
    if [ "$errors" = 0 ] && grep -q 'Full statespace search' pan.out &&
      ! grep -qE 'max search depth too small|out of memory|aborted' pan.out; then
      echo "ok   $name: errors: 0, $figures" >result
    else
      local why="${what:-see pan output}"
      grep -q 'max search depth too small' pan.out && why="max search depth too small (search truncated)"
      grep -qE 'out of memory' pan.out && why="out of memory (raise MEMLIM)"
      echo "FAIL $name: expected errors: 0, got errors: ${errors:-?} ($why), $figures" >result
    fi
  else
    if [ -n "$errors" ] && [ "$errors" -gt 0 ] && [[ "$what" == *"$expect"* ]]; then
      echo "ok   $name: caught as expected ($what), $figures" >result
      if [ -n "$tell" ] && [ -f breaker.pml.trail ]; then
        spin -T -t "${sflags[@]}" breaker.pml 2>&1 |
          grep -E '^(thread [0-9]|clock|tick|reaper|operator|coordinator|<<<<<START OF CYCLE)' >story.all || true
        case "$tell" in
          short*) cp story.all story ;;
          *) tail -n "$tell" story.all >story ;;
        esac
      fi
    else
      echo "FAIL $name: expected pan to report '$expect', got errors: ${errors:-?} (${what:-nothing}), $figures" >result
    fi
  fi
}
export -f run_one

echo "spin: $(spin -V 2>&1 | head -1); gcc: $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
echo "model: $model; ${#runs[@]} runs, $jobs at a time"
t0=$(date +%s)
# shellcheck disable=SC2016 # $1.. are bash -c's arguments
printf '%s\0' "${runs[@]}" |
  xargs -0 -P "$jobs" -I{} bash -c 'run_one "$1" "$2" "$3"' _ {} "$model" "$work"  || true

# Report in the order of the table above.
fail=0
for spec in "${runs[@]}"; do
  name="${spec%%|*}"
  if [ -f "$work/$name/result" ]; then
    line="$(cat "$work/$name/result")"
  else
    line="FAIL $name: no result"
  fi
  echo "$line"
  if [ -s "$work/$name/story" ]; then
    if [ "$(wc -l <"$work/$name/story")" -lt "$(wc -l <"$work/$name/story.all")" ]; then
      echo "    | ... (the counterexample's last $(wc -l <"$work/$name/story") events)"
    fi
    sed 's/^/    | /' "$work/$name/story"
  fi
  case "$line" in FAIL*)
    fail=1
    [ -f "$work/$name/pan.out" ] && sed -n '1,40p' "$work/$name/pan.out" | sed 's/^/    | /'
    ;;
  esac
done

echo "total $(($(date +%s) - t0))s"
if [ $fail != 0 ]; then
  echo "check.sh: FAILED" >&2
  exit 1
fi
echo "check.sh: all runs did what they must"
