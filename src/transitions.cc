// File: src/transitions.cc
// Every transition of the state word and what its winner does after the CAS:
// the deadline word, backoff, the trip record, the half-open time limit,
// the window bits and the folds they ask for, the operator controls.
#include "circuit/breaker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/time/time.h"
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/listener_set.h"
#include "internal/rate_window.h"

namespace circuit {

using internal::GenOf;
using internal::NextWord;
using internal::StateOf;

namespace {

// splitmix64: a well-mixed 64-bit value from a counter; picks the jitter.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

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

bool Breaker::LaterGenerationStored(uint32_t stored, uint32_t gen,
                                    uint32_t tag_mask) const noexcept {
  // Judged by distance from the current generation, never by serial
  // arithmetic on the tags alone: `passed` generations have begun since
  // `gen`, and a tag within that many ahead of gen's is one of them.
  // acquire: see TryAcquire().
  const uint32_t passed = (GenOf(state_.load(std::memory_order_acquire)) - gen) &
                          static_cast<uint32_t>(internal::kGenMask);
  if (passed > tag_mask) return true;  // too late for the tag to tell: give up
  const uint32_t ahead = (stored - gen) & tag_mask;
  return ahead != 0 && ahead <= passed;
}

void Breaker::StoreDeadline(uint32_t gen, int64_t elapsed_nanos) noexcept {
  const uint64_t desired = DeadlineWord(gen, elapsed_nanos);
  // relaxed: the CAS below validates it.
  uint64_t old = deadline_.load(std::memory_order_relaxed);
  do {
    // The winner of an older generation may run this after a newer one's
    // winner (it was preempted between its CAS and here): it must not
    // overwrite the newer deadline, or the newer OPEN would never end.
    if (LaterGenerationStored(static_cast<uint32_t>(old >> kDeadlineTimeBits), gen,
                              kDeadlineGenMask)) {
      return;
    }
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
    // As in StoreDeadline(): a late winner leaves a later count alone.
    if (LaterGenerationStored(old_gen, gen, static_cast<uint32_t>(internal::kGenMask))) {
      return old_count;
    }
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

bool Breaker::Publish(uint64_t& expected, uint64_t desired, int64_t coarse_now,
                      const Why& why) noexcept {
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
  if (new_generation) {
    // relaxed: a statistic.
    transitions_[static_cast<int>(from)][static_cast<int>(to)].fetch_add(
        1, std::memory_order_relaxed);
    AfterTransition(from, desired, coarse_now, why);
    if (to == State::kOpen || to == State::kForcedOpen) {
      RecordTrip(GenOf(desired), TripCauseOf(why.cause), why.value, why.threshold,
                 from == State::kHalfOpen);
    }
    NotifyTransition(from, desired, why);
  }
  return true;
}

void Breaker::NotifyTransition(State from, uint64_t word, const Why& why) noexcept {
  if (!listeners_->has_transition_listeners()) return;
  TransitionEvent event;
  event.breaker = config_.name;
  event.from = from;
  event.to = StateOf(word);
  event.generation = GenOf(word);
  event.cause = why.cause;
  event.value = why.value;
  event.threshold = why.threshold;
  listeners_->DeliverTransition(event);
}

void Breaker::AfterTransition(State from, uint64_t word, int64_t coarse_now,
                              const Why& why) noexcept {
  const uint32_t gen = GenOf(word);
  const int64_t now = ElapsedNanos(coarse_now);
  // Every transition stores a deadline word (0 where the state has none), so
  // that the word's 14-bit tag never lags far behind the generation.
  switch (StateOf(word)) {
    case State::kOpen: {
      const uint32_t reopen_count = UpdateReopenCount(gen, from == State::kHalfOpen);
      const int64_t period =
          why.open_nanos >= 0 ? why.open_nanos : OpenDurationNanos(reopen_count, gen);
      // relaxed: published by the deadline's release store just below.
      open_period_nanos_.store(period, std::memory_order_relaxed);
      StoreDeadline(gen, now + period);
      break;
    }
    case State::kHalfOpen: {
      // Under the shared state the shared HALF_OPEN has its own limit.
      const int64_t limit = why.cause == TransitionCause::kShared
                                ? 0
                                : absl::ToInt64Nanoseconds(config_.half_open_max_duration);
      StoreDeadline(gen, limit > 0 ? now + limit : 0);  // 0: no limit
      break;
    }
    case State::kClosed:
      UpdateReopenCount(gen, /*increment=*/false);
      // Gated (slow start): the ramp ends slow_start_duration from now.
      StoreDeadline(gen, (word & internal::kGatedBit) != 0 ? now + slow_start_nanos_ : 0);
      break;
    case State::kForcedOpen:
    case State::kDisabled:
    case State::kMetricsOnly:
      StoreDeadline(gen, 0);
      break;
  }
}

void Breaker::TripIfCurrent(uint32_t gen, TripCause cause, double value, double threshold,
                            int64_t open_nanos) noexcept {
  // Under the shared state the window only records: the shared window,
  // which this one's counts feed, decides.
  if (SharedDecides()) return;
  // acquire: see TryAcquire().
  uint64_t word = state_.load(std::memory_order_acquire);
  // CLOSED,g,0 -> OPEN,g+1,0. Only one tripping thread wins; the others'
  // CAS fails and they return: the breaker is already open. A CAS that
  // fails only because a window bit changed is retried.
  while (StateOf(word) == State::kClosed && GenOf(word) == gen) {
    if (Publish(word, NextWord(word, State::kOpen), CoarseNowNanos(),
                {TransitionCauseOf(cause), value, threshold, open_nanos})) {
      return;
    }
  }
}

void Breaker::RecordTrip(uint32_t gen, TripCause cause, double value, double threshold,
                         bool from_half_open) noexcept {
  // A seqlock whose sequence word is the record's tag (as the rate window's
  // base): claim it, check that no later trip is recorded, write, publish.
  // relaxed: the CAS below validates it.
  uint64_t seen = trip_tag_.load(std::memory_order_relaxed);
  for (;;) {
    if (seen == kTripWriting) return;  // a racing recorder: a later trip's, or ours
    // As StoreDeadline(): a later trip's record stays.
    if (seen != 0 && LaterGenerationStored(static_cast<uint32_t>(seen >> 8), gen,
                                           static_cast<uint32_t>(internal::kGenMask))) {
      return;
    }
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
  trip_tag_.store((uint64_t{gen} << 8) | (from_half_open ? kTripFromHalfOpen : 0) |
                      static_cast<uint8_t>(cause),
                  std::memory_order_release);
}

TripReason Breaker::ReadTrip(bool* from_half_open) const noexcept {
  TripReason reason;
  for (int attempt = 0; attempt < 8; ++attempt) {
    // acquire: pairs with the release store of the tag in RecordTrip().
    const uint64_t tag = trip_tag_.load(std::memory_order_acquire);
    if (tag == kTripWriting) continue;
    reason.cause = static_cast<TripCause>(tag & (kTripFromHalfOpen - 1));
    if (from_half_open != nullptr) *from_half_open = (tag & kTripFromHalfOpen) != 0;
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
  if (SharedDecides()) return word;  // the shared HALF_OPEN has its own limit
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
    const uint64_t trials = word;
    const double limit = absl::ToDoubleSeconds(config_.half_open_max_duration);
    if (self->Publish(word, NextWord(word, State::kOpen), deadline,
                      {TransitionCause::kHalfOpenTimeout, limit, limit})) {
      // relaxed: read by snapshots only, as a statistic.
      self->last_trials_.store(trials, std::memory_order_relaxed);
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
  // Only the bits of the generation the caller saw: a later generation's
  // are its own calls' to serve.
  const uint32_t gen = GenOf(word);
  while ((word & bits) != 0 && GenOf(word) == gen) {
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
  // Adaptive throttling judges the window the fold has just brought up to
  // date (a generation the trip ended sets no gate).
  if (throttling_ && result.gen >= 0) JudgeThrottle(static_cast<uint32_t>(result.gen));
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
  // The operator's transition (into FORCED_OPEN: recorded as the trip).
  while (!Publish(word, NextWord(word, to), now, {TransitionCause::kOperator, 0, 0})) {
  }
  return GenOf(NextWord(word, to));  // on success `word` is what it replaced
}

uint32_t Breaker::ForceBy(State to, std::string by) {
  const uint32_t gen = ForceTo(to);
  std::lock_guard<std::mutex> lock(forced_by_mu_);
  // Only while this force is still the latest word: a later force's record
  // (made under this mutex after its own CAS) must not be overwritten.
  // acquire: see TryAcquire(); a statistic here.
  if (GenOf(state_.load(std::memory_order_acquire)) == gen) {
    forced_by_ = std::move(by);
    forced_by_gen_ = gen;
    forced_by_set_ = true;
  }
  return gen;
}

bool Breaker::ResetIfGeneration(uint32_t gen) {
  const int64_t now = CoarseNowNanos();
  // relaxed: the CAS in Publish() validates it.
  uint64_t word = state_.load(std::memory_order_relaxed);
  while (GenOf(word) == gen) {
    if (Publish(word, NextWord(word, State::kClosed), now, {TransitionCause::kOperator, 0, 0})) {
      return true;
    }
  }
  return false;
}

std::string Breaker::ForcedBy() const {
  std::lock_guard<std::mutex> lock(forced_by_mu_);
  // acquire: see TryAcquire(); a statistic here.
  const uint64_t word = state_.load(std::memory_order_acquire);
  const State state = StateOf(word);
  if (state != State::kForcedOpen && state != State::kDisabled && state != State::kMetricsOnly) {
    return "";
  }
  return forced_by_set_ && forced_by_gen_ == GenOf(word) ? forced_by_ : "operator";
}

void Breaker::ForceOpen() { ForceTo(State::kForcedOpen); }

TripCause Breaker::TripCauseOf(TransitionCause cause) {
  switch (cause) {
    case TransitionCause::kConsecutiveFailures:
      return TripCause::kConsecutiveFailures;
    case TransitionCause::kFailureRate:
      return TripCause::kFailureRate;
    case TransitionCause::kSlowCallRate:
      return TripCause::kSlowCallRate;
    case TransitionCause::kTrialFailures:
      return TripCause::kTrialFailures;
    case TransitionCause::kTrialFailureRate:
      return TripCause::kTrialFailureRate;
    case TransitionCause::kTrialSlowCallRate:
      return TripCause::kTrialSlowCallRate;
    case TransitionCause::kHalfOpenTimeout:
      return TripCause::kHalfOpenTimeout;
    case TransitionCause::kOperator:
      return TripCause::kOperator;
    case TransitionCause::kShared:
      return TripCause::kShared;
    case TransitionCause::kRetryAfter:
      return TripCause::kRetryAfter;
    case TransitionCause::kLatencyPercentile:
      return TripCause::kLatencyPercentile;
    case TransitionCause::kOpenPeriodOver:
    case TransitionCause::kTrialsSucceeded:
      break;
  }
  return TripCause::kNone;
}

TransitionCause Breaker::TransitionCauseOf(TripCause cause) {
  switch (cause) {
    case TripCause::kConsecutiveFailures:
      return TransitionCause::kConsecutiveFailures;
    case TripCause::kFailureRate:
      return TransitionCause::kFailureRate;
    case TripCause::kSlowCallRate:
      return TransitionCause::kSlowCallRate;
    case TripCause::kTrialFailures:
      return TransitionCause::kTrialFailures;
    case TripCause::kTrialFailureRate:
      return TransitionCause::kTrialFailureRate;
    case TripCause::kTrialSlowCallRate:
      return TransitionCause::kTrialSlowCallRate;
    case TripCause::kHalfOpenTimeout:
      return TransitionCause::kHalfOpenTimeout;
    case TripCause::kShared:
      return TransitionCause::kShared;
    case TripCause::kRetryAfter:
      return TransitionCause::kRetryAfter;
    case TripCause::kLatencyPercentile:
      return TransitionCause::kLatencyPercentile;
    case TripCause::kNone:
    case TripCause::kOperator:
      break;
  }
  return TransitionCause::kOperator;
}
void Breaker::Disable() { ForceTo(State::kDisabled); }
void Breaker::MetricsOnly() { ForceTo(State::kMetricsOnly); }
void Breaker::Reset() { ForceTo(State::kClosed); }

}  // namespace circuit
