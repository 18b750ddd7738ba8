// File: src/throttle.cc
// Adaptive throttling (BreakerConfig::adaptive_throttling), after the
// client-side throttling of Google's SRE book: while CLOSED, each call is
// rejected locally with probability
//   max(0, (requests - K * accepts) / (requests + 1))
// over the time window. The counts come from the rate window (calls with
// an outcome, failures) and from throttled_, the calls the throttle
// rejected at the gate, by bucket (not those slow start's ramp shed); the probability is judged off the call path (after a fold,
// or by one gated admission a bucket) and published in throttle_word_;
// admissions draw against it at the gate (src/gate.cc).
#include <algorithm>
#include <cstdint>

#include "circuit/breaker.h"
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/state_word.h"
#include "circuit/internal/thread_random.h"
#include "internal/rate_window.h"

namespace circuit {

Breaker::ThrottleCounts Breaker::ThrottleCountsOf(uint32_t gen, int64_t now) const noexcept {
  ThrottleCounts counts;
  const internal::RateWindow::View view = window_->Read(gen, now);
  // The gate's rejections in the window's buckets. A bucket shared with
  // the window's start may hold a few from the generation before (a
  // CLOSED period that ended within that bucket): the blur of one bucket.
  const uint64_t throttled =
      view.first_epoch >= 0 && view.first_epoch <= view.last_epoch
          ? throttled_->SumBuckets(static_cast<uint64_t>(view.first_epoch),
                                   static_cast<uint64_t>(view.last_epoch))
          : 0;
  counts.requests = view.calls + throttled;
  counts.accepts = view.calls - std::min(view.failures, view.calls);
  const double excess = static_cast<double>(counts.requests) -
                        config_.adaptive_throttling_k * static_cast<double>(counts.accepts);
  counts.probability = excess > 0 ? excess / (static_cast<double>(counts.requests) + 1) : 0;
  return counts;
}

void Breaker::JudgeThrottle(uint32_t gen) noexcept {
  const double p = ThrottleCountsOf(gen, ElapsedNanos(CoarseNowNanos())).probability;
  const uint64_t scaled =
      std::min<uint64_t>(static_cast<uint64_t>(p * internal::kThreadRandomRange),
                         uint64_t{0xFFFFFFFF});
  // relaxed: see throttle_word_. Before the gate is set, so that a gated
  // admission finds the probability that set it (or a later one).
  throttle_word_.store((uint64_t{gen} << 32) | scaled, std::memory_order_relaxed);
  if (scaled != 0) SetGate(gen);
}

void Breaker::SetGate(uint32_t gen) noexcept {
  // acquire: see TryAcquire(). Failure: re-examine the word.
  uint64_t word = state_.load(std::memory_order_acquire);
  while (internal::StateOf(word) == State::kClosed && internal::GenOf(word) == gen &&
         (word & internal::kGatedBit) == 0) {
    // release: as every CAS of this word.
    if (state_.compare_exchange_weak(word, word | internal::kGatedBit,
                                     std::memory_order_release, std::memory_order_acquire)) {
      return;
    }
    internal::NoteCasFailure();
  }
}

double Breaker::ThrottleNow(uint32_t gen, int64_t now) noexcept {
  // One judge a bucket: the admission that first sees the bucket claims it
  // (the others keep the probability in force meanwhile). relaxed: a claim
  // only has to be unique, which the CAS gives.
  const uint64_t bucket = throttled_->EpochOf(now) + 1;
  uint64_t judged = throttle_judged_.load(std::memory_order_relaxed);
  if (judged != bucket && throttle_judged_.compare_exchange_strong(
                              judged, bucket, std::memory_order_relaxed,
                              std::memory_order_relaxed)) {
    JudgeThrottle(gen);
  }
  // relaxed: see throttle_word_.
  const uint64_t word = throttle_word_.load(std::memory_order_relaxed);
  if (static_cast<uint32_t>(word >> 32) != gen) return 0;
  return static_cast<double>(static_cast<uint32_t>(word)) / internal::kThreadRandomRange;
}

}  // namespace circuit
