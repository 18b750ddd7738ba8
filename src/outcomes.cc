// File: src/outcomes.cc
// What a resolved permit does: successes off the fast path, failures and
// slow calls (the consecutive run, the rate window), half-open trials
// (S of K, or judged by rate), releases.
#include "circuit/breaker.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <typeinfo>

#include "circuit/internal/cas_stats.h"
#include "circuit/internal/listener_set.h"
#include "internal/rate_window.h"

namespace circuit {

using internal::GenOf;
using internal::InFlightOf;
using internal::kOneInFlight;
using internal::MakeTrialWord;
using internal::NextWord;
using internal::StateOf;
using internal::StripeRef;
using internal::TrialFailuresOf;
using internal::TrialSlowOf;
using internal::TrialSuccessesOf;

// ---- Outcomes ------------------------------------------------------------------

int64_t Breaker::JudgeMeasuredForHistogram(absl::Duration took) const noexcept {
  const int64_t nanos = took <= absl::ZeroDuration()
                            ? 0
                            : (took >= absl::Nanoseconds(kMaxMeasuredNanos)
                                   ? kMaxMeasuredNanos
                                   : absl::ToInt64Nanoseconds(took));
  // Slow only with slow-call detection on: the histogram alone turns the
  // duration clock on, not the verdict.
  const bool slow = slow_detection_ && took >= config_.slow_call_duration;
  return (nanos << 1) | (slow ? 1 : 0);
}

void Breaker::ResolveAs(Permit& permit, Outcome outcome, int64_t measured,
                        const absl::Status* status, const std::exception_ptr* error) noexcept {
  if (!permit.Claim()) return;
  switch (outcome) {
    case Outcome::kSuccess:
      OnSuccess(permit, measured);
      return;
    case Outcome::kFailure:
      RecordFailure(permit, measured, status, error, /*open_nanos=*/-1);
      return;
    case Outcome::kIgnored:
      OnRelease(permit, /*ignored=*/true);
      return;
  }
}

void Breaker::ResolveRetryAfter(Permit& permit, int64_t measured,
                                absl::Duration retry_after) noexcept {
  if (retry_after <= absl::ZeroDuration()) {
    ResolveAs(permit, Outcome::kFailure, measured);
    return;
  }
  if (!permit.Claim()) return;
  // Capped at max_open_duration: a wrong header cannot hold it open longer
  // than the config allows any open period to last.
  RecordFailure(permit, measured, /*status=*/nullptr, /*error=*/nullptr,
                absl::ToInt64Nanoseconds(std::min(retry_after, config_.max_open_duration)));
}

void Breaker::RecordFailure(const Permit& permit, int64_t measured, const absl::Status* status,
                            const std::exception_ptr* error, int64_t open_nanos) noexcept {
  if (permit.kind_ == Permit::Kind::kUntracked) return;
  const StripeRef stripe = stripes_.ForThisThread();
  const bool timed_here = measured < 0;
  measured = MeasureAndRecord(permit, measured, stripe);
  if (latency_) RecordLatency(permit, measured, timed_here, stripe);
  const bool slow = IsSlow(permit, measured);
  OnOutcomeSlow(permit, Outcome::kFailure, slow, stripe, open_nanos);
  if (ABSL_PREDICT_FALSE(HasCallListeners())) {
    NotifyCall(permit, CallOutcome::kFailure, slow, status, error);
  }
}

void Breaker::OnSuccessSlow(const Permit& permit, int64_t measured) noexcept {
  if (permit.kind_ == Permit::Kind::kUntracked) return;  // DISABLED: nothing
  const StripeRef stripe = stripes_.ForThisThread();
  const bool timed_here = measured < 0;
  measured = MeasureAndRecord(permit, measured, stripe);
  if (latency_) RecordLatency(permit, measured, timed_here, stripe);
  const bool slow = IsSlow(permit, measured);
  if (permit.kind_ != Permit::Kind::kNormal || slow) {
    OnOutcomeSlow(permit, Outcome::kSuccess, slow, stripe);
  } else {
    RecordClosedSuccess(permit, stripe);
  }
  if (ABSL_PREDICT_FALSE(HasCallListeners())) NotifyCall(permit, CallOutcome::kSuccess, slow);
}

void Breaker::NotifyCall(const Permit& permit, CallOutcome outcome, bool slow,
                         const absl::Status* status,
                         const std::exception_ptr* error) const noexcept {
  CallEvent event;
  event.breaker = config_.name;
  event.outcome = outcome;
  // acquire: see TryAcquire(); a statistic here.
  event.state = permit.kind_ == Permit::Kind::kTrial
                    ? State::kHalfOpen
                    : internal::StateOf(state_.load(std::memory_order_acquire));
  event.trial = permit.kind_ == Permit::Kind::kTrial;
  event.slow = slow;
  if (status != nullptr) event.status = *status;
  if (error != nullptr && *error) {
    try {
      std::rethrow_exception(*error);
    } catch (const std::exception& e) {
      event.exception_type = typeid(e).name();
    } catch (...) {
      event.exception_type = "unknown (not a std::exception)";
    }
  }
  listeners_->DeliverCall(event);
}

void Breaker::NotifyRejected(uint64_t word) const noexcept {
  CallEvent event;
  event.breaker = config_.name;
  event.outcome = CallOutcome::kRejected;
  event.state = internal::StateOf(word);
  listeners_->DeliverCall(event);
}

uint32_t Breaker::AddConsecutiveFailure(uint32_t gen) noexcept {
  // relaxed: the CAS below validates it.
  uint64_t run = consecutive_.load(std::memory_order_relaxed);
  uint64_t desired;
  do {
    const uint32_t run_gen = static_cast<uint32_t>(run >> 32);
    if (run_gen == gen) {
      desired = run + (static_cast<uint32_t>(run) == UINT32_MAX ? 0 : 1);
    } else if (GenOf(state_.load(std::memory_order_acquire)) == gen) {
      // The run is another generation's and ours is current: that run has
      // ended (equality with the current generation; age cannot flip it).
      // acquire: see TryAcquire().
      desired = (uint64_t{gen} << 32) | 1;  // the first failure of this generation
    } else {
      return 0;  // our generation has passed: stale
    }
    // relaxed: the run is judged by its own value; the trip that may follow
    // is a CAS on the state word with its own ordering.
  } while (!consecutive_.compare_exchange_weak(run, desired, std::memory_order_relaxed,
                                               std::memory_order_relaxed) &&
           (internal::NoteCasFailure(), true));
  return static_cast<uint32_t>(desired);
}

void Breaker::ClearConsecutiveFailures(uint32_t gen) noexcept {
  // relaxed: the CAS below validates it.
  uint64_t run = consecutive_.load(std::memory_order_relaxed);
  // A success ends the run of its own generation. If a failure lands
  // between our load and our CAS, we retry and end that one too: the
  // success is ordered after it.
  while (static_cast<uint32_t>(run >> 32) == gen && static_cast<uint32_t>(run) != 0) {
    if (consecutive_.compare_exchange_weak(run, uint64_t{gen} << 32, std::memory_order_relaxed,
                                           std::memory_order_relaxed)) {
      return;
    }
    internal::NoteCasFailure();
  }
}

void Breaker::OnOutcomeSlow(const Permit& permit, Outcome outcome, bool slow, StripeRef stripe,
                            int64_t open_nanos) noexcept {
  const bool failure = outcome == Outcome::kFailure;
  stripe.Add(failure ? internal::kFailures : internal::kSuccesses);
  if (slow) stripe.Add(internal::kSlow);
  if (permit.kind_ == Permit::Kind::kTrial) {
    // A trial under a per-probe deadline that was reaped is over: its
    // slot and its verdict were given when it timed out.
    const bool current =
        FreeProbeSlot(permit) && OnTrialOutcome(permit.generation_, outcome, slow, open_nanos);
    if (!current) stripe.Add(internal::kStale);
    return;
  }
  const uint32_t gen = permit.generation_;
  // acquire: see TryAcquire().
  const uint64_t word = state_.load(std::memory_order_acquire);
  if (GenOf(word) != gen) {
    stripe.Add(internal::kStale);
    return;
  }
  // Only a time window places calls by the clock (on the ElapsedNanos()
  // scale, so that buckets do not depend on the clock's origin).
  const int64_t elapsed = window_mode_ == WindowMode::kTime ? ElapsedNanos(CoarseNowNanos()) : 0;
  // The call takes its place in the window before its event is folded, so
  // the fold counts it among the window's calls.
  if (window_mode_ == WindowMode::kCount) {
    stripe.Add(internal::kWindowCalls);
  } else if (window_mode_ == WindowMode::kTime) {
    stripes_.AddToBucket(stripe, elapsed, [this] { return ElapsedNanos(CoarseNowNanos()); });
  }
  // The window first: a consecutive trip moves the generation on, and an
  // event published after it would be dropped as stale, missing from the
  // window the OPEN breaker shows (Snapshot()).
  // With a retry-after the dependency's trip below is the one: the window
  // and the run count the failure but do not trip on it (they would open
  // with the computed period, which the dependency overrides).
  const bool retry_after = open_nanos >= 0;
  if (window_ && (failure || slow)) {
    internal::FoldResult result = window_->Record(gen, failure, slow, elapsed);
    if (retry_after && result.trip_gen == static_cast<int64_t>(gen)) result.trip_gen = -1;
    ApplyFold(result);
  }
  if (consecutive_on_) {
    if (failure) {
      const uint32_t run = AddConsecutiveFailure(gen);
      if (run >= consecutive_to_open_ && !retry_after) {
        TripIfCurrent(gen, TripCause::kConsecutiveFailures, run, consecutive_to_open_);
      }
    } else {
      ClearConsecutiveFailures(gen);
    }
  }
  if (retry_after) {
    const double seconds = static_cast<double>(open_nanos) / 1e9;
    TripIfCurrent(gen, TripCause::kRetryAfter, seconds, 0, open_nanos);
  }
}

bool Breaker::OnTrialOutcome(uint32_t gen, Outcome outcome, bool slow,
                             int64_t open_nanos) noexcept {
  const bool failure = outcome == Outcome::kFailure;
  const uint32_t trials = static_cast<uint32_t>(config_.half_open_trial_calls);
  // S of the K trials close it; more than K - S failed trials reopen it.
  const uint32_t to_close = config_.half_open_successes_to_close > 0
                                ? static_cast<uint32_t>(config_.half_open_successes_to_close)
                                : trials;
  const bool slow_counts = config_.slow_call_rate_threshold > 0;
  // Judged by S of K, a slow trial is a failed one (when slow calls count).
  const bool failed_trial = failure || (slow && slow_counts);
  // acquire: see TryAcquire(). A HALF_OPEN period past its limit reopens
  // first: this outcome is then late, and stale.
  uint64_t word = state_.load(std::memory_order_acquire);
  if (half_open_limited_) word = ApplyHalfOpenDeadline(word);
  for (;;) {
    if (GenOf(word) != gen || StateOf(word) != State::kHalfOpen || InFlightOf(word) == 0) {
      return false;  // the trials of this generation are over
    }
    const uint32_t in_flight = InFlightOf(word) - 1;
    const uint32_t slow_calls = TrialSlowOf(word) + (slow ? 1 : 0);
    // Judged by S of K, successes and failures count trials (a slow trial
    // fails); judged by rate, they count outcomes and slow ones apart.
    const bool counted_failure = config_.half_open_judge_by_rate ? failure : failed_trial;
    const uint32_t successes = TrialSuccessesOf(word) + (counted_failure ? 0 : 1);
    const uint32_t failures = TrialFailuresOf(word) + (counted_failure ? 1 : 0);
    const uint64_t trials_now = MakeTrialWord(gen, in_flight, successes, failures, slow_calls);
    uint64_t desired = trials_now;
    TripCause cause = TripCause::kNone;
    double value = 0;
    double threshold = 0;
    if (SharedDecides()) {
      // Counted only: the coordinator pushes the trials to the shared
      // store, whose verdict over every instance's trials it then follows.
    } else if (open_nanos >= 0) {
      // The dependency said when to come back: no verdict to wait for.
      desired = NextWord(word, State::kOpen);  // HALF_OPEN,g,n -> OPEN,g+1,0
      cause = TripCause::kRetryAfter;
      value = static_cast<double>(open_nanos) / 1e9;
    } else if (!config_.half_open_judge_by_rate) {
      if (successes >= to_close) {
        desired = NextWord(word, State::kClosed);  // HALF_OPEN,g,n -> CLOSED,g+1,0
      } else if (failures > trials - to_close) {
        desired = NextWord(word, State::kOpen);  // HALF_OPEN,g,n -> OPEN,g+1,0
        cause = TripCause::kTrialFailures;
        value = failures;
        threshold = trials - to_close + 1;
      }
    } else if (successes + failures >= trials) {
      const double done = static_cast<double>(successes + failures);
      const bool failure_trip = config_.failure_rate_threshold > 0 &&
                                failures * 100.0 >= config_.failure_rate_threshold * done;
      const bool slow_trip = config_.slow_call_rate_threshold > 0 &&
                             slow_calls * 100.0 >= config_.slow_call_rate_threshold * done;
      desired = NextWord(word, failure_trip || slow_trip ? State::kOpen : State::kClosed);
      if (failure_trip || slow_trip) {
        cause = failure_trip ? TripCause::kTrialFailureRate : TripCause::kTrialSlowCallRate;
        value = (failure_trip ? failures : slow_calls) * 100.0 / done;
        threshold = failure_trip ? config_.failure_rate_threshold
                                 : config_.slow_call_rate_threshold;
      }
    }
    const int64_t now = StateOf(desired) == State::kHalfOpen ? 0 : CoarseNowNanos();
    Why why;
    if (StateOf(desired) == State::kOpen) {
      why = {TransitionCauseOf(cause), value, threshold,
             cause == TripCause::kRetryAfter ? open_nanos : -1};
    } else if (StateOf(desired) == State::kClosed) {
      why = {TransitionCause::kTrialsSucceeded, static_cast<double>(successes),
             config_.half_open_judge_by_rate ? 0.0 : static_cast<double>(to_close)};
      // Slow start: the new CLOSED period opens gated; the transition
      // stores the ramp's end in the deadline word (AfterTransition()).
      if (slow_start_nanos_ > 0) desired |= internal::kGatedBit;
    }
    if (Publish(word, desired, now, why)) {
      if (StateOf(desired) == State::kOpen) {
        // relaxed: read by snapshots only, as a statistic.
        last_trials_.store(trials_now, std::memory_order_relaxed);
      }
      return true;
    }
  }
}

void Breaker::OnRelease(const Permit& permit, bool ignored) noexcept {
  if (permit.kind_ == Permit::Kind::kUntracked) return;
  stripes_.ForThisThread().Add(ignored ? internal::kIgnored : internal::kReleased);
  if (ignored && ABSL_PREDICT_FALSE(HasCallListeners())) {
    NotifyCall(permit, CallOutcome::kIgnored, false);
  }
  if (permit.kind_ != Permit::Kind::kTrial) return;
  // A reaped trial's slot went back when it timed out.
  if (!FreeProbeSlot(permit)) return;
  ReturnTrialSlot(permit.generation_);
}

void Breaker::ReturnTrialSlot(uint32_t gen) noexcept {
  // HALF_OPEN,g,n -> HALF_OPEN,g,n-1: the slot goes back, no outcome counts
  // (unless the period is past its limit: then it reopens).
  // acquire: see TryAcquire().
  uint64_t word = state_.load(std::memory_order_acquire);
  if (half_open_limited_) word = ApplyHalfOpenDeadline(word);
  while (GenOf(word) == gen && StateOf(word) == State::kHalfOpen &&
         InFlightOf(word) > 0) {
    // release: the slot we hand back is taken by a CAS that acquires it.
    if (state_.compare_exchange_weak(word, word - kOneInFlight, std::memory_order_release,
                                     std::memory_order_acquire)) {
      return;
    }
    internal::NoteCasFailure();
  }
}

}  // namespace circuit
