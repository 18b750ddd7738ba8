#!/usr/bin/env bash
# examples/gateway.cc for real: run to its end on a free loopback port,
# scraped with curl (a real HTTP client) while it runs. Checks that both
# breakers (gRPC and HTTP) opened and closed again, from the transition
# lines; that the HTTP one honoured a Retry-After; that the calls the
# breakers rejected never reached the servers (each server received at
# most the calls its client sent); that /healthz went degraded and healthy
# again; that /metrics has both breakers' state series and passes
# promtool; and that it exits 0 (a sanitizer's report would make it
# non-zero).
set -uo pipefail

gateway="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-circuit}/examples/gateway"
[[ -x "$gateway" ]] || gateway="bazel-bin/examples/gateway"
work="${TEST_TMPDIR:-$(mktemp -d)}"
log="$work/gateway.log"
failures=0
pid=""

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
trap 'if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null; fi' EXIT

for tool in curl promtool; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (./bazelw installs it)" >&2; exit 1; }
done

# ---- run it: 8 s of script, on a port of the kernel's choosing ----------
"$gateway" --port=0 --port_file="$work/port" --run_for_seconds=8 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ -s "$work/port" ]] && break
  sleep 0.1
done
port="$(cat "$work/port" 2>/dev/null)"
[[ -n "$port" ]] || { fail "the gateway did not listen"; cat "$log" >&2; exit 1; }

# get PATH: the body to $work/body, the HTTP status to stdout.
get() { curl -s -m 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }

# The value of the series whose line starts with $1 in $work/body.
value() { grep -F "$1" "$work/body" | head -1 | awk '{print $NF}'; }

# /healthz while the gateway runs: healthy, degraded once a breaker opens
# (from 1.5 s), healthy again once both closed (about 6 s).
saw_degraded=0
saw_recovered=0
for _ in $(seq 200); do
  kill -0 "$pid" 2>/dev/null || break
  code="$(get /healthz)"
  if [[ "$code" == 503 && $saw_degraded -eq 0 ]]; then
    saw_degraded=1
    cp "$work/body" "$work/healthz_degraded.json"
    # Scraped while a breaker is open.
    code="$(get /metrics)"
    [[ "$code" == 200 ]] || fail "/metrics: HTTP $code"
    cp "$work/body" "$work/metrics_open.txt"
  elif [[ "$code" == 200 && $saw_degraded -eq 1 ]]; then
    saw_recovered=1
    code="$(get /metrics)"
    [[ "$code" == 200 ]] || fail "/metrics after recovery: HTTP $code"
    cp "$work/body" "$work/metrics_closed.txt"
    break
  fi
  sleep 0.05
done
[[ $saw_degraded -eq 1 ]] || fail "/healthz never said degraded (503)"
[[ $saw_recovered -eq 1 ]] || fail "/healthz never said healthy (200) again after degraded"
if [[ -f "$work/healthz_degraded.json" ]]; then
  grep -q '"status":"degraded"' "$work/healthz_degraded.json" ||
    fail "/healthz body: $(cat "$work/healthz_degraded.json")"
  grep -Eq '"name":"quotes-(grpc|http)"' "$work/healthz_degraded.json" ||
    fail "/healthz names neither breaker: $(cat "$work/healthz_degraded.json")"
fi

# /metrics: both breakers' state series, promtool-clean; open, then closed.
for scrape in metrics_open metrics_closed; do
  [[ -f "$work/$scrape.txt" ]] || continue
  lint="$(promtool check metrics <"$work/$scrape.txt" 2>&1)"
  [[ $? -eq 0 && -z "$lint" ]] || fail "promtool check metrics ($scrape): $lint"
  for breaker in quotes-grpc quotes-http; do
    grep -q "^circuit_breaker_state{breaker=\"$breaker\",state=\"closed\"} " "$work/$scrape.txt" ||
      fail "$scrape has no circuit_breaker_state series for $breaker"
  done
done
if [[ -f "$work/metrics_closed.txt" ]]; then
  cp "$work/metrics_closed.txt" "$work/body"
  for breaker in quotes-grpc quotes-http; do
    [[ "$(value "circuit_breaker_state{breaker=\"$breaker\",state=\"closed\"}")" == 1 ]] ||
      fail "$breaker is not closed in /metrics after recovery"
    series="circuit_breaker_transitions_total{breaker=\"$breaker\",from=\"closed\",to=\"open\"}"
    opened="$(value "$series")"
    [[ "$opened" == 1 ]] || fail "$breaker opened from closed $opened times, want 1"
    rejected="$(value "circuit_breaker_calls_total{breaker=\"$breaker\",outcome=\"rejected\"}")"
    awk -v r="$rejected" 'BEGIN { exit !(r > 0) }' || fail "$breaker rejected nothing ($rejected)"
  done
fi

# ---- it ends by itself, with 0 -------------------------------------------
wait "$pid"
status=$?
pid=""
[[ $status -eq 0 ]] || fail "the gateway exited $status"

# ---- the output: transitions, the summary, the final states --------------
for breaker in quotes-grpc quotes-http; do
  grep -q "\*\* $breaker CLOSED -> OPEN: FAILURE_RATE" "$log" || fail "$breaker never opened"
  grep -q "\*\* $breaker HALF_OPEN -> CLOSED: TRIALS_SUCCEEDED" "$log" ||
    fail "$breaker never closed again"
  # Every breaker closes after it opens: the last of its transitions.
  last="$(grep "\*\* $breaker " "$log" | tail -1)"
  [[ "$last" == *"HALF_OPEN -> CLOSED"* ]] || fail "$breaker's last transition: $last"

  # "quotes-grpc: sent 1108 (ok 1093, failed 15), rejected by the breaker
  #  1100; the server received 1108"
  summary="$(grep "^$breaker: sent " "$log")"
  pattern='.*sent ([0-9]+) .*rejected by the breaker ([0-9]+); the server received ([0-9]+)$'
  read -r sent rejected received < <(echo "$summary" | sed -E "s/$pattern/\1 \2 \3/")
  if [[ -z "$summary" || -z "${received:-}" ]]; then
    fail "no summary for $breaker"
    continue
  fi
  # Rejections happened, and none reached the server: had they, the server
  # would have received the sent calls and the rejected ones.
  [[ "$rejected" -gt 0 ]] || fail "$breaker rejected nothing: $summary"
  [[ "$received" -le "$sent" ]] || fail "$breaker's server received more than was sent: $summary"
  [[ "$received" -gt 0 ]] || fail "$breaker's server received nothing: $summary"
done
# The HTTP downstream's 429 with Retry-After: 1 opened its breaker for 1 s.
grep -q '\*\* quotes-http HALF_OPEN -> OPEN: RETRY_AFTER' "$log" ||
  fail "quotes-http never reopened for a Retry-After"
grep -q '^final state quotes-grpc CLOSED, quotes-http CLOSED$' "$log" ||
  fail "final states: $(grep '^final state' "$log")"

if [[ $failures -ne 0 ]]; then
  echo "$failures failures; the gateway's output was:" >&2
  cat "$log" >&2
  exit 1
fi
echo "gateway_test: OK"
