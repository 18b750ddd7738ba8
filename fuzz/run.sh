#!/usr/bin/env bash
# fuzz/run.sh: builds the differential fuzzer (fuzz/breaker_fuzzer.cc) with
# clang++ and libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer,
# then fuzzes for a bounded time over a copy of fuzz/corpus/ (the repository
# is not written to). Fails if the fuzzer finds a crash or a mismatch with
# the model; ends with the figures:
#
#   fuzz: N executions in S s (E/s), coverage: C edges, F features, K inputs
#
# Environment:
#   FUZZ_SECONDS   how long to fuzz (default 60)
#   FUZZ_JOBS      parallel fuzzing processes (libFuzzer -fork; default 1)
#   FUZZ_OUT       where the binary and the run's files go (default
#                  /tmp/circuit_fuzz); each run gets its own directory there,
#                  with corpus/, artifacts/ (crashing inputs) and fuzz.log
#   FUZZ_COVERAGE  1: also build with clang's source coverage, replay the
#                  final corpus and print line coverage of src/
#   FUZZ_ARGS      extra libFuzzer flags
#   CXX            the compiler (default clang++)
#
# Needs Debian's clang and libclang-rt-14-dev (the libFuzzer and sanitizer
# runtimes): apt-get install -y clang libclang-rt-14-dev
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"
out="${FUZZ_OUT:-/tmp/circuit_fuzz}"
cxx="${CXX:-clang++}"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found; install it: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 2
fi

absl_modules=(absl_status absl_statusor absl_strings absl_str_format absl_time absl_cord
  absl_synchronization)
if ! absl_libs="$(pkg-config --libs "${absl_modules[@]}" 2>/dev/null)"; then
  # No pkg-config: what it prints for Debian 12's libabsl-dev (20220623).
  absl_libs="-labsl_statusor -labsl_status -labsl_strerror -labsl_bad_variant_access
    -labsl_str_format_internal -labsl_cord -labsl_cordz_info -labsl_cord_internal
    -labsl_cordz_functions -labsl_exponential_biased -labsl_cordz_handle
    -labsl_bad_optional_access -labsl_synchronization -labsl_graphcycles_internal
    -labsl_stacktrace -labsl_symbolize -labsl_debugging_internal -labsl_demangle_internal
    -labsl_malloc_internal -labsl_time -labsl_civil_time -labsl_strings -labsl_strings_internal
    -latomic -lrt -labsl_base -labsl_spinlock_wait -labsl_int128 -labsl_throw_delegate
    -labsl_raw_logging_internal -labsl_log_severity -labsl_time_zone"
fi
sources=(src/*.cc src/internal/*.cc fuzz/breaker_fuzzer.cc)

mkdir -p "$out"
echo "fuzz: building $out/breaker_fuzzer with $cxx" >&2
# shellcheck disable=SC2086
"$cxx" -std=c++17 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I include -I . "${sources[@]}" $absl_libs -o "$out/breaker_fuzzer"

run="$(mktemp -d -p "$out")"
mkdir -p "$run/corpus" "$run/artifacts"
cp fuzz/corpus/* "$run/corpus/"
echo "fuzz: fuzzing for ${seconds} s in $run" >&2

flags=(
  -max_total_time="$seconds"
  -max_len=1024
  -timeout=20
  -rss_limit_mb=4096
  -print_final_stats=1
  -artifact_prefix="$run/artifacts/"
  -dict=fuzz/breaker_fuzzer.dict
)
if [ "$jobs" -gt 1 ]; then
  flags+=(-fork="$jobs")
fi
# shellcheck disable=SC2206
flags+=(${FUZZ_ARGS:-})

start=$(date +%s.%N)
set +e
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
  "$out/breaker_fuzzer" "${flags[@]}" "$run/corpus" >"$run/fuzz.log" 2>&1
status=$?
set -e
end=$(date +%s.%N)

# Figures from libFuzzer's log: the executions of the final stats (with
# -fork, the total on the last "#N: cov:" line: the stats are the last
# job's), and the last coverage line.
if [ "$jobs" -gt 1 ]; then
  execs="$( (grep -oE '^#[0-9]+: cov' "$run/fuzz.log" || true) | tail -1 | tr -dc '0-9')"
else
  execs="$( (grep -o 'stat::number_of_executed_units: [0-9]*' "$run/fuzz.log" || true) |
    awk '{s += $2} END {print s + 0}')"
fi
execs="${execs:-0}"
if [ "$execs" -eq 0 ]; then
  execs="$( (grep -oE '^#[0-9]+' "$run/fuzz.log" || true) | tail -1 | tr -d '#')"
  execs="${execs:-0}"
fi
last="$( (grep -E 'cov: [0-9]+' "$run/fuzz.log" || true) | tail -1)"
cov="$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")"
ft="$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")"
inputs="$(find "$run/corpus" -type f | wc -l)"
elapsed="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b - a}')"
rate="$(awk -v n="$execs" -v s="$elapsed" 'BEGIN {if (s > 0) printf "%.0f", n / s; else print 0}')"

summary="fuzz: ${execs} executions in ${elapsed} s (${rate}/s), coverage: ${cov:-?} edges,"
summary+=" ${ft:-?} features, ${inputs} inputs"

crashes=("$run"/artifacts/*)
if [ "$status" -ne 0 ] || [ -e "${crashes[0]}" ]; then
  grep -A40 'MISMATCH\|ERROR: \(Address\|UndefinedBehavior\|libFuzzer\)\|runtime error' \
    "$run/fuzz.log" | head -80 >&2 || true
  echo "fuzz: FAILED (exit $status); crashing inputs:" >&2
  ls -l "$run"/artifacts/ >&2 || true
  echo "fuzz: decode one with: FUZZ_TRACE=1 $out/breaker_fuzzer <input>" >&2
  echo "$summary"
  exit 1
fi

profdata="$(command -v llvm-profdata || command -v llvm-profdata-14 || true)"
llvmcov="$(command -v llvm-cov || command -v llvm-cov-14 || true)"
if [ "${FUZZ_COVERAGE:-0}" = 1 ] && { [ -z "$profdata" ] || [ -z "$llvmcov" ]; }; then
  echo "fuzz: no llvm-profdata/llvm-cov (apt-get install -y llvm): no source coverage" >&2
elif [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
  echo "fuzz: measuring source coverage of the final corpus" >&2
  # shellcheck disable=SC2086
  "$cxx" -std=c++17 -O0 -g -fprofile-instr-generate -fcoverage-mapping \
    -I include -I . "${sources[@]}" fuzz/replay_main.cc $absl_libs -o "$out/breaker_replay_cov"
  rm -f "$run"/cov.*.profraw
  LLVM_PROFILE_FILE="$run/cov.%p.profraw" "$out/breaker_replay_cov" "$run/corpus" >/dev/null
  "$profdata" merge -sparse "$run"/cov.*.profraw -o "$run/cov.profdata"
  "$llvmcov" report "$out/breaker_replay_cov" -instr-profile="$run/cov.profdata" \
    src/ include/circuit/ | tee "$run/coverage.txt"
fi

echo "$summary"
