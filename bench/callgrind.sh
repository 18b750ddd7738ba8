#!/usr/bin/env bash
# bench/callgrind.sh: instructions per call of the breaker's paths, counted
# exactly by callgrind (no timing noise, one thread).
#
# Builds //bench:instr_count (optimized), then for each mode runs N calls
# under `valgrind --tool=callgrind --toggle-collect=<the measured function>`,
# so only the measured loop is counted, and prints
#   (total instructions - the empty loop's) / N
# as "instructions per call". It also says whether malloc or operator new
# was entered inside the measured loop (it should never be).
#
# Usage: bench/callgrind.sh [MODE...]      default: closed_count fetch_add
#        bench/callgrind.sh all            every mode of bench/instr_count.cc
# Env:   N (default 1000000), BAZEL (default ./bazelw, else bazel),
#        KEEP=1 keeps the callgrind.out files (their folder is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-1000000}"
if [[ -z "${BAZEL:-}" ]]; then
  if [[ -x ./bazelw ]]; then BAZEL=./bazelw; else BAZEL=bazel; fi
fi
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  # ./bazelw installs Debian packages named in CIRCUIT_EXTRA_PACKAGES.
  if [[ "$BAZEL" == ./bazelw ]]; then
    CIRCUIT_EXTRA_PACKAGES=valgrind ./bazelw version >/dev/null || true
  fi
  if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
    echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
    exit 1
  fi
fi

ALL_MODES=(closed_count closed_time closed_default closed_slow failure rejected call_wrapper fetch_add)
if [[ $# -eq 0 ]]; then
  MODES=(closed_count fetch_add)
elif [[ "$1" == all ]]; then
  MODES=("${ALL_MODES[@]}")
else
  MODES=("$@")
fi

"$BAZEL" build --config=bench //bench:instr_count >&2
BIN="$("$BAZEL" info --config=bench bazel-bin 2>/dev/null)/bench/instr_count"
[[ -x "$BIN" ]] || { echo "callgrind.sh: $BIN not found" >&2; exit 1; }

OUT="$(mktemp -d)"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$OUT"' EXIT; fi

# The function of bench/instr_count.cc that runs each mode's loop.
function_of() {
  case "$1" in
    empty) echo Measured_empty ;;
    fetch_add) echo Measured_fetch_add ;;
    closed_count | closed_time | closed_default | closed_slow) echo Measured_success ;;
    failure) echo Measured_failure ;;
    rejected) echo Measured_rejected ;;
    call_wrapper) echo Measured_call_wrapper ;;
    *) echo "callgrind.sh: unknown mode $1" >&2; exit 2 ;;
  esac
}

# Runs one mode; prints its total instruction count (Ir).
total_ir() {
  local mode="$1" fn
  fn="$(function_of "$mode")"
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$mode.out" \
    --toggle-collect="$fn" "$BIN" "$mode" "$N" >"$OUT/$mode.log" 2>&1 || {
    echo "callgrind.sh: $mode failed:" >&2
    cat "$OUT/$mode.log" >&2
    exit 1
  }
  callgrind_annotate --inclusive=yes "$OUT/$mode.out" >"$OUT/$mode.annotate" 2>/dev/null
  local total
  total="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT/$mode.annotate")"
  if [[ -z "$total" ]]; then  # fall back to the file's own totals line
    total="$(awk '/^(totals|summary):/ { print $2; exit }' "$OUT/$mode.out")"
  fi
  echo "$total"
}

# Whether an allocator was entered inside the measured loop.
allocations_in() {
  local mode="$1" hits
  hits="$(grep -E '\b(malloc|calloc|realloc|posix_memalign|aligned_alloc|operator new)' \
    "$OUT/$mode.annotate" | grep -v 'PROGRAM TOTALS' || true)"
  if [[ -z "$hits" ]]; then echo "none"; else echo "YES: $(echo "$hits" | head -3 | tr -s ' ')"; fi
}

empty="$(total_ir empty)"
echo "N = $N calls per mode; the empty loop costs $(awk -v t="$empty" -v n="$N" 'BEGIN { printf "%.2f", t / n }') instructions per iteration (subtracted)"
printf '%-16s %14s %12s  %s\n' mode "total Ir" "Ir/call" "allocator in loop"
for mode in "${MODES[@]}"; do
  total="$(total_ir "$mode")"
  per_call="$(awk -v t="$total" -v e="$empty" -v n="$N" 'BEGIN { printf "%.2f", (t - e) / n }')"
  printf '%-16s %14s %12s  %s\n' "$mode" "$total" "$per_call" "$(allocations_in "$mode")"
  eval "IR_$mode=$per_call"
done

# The headline: the CLOSED path with a count window, against one fetch_add.
if [[ -n "${IR_closed_count:-}" ]]; then
  echo "instructions per call: ${IR_closed_count} (TryAcquire + Success, CLOSED, count window)"
fi
if [[ -n "${IR_closed_count:-}" && -n "${IR_fetch_add:-}" ]]; then
  awk -v c="$IR_closed_count" -v f="$IR_fetch_add" \
    'BEGIN { printf "fetch_add reference: %.2f instructions per call; difference: %.2f\n", f, c - f }'
fi
if [[ "${KEEP:-0}" == 1 ]]; then echo "callgrind output kept in $OUT"; fi
