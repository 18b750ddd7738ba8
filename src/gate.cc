// File: src/gate.cc
// CLOSED's admission gate. While the state word's gate bit is set, an
// admission draws against the share of calls slow start's ramp admits now
// (after HALF_OPEN closed the breaker, slow_start_duration), then against
// what adaptive throttling lets through (src/throttle.cc); only the
// throttle's rejections are requests in its formula. The first
// admission that finds neither at work clears the bit for every caller.
// Outcomes never come here: the gate concerns admissions only.
#include <algorithm>
#include <cstdint>

#include "absl/base/optimization.h"
#include "circuit/breaker.h"
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/thread_random.h"

namespace circuit {

bool Breaker::RampAt(uint32_t gen, int64_t now, int64_t* end, double* admitted) const noexcept {
  int64_t ramp_end;
  if (!ReadDeadline(gen, &ramp_end)) {
    // The closing transition has not stored the ramp's end yet: the ramp
    // has only just begun.
    ramp_end = now + slow_start_nanos_;
  }
  // (A generation that did not open ramping stored 0: not ramping.)
  if (now >= ramp_end) return false;
  // The deadline word keeps microseconds rounded up, so `end - now` may
  // exceed the ramp by under one: the share is then below 0, admitted as
  // 0, as at the ramp's first instant.
  *end = ramp_end;
  *admitted = std::max(
      0.0, 1.0 - static_cast<double>(ramp_end - now) / static_cast<double>(slow_start_nanos_));
  return true;
}

Breaker::GateVerdict Breaker::PassGate(uint64_t& word, int64_t* until) noexcept {
  const uint32_t gen = internal::GenOf(word);
  const int64_t now = ElapsedNanos(CoarseNowNanos());
  double admitted = 1.0;
  int64_t ramp_end = 0;
  const bool ramping = slow_start_nanos_ > 0 && RampAt(gen, now, &ramp_end, &admitted);
  const double throttle = throttling_ ? ThrottleNow(gen, now) : 0.0;
  if (!ramping && throttle == 0) {
    // Neither is at work: clear the bit, for this generation only (a word
    // that has moved on is re-examined by the caller). acq_rel: as every
    // CAS of the state word; failure acquire: the caller re-examines the
    // word it got.
    if (state_.compare_exchange_strong(word, word & ~internal::kGatedBit,
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
      // A judge may have published a probability between our reading and
      // the CAS: it set the bit before we cleared it, so set it back.
      if (throttling_ && ThrottleNow(gen, now) > 0) SetGate(gen);
      return GateVerdict::kAdmit;
    }
    internal::NoteCasFailure();
    return GateVerdict::kReexamine;
  }
  // Two draws, the ramp's and then the throttle's (together the product of
  // their shares), so that the throttle counts only the calls it rejects:
  // a call the ramp shed is not a request the formula should see (it would
  // throttle a healthy recovery on top of its ramp).
  const bool shed_by_ramp =
      ramping && !(admitted > 0 && static_cast<double>(internal::ThreadRandom32()) <
                                       admitted * internal::kThreadRandomRange);
  const bool throttled =
      !shed_by_ramp && throttle > 0 &&
      !(static_cast<double>(internal::ThreadRandom32()) <
        (1.0 - throttle) * internal::kThreadRandomRange);
  if (!shed_by_ramp && !throttled) return GateVerdict::kAdmit;
  stripes_.ForThisThread().Add(shed_counter_);  // see shed_counter_
  if (throttled) {
    // A request the dependency never saw: the formula counts it, by
    // bucket, and Metrics().throttled in kRejected (unused by buckets).
    const internal::StripeRef stripe = throttled_->ForThisThread();
    throttled_->AddToBucket(stripe, now, [this] { return ElapsedNanos(CoarseNowNanos()); });
    stripe.Add(internal::kRejected);
  }
  // Come back when the ramp is over, or (throttled) when the probability
  // is next judged: the next bucket.
  const int64_t bucket = throttling_ ? throttled_->bucket_nanos() : 0;
  *until = ramping ? ramp_end : (now / bucket + 1) * bucket;
  return GateVerdict::kReject;
}

}  // namespace circuit
