// File: src/gate.cc
// CLOSED's admission gate: while the state word's gate bit is set (slow
// start's ramp after HALF_OPEN closed the breaker), an admission draws
// against the fraction of calls the ramp admits now, and the first
// admission that finds the ramp over clears the bit for every caller.
// Outcomes never come here: the gate concerns admissions only.
#include <cstdint>

#include "absl/base/optimization.h"
#include "circuit/breaker.h"
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/thread_random.h"

namespace circuit {

Breaker::GateVerdict Breaker::PassGate(uint64_t& word, int64_t* until) noexcept {
  const int64_t now = ElapsedNanos(CoarseNowNanos());
  int64_t end;
  if (!ReadDeadline(internal::GenOf(word), &end)) {
    // The closing transition has not stored the ramp's end yet: the ramp
    // has only just begun, and admits nothing yet.
    *until = now + slow_start_nanos_;
    return GateVerdict::kReject;
  }
  if (now >= end) {
    // The ramp is over: clear the bit, for this generation only (a word
    // that has moved on is re-examined by the caller). acq_rel: as every
    // CAS of the state word (it publishes nothing new, but a transition's
    // CAS that beat us must be seen with its effects); failure acquire:
    // the caller re-examines the word it got.
    if (state_.compare_exchange_strong(word, word & ~internal::kGatedBit,
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
      return GateVerdict::kAdmit;
    }
    internal::NoteCasFailure();
    return GateVerdict::kReexamine;
  }
  // Admitted with probability elapsed / ramp. The deadline word keeps
  // microseconds rounded up, so `end - now` may exceed the ramp by under
  // one: the fraction is then 0, as it is at the ramp's first instant.
  const double admitted = 1.0 - static_cast<double>(end - now) /
                                    static_cast<double>(slow_start_nanos_);
  if (admitted > 0 &&
      static_cast<double>(internal::ThreadRandom32()) < admitted * 4294967296.0) {
    return GateVerdict::kAdmit;
  }
  *until = end;
  stripes_.ForThisThread().Add(shed_counter_);  // see shed_counter_
  return GateVerdict::kReject;
}

}  // namespace circuit
