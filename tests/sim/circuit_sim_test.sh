#!/usr/bin/env bash
# circuit_sim end to end, as a user runs it: generate a trace, replay it
# through configs from flags, a file and a sweep, write the timeline and the
# plot (a real PNG, drawn by Debian's python3-matplotlib); then every kind of
# bad input must exit 1 with one line naming what is wrong (file and line
# for a bad trace line) and write no output file at all.
set -uo pipefail

sim="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-circuit}/tools/sim/circuit_sim"
[[ -x "$sim" ]] || sim="bazel-bin/tools/sim/circuit_sim"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/circuit_sim_test.XXXXXX")"
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { checks=$((checks + 1)); }

# expect_error NAME MESSAGE ARGS...: circuit_sim ARGS exits 1, its standard
# error contains MESSAGE, and no file appeared in $work/out.
expect_error() {
  local name=$1 message=$2
  shift 2
  rm -rf "$work/out" && mkdir -p "$work/out"
  "$sim" "$@" >"$work/stdout" 2>"$work/stderr"
  local status=$?
  if [[ $status -ne 1 ]]; then
    fail "$name: exit $status, expected 1"
  elif ! grep -qF -- "$message" "$work/stderr"; then
    fail "$name: stderr lacks '$message': $(cat "$work/stderr")"
  elif [[ -n "$(ls -A "$work/out")" ]]; then
    fail "$name: left files behind: $(ls -A "$work/out")"
  else
    pass
  fi
}

# ---- generate ------------------------------------------------------------------
"$sim" generate --scenario=outage --duration=5m --rate=100 --seed=3 --out="$work/outage.csv" ||
  fail "generate exited $?"
head -1 "$work/outage.csv" | grep -q '^# a synthetic trace' || fail "the trace has no header"
grep -q '^# outage 60 90$' "$work/outage.csv" || fail "the outage is not annotated"
lines=$(grep -c '^[0-9]' "$work/outage.csv")
# 5 minutes at 100 calls/s: 30,000 calls, give or take a Poisson spread.
if ((lines < 29000 || lines > 31000)); then fail "generated $lines calls, expected about 30000"; else pass; fi
"$sim" generate --scenario=outage --duration=5m --rate=100 --seed=3 >"$work/again.csv"
cmp -s "$work/outage.csv" "$work/again.csv" && pass || fail "the same seed gave another trace"

# ---- replay: one config from flags -----------------------------------------------------
"$sim" replay --trace="$work/outage.csv" --failure_rate_threshold=30 --minimum_calls=20 \
  --window_type=time --window_duration=10s --open_duration=5s >"$work/flags.txt" 2>"$work/err.txt" ||
  fail "replay from flags exited $?: $(cat "$work/err.txt")"
grep -q '^config flags: failure_rate_threshold=30 window_type=time window_duration=10s minimum_calls=20 open_duration=5s$' \
  "$work/flags.txt" && pass || fail "the config line is wrong: $(grep '^config' "$work/flags.txt")"
grep -q '2 outage(s), annotated' "$work/flags.txt" && pass || fail "the outages were not read"
grep -q 'outages opened for *2 of 2' "$work/flags.txt" && pass || fail "30 %: it did not open for both outages (the second fails 40 %)"
grep -q 'million lines a minute' "$work/err.txt" && pass || fail "no throughput line"

# ---- replay: a config file, a sweep, the timeline and the plot ----------------------------
cat >"$work/tuning.cfg" <<'EOF'
minimum_calls = 20
[fast]
failure_rate_threshold = 50
open_duration = 5s
[slow-to-open]
consecutive_failures_to_open = 50
EOF
"$sim" replay --trace="$work/outage.csv" --config="$work/tuning.cfg" --timeline="$work/timeline.csv" \
  --plot="$work/plot.png" >"$work/file.txt" 2>"$work/err.txt" ||
  fail "replay from a file exited $?: $(cat "$work/err.txt")"
grep -qE '^ +fast +slow-to-open$' "$work/file.txt" && pass || fail "the configs are not side by side"
head -1 "$work/timeline.csv" | grep -q '^seconds,calls,failure_pct,slow_pct,unhealthy,state:fast,rejected_per_s:fast,state:slow-to-open,rejected_per_s:slow-to-open$' &&
  pass || fail "timeline header: $(head -1 "$work/timeline.csv")"
# One line a second of the 5-minute trace, plus the header.
rows=$(wc -l <"$work/timeline.csv")
((rows >= 300 && rows <= 302)) && pass || fail "timeline has $rows lines"
grep -q ',OPEN,' "$work/timeline.csv" && pass || fail "the timeline never shows OPEN"
if [[ "$(head -c 8 "$work/plot.png" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] &&
  (($(stat -c %s "$work/plot.png") > 10000)); then
  pass
else
  fail "plot.png is not a PNG of a plot"
fi
ls -A "$work" | grep -q '^\.' && fail "a temporary file was left: $(ls -A "$work" | grep '^\.')"

"$sim" replay --trace="$work/outage.csv" --config="$work/tuning.cfg" \
  --sweep=open_duration=1s,10s,1m >"$work/sweep.txt" 2>/dev/null || fail "sweep exited $?"
grep -qF 'fast open_duration=1s' "$work/sweep.txt" && grep -qF 'slow-to-open open_duration=1m' "$work/sweep.txt" &&
  pass || fail "the sweep did not make 6 configs"

# The trace from standard input, the outages given by flag.
"$sim" replay --trace=- --known_outages=60s+30s <"$work/outage.csv" >"$work/stdin.txt" 2>/dev/null ||
  fail "replay from stdin exited $?"
grep -q '1 outage(s), given' "$work/stdin.txt" && pass || fail "--known_outages was not used"

# Retry-After: a throttled trace, replayed honouring it and ignoring it.
"$sim" generate --scenario=steady --duration=2m --rate=50 --throttled=30s+30s@10s --out="$work/throttled.csv" ||
  fail "generate --throttled exited $?"
grep -q ',failure,[0-9.]*,10000.000000$' "$work/throttled.csv" && pass || fail "no retry-after in the trace"
"$sim" replay --trace="$work/throttled.csv" --retry_after=compare --max_transitions=1 \
  >"$work/retry.txt" 2>/dev/null || fail "replay --retry_after=compare exited $?"
grep -qE '^ +flags +flags ignoring Retry-After$' "$work/retry.txt" && pass ||
  fail "compare did not put both side by side"
grep -q 'CLOSED    -> OPEN       RETRY_AFTER (10s asked)' "$work/retry.txt" && pass ||
  fail "the honouring config did not open for the wait asked"

# Slow start: a sweep with it off and on. Only a report with a ramping
# config has the shed row; the ramp's draws are seeded, so a second run
# prints the same report.
grep -q 'shed while CLOSED' "$work/flags.txt" && fail "a report without slow start or throttling has a shed row" || pass
"$sim" replay --trace="$work/outage.csv" --open_duration=5s --sweep=slow_start_duration=0,10s \
  >"$work/ramp.txt" 2>/dev/null || fail "replay --sweep=slow_start_duration exited $?"
grep -q '^config slow_start_duration=10s: open_duration=5s slow_start_duration=10s$' "$work/ramp.txt" &&
  pass || fail "the slow start config line is wrong: $(grep '^config' "$work/ramp.txt")"
grep -qE '^  shed while CLOSED +0 +[1-9][0-9]*$' "$work/ramp.txt" && pass ||
  fail "no calls shed by the ramp: $(grep -A1 'while healthy' "$work/ramp.txt" | head -2)"
"$sim" replay --trace="$work/outage.csv" --open_duration=5s --sweep=slow_start_duration=0,10s \
  >"$work/ramp_again.txt" 2>/dev/null
cmp -s "$work/ramp.txt" "$work/ramp_again.txt" && pass || fail "slow start shed other calls the second time"

# Adaptive throttling: a sweep with it off and on, over a time window. The
# only trip is 1,000 failures in a row (10 s of the total outage): the
# throttle sheds calls while CLOSED before that many get through, so the
# throttled config never opens. The same row counts them, and its draws
# are seeded too.
"$sim" replay --trace="$work/outage.csv" --consecutive_failures_to_open=1000 --window_type=time \
  --window_duration=10s --sweep=adaptive_throttling=false,true >"$work/throttle.txt" 2>/dev/null ||
  fail "replay --sweep=adaptive_throttling exited $?"
grep -q '^config adaptive_throttling=true: consecutive_failures_to_open=1000 window_type=time window_duration=10s adaptive_throttling=true$' \
  "$work/throttle.txt" && pass || fail "the throttling config line is wrong: $(grep '^config' "$work/throttle.txt")"
grep -qE '^  shed while CLOSED +0 +[1-9][0-9]*$' "$work/throttle.txt" && pass ||
  fail "no calls throttled: $(grep -A1 'while healthy' "$work/throttle.txt" | head -2)"
grep -qE '^openings +1 +0$' "$work/throttle.txt" && pass ||
  fail "expected one opening without throttling, none with: $(grep '^openings' "$work/throttle.txt")"
"$sim" replay --trace="$work/outage.csv" --consecutive_failures_to_open=1000 --window_type=time \
  --window_duration=10s --sweep=adaptive_throttling=false,true >"$work/throttle_again.txt" 2>/dev/null
cmp -s "$work/throttle.txt" "$work/throttle_again.txt" && pass || fail "throttling shed other calls the second time"

# The latency-percentile trip: a sweep of the percentile over a slow
# episode (the median at 1 s for 30 s). Both the p50 and the p99 open, each
# opening by the percentile; the row that counts openings by cause appears
# only in a report with the trip, and the timeline's slow share defaults to
# the percentile's threshold when no config judges slow calls.
"$sim" generate --scenario=steady --duration=2m --rate=100 --seed=3 --slow=30s+30s@1s \
  --out="$work/slow.csv" || fail "generate --slow exited $?"
"$sim" replay --trace="$work/slow.csv" --window_type=time --window_duration=10s --minimum_calls=20 \
  --latency_percentile_threshold=500ms --sweep=latency_percentile=50,99 --max_transitions=1 --timeline="$work/latency.csv" \
  >"$work/latency.txt" 2>/dev/null || fail "replay --sweep=latency_percentile exited $?"
grep -q '^config latency_percentile=99: latency_percentile=99 latency_percentile_threshold=500ms window_type=time window_duration=10s minimum_calls=20$' \
  "$work/latency.txt" && pass || fail "the latency config line is wrong: $(grep '^config' "$work/latency.txt")"
grep -qE '^  by cause +LATENCY_PERCENTILE [1-9][0-9]* +LATENCY_PERCENTILE [1-9][0-9]*$' "$work/latency.txt" &&
  pass || fail "openings not counted by cause: $(grep -A1 '^openings' "$work/latency.txt")"
grep -qE 'CLOSED    -> OPEN       LATENCY_PERCENTILE \(p99 [0-9.]+m?s, threshold 500ms\)$' "$work/latency.txt" &&
  pass || fail "no latency-percentile opening listed: $(grep LATENCY_PERCENTILE "$work/latency.txt")"
grep -q 'by cause' "$work/flags.txt" && fail "a report without the percentile trip has a by-cause row" || pass
awk -F, 'NR > 1 && $4 > 50 { found = 1 } END { exit !found }' "$work/latency.csv" && pass ||
  fail "the timeline's slow share is not over the percentile's threshold"

# ---- bad input: exit 1, a clear message, nothing written ------------------------------
out="$work/out"
printf '0,ok,1\n1,ok,1\n0.5,ok,1\n' >"$work/unsorted.csv"
expect_error "unsorted" "unsorted.csv:3: the timestamp 0.5 is before the previous line's 1" \
  replay --trace="$work/unsorted.csv" --plot="$out/p.png" --timeline="$out/t.csv"
printf '0,ok,1\n1,ok\n' >"$work/short.csv"
expect_error "malformed" "short.csv:2: 2 fields: expected timestamp,outcome,latency" \
  replay --trace="$work/short.csv" --plot="$out/p.png"
printf '# start 0\n0,ok,1\n\n1,maybe,1\n' >"$work/outcome.csv"
expect_error "unknown outcome" "outcome.csv:4: bad outcome 'maybe'" \
  replay --trace="$work/outcome.csv" --timeline="$out/t.csv"
printf '0,ok,-1\n' >"$work/latency.csv"
expect_error "negative latency" "latency.csv:1: bad latency '-1'" replay --trace="$work/latency.csv"
printf '# nothing\n' >"$work/empty.csv"
expect_error "no calls" "no calls in the trace" replay --trace="$work/empty.csv" --plot="$out/p.png"
expect_error "missing trace" "cannot read $work/missing.csv" replay --trace="$work/missing.csv"
expect_error "no trace flag" "replay needs --trace" replay
expect_error "bad field flag" "--window_size: expected an integer, got 'ten'" \
  replay --trace="$work/outage.csv" --window_size=ten --plot="$out/p.png"
expect_error "slow start flag" "--slow_start_duration: expected a duration with its unit" \
  replay --trace="$work/outage.csv" --slow_start_duration=20 --plot="$out/p.png"
expect_error "slow start range" "config 'flags': BreakerConfig.slow_start_duration" \
  replay --trace="$work/outage.csv" --slow_start_duration=25h --timeline="$out/t.csv"
expect_error "throttling flag" "--adaptive_throttling: expected true or false, got 'on'" \
  replay --trace="$work/outage.csv" --window_type=time --adaptive_throttling=on --plot="$out/p.png"
expect_error "throttling needs a time window" "config 'flags': BreakerConfig.adaptive_throttling must be" \
  replay --trace="$work/outage.csv" --adaptive_throttling=true --timeline="$out/t.csv"
expect_error "throttling K range" "config 'flags': BreakerConfig.adaptive_throttling_k must be in 1..100, got 200" \
  replay --trace="$work/outage.csv" --window_type=time --adaptive_throttling=true \
  --adaptive_throttling_k=200 --plot="$out/p.png"
expect_error "percentile flag" "--latency_percentile: expected a number, got 'p99'" \
  replay --trace="$work/outage.csv" --window_type=time --latency_percentile=p99 --plot="$out/p.png"
expect_error "percentile needs a time window" "config 'flags': BreakerConfig.latency_percentile must be 0 unless window_type is kTimeBased" \
  replay --trace="$work/outage.csv" --latency_percentile=99 --latency_percentile_threshold=250ms \
  --timeline="$out/t.csv"
expect_error "percentile threshold" "config 'flags': BreakerConfig.latency_percentile_threshold must be in 1us..100s" \
  replay --trace="$work/outage.csv" --window_type=time --latency_percentile=99 --plot="$out/p.png"
expect_error "invalid config" "config 'flags': BreakerConfig.window_size must be in 1..1000000, got 0" \
  replay --trace="$work/outage.csv" --window_size=0
expect_error "no trip condition" "MetricsOnly" \
  replay --trace="$work/outage.csv" --consecutive_failures_to_open=0
printf '[a]\nwindow_size = 5\n[a]\n' >"$work/dup.cfg"
expect_error "config file" "dup.cfg:3: a second section 'a'" \
  replay --trace="$work/outage.csv" --config="$work/dup.cfg"
expect_error "sweep" "--sweep: expected KEY=V1,V2" replay --trace="$work/outage.csv" --sweep=open_duration
expect_error "sweep value" "--sweep: open_duration: expected a duration" \
  replay --trace="$work/outage.csv" --sweep=open_duration=1s,soon
expect_error "bucket" "the bucket must be at least 1ms" \
  replay --trace="$work/outage.csv" --bucket=10us --timeline="$out/t.csv"
expect_error "no python" "drawing $out/p.png failed" \
  replay --trace="$work/outage.csv" --plot="$out/p.png" --python=/bin/false
expect_error "bucket flag" "--bucket: expected a duration with its unit (e.g. 10m, 250ms), got 'soon'" \
  replay --trace="$work/outage.csv" --bucket=soon --timeline="$out/t.csv"
expect_error "rate flag" "--rate: expected a number, got 'fast'" generate --rate=fast --out="$out/t.csv"
expect_error "retry_after flag" "--retry_after: expected honor, ignore or compare, got 'maybe'" \
  replay --trace="$work/outage.csv" --retry_after=maybe --timeline="$out/t.csv"
printf '0,ok,1,30s\n' >"$work/retry_ok.csv"
expect_error "retry_after on a success" "retry_ok.csv:1: a retry_after on a call that did not fail" \
  replay --trace="$work/retry_ok.csv"
expect_error "throttled" "throttled '1m+1m': expected START+LENGTH@WAIT[@RATE]" \
  generate --throttled=1m+1m --out="$out/t.csv"
expect_error "duration flag" "--duration must be in (0, 31 days], got -1m" generate --duration=-1m --out="$out/t.csv"
expect_error "scenario" "no scenario 'chaos'" generate --scenario=chaos --out="$out/t.csv"
expect_error "episode" "outage '9m': expected START+LENGTH[@RATE]" generate --outage=9m --out="$out/t.csv"
expect_error "episode outside" "within the trace's duration" generate --outage=9m+2m@50 --out="$out/t.csv"
expect_error "rate" "calls_per_second must be in (0, 10,000,000], got 0" generate --rate=0 --out="$out/t.csv"
expect_error "unwritable" "cannot write /nonexistent/t.csv" generate --out=/nonexistent/t.csv
expect_error "no command" "circuit_sim generate" frobnicate

echo "circuit_sim: $checks checks passed, $failures failed"
rm -rf "$work"
[[ $failures -eq 0 ]]
