// File: src/breaker.cc
// The breaker's slow paths: every transition, the OPEN and HALF_OPEN
// admission paths, failures, slow calls, trials and releases. The CLOSED
// fast path is inline in circuit/breaker.h. Transitions are drawn there and,
// with the memory order of every atomic operation, in docs/design.md.
#include "circuit/breaker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/internal/cas_stats.h"
#include "src/internal/rate_window.h"

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

// Which clock times a permit's call for slow-call detection (see
// SlowCallClock in circuit/config.h).
Breaker::DurationClock Breaker::ChooseDurationClock(const BreakerConfig& config) {
  if (config.slow_call_rate_threshold <= 0) return Breaker::DurationClock::kOff;
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

namespace {

// splitmix64: a well-mixed 64-bit value from a counter; picks the jitter.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

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
      // Rounded up: a call shorter than the configured duration (1.75 ns
      // say) must not count as slow.
      slow_nanos_(absl::ToInt64Nanoseconds(
          absl::Ceil(config_.slow_call_duration, absl::Nanoseconds(1)))),
      consecutive_to_open_(
          static_cast<uint32_t>(EffectiveConsecutiveFailuresToOpen(config_))),
      consecutive_on_(consecutive_to_open_ > 0),
      half_open_limited_(config_.half_open_max_duration > absl::ZeroDuration()),
      window_mode_(config_.failure_rate_threshold > 0 || config_.slow_call_rate_threshold > 0
                       ? (config_.window_type == WindowType::kTimeBased ? WindowMode::kTime
                                                                        : WindowMode::kCount)
                       : WindowMode::kNone),
      state_(internal::MakeWord(State::kClosed, 0)),
      stripes_(config_.stripes, window_mode_ == WindowMode::kTime ? config_.window_buckets : 0,
               absl::ToInt64Nanoseconds(config_.window_duration / config_.window_buckets)) {
  if (window_mode_ != WindowMode::kNone) {
    window_ = std::make_unique<internal::RateWindow>(config_, &stripes_, &state_,
                                                     &window_judged_);
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

// ---- Deadlines ---------------------------------------------------------------

uint64_t Breaker::DeadlineWord(uint32_t gen, int64_t elapsed_nanos) {
  // Rounded up to a microsecond: a deadline is never earlier than asked.
  // Saturated at the field's 35 years rather than wrapped.
  const uint64_t micros =
      elapsed_nanos <= 0 ? 0 : (static_cast<uint64_t>(elapsed_nanos) + 999) / 1000;
  static_assert(kDeadlineGenBits + kDeadlineTimeBits == 64, "deadline fields fill the word");
  return (uint64_t{gen & kDeadlineGenMask} << kDeadlineTimeBits) |
         std::min(micros, kDeadlineTimeMask);
}

void Breaker::StoreDeadline(uint32_t gen, int64_t elapsed_nanos) noexcept {
  const uint64_t desired = DeadlineWord(gen, elapsed_nanos);
  const uint32_t tag = gen & kDeadlineGenMask;
  // relaxed: the CAS below validates it.
  uint64_t old = deadline_.load(std::memory_order_relaxed);
  do {
    // The winner of an older generation may run this after a newer one's
    // winner (it was preempted between its CAS and here): it must not
    // overwrite the newer deadline, or the newer OPEN would never end.
    // "Newer" is judged by distance from the current generation, never by
    // serial arithmetic on the tags alone: `passed` generations have begun
    // since ours, and a tag within that many ahead of ours is one of them.
    // acquire: see TryAcquire().
    const uint32_t passed = (GenOf(state_.load(std::memory_order_acquire)) - gen) &
                            static_cast<uint32_t>(internal::kGenMask);
    if (passed > kDeadlineGenMask) return;  // hopelessly late: 2^14 generations on
    const uint32_t old_tag = static_cast<uint32_t>(old >> kDeadlineTimeBits);
    const uint32_t old_ahead = (old_tag - tag) & kDeadlineGenMask;
    if (old_ahead != 0 && old_ahead <= passed) return;  // a generation in (gen, now] stored
    // release: pairs with the acquire in ReadDeadline(). A reader that sees
    // OPEN before this store finds another generation's tag and keeps
    // rejecting, which is right: the breaker has just opened.
  } while (!deadline_.compare_exchange_weak(old, desired, std::memory_order_release,
                                            std::memory_order_relaxed) &&
           (internal::NoteCasFailure(), true));
}

uint32_t Breaker::UpdateReopenCount(uint32_t gen, bool increment) noexcept {
  // relaxed: the CAS below validates it; the count is a number, it publishes
  // nothing else.
  uint64_t old = reopen_.load(std::memory_order_relaxed);
  for (;;) {
    const uint32_t old_gen = static_cast<uint32_t>(old >> 32);
    const uint32_t old_count = static_cast<uint32_t>(old);
    // As in StoreDeadline(): a late winner leaves the count of a generation
    // in (gen, current] alone.
    // acquire: see TryAcquire().
    const uint32_t passed = (GenOf(state_.load(std::memory_order_acquire)) - gen) &
                            static_cast<uint32_t>(internal::kGenMask);
    const uint32_t old_ahead = (old_gen - gen) & static_cast<uint32_t>(internal::kGenMask);
    if (old_ahead != 0 && old_ahead <= passed) return old_count;
    const uint32_t count = increment ? old_count + (old_count == UINT32_MAX ? 0 : 1) : 0;
    if (reopen_.compare_exchange_weak(old, (uint64_t{gen} << 32) | count,
                                      std::memory_order_relaxed, std::memory_order_relaxed)) {
      return count;
    }
    internal::NoteCasFailure();
  }
}

double Breaker::BackedOffNanos(uint32_t reopen_count) const {
  const double base = absl::ToDoubleNanoseconds(config_.open_duration);
  const double cap = absl::ToDoubleNanoseconds(config_.max_open_duration);
  const double nanos = base * std::pow(config_.open_backoff_multiplier, reopen_count);
  return nanos <= cap ? nanos : cap;  // also catches inf from pow
}

int64_t Breaker::OpenDurationNanos(uint32_t reopen_count, uint32_t gen) const {
  double nanos = BackedOffNanos(reopen_count);
  if (config_.open_jitter > 0) {
    const double cap = absl::ToDoubleNanoseconds(config_.max_open_duration);
    const uint64_t bits = Mix(uint64_t{gen} ^ reinterpret_cast<uintptr_t>(this));
    const double unit = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
    nanos *= 1.0 + config_.open_jitter * (2.0 * unit - 1.0);
    // The cap is applied last: jitter never takes a period past it (at the
    // cap, jitter can only shorten).
    nanos = std::min(nanos, cap);
  }
  return static_cast<int64_t>(nanos);
}

// ---- Transitions -------------------------------------------------------------

bool Breaker::Publish(uint64_t& expected, uint64_t desired, int64_t coarse_now) noexcept {
  const State from = StateOf(expected);
  const State to = StateOf(desired);
  const bool new_generation = GenOf(desired) != GenOf(expected);
  if (new_generation && (to == State::kClosed || to == State::kMetricsOnly) && window_) {
    // Before the CAS: calls of the new generation may be recorded the
    // moment it is published, and their window must already start here.
    window_->Rebase(GenOf(expected), GenOf(desired), ElapsedNanos(coarse_now));
  }
  // acq_rel: release publishes what precedes the transition (the window's
  // base) to every caller that loads the new word with acquire; acquire
  // orders this thread's after-effects after the transitions before it.
  // Failure acquire: the caller re-examines the word it got.
  if (!state_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    internal::NoteCasFailure();
    return false;
  }
  if (new_generation) AfterTransition(from, desired, coarse_now);
  return true;
}

void Breaker::AfterTransition(State from, uint64_t word, int64_t coarse_now) noexcept {
  const uint32_t gen = GenOf(word);
  const int64_t now = ElapsedNanos(coarse_now);
  // Every transition stores a deadline word (0 where the state has none), so
  // that the word's 14-bit tag never lags far behind the generation.
  switch (StateOf(word)) {
    case State::kOpen: {
      const uint32_t reopen_count = UpdateReopenCount(gen, from == State::kHalfOpen);
      const int64_t period = OpenDurationNanos(reopen_count, gen);
      // relaxed: published by the deadline's release store just below.
      open_period_nanos_.store(period, std::memory_order_relaxed);
      StoreDeadline(gen, now + period);
      // relaxed: a statistic.
      opened_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case State::kHalfOpen: {
      const int64_t limit = absl::ToInt64Nanoseconds(config_.half_open_max_duration);
      StoreDeadline(gen, limit > 0 ? now + limit : 0);  // 0: no limit
      break;
    }
    case State::kClosed:
      UpdateReopenCount(gen, /*increment=*/false);
      StoreDeadline(gen, 0);
      break;
    case State::kForcedOpen:
    case State::kDisabled:
    case State::kMetricsOnly:
      StoreDeadline(gen, 0);
      break;
  }
}

void Breaker::TripIfCurrent(uint32_t gen, TripCause cause, double value,
                            double threshold) noexcept {
  // acquire: see TryAcquire().
  uint64_t word = state_.load(std::memory_order_acquire);
  // CLOSED,g,0 -> OPEN,g+1,0. Only one tripping thread wins; the others'
  // CAS fails and they return: the breaker is already open. A CAS that
  // fails only because a window bit changed is retried.
  while (StateOf(word) == State::kClosed && GenOf(word) == gen) {
    if (Publish(word, NextWord(word, State::kOpen), CoarseNowNanos())) {
      RecordTrip(GenOf(NextWord(word, State::kOpen)), cause, value, threshold);
      return;
    }
  }
}

void Breaker::RecordTrip(uint32_t gen, TripCause cause, double value, double threshold) noexcept {
  // A seqlock whose sequence word is the record's tag (as the rate window's
  // base): claim it, check that no later trip is recorded, write, publish.
  // relaxed: the CAS below validates it.
  uint64_t seen = trip_tag_.load(std::memory_order_relaxed);
  for (;;) {
    if (seen == kTripWriting) return;  // a racing recorder: a later trip's, or ours
    const uint32_t seen_gen = static_cast<uint32_t>(seen >> 8);
    // As StoreDeadline(): a record of a generation in (gen, current] stays.
    // acquire: see TryAcquire().
    const uint32_t passed = (GenOf(state_.load(std::memory_order_acquire)) - gen) &
                            static_cast<uint32_t>(internal::kGenMask);
    const uint32_t ahead = (seen_gen - gen) & static_cast<uint32_t>(internal::kGenMask);
    if (seen != 0 && ahead != 0 && ahead <= passed) return;
    // acquire: orders our writes after the previous writer's.
    if (trip_tag_.compare_exchange_weak(seen, kTripWriting, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      break;
    }
    internal::NoteCasFailure();
  }
  // release: a reader that sees these values sees kTripWriting or later
  // when it re-reads the tag (see ReadTrip()).
  trip_value_.store(value, std::memory_order_release);
  trip_threshold_.store(threshold, std::memory_order_release);
  // release: publishes the values with the tag.
  trip_tag_.store((uint64_t{gen} << 8) | static_cast<uint8_t>(cause), std::memory_order_release);
}

TripReason Breaker::ReadTrip() const noexcept {
  TripReason reason;
  for (int attempt = 0; attempt < 8; ++attempt) {
    // acquire: pairs with the release store of the tag in RecordTrip().
    const uint64_t tag = trip_tag_.load(std::memory_order_acquire);
    if (tag == kTripWriting) continue;
    reason.cause = static_cast<TripCause>(tag & 0xFF);
    reason.generation = static_cast<uint32_t>(tag >> 8);
    // acquire: see RecordTrip().
    reason.value = trip_value_.load(std::memory_order_acquire);
    reason.threshold = trip_threshold_.load(std::memory_order_acquire);
    // relaxed: ordered after the acquire loads above.
    if (trip_tag_.load(std::memory_order_relaxed) == tag) return reason;
  }
  return reason;  // a recorder kept writing: the last read, approximate
}

uint64_t Breaker::ApplyHalfOpenDeadline(uint64_t word) const noexcept {
  Breaker* const self = const_cast<Breaker*>(this);  // see the declaration
  while (StateOf(word) == State::kHalfOpen) {
    int64_t until;
    // Not yet published (its winner is storing it): not due either.
    if (!ReadDeadline(GenOf(word), &until) || until == 0) return word;
    if (ElapsedNanos(CoarseNowNanos()) < until) return word;
    // HALF_OPEN,g,n -> OPEN,g+1,0: the new open period (and its backoff)
    // starts at the deadline, not at whoever noticed it. The trials still
    // out are stale from here on.
    const int64_t deadline = static_cast<int64_t>(static_cast<uint64_t>(time_base_) +
                                                  static_cast<uint64_t>(until));
    if (self->Publish(word, NextWord(word, State::kOpen), deadline)) {
      // relaxed: read by snapshots only, as a statistic.
      self->last_trials_.store(word, std::memory_order_relaxed);
      self->RecordTrip(GenOf(NextWord(word, State::kOpen)), TripCause::kHalfOpenTimeout,
                       absl::ToDoubleSeconds(config_.half_open_max_duration),
                       absl::ToDoubleSeconds(config_.half_open_max_duration));
      return NextWord(word, State::kOpen);
    }
    // `word` holds what beat us: another trial's count (retry), or another
    // generation (the loop ends unless it is a HALF_OPEN one).
  }
  return word;
}

void Breaker::ServeWindow(uint64_t word, uint64_t bits) noexcept {
  // Clear the bits first, then fold: a fold that still owes, or still wants
  // successes, sets its bit again, so no request falls between the two.
  while ((word & bits) != 0) {
    // acq_rel: release as every CAS of this word (it publishes what came
    // before); acquire orders the fold after the bit's setter. Failure:
    // re-examine the word.
    if (state_.compare_exchange_weak(word, word & ~bits, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      ApplyFold(window_->Fold(ElapsedNanos(CoarseNowNanos())));
      return;
    }
    internal::NoteCasFailure();
  }
  // Another thread cleared them: that thread folds.
}

void Breaker::JudgeAgedWindow(int64_t now) noexcept { ApplyFold(window_->Fold(now)); }

void Breaker::ApplyFold(internal::FoldResult result) noexcept {
  if (result.trip_gen >= 0) {
    TripIfCurrent(static_cast<uint32_t>(result.trip_gen),
                  result.slow_rate_tripped ? TripCause::kSlowCallRate : TripCause::kFailureRate,
                  result.rate,
                  result.slow_rate_tripped ? config_.slow_call_rate_threshold
                                           : config_.failure_rate_threshold);
  }
  const uint64_t bits = (result.owed ? internal::kFoldOwedBit : 0) |
                        (result.wants_successes ? internal::kSuccessesWantedBit : 0);
  if (bits == 0) return;
  // Only into the generation the fold judged: a new generation's window
  // owes nothing and wants nothing.
  // acquire: see TryAcquire(). Failure: re-examine the word.
  uint64_t word = state_.load(std::memory_order_acquire);
  while ((StateOf(word) == State::kClosed || StateOf(word) == State::kMetricsOnly) &&
         static_cast<int64_t>(GenOf(word)) == result.gen && (word & bits) != bits) {
    // release: as every CAS of this word. The owed events themselves are in
    // the rate window's seq_cst words, the wanted window in its log.
    if (state_.compare_exchange_weak(word, word | bits, std::memory_order_release,
                                     std::memory_order_acquire)) {
      return;
    }
    internal::NoteCasFailure();
  }
}

uint32_t Breaker::ForceTo(State to) {
  const int64_t now = CoarseNowNanos();
  // relaxed: the CAS in Publish() validates it.
  uint64_t word = state_.load(std::memory_order_relaxed);
  while (!Publish(word, NextWord(word, to), now)) {
  }
  return GenOf(NextWord(word, to));  // on success `word` is what it replaced
}

void Breaker::ForceOpen() {
  RecordTrip(ForceTo(State::kForcedOpen), TripCause::kOperator, 0, 0);
}
void Breaker::Disable() { ForceTo(State::kDisabled); }
void Breaker::MetricsOnly() { ForceTo(State::kMetricsOnly); }
void Breaker::Reset() { ForceTo(State::kClosed); }

// ---- Admission ---------------------------------------------------------------

Permit Breaker::TryAcquireNotClosed(uint64_t word) noexcept {
  if (StateOf(word) == State::kOpen) {
    // OPEN before its deadline: the deadline's load, a coarse reading (with
    // the system clock, a fresh one every kRejectionsPerClockRead
    // rejections of this thread: see circuit/clock.h), the rejection. A
    // reading at or past the deadline goes on to TryAcquireSlow(), which
    // reads the clock afresh: a reused reading never ends OPEN early.
    int64_t until;
    if (ReadDeadline(GenOf(word), &until)) {
      const int64_t now = ElapsedNanos(system_clock_ ? internal::MonotonicCoarseNanosForRejection()
                                                     : clock_->CoarseNowNanos());
      if (ABSL_PREDICT_TRUE(now < until)) return Reject(word, until - now);
    }
  }
  return TryAcquireSlow(word);
}

Permit Breaker::TryAcquireSlow(uint64_t word) noexcept {
  const int trial_limit = config_.half_open_trial_calls;
  const int concurrent_limit = config_.half_open_max_concurrent;
  bool served = false;
  for (;;) {
    if (ABSL_PREDICT_FALSE((word & internal::kFoldOwedBit) != 0) && !served) {
      // A fold is owed: serve it before admitting, since it may trip. Once
      // per admission: a fold that owes again has set the bit for the next
      // call, and this one pays at most one folder's bounded rounds.
      ServeWindow(word, internal::kFoldOwedBit);
      served = true;
      word = state_.load(std::memory_order_acquire);  // acquire: see TryAcquire()
      continue;
    }
    const uint32_t gen = GenOf(word);
    switch (StateOf(word)) {
      case State::kClosed:
      case State::kMetricsOnly:
        stripes_.ForThisThread().Add(internal::kPermitted);
        return Permit(this, Permit::Kind::kNormal, gen, DurationNowNanos());
      case State::kDisabled:
        return Permit(this, Permit::Kind::kUntracked, gen, 0);
      case State::kForcedOpen:
        return Reject(word, -1);
      case State::kOpen: {
        const int64_t coarse_now = CoarseNowNanos();
        const int64_t now = ElapsedNanos(coarse_now);
        int64_t until;
        if (!ReadDeadline(gen, &until)) {
          // The transition's winner has not published the deadline yet:
          // the breaker has only just opened.
          return Reject(word, absl::ToInt64Nanoseconds(config_.open_duration));
        }
        if (now < until) return Reject(word, until - now);
        // OPEN,g,0 -> HALF_OPEN,g+1,1: exactly one caller wins and becomes
        // the first trial; the losers see HALF_OPEN and queue for a slot.
        if (Publish(word, NextWord(word, State::kHalfOpen) + kOneInFlight, coarse_now)) {
          stripes_.ForThisThread().Add(internal::kPermitted);
          // On success the CAS left `word` as it was: the trial's generation
          // is the next one.
          return Permit(this, Permit::Kind::kTrial, GenOf(NextWord(word, State::kHalfOpen)),
                        DurationNowNanos());
        }
        continue;  // `word` holds what beat us
      }
      case State::kHalfOpen: {
        if (half_open_limited_) {
          const uint64_t after = ApplyHalfOpenDeadline(word);
          if (after != word) {
            word = after;
            continue;
          }
        }
        const uint32_t in_flight = InFlightOf(word);
        const uint32_t done = TrialSuccessesOf(word) + TrialFailuresOf(word);
        if (in_flight < static_cast<uint32_t>(concurrent_limit) &&
            in_flight + done < static_cast<uint32_t>(trial_limit)) {
          // HALF_OPEN,g,n -> HALF_OPEN,g,n+1. acquire on success: the trial
          // sees the transition that opened this generation. Failure: retry
          // with the word we got.
          if (state_.compare_exchange_weak(word, word + kOneInFlight, std::memory_order_acquire,
                                           std::memory_order_acquire)) {
            stripes_.ForThisThread().Add(internal::kPermitted);
            return Permit(this, Permit::Kind::kTrial, gen, DurationNowNanos());
          }
          internal::NoteCasFailure();
          continue;
        }
        return Reject(word, 0);  // a trial slot may free up any moment
      }
    }
    return Reject(word, -1);  // unreachable: every State is handled above
  }
}

// ---- Outcomes ------------------------------------------------------------------

void Breaker::ResolveAs(Permit& permit, Outcome outcome, int64_t measured) noexcept {
  if (!permit.Claim()) return;
  switch (outcome) {
    case Outcome::kSuccess:
      OnSuccess(permit, measured);
      return;
    case Outcome::kFailure:
      if (permit.kind_ == Permit::Kind::kUntracked) return;
      OnOutcomeSlow(permit, Outcome::kFailure, IsSlow(permit, measured),
                    stripes_.ForThisThread());
      return;
    case Outcome::kIgnored:
      OnRelease(permit, /*ignored=*/true);
      return;
  }
}

void Breaker::OnSuccessSlow(const Permit& permit, int64_t measured) noexcept {
  if (permit.kind_ == Permit::Kind::kUntracked) return;  // DISABLED: nothing
  const StripeRef stripe = stripes_.ForThisThread();
  const bool slow = IsSlow(permit, measured);
  if (permit.kind_ != Permit::Kind::kNormal || slow) {
    OnOutcomeSlow(permit, Outcome::kSuccess, slow, stripe);
    return;
  }
  RecordClosedSuccess(permit, stripe);
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

void Breaker::OnOutcomeSlow(const Permit& permit, Outcome outcome, bool slow,
                            StripeRef stripe) noexcept {
  const bool failure = outcome == Outcome::kFailure;
  stripe.Add(failure ? internal::kFailures : internal::kSuccesses);
  if (slow) stripe.Add(internal::kSlow);
  if (permit.kind_ == Permit::Kind::kTrial) {
    OnTrialOutcome(permit, outcome, slow, stripe);
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
  if (consecutive_on_) {
    if (failure) {
      const uint32_t run = AddConsecutiveFailure(gen);
      if (run >= consecutive_to_open_) {
        TripIfCurrent(gen, TripCause::kConsecutiveFailures, run, consecutive_to_open_);
      }
    } else {
      ClearConsecutiveFailures(gen);
    }
  }
  if (window_ && (failure || slow)) ApplyFold(window_->Record(gen, failure, slow, elapsed));
}

void Breaker::OnTrialOutcome(const Permit& permit, Outcome outcome, bool slow,
                             StripeRef stripe) noexcept {
  const uint32_t gen = permit.generation_;
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
      stripe.Add(internal::kStale);  // the trials of this generation are over
      return;
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
    if (!config_.half_open_judge_by_rate) {
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
    if (Publish(word, desired, now)) {
      if (StateOf(desired) == State::kOpen) {
        // relaxed: read by snapshots only, as a statistic.
        last_trials_.store(trials_now, std::memory_order_relaxed);
        RecordTrip(GenOf(desired), cause, value, threshold);
      }
      return;
    }
  }
}

void Breaker::OnRelease(const Permit& permit, bool ignored) noexcept {
  if (permit.kind_ == Permit::Kind::kUntracked) return;
  stripes_.ForThisThread().Add(ignored ? internal::kIgnored : internal::kReleased);
  if (permit.kind_ != Permit::Kind::kTrial) return;
  // HALF_OPEN,g,n -> HALF_OPEN,g,n-1: the slot goes back, no outcome counts
  // (unless the period is past its limit: then it reopens).
  // acquire: see TryAcquire().
  uint64_t word = state_.load(std::memory_order_acquire);
  if (half_open_limited_) word = ApplyHalfOpenDeadline(word);
  while (GenOf(word) == permit.generation_ && StateOf(word) == State::kHalfOpen &&
         InFlightOf(word) > 0) {
    // release: the slot we hand back is taken by a CAS that acquires it.
    if (state_.compare_exchange_weak(word, word - kOneInFlight, std::memory_order_release,
                                     std::memory_order_acquire)) {
      return;
    }
    internal::NoteCasFailure();
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
  // relaxed: a statistic.
  m.opened = opened_.load(std::memory_order_relaxed);
  return m;
}

}  // namespace circuit
