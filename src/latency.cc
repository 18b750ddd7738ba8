// File: src/latency.cc
// The latency-percentile trip (BreakerConfig::latency_percentile): what an
// outcome does for it. The window and its judge are
// src/internal/latency_window.h.
#include <cstdint>

#include "circuit/breaker.h"
#include "circuit/call_durations.h"
#include "internal/latency_window.h"

namespace circuit {

void Breaker::RecordLatency(const Permit& permit, int64_t measured, bool timed_here,
                            internal::StripeRef stripe) noexcept {
  if (measured < 0 || permit.kind_ != Permit::Kind::kNormal) return;
  // acquire: see TryAcquire(). Only the generation current now counts its
  // calls: a call of an earlier state ending in this one is not judged
  // here (nor is a trial: HALF_OPEN judges its own).
  const uint64_t word = state_.load(std::memory_order_acquire);
  const State state = internal::StateOf(word);
  const uint32_t gen = permit.generation_;
  if (internal::GenOf(word) != gen || (state != State::kClosed && state != State::kMetricsOnly)) {
    return;
  }
  // Judged before this call counts itself: the first outcome of a bucket
  // snapshots the sums as they were when the bucket began (see
  // latency_window.h).
  const int64_t nanos = measured >> 1;
  // The coarse clock's reading at the end of the call, as Measure() took
  // it (start + duration; the duration is never clamped for a monotonic
  // clock), or a fresh one.
  const int64_t coarse_now = timed_here && duration_clock_ == DurationClock::kCoarse
                                 ? permit.time_nanos_ + nanos
                                 : CoarseNowNanos();
  internal::LatencyWindow::Trip trip;
  if (latency_->JudgeIfDue(gen, ElapsedNanos(coarse_now), &trip)) {
    // TripIfCurrent() moves CLOSED only (METRICS_ONLY records, never trips).
    TripIfCurrent(gen, TripCause::kLatencyPercentile, trip.percentile_seconds,
                  absl::ToDoubleSeconds(latency_->effective_threshold()));
  }
  stripes_.AddLatency(stripe, CallDurationBucket(nanos));
}

}  // namespace circuit
