// File: tools/sim/replay.h
// Replaying a trace (trace.h) through real breakers on a simulated clock:
// the engine of circuit_sim.
//
// A Simulation is one circuit::Breaker, built from a config as a service
// would build it, whose clock is a FakeClock that the trace moves. Each
// call of the trace is, in time order:
//   - at its start: TryAcquire(), so the breaker admits or rejects it as it
//     would have live;
//   - at start + latency, if admitted: resolved with its outcome and its
//     latency as the measured duration (Permit::Success(took) and friends),
//     so slow-call detection judges the trace's latency whatever clock the
//     config chooses.
// A failure that carries a retry-after is resolved with
// Permit::FailureRetryAfter() (or, for a config that ignores it, Failure()).
// Calls overlap as they did live: a call's resolution comes before any
// call that starts at or after its end, so half-open trials in flight,
// late outcomes of an earlier generation and time windows behave as in the
// service. Time-due transitions (OPEN to HALF_OPEN, the HALF_OPEN limit)
// happen as live, lazily, at the first call or resolution after they are
// due. Nothing else reads the breaker while it runs.
//
// Exactness: given a trace recorded from a service whose breaker read the
// same times (tests/sim/live_replay_test.cc records one from real threads
// and compares every decision), the simulation admits and rejects the same
// calls and makes the same transitions at the same times. Three things can
// differ: open_jitter draws from the breaker's address (a replay with
// jitter shows a period within the same +-jitter bounds, not the same
// draw); slow start's ramp and adaptive throttling admit each call by a
// random draw (a replay with slow_start_duration or adaptive_throttling
// matches a live run in distribution, not call by call); and calls that
// started at the same nanosecond are replayed in the trace's order. Those
// draws come from a generator each Simulation seeds the same way, so the
// same trace and configs give the same report.
//
// A Replay feeds one trace to several Simulations at once (one config
// each) and keeps the trace's own statistics a bucket at a time, so that
// the Report can say when the dependency was unhealthy and judge each
// config against it.
//
// Not thread-safe: one thread replays.
#ifndef CIRCUIT_TOOLS_SIM_REPLAY_H_
#define CIRCUIT_TOOLS_SIM_REPLAY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "circuit/state.h"
#include "trace.h"

namespace circuit {
namespace sim {

// A transition the breaker made, at trace time.
struct Transition {
  int64_t at_nanos = 0;
  State from = State::kClosed;
  State to = State::kClosed;
  TransitionCause cause = TransitionCause::kOperator;
  double value = 0;
  double threshold = 0;
};

class Simulation {
 public:
  // Simulation::Create()
  // A breaker built from `config` (validated: the error is ValidateConfig()'s)
  // at trace time `origin_nanos`: the moment the service created it, from
  // which time windows and open periods are measured. `honor_retry_after`:
  // false resolves a failure's retry-after as a plain failure, as a caller
  // that does not read the header would.
  static absl::StatusOr<std::unique_ptr<Simulation>> Create(BreakerConfig config,
                                                           int64_t origin_nanos,
                                                           bool honor_retry_after = true);

  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;
  ~Simulation();

  // Simulation::Feed()
  // Replays `call`, after resolving the calls in flight that ended by its
  // start. REQUIRES: calls come in non-decreasing start order, none before
  // the origin. Returns true if the breaker admitted it.
  bool Feed(const TraceCall& call);

  // Simulation::Finish()
  // Resolves every call still in flight, at its end. Feed() must not be
  // called after it.
  void Finish();

  // Every transition so far, in order.
  const std::vector<Transition>& transitions() const { return transitions_; }

  // The latest trace time the breaker has seen (a call's start or end).
  int64_t now_nanos() const { return clock_.NowNanos() - kClockOrigin + origin_nanos_; }

  const Breaker& breaker() const { return *breaker_; }

 private:
  // Trace time origin_nanos_ is this on the fake clock (FakeClock's own
  // default start, so that 0 never means "now").
  static constexpr int64_t kClockOrigin = 1'000'000'000;

  class Recorder;
  struct InFlight;

  Simulation(int64_t origin_nanos, bool honor_retry_after);
  void AdvanceTo(int64_t trace_nanos);
  void ResolveUntil(int64_t trace_nanos);

  int64_t origin_nanos_;
  bool honor_retry_after_;
  // config.slow_start_duration > 0 or config.adaptive_throttling: the
  // breaker's gate may draw.
  bool draws_ = false;
  // The gate's draws (slow start's ramp, adaptive throttling) come from the
  // calling thread's generator
  // (circuit/internal/thread_random.h), which is seeded from an address.
  // Each simulation keeps its own generator's state, from a fixed seed,
  // and swaps it in around each TryAcquire(): a replay draws the same
  // every time, and one config's draws do not depend on the others'.
  uint64_t random_state_;
  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
  std::vector<Transition> transitions_;
  Subscription subscription_;
  std::vector<InFlight> in_flight_;  // a min-heap by end, then by arrival
  uint64_t arrivals_ = 0;
};

// How the Report decides when the dependency was unhealthy, and how it
// cuts time into buckets.
struct ReplayOptions {
  // The timeline's (and the plot's) resolution. Must be >= 1 ms.
  int64_t bucket_nanos = 1'000'000'000;

  // Outages given by the user: used as they are. When empty, the trace's
  // "# outage" annotations are used; when it has none, a bucket is
  // unhealthy if at least unhealthy_failure_rate percent of its calls
  // failed, or (unhealthy_latency_nanos > 0) at least unhealthy_slow_rate
  // percent took unhealthy_latency_nanos or longer, and each run of
  // unhealthy buckets is an outage (a bucket without calls continues the
  // run it is in).
  std::vector<Period> outages;
  double unhealthy_failure_rate = 50;
  double unhealthy_slow_rate = 50;
  int64_t unhealthy_latency_nanos = 0;

  // Per config (in order): false if it ignores the trace's retry-afters
  // (see Simulation::Create()). Empty: every config honours them.
  std::vector<bool> honor_retry_after;

  // A trace spanning more buckets than this is refused (with the bucket
  // width that would fit): the timeline is kept in memory, 16 bytes a
  // bucket for the trace and 5 for each config, twice while the Report is
  // made.
  int64_t max_buckets = 20'000'000;
};

enum class OutageSource : uint8_t { kGiven, kAnnotated, kDetected };

// "given", "annotated", "detected".
absl::string_view OutageSourceName(OutageSource source);

// One outage as one config met it.
struct OutageResult {
  Period period;
  // From the outage's start until the breaker opened: 0 if it was not
  // CLOSED at the start; unset if it never opened during the outage.
  std::optional<int64_t> time_to_open_nanos;
  // From the outage's end until the breaker was CLOSED again: negative if
  // it closed before the end (a trial succeeded during the outage), unset
  // if it never opened during the outage or was not CLOSED by the trace's
  // end.
  std::optional<int64_t> time_to_close_nanos;
  bool opened = false;  // it was not CLOSED at some time during the outage
};

// What one config did over the whole trace.
struct ConfigResult {
  BreakerConfig config;
  bool honor_retry_after = true;
  int64_t admitted = 0;
  int64_t rejected = 0;
  int64_t rejected_while_healthy = 0;  // in buckets that overlap no outage
  int64_t failures_admitted = 0;       // failed calls the breaker let through
  int64_t openings = 0;                // CLOSED -> OPEN
  int64_t openings_while_healthy = 0;  // ... outside every outage (flapping)
  int64_t reopenings = 0;              // HALF_OPEN -> OPEN
  int64_t shed = 0;                    // rejected while CLOSED: by slow start's ramp or
                                       // adaptive throttling (Metrics().shed)
  int64_t closings = 0;                // HALF_OPEN -> CLOSED
  std::array<int64_t, kNumStates> nanos_in_state{};
  std::vector<Transition> transitions;
  std::vector<OutageResult> outages;
  // Per bucket: rejections, and the state held longest.
  std::vector<uint32_t> bucket_rejected;
  std::vector<State> bucket_state;
};

// The trace's own numbers, per bucket.
struct TraceBucket {
  uint32_t calls = 0;
  uint32_t failures = 0;
  uint32_t slow = 0;  // took >= unhealthy_latency_nanos (when set)
  bool unhealthy = false;  // overlaps an outage
};

struct Report {
  int64_t calls = 0;
  int64_t origin_nanos = 0;  // bucket 0 starts here
  int64_t end_nanos = 0;     // the last call's end
  int64_t bucket_nanos = 0;
  std::vector<TraceBucket> buckets;
  std::vector<Period> outages;
  OutageSource outage_source = OutageSource::kDetected;
  std::vector<ConfigResult> configs;
};

class Replay {
 public:
  // Replay::Create()
  // One Simulation a config, from trace time `origin_nanos`. Errors: a
  // config that does not validate (named by its name), a bad option.
  static absl::StatusOr<std::unique_ptr<Replay>> Create(std::vector<BreakerConfig> configs,
                                                       ReplayOptions options,
                                                       int64_t origin_nanos);

  // Replay::Feed()
  // Replays one call through every config. REQUIRES: as Simulation::Feed().
  // An error only when the trace outgrows max_buckets.
  absl::Status Feed(const TraceCall& call);

  // Replay::Finish()
  // Resolves what is in flight and judges every config; `annotated` are
  // the trace's "# outage" annotations. Call once, after the last Feed().
  Report Finish(const std::vector<Period>& annotated);

  // The simulations, in the configs' order.
  const std::vector<std::unique_ptr<Simulation>>& simulations() const { return simulations_; }

 private:
  Replay(std::vector<BreakerConfig> configs, ReplayOptions options, int64_t origin_nanos)
      : configs_(std::move(configs)), options_(std::move(options)), origin_nanos_(origin_nanos) {}
  std::vector<Period> DetectOutages() const;
  ConfigResult Judge(size_t index, const std::vector<Period>& outages) const;

  std::vector<BreakerConfig> configs_;
  ReplayOptions options_;
  int64_t origin_nanos_;
  int64_t calls_ = 0;
  int64_t end_nanos_ = 0;
  std::vector<TraceBucket> buckets_;
  std::vector<std::unique_ptr<Simulation>> simulations_;
  std::vector<std::vector<uint32_t>> rejected_;  // [config][bucket]
  std::vector<int64_t> failures_admitted_;       // [config]
};

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_REPLAY_H_
