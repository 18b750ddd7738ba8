#!/usr/bin/env bash
# examples/service.cc for real: started on a free loopback port, scraped
# with curl (a real HTTP client), its /metrics checked with promtool and its
# /healthz with each scenario, its levers pulled; stopped by PID.
set -uo pipefail

service="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-circuit}/examples/service"
[[ -x "$service" ]] || service="bazel-bin/examples/service"
work="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
pid=""

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# stop: SIGTERM to the service's PID; it must stop cleanly (exit 0: a
# sanitizer's report would make it non-zero).
stop() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null
    wait "$pid"
    local status=$?
    pid=""
    [[ $status -eq 0 ]] || fail "the service exited $status on SIGTERM"
  fi
}
trap 'if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null; fi' EXIT

for tool in curl promtool; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (./bazelw installs it)" >&2; exit 1; }
done

# start SCENARIO: runs the service on a port of the kernel's choosing and
# sets $port once it listens.
start() {
  rm -f "$work/port"
  "$service" --port=0 --port_file="$work/port" --scenario="$1" --run_for_seconds=120 \
    >"$work/service_$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [[ -s "$work/port" ]] && break
    sleep 0.1
  done
  port="$(cat "$work/port" 2>/dev/null)"
  [[ -n "$port" ]] || { fail "the service did not listen ($1)"; cat "$work/service_$1.log" >&2; exit 1; }
}

# get PATH: the body to $work/body, the HTTP status to stdout.
get() { curl -s -m 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }

# The value of the series whose line starts with $1 in $work/body.
value() { grep -F "$1" "$work/body" | head -1 | awk '{print $NF}'; }

# ---- mixed: payments down, recommendations flapping -> degraded ---------
start mixed
code=""
for _ in $(seq 100); do  # payments opens within a second of calls
  code="$(get /healthz)"
  [[ "$code" == 503 ]] && break
  sleep 0.1
done
[[ "$code" == 503 ]] || fail "/healthz with payments down: HTTP $code, want 503"
grep -q '"status":"degraded"' "$work/body" || fail "/healthz body: $(cat "$work/body")"
grep -q '"name":"payments"' "$work/body" || fail "/healthz does not name payments: $(cat "$work/body")"

code="$(get /metrics)"
[[ "$code" == 200 ]] || fail "/metrics: HTTP $code"
cp "$work/body" "$work/metrics.txt"
lint="$(promtool check metrics <"$work/metrics.txt" 2>&1)"
[[ $? -eq 0 && -z "$lint" ]] || fail "promtool check metrics: $lint"
payments_closed="$(value 'circuit_breaker_state{breaker="payments",state="closed"}')"
[[ "$payments_closed" == 0 ]] || fail "payments is closed while down ($payments_closed)"
rejected="$(value 'circuit_breaker_calls_total{breaker="payments",outcome="rejected"}')"
awk -v r="$rejected" 'BEGIN { exit !(r > 0) }' || fail "payments rejected nothing ($rejected)"
failed="$(value 'circuit_breaker_calls_total{breaker="payments",outcome="failed"}')"
awk -v f="$failed" 'BEGIN { exit !(f >= 5) }' || fail "payments failed $failed calls, want >= 5"
opened="$(value 'circuit_breaker_transitions_total{breaker="payments",from="closed",to="open"}')"
[[ "$opened" == 1 ]] || fail "payments opened from closed $opened times, want 1"
[[ "$(value 'circuit_breaker_state{breaker="inventory",state="closed"}')" == 1 ]] ||
  fail "inventory is not closed"
count="$(value 'circuit_breaker_call_duration_seconds_count{breaker="inventory"}')"
awk -v c="$count" 'BEGIN { exit !(c > 0) }' || fail "no inventory durations ($count)"

# The operator's levers.
code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' -d '' \
  "http://127.0.0.1:$port/breakers/force_open?name=inventory")"
[[ "$code" == 200 ]] || fail "force_open inventory: HTTP $code"
get /metrics >/dev/null
[[ "$(value 'circuit_breaker_state{breaker="inventory",state="forced_open"}')" == 1 ]] ||
  fail "inventory is not forced open"
[[ "$(value 'circuit_breaker_open_remaining_seconds{breaker="inventory"}')" == "+Inf" ]] ||
  fail "a forced-open breaker's open_remaining_seconds is not +Inf"
code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' -d '' \
  "http://127.0.0.1:$port/breakers/reset?name=inventory")"
[[ "$code" == 200 ]] || fail "reset inventory: HTTP $code"
code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' -d '' \
  "http://127.0.0.1:$port/breakers/reset?name=nonesuch")"
[[ "$code" == 404 ]] || fail "reset of an unknown breaker: HTTP $code, want 404"
stop

# ---- healthy: every breaker closed -> 200 --------------------------------
start healthy
sleep 0.5
code="$(get /healthz)"
[[ "$code" == 200 ]] || fail "/healthz when healthy: HTTP $code, want 200 ($(cat "$work/body"))"
grep -q '"status":"healthy"' "$work/body" || fail "/healthz body: $(cat "$work/body")"
grep -q '"breakers":3' "$work/body" || fail "/healthz does not count 3 breakers: $(cat "$work/body")"
get /metrics >/dev/null
lint="$(promtool check metrics <"$work/body" 2>&1)"
[[ $? -eq 0 && -z "$lint" ]] || fail "promtool check metrics (healthy): $lint"
stop

# ---- a bad flag: a clear error, exit 2 -----------------------------------
"$service" --scenario=bogus >"$work/bad.log" 2>&1
status=$?
[[ $status -eq 2 ]] || fail "--scenario=bogus exited $status, want 2"
grep -q -- '--scenario' "$work/bad.log" || fail "--scenario=bogus: $(cat "$work/bad.log")"

if [[ $failures -ne 0 ]]; then
  echo "$failures failures; the mixed scrape was:" >&2
  head -60 "$work/metrics.txt" >&2
  exit 1
fi
echo "service_test: OK"
