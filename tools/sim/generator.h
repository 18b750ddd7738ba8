// File: tools/sim/generator.h
// Synthetic traces (trace.h) for trying configs without real data: calls
// arriving at random (a Poisson process) at a steady rate, a background
// error rate, log-normal latencies, and episodes laid over them:
//
//   outage    START+LENGTH[@RATE]          RATE percent of calls fail (default 100)
//   slow      START+LENGTH@LATENCY         the median latency becomes LATENCY
//   flapping  START+LENGTH/PERIOD[@RATE]   down for PERIOD, up for PERIOD, ...
//   throttled START+LENGTH@WAIT[@RATE]     RATE percent of calls (default 100)
//                                          fail with "retry after WAIT" (a 429)
//
// e.g. "120s+1m@100", "5m+2m@2s", "8m+90s/10s", "2m+3m@30s@50". Each episode's unhealthy
// time is written into the trace as "# outage" annotations, so a replay
// judges the configs against when the dependency really was down.
//
// Example:
//   circuit::sim::Scenario scenario = circuit::sim::PresetScenario("outage").value();
//   scenario.seed = 7;
//   circuit::sim::WriteTrace(scenario, stdout);
//
// Deterministic: the same scenario and seed give the same trace.
#ifndef CIRCUIT_TOOLS_SIM_GENERATOR_H_
#define CIRCUIT_TOOLS_SIM_GENERATOR_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trace.h"

namespace circuit {
namespace sim {

struct Episode {
  enum class Kind : uint8_t { kOutage, kSlow, kFlapping, kThrottled };
  Kind kind = Kind::kOutage;
  int64_t start_nanos = 0;
  int64_t length_nanos = 0;
  double error_rate = 100;     // kOutage, kFlapping, kThrottled: percent of calls that fail
  int64_t latency_nanos = 0;   // kSlow: the median latency during it
  int64_t period_nanos = 0;    // kFlapping: the length of each down and up phase
  int64_t retry_after_nanos = 0;  // kThrottled: the wait each failure asks for
};

struct Scenario {
  int64_t duration_nanos = 600'000'000'000;  // 10 min
  double calls_per_second = 200;
  double error_rate = 1;                     // percent, outside episodes
  int64_t latency_median_nanos = 20'000'000;  // 20 ms
  int64_t latency_p99_nanos = 80'000'000;     // 80 ms
  std::vector<Episode> episodes;
  uint64_t seed = 1;
};

// PresetScenario()
// A named scenario (10 minutes at 200 calls/s, 1 % errors, 20 ms median):
//   steady    nothing else: any opening is a false alarm
//   outage    a full outage (2m+1m) and a partial one at 40 % (6m+90s)
//   slow      latency rising to a 2 s median (3m+2m)
//   flapping  down 10 s, up 10 s, for 4 minutes (2m+4m/10s)
//   mixed     one of each (1m40s+1m, 5m+1m@1.5s, 7m30s+90s/15s)
//   throttled half the calls answered "retry after 20 s" for 3 minutes
//             (2m+3m@20s@50)
// NotFoundError listing the names for any other.
absl::StatusOr<Scenario> PresetScenario(absl::string_view name);

// ScaleScenario()
// Sets the scenario's duration, moving and stretching its episodes (and
// flapping periods) in proportion, so a preset keeps its shape at any
// length.
void ScaleScenario(Scenario& scenario, int64_t duration_nanos);

// ParseEpisode()
// An episode of `kind` from its spec (above). InvalidArgumentError naming
// what is wrong.
absl::StatusOr<Episode> ParseEpisode(Episode::Kind kind, absl::string_view spec);

// ValidateScenario()
// InvalidArgumentError naming the field: a duration, rate or percentage
// out of range, an episode outside the trace.
absl::Status ValidateScenario(const Scenario& scenario);

// UnhealthyPeriods()
// When the scenario's dependency is unhealthy: each outage and slow
// episode, each down phase of a flapping one; sorted, as written into the
// trace.
std::vector<Period> UnhealthyPeriods(const Scenario& scenario);

// GenerateCalls()
// Calls `sink` with each call of the scenario, in order. REQUIRES: a valid
// scenario.
void GenerateCalls(const Scenario& scenario, absl::FunctionRef<void(const TraceCall&)> sink);

// WriteTrace()
// The scenario as a trace file: annotations ("# start 0", "# outage ..."),
// the header line, then the calls. The stream's error if writing fails.
absl::Status WriteTrace(const Scenario& scenario, std::FILE* out);

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_GENERATOR_H_
