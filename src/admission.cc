// File: src/admission.cc
// TryAcquire() beyond the inline CLOSED path: the rejection while OPEN
// (inline-fast, with a reused coarse reading), the end of OPEN, HALF_OPEN
// trial slots, the forced states, an owed fold.
#include "circuit/breaker.h"

#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/time/time.h"
#include "circuit/internal/cas_stats.h"

namespace circuit {

using internal::GenOf;
using internal::InFlightOf;
using internal::kOneInFlight;
using internal::NextWord;
using internal::StateOf;
using internal::TrialFailuresOf;
using internal::TrialSuccessesOf;

// ---- Admission ---------------------------------------------------------------

void Breaker::TryAcquireNotClosed(Permit* permit, uint64_t word) noexcept {
  // OPEN before its deadline, with the system clock, a coarse reading this
  // thread may still reuse (see circuit/clock.h), a stripe of its own and
  // no call listener to tell: the deadline's load, the reading, the
  // rejection. This path calls nothing, so it needs no registers saved and
  // no stack frame;
  // everything else (call listeners included: Reject() tells them) goes on
  // to TryAcquireOpen().
  if (StateOf(word) == State::kOpen && system_clock_ && !HasCallListeners()) {
    internal::RejectionClock& clock = internal::tls_rejection_clock;
    int64_t until;
    if (ABSL_PREDICT_TRUE(clock.reuses_left != 0) && ReadDeadline(GenOf(word), &until)) {
      // The stripe is looked up last, once the deadline's registers are
      // free: with it earlier the path runs out of scratch registers and
      // saves one.
      internal::StripeRef stripe;
      if (ABSL_PREDICT_TRUE(until > ElapsedNanos(clock.coarse_nanos)) &&
          stripes_.OwnStripe(&stripe)) {
        --clock.reuses_left;
        stripe.Add(internal::kRejected);
        // The deadline, not the delay: a reused reading may be behind the
        // clock, so the delay is worked out when asked (Permit::retry_after()).
        permit->Fill(this, Permit::Kind::kRejected, GenOf(word), until, State::kOpen);
        return;
      }
    }
  }
  TryAcquireOpenInto(permit, word);  // a tail call
}

// Not inlined: its frame (a Permit on the stack) would become
// TryAcquireNotClosed()'s.
ABSL_ATTRIBUTE_NOINLINE void Breaker::TryAcquireOpenInto(Permit* permit, uint64_t word) noexcept {
  Permit filled = TryAcquireOpen(word);
  permit->MoveFrom(filled);
}

Permit Breaker::TryAcquireOpen(uint64_t word) noexcept {
  if (StateOf(word) == State::kOpen) {
    // As above, reading the clock: a fresh reading (with the system clock,
    // one every kRejectionsPerClockRead rejections of this thread), or the
    // injected clock's. A reading at or past the deadline goes on to
    // TryAcquireSlow(), which reads the clock afresh: a reused reading
    // never ends OPEN early.
    int64_t until;
    if (ReadDeadline(GenOf(word), &until)) {
      const int64_t now = ElapsedNanos(system_clock_ ? internal::MonotonicCoarseNanosForRejection()
                                                     : clock_->CoarseNowNanos());
      if (ABSL_PREDICT_TRUE(now < until)) return Reject(word, until);
    }
  }
  return TryAcquireSlow(word);
}

Permit Breaker::TryAcquireSlow(uint64_t word) noexcept {
  const int trial_limit = config_.half_open_trial_calls;
  const int concurrent_limit = config_.half_open_max_concurrent;
  bool served = false;
  bool reaped = false;
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
        if (ABSL_PREDICT_FALSE((word & internal::kGatedBit) != 0)) {
          int64_t until;
          const GateVerdict verdict = PassGate(word, &until);
          if (verdict == GateVerdict::kReexamine) continue;
          if (verdict == GateVerdict::kReject) return Reject(word, until);
        }
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
          return Reject(word, now + absl::ToInt64Nanoseconds(config_.open_duration));
        }
        if (now < until) return Reject(word, until);
        // Under the shared state, the shared store ends OPEN (the
        // coordinator's next sync): a trial slot may come any moment.
        if (SharedDecides()) return Reject(word, now);
        // OPEN,g,0 -> HALF_OPEN,g+1,1: exactly one caller wins and becomes
        // the first trial; the losers see HALF_OPEN and queue for a slot.
        // relaxed (the period): a number for the listeners.
        if (Publish(word, NextWord(word, State::kHalfOpen) + kOneInFlight, coarse_now,
                    {TransitionCause::kOpenPeriodOver,
                     static_cast<double>(open_period_nanos_.load(std::memory_order_relaxed)) / 1e9,
                     0})) {
          // On success the CAS left `word` as it was: the trial's generation
          // is the next one.
          return AdmittedTrial(GenOf(NextWord(word, State::kHalfOpen)));
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
        // Under the shared state, only the trials the shared store lent
        // this instance for this generation (bounded across instances).
        const uint32_t slots = SharedDecides() ? SharedTrialSlots(gen)
                                               : static_cast<uint32_t>(trial_limit);
        if (in_flight < static_cast<uint32_t>(concurrent_limit) &&
            in_flight + done < static_cast<uint32_t>(trial_limit) && in_flight + done < slots) {
          // HALF_OPEN,g,n -> HALF_OPEN,g,n+1. acquire on success: the trial
          // sees the transition that opened this generation. Failure: retry
          // with the word we got.
          if (state_.compare_exchange_weak(word, word + kOneInFlight, std::memory_order_acquire,
                                           std::memory_order_acquire)) {
            return AdmittedTrial(gen);
          }
          internal::NoteCasFailure();
          continue;
        }
        if (probe_slots_ && in_flight > 0 && !reaped) {
          // No slot for us: a trial holding one may be past its deadline.
          // Once per admission (each reap is a scan of the slots).
          reaped = true;
          word = ReapExpiredProbes(word);
          continue;
        }
        return Reject(word, 0);  // a trial slot may free up any moment
      }
    }
    return Reject(word, -1);  // unreachable: every State is handled above
  }
}

Permit Breaker::AdmittedTrial(uint32_t gen) noexcept {
  stripes_.ForThisThread().Add(internal::kPermitted);
  Permit trial(this, Permit::Kind::kTrial, gen, DurationNowNanos());
  if (probe_slots_) ClaimProbeSlot(trial);
  return trial;
}

int64_t Breaker::RetryNanosNow(const Permit& permit) const noexcept {
  // OPEN's deadline, or slow start's ramp end (CLOSED); the others keep the
  // delay itself (0: any moment, -1: until an operator acts).
  if (permit.rejected_state_ != State::kOpen && permit.rejected_state_ != State::kClosed) {
    return permit.time_nanos_;
  }
  const int64_t left = permit.time_nanos_ - ElapsedNanos(CoarseNowNanos());
  return left > 0 ? left : 0;
}

}  // namespace circuit
