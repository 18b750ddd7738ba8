// File: src/breaker.cc
// A breaker's life outside the call path: construction (and the choice of
// the slow-call clock), destruction, classification, lifetime metrics. The
// state machine is in transitions.cc (every transition, deadlines, trips,
// the window bits), admission.cc (TryAcquire() beyond CLOSED) and
// outcomes.cc (what a resolved permit does); the CLOSED fast path is inline
// in circuit/breaker.h. docs/design.md draws the words and their orders.
#include "circuit/breaker.h"

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/internal/listener_set.h"
#include "internal/latency_window.h"
#include "internal/rate_window.h"

namespace circuit {

using internal::GenOf;
using internal::StateOf;

namespace {

// Whether every outcome's duration is kept, not only its slow verdict: the
// call-duration histogram and the latency-percentile trip count it.
bool KeepsDurations(const BreakerConfig& config) {
  return config.record_call_durations || config.latency_percentile > 0;
}

}  // namespace

// Which clock times a permit's call for slow-call detection (see
// SlowCallClock in circuit/config.h).
Breaker::DurationClock Breaker::ChooseDurationClock(const BreakerConfig& config) {
  if (config.slow_call_rate_threshold <= 0 && !KeepsDurations(config)) {
    return Breaker::DurationClock::kOff;
  }
  switch (config.slow_call_clock) {
    case SlowCallClock::kPrecise:
      return Breaker::DurationClock::kPrecise;
    case SlowCallClock::kCoarse:
      return Breaker::DurationClock::kCoarse;
    case SlowCallClock::kCaller:
      return Breaker::DurationClock::kCaller;
    case SlowCallClock::kAuto:
      break;
  }
  return config.slow_call_duration >= kCoarseSlowCallMinimum ? Breaker::DurationClock::kCoarse
                                                             : Breaker::DurationClock::kPrecise;
}

// ---- Construction ------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Breaker>> Breaker::Create(BreakerConfig config) {
  absl::Status status = ValidateConfig(config);
  if (!status.ok()) return status;
  return std::unique_ptr<Breaker>(new Breaker(std::move(config)));
}

Breaker::Breaker(BreakerConfig config)
    : config_(std::move(config)),
      clock_(config_.clock != nullptr ? config_.clock : SystemClock()),
      system_clock_(config_.clock == nullptr),
      time_base_(clock_->CoarseNowNanos()),
      duration_clock_(ChooseDurationClock(config_)),
      success_mode_(static_cast<uint8_t>(
          static_cast<uint8_t>(duration_clock_) |
          (KeepsDurations(config_) ? kDurationsMode : 0))),
      judged_rejections_(system_clock_ ? 0 : kJudgedByInjectedClock),
      slow_detection_(config_.slow_call_rate_threshold > 0),
      record_durations_(config_.record_call_durations),
      keep_nanos_(KeepsDurations(config_)),
      // Rounded up: a call shorter than the configured duration (1.75 ns
      // say) must not count as slow.
      slow_nanos_(slow_detection_ ? absl::ToInt64Nanoseconds(absl::Ceil(
                                        config_.slow_call_duration, absl::Nanoseconds(1)))
                                  : INT64_MAX),
      consecutive_to_open_(
          static_cast<uint32_t>(EffectiveConsecutiveFailuresToOpen(config_))),
      consecutive_on_(consecutive_to_open_ > 0),
      half_open_limited_(config_.half_open_max_duration > absl::ZeroDuration()),
      probe_timeout_nanos_(absl::ToInt64Nanoseconds(config_.half_open_probe_timeout)),
      half_open_timed_(half_open_limited_ || probe_timeout_nanos_ > 0),
      window_mode_(config_.failure_rate_threshold > 0 || config_.slow_call_rate_threshold > 0 ||
                           config_.adaptive_throttling
                       ? (config_.window_type == WindowType::kTimeBased ? WindowMode::kTime
                                                                        : WindowMode::kCount)
                       : WindowMode::kNone),
      slow_start_nanos_(absl::ToInt64Nanoseconds(config_.slow_start_duration)),
      shed_counter_(window_mode_ == WindowMode::kTime ? internal::kWindowCalls
                                                      : internal::kCachedBucket),
      throttling_(config_.adaptive_throttling),
      state_(internal::MakeWord(State::kClosed, 0)),
      stripes_(EffectiveStripes(config_), window_mode_ == WindowMode::kTime ? config_.window_buckets : 0,
               absl::ToInt64Nanoseconds(config_.window_duration / config_.window_buckets),
               config_.record_call_durations, config_.latency_percentile > 0),
      listeners_(std::make_shared<internal::ListenerSet>(
          &call_listeners_,
          std::array<internal::ListenerSet::FlagBit, 2>{
              {{&success_mode_, kCallListenersMode},
               {&judged_rejections_, kJudgedForCallListeners}}})) {
  if (window_mode_ != WindowMode::kNone) {
    window_ = std::make_unique<internal::RateWindow>(config_, &stripes_, &state_,
                                                     &window_judged_);
  }
  if (config_.latency_percentile > 0) {
    latency_ = std::make_unique<internal::LatencyWindow>(config_, &stripes_);
  }
  if (throttling_) {
    throttled_ = std::make_unique<internal::StripeSet>(
        EffectiveStripes(config_), config_.window_buckets,
        absl::ToInt64Nanoseconds(config_.window_duration / config_.window_buckets));
  }
  if (probe_timeout_nanos_ > 0) {
    const size_t slots = static_cast<size_t>(config_.half_open_max_concurrent);
    probe_slots_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
    probe_deadlines_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
    for (size_t i = 0; i < slots; ++i) {
      probe_slots_[i].store(0, std::memory_order_relaxed);
      probe_deadlines_[i].store(0, std::memory_order_relaxed);
    }
  }
}

Breaker::~Breaker() {
  // A permit that outlives its breaker would resolve into freed memory, so
  // this is where the misuse is caught: every tracked permit issued must
  // have ended. (DISABLED's untracked permits never touch the breaker.)
  const uint64_t issued = stripes_.Sum(internal::kPermitted);
  const uint64_t ended = stripes_.Sum(internal::kSuccesses) + stripes_.Sum(internal::kFailures) +
                         stripes_.Sum(internal::kIgnored) + stripes_.Sum(internal::kReleased);
  if (issued != ended) {
    ABSL_RAW_LOG(FATAL,
                 "circuit::Breaker '%s' destroyed with %lld permits outstanding: a Permit must "
                 "not outlive its Breaker",
                 config_.name.c_str(), static_cast<long long>(issued - ended));
  }
}

// ---- Classification ------------------------------------------------------------

Outcome Breaker::Classify(const absl::Status& status) const noexcept {
  if (status.ok()) return Outcome::kSuccess;
  if (!config_.status_is_failure) return Outcome::kFailure;
  try {
    return config_.status_is_failure(status) ? Outcome::kFailure : Outcome::kSuccess;
  } catch (...) {
    return Outcome::kFailure;  // a classifier that throws says "failure"
  }
}

Outcome Breaker::Classify(const std::exception_ptr& error) const noexcept {
  try {
    if (config_.exception_is_ignored && config_.exception_is_ignored(error)) {
      return Outcome::kIgnored;
    }
    if (!config_.exception_is_failure) return Outcome::kFailure;
    return config_.exception_is_failure(error) ? Outcome::kFailure : Outcome::kSuccess;
  } catch (...) {
    return Outcome::kFailure;  // a classifier that throws says "failure"
  }
}

absl::Status Breaker::ExceptionReason(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("the call threw: ", e.what()));
  } catch (...) {
    return absl::UnknownError("the call threw a non-standard exception");
  }
}

// ---- Metrics ---------------------------------------------------------------------

BreakerMetrics Breaker::Metrics() const {
  BreakerMetrics m;
  // acquire: see state().
  const uint64_t word = state_.load(std::memory_order_acquire);
  m.state = StateOf(word);
  m.generation = GenOf(word);
  m.permitted = stripes_.Sum(internal::kPermitted);
  m.rejected = stripes_.Sum(internal::kRejected);
  m.successes = stripes_.Sum(internal::kSuccesses);
  m.failures = stripes_.Sum(internal::kFailures);
  m.ignored = stripes_.Sum(internal::kIgnored);
  m.released = stripes_.Sum(internal::kReleased);
  m.slow = stripes_.Sum(internal::kSlow);
  m.stale = stripes_.Sum(internal::kStale);
  for (int from = 0; from < kNumStates; ++from) {
    for (int to = 0; to < kNumStates; ++to) {
      // relaxed: a statistic.
      m.transitions[from][to] = transitions_[from][to].load(std::memory_order_relaxed);
    }
    m.opened += m.transitions[from][static_cast<int>(State::kOpen)];
  }
  m.listener_errors = listeners_->errors();
  // relaxed: a statistic.
  m.probe_timeouts = probe_timeouts_.load(std::memory_order_relaxed);
  m.shed = stripes_.Sum(shed_counter_);
  // The throttled stripe set counts its rejections in kRejected, a word its
  // buckets leave unused (see PassGate()).
  if (throttled_) m.throttled = throttled_->Sum(internal::kRejected);
  return m;
}

CallDurations Breaker::Durations() const {
  CallDurations d;
  if (!record_durations_) return d;
  d.recorded = true;
  d.sum = absl::Nanoseconds(stripes_.SumDurations(d.counts.data()));
  for (uint64_t n : d.counts) d.count += n;
  return d;
}

Subscription Breaker::Subscribe(std::shared_ptr<BreakerListener> listener, uint32_t mask) {
  return listeners_->Add(std::move(listener), mask);
}

}  // namespace circuit
