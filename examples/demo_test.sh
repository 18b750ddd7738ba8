#!/usr/bin/env bash
# examples/demo.cc run as the README runs it: it must exit 0 and tell the
# whole story, a transition into each of OPEN, HALF_OPEN and CLOSED, calls
# refused by the bulkhead and calls served by the fallback in the timeline,
# and end CLOSED. The demo's own margins (see its head comment) keep this
# true on a loaded machine and under ThreadSanitizer.
set -uo pipefail

demo="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-circuit}/examples/demo"
[[ -x "$demo" ]] || demo="bazel-bin/examples/demo"
work="${TEST_TMPDIR:-$(mktemp -d)}"
out="$work/demo.out"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

"$demo" >"$out" 2>"$work/demo.err"
status=$?
[[ $status -eq 0 ]] || fail "the demo exited $status"

# Transitions, printed by the listener as they happen:
#   "   606  ** transition CLOSED -> OPEN, generation 1: FAILURE_RATE: ..."
for to in OPEN HALF_OPEN CLOSED; do
  grep -Eq "\*\* transition [A-Z_]+ -> $to," "$out" || fail "no transition to $to"
done

# Timeline lines: t, service, breaker, fail%, slow%, ok, failed, rej:brk,
# rej:bulk, fallback, inflight.
timeline() {
  awk -v col="$1" '$1 ~ /^[0-9]+$/ && $2 ~ /^(healthy|outage|slow)$/ && NF == 11 { sum += $col }
                   END { print sum + 0 }' "$out"
}
lines="$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^(healthy|outage|slow)$/ && NF == 11' "$out" | wc -l)"
[[ $lines -ge 10 ]] || fail "only $lines timeline lines"
bulkhead_rejected="$(timeline 9)"
[[ $bulkhead_rejected -ge 1 ]] || fail "no call refused by the bulkhead in the timeline"
served_by_fallback="$(timeline 10)"
[[ $served_by_fallback -ge 1 ]] || fail "no call served by the fallback in the timeline"

last="$(tail -n 1 "$out")"
[[ "$last" == "final state CLOSED" ]] || fail "the last line is \"$last\", want \"final state CLOSED\""

if [[ $failures -ne 0 ]]; then
  echo "$failures failures; the demo printed:" >&2
  cat "$out" >&2
  echo "--- stderr:" >&2
  cat "$work/demo.err" >&2
  exit 1
fi
echo "demo_test: OK ($lines timeline lines, $bulkhead_rejected bulkhead rejections," \
  "$served_by_fallback calls served by the fallback)"
