// File: src/admission.cc
// TryAcquire() beyond the inline CLOSED path: the rejection while OPEN
// (without the clock on most of a thread's rejections), the end of OPEN, HALF_OPEN
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
  // OPEN, with the system clock, no call listener to tell, no retry waiting
  // to be judged (judged_rejections_) and a thread with a stripe of its
  // own: the rejection, counted, and nothing else, on all but one of this
  // thread's rejections in kRejectionsPerClockRead here. That one, made
  // when its stripe's count of rejections is a multiple of it (so a
  // thread's first rejection is one, unless it inherited the stripe of a
  // thread that exited: circuit/clock.h), is judged by the clock
  // (JudgeOpenInto()). So OPEN ends late by at most
  // kRejectionsPerClockRead - 1 of each thread's calls, and never early
  // (circuit/clock.h). The permit carries the generation:
  // Permit::retry_after() reads that generation's deadline when asked.
  // This path calls nothing, so it needs no registers saved and no stack
  // frame; everything else goes on with a tail call. It is laid out as the
  // fall-through (ABSL_PREDICT_TRUE): a taken branch here cost 0.2 ns a
  // rejection (docs/benchmarks.md).
  if (ABSL_PREDICT_TRUE(StateOf(word) == State::kOpen &&
                        judged_rejections_.load(std::memory_order_relaxed) == 0)) {
    internal::StripeRef stripe;
    if (stripes_.OwnStripe(&stripe)) {
      std::atomic<uint64_t>& rejected = stripe.words[internal::kRejected];
      // relaxed: only this thread writes the word. The load and the add are
      // two instructions, so a signal handler's rejection between them can
      // move the judgment one call later; the count is still exact.
      if (ABSL_PREDICT_TRUE(rejected.load(std::memory_order_relaxed) %
                                internal::kRejectionsPerClockRead !=
                            0)) {
        internal::SignalSafeIncrement(rejected);
        permit->Fill(this, Permit::Kind::kRejected, GenOf(word), Permit::kGenerationsDeadline,
                     State::kOpen);
        return;
      }
      JudgeOpenInto(permit, word, stripe);  // a tail call
      return;
    }
  }
  TryAcquireOpenInto(permit, word);  // a tail call
}

ABSL_ATTRIBUTE_NOINLINE void Breaker::JudgeOpenInto(Permit* permit, uint64_t word,
                                                    internal::StripeRef stripe) noexcept {
  // TryAcquireNotClosed()'s judging rejection: the deadline and a fresh
  // reading of the system clock, and the rejection if OPEN is not over;
  // otherwise TryAcquireOpen(), which reads again and ends it.
  int64_t until;
  if (ABSL_PREDICT_TRUE(ReadDeadline(GenOf(word), &until)) &&
      ABSL_PREDICT_TRUE(ElapsedNanos(internal::MonotonicCoarseNanos()) < until)) {
    internal::SignalSafeIncrement(stripe.words[internal::kRejected]);
    permit->Fill(this, Permit::Kind::kRejected, GenOf(word), until, State::kOpen);
    return;
  }
  TryAcquireOpenInto(permit, word);  // a tail call
}

// Not inlined: its frame (a Permit on the stack) would become its callers'.
ABSL_ATTRIBUTE_NOINLINE void Breaker::TryAcquireOpenInto(Permit* permit, uint64_t word) noexcept {
  Permit filled = TryAcquireOpen(word);
  permit->MoveFrom(filled);
}

Permit Breaker::TryAcquireOpen(uint64_t word) noexcept {
  if (StateOf(word) == State::kOpen) {
    // Judged by the clock: every rejection with an injected clock, with
    // call listeners (Reject() tells them) or on a thread past the own
    // stripes, and the first after a retry's wait. A reading before the
    // deadline is a rejection; one at or past it goes on to
    // TryAcquireSlow(), which ends OPEN.
    // relaxed: see judged_rejections_. Cleared only when set: the byte
    // shares the breaker's read-mostly line.
    if (ABSL_PREDICT_FALSE((judged_rejections_.load(std::memory_order_relaxed) &
                            kJudgeNextRejection) != 0)) {
      judged_rejections_.fetch_and(static_cast<uint8_t>(~kJudgeNextRejection),
                                   std::memory_order_relaxed);
    }
    int64_t until;
    if (ReadDeadline(GenOf(word), &until)) {
      const int64_t now = ElapsedNanos(CoarseNowNanos());
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
  int64_t until = permit.time_nanos_;
  if (until == Permit::kGenerationsDeadline && !ReadDeadline(permit.generation_, &until)) {
    // The rejection left the deadline to be read now, and the deadline
    // word holds another generation's: a later one's if the breaker has
    // left that OPEN period since (a trial may be admitted any moment), an
    // earlier one's if it opened a moment ago and its winner has not
    // published the deadline yet (as TryAcquireSlow() answers then).
    const uint32_t tag = static_cast<uint32_t>(
        deadline_.load(std::memory_order_relaxed) >> kDeadlineTimeBits);  // relaxed: a hint
    if (LaterGenerationStored(tag, permit.generation_, kDeadlineGenMask)) return 0;
    return absl::ToInt64Nanoseconds(config_.open_duration);
  }
  const int64_t left = until - ElapsedNanos(CoarseNowNanos());
  return left > 0 ? left : 0;
}

}  // namespace circuit
