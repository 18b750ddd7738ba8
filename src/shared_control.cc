// File: src/shared_control.cc
// The distributed mode's hold on a breaker (circuit/internal/shared_control.h).
#include "circuit/internal/shared_control.h"

#include <cstdint>

#include "circuit/breaker.h"
#include "circuit/events.h"
#include "circuit/internal/listener_set.h"
#include "circuit/internal/state_word.h"
#include "internal/rate_window.h"

namespace circuit {
namespace internal {

Sharing SharedControl::sharing(const Breaker& breaker) {
  // relaxed: see Breaker::SharedDecides().
  return static_cast<Sharing>(breaker.sharing_.load(std::memory_order_relaxed));
}

bool SharedControl::Claim(Breaker& breaker) {
  uint8_t local = static_cast<uint8_t>(Sharing::kLocal);
  // relaxed: see Breaker::SharedDecides(); the CAS makes one claimant win.
  if (!breaker.sharing_.compare_exchange_strong(local, static_cast<uint8_t>(Sharing::kDegraded),
                                                std::memory_order_relaxed)) {
    return false;
  }
  Announce(breaker, Sharing::kLocal, Sharing::kDegraded,
           absl::UnavailableError("not synced with the shared store yet"));
  return true;
}

void SharedControl::SetSharing(Breaker& breaker, Sharing to, const absl::Status& reason) {
  // relaxed: see Breaker::SharedDecides(); the exchange makes exactly one
  // caller see each change.
  const Sharing from = static_cast<Sharing>(
      breaker.sharing_.exchange(static_cast<uint8_t>(to), std::memory_order_relaxed));
  if (from == to) return;
  if (from == Sharing::kShared) TakeBackDecisions(breaker);
  Announce(breaker, from, to, reason);
}

void SharedControl::TakeBackDecisions(Breaker& breaker) {
  // acquire: see Breaker::TryAcquire().
  uint64_t word = breaker.state_.load(std::memory_order_acquire);
  // HALF_OPEN: the shared verdict on these trials will not come. Reopen
  // with no wait, so that the next call starts the breaker's own trials.
  while (StateOf(word) == State::kHalfOpen) {
    const uint64_t trials = word;
    if (breaker.Publish(word, NextWord(word, State::kOpen), breaker.CoarseNowNanos(),
                        {TransitionCause::kShared, 0, 0, /*open_nanos=*/0})) {
      // relaxed: read by snapshots only, as a statistic.
      breaker.last_trials_.store(trials, std::memory_order_relaxed);
      return;
    }
  }
  if (StateOf(word) != State::kClosed) return;
  // CLOSED: the trips the shared state held back are judged now, as the
  // outcome that met them would have: a window over its threshold must not
  // wait for the next failure (a success could have been that outcome, and
  // the next success may bring the rate back under), nor a run at its
  // length for the next failure (a success would end it). The window first,
  // as an outcome folds it before the run.
  const uint32_t gen = GenOf(word);
  if (breaker.window_) {
    breaker.ApplyFold(breaker.window_->Fold(breaker.ElapsedNanos(breaker.CoarseNowNanos())));
  }
  if (breaker.consecutive_on_) {
    // relaxed: a number; its generation tag says whether it is gen's, and
    // TripIfCurrent() checks the generation again with its CAS.
    const uint64_t run = breaker.consecutive_.load(std::memory_order_relaxed);
    const uint32_t count = static_cast<uint32_t>(run);
    if (static_cast<uint32_t>(run >> 32) == gen && count >= breaker.consecutive_to_open_) {
      breaker.TripIfCurrent(gen, TripCause::kConsecutiveFailures, count,
                            breaker.consecutive_to_open_);
    }
  }
}

void SharedControl::Announce(Breaker& breaker, Sharing from, Sharing to,
                             const absl::Status& reason) {
  if (!breaker.listeners_->has_transition_listeners()) return;
  SharingEvent event;
  event.breaker = breaker.config_.name;
  event.from = from;
  event.to = to;
  if (to == Sharing::kDegraded) event.reason = reason;
  breaker.listeners_->DeliverSharing(event);
}

LocalCounts SharedControl::Read(const Breaker& breaker) {
  LocalCounts counts;
  const BreakerMetrics metrics = breaker.Metrics();
  counts.calls = metrics.successes + metrics.failures;
  counts.failures = metrics.failures;
  counts.slow = metrics.slow;
  counts.rejected = metrics.rejected;
  // acquire: see Breaker::TryAcquire().
  const uint64_t word = breaker.state_.load(std::memory_order_acquire);
  counts.state = StateOf(word);
  counts.generation = GenOf(word);
  // relaxed: a number; its generation tag says whether it is this one's.
  const uint64_t run = breaker.consecutive_.load(std::memory_order_relaxed);
  if (static_cast<uint32_t>(run >> 32) == counts.generation) {
    counts.consecutive_failures = static_cast<uint32_t>(run);
  }
  if (counts.state == State::kHalfOpen) {
    counts.trials_in_flight = InFlightOf(word);
    counts.trial_successes = TrialSuccessesOf(word);
    counts.trial_failures = TrialFailuresOf(word);
    counts.trial_slow = TrialSlowOf(word);
  }
  return counts;
}

namespace {
bool OperatorState(State state) {
  return state == State::kForcedOpen || state == State::kDisabled ||
         state == State::kMetricsOnly;
}
}  // namespace

bool SharedControl::Follow(Breaker& breaker, State to, int64_t open_nanos, double value,
                           double threshold, uint32_t* generation) {
  // acquire: see Breaker::TryAcquire().
  uint64_t word = breaker.state_.load(std::memory_order_acquire);
  for (;;) {
    const State from = StateOf(word);
    if (OperatorState(from)) {
      *generation = GenOf(word);
      return false;
    }
    if (from == to) {
      *generation = GenOf(word);
      return true;
    }
    const uint64_t desired = NextWord(word, to);
    const Breaker::Why why = {TransitionCause::kShared, to == State::kOpen ? value : 0,
                              to == State::kOpen ? threshold : 0,
                              to == State::kOpen ? (open_nanos > 0 ? open_nanos : 0) : -1};
    const uint64_t trials = word;
    if (breaker.Publish(word, desired, breaker.CoarseNowNanos(), why)) {
      if (from == State::kHalfOpen) {
        // relaxed: read by snapshots only, as a statistic.
        breaker.last_trials_.store(trials, std::memory_order_relaxed);
      }
      *generation = GenOf(desired);
      return true;
    }
    // `word` holds what beat us: look again.
  }
}

bool SharedControl::Reopen(Breaker& breaker, uint32_t generation, int64_t open_nanos,
                           double value, double threshold) {
  // acquire: see Breaker::TryAcquire().
  uint64_t word = breaker.state_.load(std::memory_order_acquire);
  while (StateOf(word) == State::kOpen && GenOf(word) == generation) {
    if (breaker.Publish(word, NextWord(word, State::kOpen), breaker.CoarseNowNanos(),
                        {TransitionCause::kShared, value, threshold,
                         open_nanos > 0 ? open_nanos : 0})) {
      return true;
    }
  }
  return false;
}

void SharedControl::Lend(Breaker& breaker, uint32_t generation, uint32_t slots) {
  // Only to the HALF_OPEN generation now in the word: a late grant for an
  // older one must not replace the current one's. acquire: see
  // Breaker::TryAcquire().
  const uint64_t word = breaker.state_.load(std::memory_order_acquire);
  if (StateOf(word) != State::kHalfOpen || GenOf(word) != generation) return;
  const uint64_t desired = (uint64_t{generation} << 32) | slots;
  // relaxed: the CAS below validates it.
  uint64_t lent = breaker.shared_trials_.load(std::memory_order_relaxed);
  while (static_cast<uint32_t>(lent >> 32) != generation || static_cast<uint32_t>(lent) < slots) {
    // release: pairs with the acquire in Breaker::SharedTrialSlots().
    if (breaker.shared_trials_.compare_exchange_weak(lent, desired, std::memory_order_release,
                                                     std::memory_order_relaxed)) {
      return;
    }
  }
}

}  // namespace internal
}  // namespace circuit
