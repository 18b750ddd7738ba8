#!/usr/bin/env bash
# bench/report.sh: builds and runs the benchmark suite and writes
#   docs/benchmarks.json  the raw results (median/stddev/cv of the repetitions)
#   docs/benchmarks.md    the table, the machine, and the targets (PASS/MISS)
#   docs/benchmarks.png   throughput vs threads per case
#   docs/benchmarks_redis.json  bench/redis_bench's results (the distributed
#                         mode, against its own redis-server)
#   docs/benchmarks_grpc.json   bench/grpc_bench's results (the gRPC
#                         interceptor on loopback)
# with bench/memory_report's bytes per breaker.
#
# Usage: bench/report.sh [extra breaker_bench flags, e.g. --benchmark_filter=Circuit]
# Env:   REPETITIONS (default 5), MIN_TIME (seconds per repetition, default:
#        the library's 0.5), CALLGRIND=0 skips the instruction counts,
#        BAZEL (default ./bazelw, else bazel).
# Takes about 3 minutes on 2 CPUs (every case x 1, 2, 4 threads x 5 repetitions).
set -euo pipefail
cd "$(dirname "$0")/.."

REPETITIONS="${REPETITIONS:-5}"
if [[ -z "${BAZEL:-}" ]]; then
  if [[ -x ./bazelw ]]; then BAZEL=./bazelw; else BAZEL=bazel; fi
fi
JSON=docs/benchmarks.json
MD=docs/benchmarks.md
PNG=docs/benchmarks.png
mkdir -p docs

"$BAZEL" build --config=bench //bench:breaker_bench
# bazel-bin follows the last build's configuration; ask for the bench one.
BIN="$("$BAZEL" info --config=bench bazel-bin 2>/dev/null)/bench/breaker_bench"
[[ -x "$BIN" ]] || { echo "report.sh: $BIN not found" >&2; exit 1; }

# The repetitions run interleaved, in a random order: this VM's CPUs at
# times run 1.5-1.8x slower for a few minutes (another tenant), and five
# repetitions run back to back would all fall in such a spell; spread over
# the run, a spell takes one or two of a case's five, and the median holds.
FLAGS=(
  "--benchmark_repetitions=$REPETITIONS"
  --benchmark_enable_random_interleaving=true
  --benchmark_report_aggregates_only=true
  --benchmark_format=json
  "--benchmark_out=$JSON"
  --benchmark_out_format=json
)
if [[ -n "${MIN_TIME:-}" ]]; then FLAGS+=("--benchmark_min_time=$MIN_TIME"); fi
FLAGS+=("$@")
echo "running: breaker_bench ${FLAGS[*]}" >&2
# The JSON goes to the file; the console gets it too, so silence that copy.
"$BIN" "${FLAGS[@]}" >/dev/null

# The distributed mode (bench/redis_bench.cc), against its own redis-server.
REDIS_JSON=docs/benchmarks_redis.json
if command -v redis-server >/dev/null || [[ -x /usr/bin/redis-server ]]; then
  "$BAZEL" build --config=bench //bench:redis_bench
  "$(dirname "$BIN")/redis_bench" "--benchmark_repetitions=$REPETITIONS" \
    --benchmark_report_aggregates_only=true --benchmark_format=json \
    "--benchmark_out=$REDIS_JSON" --benchmark_out_format=json >/dev/null
else
  echo "report.sh: no redis-server; the report will not have the distributed mode" >&2
fi

# What the gRPC interceptor adds to a unary call on loopback
# (bench/grpc_bench.cc): repeated and interleaved, the round trip drifts.
GRPC_JSON=docs/benchmarks_grpc.json
"$BAZEL" build --config=bench //bench:grpc_bench
"$(dirname "$BIN")/grpc_bench" --benchmark_repetitions=20 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_format=json \
  "--benchmark_out=$GRPC_JSON" --benchmark_out_format=json >/dev/null

# circuit_sim's throughput (bench/sim_bench.cc).
SIM_JSON=docs/benchmarks_sim.json
"$BAZEL" build --config=bench //bench:sim_bench
"$(dirname "$BIN")/sim_bench" "--benchmark_repetitions=$REPETITIONS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json \
  "--benchmark_out=$SIM_JSON" --benchmark_out_format=json >/dev/null

# Bytes per breaker (bench/memory_report.cc).
MEMORY_TXT="$(mktemp)"
trap 'rm -f "$MEMORY_TXT"' EXIT
"$BAZEL" run --config=bench //bench:memory_report >"$MEMORY_TXT" 2>/dev/null || {
  echo "report.sh: memory_report failed; the report will not have memory figures" >&2
  : >"$MEMORY_TXT"
}

CALLGRIND_TXT=""
if [[ "${CALLGRIND:-1}" != 0 ]]; then
  if command -v valgrind >/dev/null; then
    CALLGRIND_TXT="$(mktemp)"
    trap 'rm -f "$CALLGRIND_TXT" "$MEMORY_TXT"' EXIT
    BAZEL="$BAZEL" bench/callgrind.sh all >"$CALLGRIND_TXT" 2>/dev/null || {
      echo "report.sh: callgrind.sh failed; the report will not have instruction counts" >&2
      : >"$CALLGRIND_TXT"
    }
  else
    echo "report.sh: valgrind not installed; no instruction counts" >&2
  fi
fi

# A python3 that has matplotlib: the one on PATH, Debian's, or install it.
PY=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import matplotlib' 2>/dev/null; then
    PY="$candidate"
    break
  fi
done
if [[ -z "$PY" ]] && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
  echo "report.sh: installing python3-matplotlib" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null; then
    apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null || true
  fi
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then PY=/usr/bin/python3; fi
fi
if [[ -z "$PY" ]]; then
  echo "report.sh: no matplotlib; writing the report without the plot" >&2
  PY=python3
fi

REPORT_ARGS=("$JSON" --md "$MD" --png "$PNG" --memory "$MEMORY_TXT"
  --command "bench/report.sh (breaker_bench ${FLAGS[*]})")
if [[ -s "$REDIS_JSON" ]]; then REPORT_ARGS+=(--redis "$REDIS_JSON"); fi
if [[ -s "$SIM_JSON" ]]; then REPORT_ARGS+=(--sim "$SIM_JSON"); fi
if [[ -s "$GRPC_JSON" ]]; then REPORT_ARGS+=(--grpc "$GRPC_JSON"); fi
if [[ -n "$CALLGRIND_TXT" && -s "$CALLGRIND_TXT" ]]; then
  REPORT_ARGS+=(--callgrind "$CALLGRIND_TXT")
fi
"$PY" bench/make_report.py "${REPORT_ARGS[@]}"
