// File: src/snapshot.cc
// Breaker::Snapshot(): the window as it is now, read without a lock the
// call path takes (circuit/snapshot.h). The state word gives the state and
// the half-open trials; the rate window's log (read under its seqlock) and
// the stripes give the window; the run word, the deadline and the trip
// record give the rest.
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/call_durations.h"
#include "circuit/snapshot.h"
#include "internal/latency_window.h"
#include "internal/rate_window.h"

namespace circuit {

using internal::GenOf;
using internal::InFlightOf;
using internal::StateOf;
using internal::TrialFailuresOf;
using internal::TrialSlowOf;
using internal::TrialSuccessesOf;

absl::string_view TripCauseName(TripCause cause) {
  switch (cause) {
    case TripCause::kNone:
      return "NONE";
    case TripCause::kConsecutiveFailures:
      return "CONSECUTIVE_FAILURES";
    case TripCause::kFailureRate:
      return "FAILURE_RATE";
    case TripCause::kSlowCallRate:
      return "SLOW_CALL_RATE";
    case TripCause::kTrialFailures:
      return "TRIAL_FAILURES";
    case TripCause::kTrialFailureRate:
      return "TRIAL_FAILURE_RATE";
    case TripCause::kTrialSlowCallRate:
      return "TRIAL_SLOW_CALL_RATE";
    case TripCause::kHalfOpenTimeout:
      return "HALF_OPEN_TIMEOUT";
    case TripCause::kOperator:
      return "OPERATOR";
    case TripCause::kShared:
      return "SHARED";
    case TripCause::kRetryAfter:
      return "RETRY_AFTER";
    case TripCause::kLatencyPercentile:
      return "LATENCY_PERCENTILE";
  }
  return "UNKNOWN";
}

namespace {

// The rates of a window of `calls` calls, when at least `minimum` and the
// threshold is on.
void SetRates(const BreakerConfig& config, uint64_t minimum, BreakerSnapshot& s) {
  if (s.calls == 0 || s.calls < minimum) return;
  const double calls = static_cast<double>(s.calls);
  if (config.failure_rate_threshold > 0) s.failure_rate = s.failures * 100.0 / calls;
  if (config.slow_call_rate_threshold > 0) s.slow_call_rate = s.slow_calls * 100.0 / calls;
}

// A window of trials (HALF_OPEN's, or the one that reopened it): judged by
// S of K, a slow trial is among the failures already.
void SetTrialWindow(uint64_t word, BreakerSnapshot& s) {
  s.successes = TrialSuccessesOf(word);
  s.failures = TrialFailuresOf(word);
  s.slow_calls = TrialSlowOf(word);
  s.calls = s.successes + s.failures;
}

}  // namespace

BreakerSnapshot Breaker::Snapshot() const {
  BreakerSnapshot s;
  const uint64_t word = WordAsOfNow();
  s.state = StateOf(word);
  s.generation = GenOf(word);
  bool reopened = false;
  s.last_trip = ReadTrip(&reopened);
  // relaxed: a mode, reported as of now.
  s.sharing = static_cast<Sharing>(sharing_.load(std::memory_order_relaxed));
  const int64_t coarse_now = CoarseNowNanos();
  const int64_t now = ElapsedNanos(coarse_now);
  if (latency_) s.latency_percentile_threshold = latency_->effective_threshold();
  const uint64_t minimum_calls =
      config_.window_type == WindowType::kCountBased
          ? static_cast<uint64_t>(std::min(config_.minimum_calls, config_.window_size))
          : static_cast<uint64_t>(config_.minimum_calls);

  // The window of CLOSED generation `gen` (successes are what is left).
  auto read_window = [&](uint32_t gen) {
    if (!window_) return;
    const internal::RateWindow::View view = window_->Read(gen, now);
    s.calls = view.calls;
    s.failures = std::min(view.failures, view.calls);
    s.slow_calls = std::min(view.slow, view.calls);
    s.successes = s.calls - s.failures;
    SetRates(config_, minimum_calls, s);
  };

  switch (s.state) {
    case State::kClosed:
    case State::kMetricsOnly: {
      read_window(s.generation);
      // relaxed: a statistic; only a run of this generation counts.
      const uint64_t run = consecutive_.load(std::memory_order_relaxed);
      if (static_cast<uint32_t>(run >> 32) == s.generation) {
        s.consecutive_failures = static_cast<uint32_t>(run);
      }
      if (throttling_ && s.state == State::kClosed) {
        const ThrottleCounts counts = ThrottleCountsOf(s.generation, now);
        s.throttle_probability = counts.probability;
        s.throttle_requests = counts.requests;
        s.throttle_accepts = counts.accepts;
      }
      if (latency_) {
        const internal::LatencyWindow::View view = latency_->Last(s.generation);
        s.latency_percentile_calls = view.calls;
        if (view.bin >= 0) s.latency_percentile = CallDurationBound(view.bin);
      }
      int64_t ramp_end;
      double admitted;
      if ((word & internal::kGatedBit) != 0 && slow_start_nanos_ > 0 &&
          RampAt(s.generation, now, &ramp_end, &admitted)) {
        s.slow_start_admitted = admitted;
        s.slow_start_remaining = absl::Nanoseconds(ramp_end - now);
      }
      break;
    }
    case State::kOpen: {
      // The window that opened it: the CLOSED generation before, or the
      // trials of the HALF_OPEN one (a retry-after opens from either).
      const bool from_closed = s.last_trip.generation == s.generation &&
                               (s.last_trip.cause == TripCause::kConsecutiveFailures ||
                                s.last_trip.cause == TripCause::kFailureRate ||
                                s.last_trip.cause == TripCause::kSlowCallRate ||
                                s.last_trip.cause == TripCause::kLatencyPercentile ||
                                (s.last_trip.cause == TripCause::kRetryAfter && !reopened));
      if (from_closed) {
        read_window(s.generation - 1);
      } else if (s.last_trip.generation == s.generation) {
        // relaxed: a statistic, written before the trip record it goes with.
        const uint64_t trials = last_trials_.load(std::memory_order_relaxed);
        if (GenOf(trials) + 1 == s.generation) {
          SetTrialWindow(trials, s);
          SetRates(config_, static_cast<uint64_t>(config_.half_open_trial_calls), s);
        }
      }
      int64_t until;
      if (ReadDeadline(s.generation, &until)) {
        s.open_remaining = absl::Nanoseconds(std::max<int64_t>(0, until - now));
        // relaxed: published by the deadline's release (ReadDeadline()
        // acquires it).
        s.open_period = absl::Nanoseconds(open_period_nanos_.load(std::memory_order_relaxed));
      } else {
        // Just opened: its winner is storing the deadline.
        s.open_period = config_.open_duration;
        s.open_remaining = s.open_period;
      }
      break;
    }
    case State::kHalfOpen:
      SetTrialWindow(word, s);
      s.trials_in_flight = InFlightOf(word);
      s.trial_successes = TrialSuccessesOf(word);
      s.trial_failures = TrialFailuresOf(word);
      SetRates(config_, static_cast<uint64_t>(config_.half_open_trial_calls), s);
      break;
    case State::kForcedOpen:
      s.open_remaining = absl::InfiniteDuration();
      break;
    case State::kDisabled:
      break;
  }
  if (s.state != State::kOpen) {
    // The next open period: a reopen from HALF_OPEN backs off once more;
    // a trip from CLOSED starts over. Without jitter (drawn at the trip).
    uint32_t reopens = 0;
    if (s.state == State::kHalfOpen) {
      // relaxed: a statistic.
      reopens = static_cast<uint32_t>(reopen_.load(std::memory_order_relaxed)) + 1;
    }
    s.open_period = absl::Nanoseconds(static_cast<int64_t>(BackedOffNanos(reopens)));
  }
  return s;
}

}  // namespace circuit
