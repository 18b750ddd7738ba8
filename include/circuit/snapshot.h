// File: circuit/snapshot.h
// `circuit::BreakerSnapshot` is a breaker's window as it is now, as
// resilience4j's CircuitBreaker.Metrics gives it: the state (with any
// time-due transition applied), the rates and counts of the current window,
// the consecutive run, the half-open trials, the time left OPEN and the
// length of the open period, and why the breaker last opened.
// Breaker::Snapshot() returns one; Breaker::Metrics() keeps the lifetime
// counters.
//
// Example:
//   circuit::BreakerSnapshot s = breaker->Snapshot();
//   if (s.failure_rate) LOG(INFO) << "failure rate " << *s.failure_rate << "%";
//   if (s.state == circuit::State::kOpen)
//     LOG(INFO) << "open for " << s.open_remaining << ": " << TripCauseName(s.last_trip.cause);
//
// Exactness: with no call in flight a snapshot is exact. While calls run it
// is a sum of per-thread counters read one after another, like
// BreakerMetrics: it may miss outcomes in flight, and failures not yet
// folded into the window (a fold in progress) are not seen. It never
// blocks a call and allocates nothing.
#ifndef CIRCUIT_SNAPSHOT_H_
#define CIRCUIT_SNAPSHOT_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/sharing.h"
#include "circuit/state.h"

namespace circuit {

// Why a breaker opened.
enum class TripCause : uint8_t {
  kNone = 0,                // it never opened
  kConsecutiveFailures,     // value: the run of failures
  kFailureRate,             // value: the window's failure rate, percent
  kSlowCallRate,            // value: the window's slow-call rate, percent
  kTrialFailures,           // value: failed trials (more than K - S)
  kTrialFailureRate,        // judged by rate in HALF_OPEN; value: percent
  kTrialSlowCallRate,       // judged by rate in HALF_OPEN; value: percent
  kHalfOpenTimeout,         // value: the HALF_OPEN period's seconds
  kOperator,                // ForceOpen(); value 0
  kShared,                  // the shared state opened (circuit/sharing.h);
                            // value, threshold: the shared trip's
  kRetryAfter,              // Permit::FailureRetryAfter(); value: the seconds
                            // the dependency asked for (the open period)
  kLatencyPercentile,       // BreakerConfig::latency_percentile; value: the
                            // percentile's seconds (its bin's bound),
                            // threshold: the threshold's (rounded up)
};

// TripCauseName()
// "NONE", "CONSECUTIVE_FAILURES", "FAILURE_RATE", "SLOW_CALL_RATE",
// "TRIAL_FAILURES", "TRIAL_FAILURE_RATE", "TRIAL_SLOW_CALL_RATE",
// "HALF_OPEN_TIMEOUT", "OPERATOR", "SHARED", "RETRY_AFTER",
// "LATENCY_PERCENTILE"; "UNKNOWN"
// outside the enum.
absl::string_view TripCauseName(TripCause cause);

// The last transition into OPEN or FORCED_OPEN, and what crossed which
// threshold. When one outcome crosses a rate threshold and the consecutive
// run at once, the rate is recorded (the window is judged first).
// `threshold` is the limit in effect: the configured rate, the effective
// consecutive_failures_to_open, or for kTrialFailures K - S + 1.
struct TripReason {
  TripCause cause = TripCause::kNone;
  double value = 0;       // see TripCause
  double threshold = 0;   // the limit it reached (see above; 0 if none)
  uint32_t generation = 0;  // the generation the breaker opened into
};

struct BreakerSnapshot {
  // The state as of now: a HALF_OPEN period past half_open_max_duration is
  // reported (and made) OPEN. An OPEN breaker past its open duration stays
  // OPEN until a call arrives (that call becomes the first trial).
  State state = State::kClosed;
  uint32_t generation = 0;

  // The current window. CLOSED and METRICS_ONLY: the sliding window. OPEN:
  // the window that opened it (the CLOSED window, or the trials that
  // reopened it); a time window is still read as of now, so it empties as
  // its buckets age out while the breaker stays OPEN. HALF_OPEN: the trials
  // so far. FORCED_OPEN, DISABLED: empty. A new window starts on entering
  // CLOSED, HALF_OPEN, the operator states and Reset().
  uint64_t calls = 0;        // calls with an outcome (ignored and released ones are not)
  uint64_t successes = 0;    // slow ones included
  uint64_t failures = 0;
  uint64_t slow_calls = 0;   // successes and failures at or over slow_call_duration

  // Percent of `calls`; absent while the window holds fewer than
  // minimum_calls calls (in HALF_OPEN, fewer than the trials that decide,
  // half_open_trial_calls), or when the threshold is off.
  std::optional<double> failure_rate;
  std::optional<double> slow_call_rate;

  // The run of failures in a row (CLOSED, METRICS_ONLY; 0 elsewhere).
  uint32_t consecutive_failures = 0;

  // HALF_OPEN: trials admitted and not yet resolved, and the outcomes so
  // far (a slow trial judged by S of K counts among the failures).
  uint32_t trials_in_flight = 0;
  uint32_t trial_successes = 0;
  uint32_t trial_failures = 0;

  // OPEN: time until a trial is admitted (zero once it is due); zero in
  // any other state but FORCED_OPEN, where it is infinite. Deadlines are
  // kept rounded up to a microsecond, so right after a trip this may exceed
  // open_period by up to 999 ns.
  absl::Duration open_remaining = absl::ZeroDuration();
  // OPEN: the length of the current open period. Otherwise: of the next
  // one (with backoff; jitter not applied, since it is drawn at the trip).
  absl::Duration open_period = absl::ZeroDuration();

  // CLOSED, ramping up after recovery (BreakerConfig::slow_start_duration):
  // the fraction of calls admitted now (0 at the ramp's start, rising
  // linearly) and the time left in the ramp. Absent otherwise, and once the
  // ramp's time is up (the next admission then opens the gate for all).
  std::optional<double> slow_start_admitted;
  absl::Duration slow_start_remaining = absl::ZeroDuration();

  // CLOSED with adaptive_throttling: the window's requests (calls with an
  // outcome plus calls the throttle rejected) and accepts (successes), and
  // the probability of a local rejection they give as of now,
  // max(0, (requests - K * accepts) / (requests + 1)). Admissions draw
  // against the probability judged last (after the latest fold, or at the
  // start of the bucket), which this may run ahead of. Absent otherwise.
  std::optional<double> throttle_probability;
  uint64_t throttle_requests = 0;
  uint64_t throttle_accepts = 0;

  // CLOSED or METRICS_ONLY with latency_percentile: the window's percentile
  // as of its last judgment in this generation (at most a bucket old: it is
  // judged once a bucket, not per call), as its bin's bound
  // (InfiniteDuration() past 100 s), and the calls it was judged over.
  // Absent before the generation's first judgment or with no call in it.
  // latency_percentile_threshold: the threshold in force, rounded up to a
  // bin's bound (circuit/call_durations.h); zero when the trip is off.
  std::optional<absl::Duration> latency_percentile;
  uint64_t latency_percentile_calls = 0;
  absl::Duration latency_percentile_threshold = absl::ZeroDuration();

  TripReason last_trip;

  // Whether the breaker decides alone, follows a shared state, or has lost
  // it (circuit/sharing.h).
  Sharing sharing = Sharing::kLocal;
};

}  // namespace circuit

#endif  // CIRCUIT_SNAPSHOT_H_
