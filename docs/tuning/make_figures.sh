#!/usr/bin/env bash
# Regenerates the traces, outputs and figures that docs/tuning.md shows,
# with circuit_sim. Deterministic: the same seeds give the same files.
#   docs/tuning/make_figures.sh            (from the repository's root)
# //docs:tuning_outputs_test runs it into a temporary directory and checks
# that the committed outputs are what the tool prints today.
set -euo pipefail
sim="${CIRCUIT_SIM:-}"
if [[ -z "$sim" ]]; then
  ./bazelw build //tools/sim:circuit_sim >&2
  sim="$(pwd)/bazel-bin/tools/sim/circuit_sim"
fi
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"          # where the outputs go
plots="${PLOTS:-1}"        # 0: text outputs only (the test)
out="$(cd "$out" && pwd)"
traces="$(mktemp -d)"
trap 'rm -rf "$traces"' EXIT
# Traces are named relative to their directory, so the outputs do not
# depend on where they were written.
cd "$traces"
cp "$here/three.cfg" .

plot() { if [[ "$plots" == 1 ]]; then echo "--plot=$out/$1"; fi; }

# 1. Three configs on the mixed trace: an outage, a slow period, flapping.
"$sim" generate --scenario=mixed --seed=1 --out=mixed.csv
"$sim" replay --trace="mixed.csv" --config=three.cfg --max_transitions=6 \
  $(plot mixed.png) >"$out/mixed.txt" 2>/dev/null

# 2. A healthy dependency with 5 % background errors at 20 calls/s: how
#    small a window is too small (every opening is a false alarm).
"$sim" generate --scenario=steady --rate=20 --error_rate=5 --duration=1h --seed=2 \
  --out="steady.csv"
"$sim" replay --trace="steady.csv" --failure_rate_threshold=25 --minimum_calls=5 \
  --open_duration=10s --sweep=window_size=5,10,20,50 --max_transitions=0 \
  $(plot steady.png) >"$out/steady.txt" 2>/dev/null

# 3. A flapping dependency (down 10 s, up 10 s for 4 minutes): open
#    periods with and without backoff.
"$sim" generate --scenario=flapping --seed=3 --out="flapping.csv"
"$sim" replay --trace="flapping.csv" --failure_rate_threshold=50 --window_type=time \
  --window_duration=5s --minimum_calls=20 --open_duration=5s --max_open_duration=2m \
  --sweep=open_backoff_multiplier=1,2,4 --max_transitions=0 \
  $(plot flapping.png) >"$out/flapping.txt" 2>/dev/null

# 4. Latency rising to a 2 s median for 2 minutes: slow-call thresholds.
"$sim" generate --scenario=slow --seed=4 --out="slow.csv"
"$sim" replay --trace="slow.csv" --slow_call_rate_threshold=50 --window_type=time \
  --window_duration=10s --minimum_calls=20 --open_duration=5s \
  --sweep=slow_call_duration=250ms,1s,5s --max_transitions=0 \
  $(plot slow.png) >"$out/slow.txt" 2>/dev/null

# 5. Throttling: half the calls answered "retry after 20 s" for 3 minutes,
#    replayed honouring the Retry-After (Permit::FailureRetryAfter()) and
#    ignoring it (a plain failure), side by side.
"$sim" generate --scenario=throttled --seed=5 --out=throttled.csv
"$sim" replay --trace=throttled.csv --failure_rate_threshold=50 --window_type=time \
  --window_duration=10s --minimum_calls=20 --open_duration=5s --retry_after=compare \
  --max_transitions=4 $(plot throttled.png) >"$out/throttled.txt" 2>/dev/null

# 6. Calls that hang: for 90 s every call fails after 30 s (a client
#    timeout), and the only probe a HALF_OPEN admits hangs with them.
#    Per-probe deadlines (half_open_probe_timeout) off and at 2 s. The
#    trace is the steady one with that stretch rewritten.
"$sim" generate --scenario=steady --duration=5m --seed=6 --out=steady5m.csv
awk -F, 'BEGIN { OFS = "," }
  /^# start/ { print; print "# outage 60 150"; next }
  /^#/ || /^timestamp/ { print; next }
  { if ($1 + 0 >= 60 && $1 + 0 < 150) { $2 = "failure"; $3 = "30000" } print }' \
  steady5m.csv >hung.csv
"$sim" replay --trace=hung.csv --open_duration=5s --sweep=half_open_probe_timeout=0,2s \
  --max_transitions=7 $(plot hung.png) >"$out/hung.txt" 2>/dev/null

# 7. A dependency that recovers gradually: every call fails from 60 s to
#    90 s, then the share of calls that fail falls linearly, from all of
#    them at 90 s to the background rate at 130 s. Slow start
#    (slow_start_duration) off and at 20 s. The trace is the steady one
#    with that stretch rewritten; whether a call of the recovery fails is
#    drawn from the sub-millisecond digits of its start time, so the trace
#    is the same with any awk.
"$sim" generate --scenario=steady --duration=3m --seed=7 --out=steady3m.csv
awk -F, 'BEGIN { OFS = "," }
  /^# start/ { print; print "# outage 60 130"; next }
  /^#/ || /^timestamp/ { print; next }
  { t = $1 + 0
    failing = t < 60 ? 0 : t < 90 ? 1 : t < 130 ? (130 - t) / 40 : 0
    if (($1 * 1000) % 1 < failing) $2 = "failure"
    print }' \
  steady3m.csv >rampup.csv
"$sim" replay --trace=rampup.csv --open_duration=5s --sweep=slow_start_duration=0,20s \
  --max_transitions=0 $(plot rampup.png) >"$out/rampup.txt" 2>/dev/null

# 8. A dependency that fails a growing share of calls, whatever the load
#    (replicas failing one by one): from 60 s the share rises linearly to
#    70 % at 120 s, stays there until 210 s, then the dependency is healthy
#    again. The config opens only on 20 failures in a row (a hard outage);
#    adaptive throttling off and on. The trace is a steady one with that
#    stretch rewritten, drawn as in experiment 7.
"$sim" generate --scenario=steady --duration=5m --seed=8 --out=steady5m8.csv
awk -F, 'BEGIN { OFS = "," }
  /^# start/ { print; print "# outage 60 210"; next }
  /^#/ || /^timestamp/ { print; next }
  { t = $1 + 0
    failing = t < 60 ? 0 : t < 120 ? (t - 60) / 60 * 0.7 : t < 210 ? 0.7 : 0
    if (($1 * 1000) % 1 < failing) $2 = "failure"
    print }' \
  steady5m8.csv >partial.csv
"$sim" replay --trace=partial.csv --consecutive_failures_to_open=20 --window_type=time \
  --window_duration=10s --open_duration=5s --sweep=adaptive_throttling=false,true \
  --max_transitions=0 $(plot partial.png) >"$out/partial.txt" 2>/dev/null

# 9. A slow tail: from 60 s to 210 s, 3 % of the calls (drawn as in
#    experiment 7) take longer, by 20 ms at 60 s rising steadily to 800 ms
#    at 120 s, and by 800 ms until 210 s; the error rate and the other
#    97 % are untouched. The healthy latency is 10 ms median, 20 ms p99.
#    A slow-call rate, a p99 and a p50 (tail.cfg); the plot's slow-call
#    rate is the share of calls over the p99's 250 ms.
"$sim" generate --scenario=steady --duration=5m --latency=10ms --latency_p99=20ms --seed=9 \
  --out=steady5m9.csv
cp "$here/tail.cfg" .
awk -F, 'BEGIN { OFS = "," }
  /^# start/ { print; print "# outage 60 210"; next }
  /^#/ || /^timestamp/ { print; next }
  { t = $1 + 0
    if (t >= 60 && t < 210 && ($1 * 1000) % 1 < 0.03) {
      $3 = sprintf("%.6f", $3 + (t < 120 ? 20 + (t - 60) / 60 * 780 : 800))
    }
    print }' \
  steady5m9.csv >tail.csv
"$sim" replay --trace=tail.csv --config=tail.cfg --unhealthy_latency=250ms --max_transitions=6 \
  $(plot tail.png) >"$out/tail.txt" 2>/dev/null
