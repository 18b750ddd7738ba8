// File: circuit/call_durations.h
// `circuit::CallDurations` is a breaker's histogram of call durations over
// its lifetime, for dashboards (the Prometheus export's
// circuit_breaker_call_duration_seconds) and for tests. A breaker keeps one
// when BreakerConfig::record_call_durations is set.
//
//   circuit::CallDurations d = breaker->Durations();
//   for (int i = 0; i < circuit::kCallDurationBuckets; ++i)
//     printf("<= %s: %llu\n", absl::FormatDuration(circuit::CallDurationBound(i)).c_str(),
//            (unsigned long long)d.counts[i]);
//
// The buckets are fixed log-linear bins, shared by everything that looks at
// durations: the Prometheus export, the latency-percentile trip
// (BreakerConfig::latency_percentile) and Breaker::Durations(). A duration d
// is counted in the first bin whose bound is >= d (le, "less than or
// equal", as Prometheus means it), or in the last, past 100 s:
//   bin 0            [0, 1 us]
//   each decade D = 1 us, 10 us, ... 10 s, 30 bins:
//     (1 D, 2.5 D]   12 bins of 0.125 D
//     (2.5 D, 5 D]   10 bins of 0.25 D
//     (5 D, 10 D]     8 bins of 0.625 D
//   the last bin     past 100 s (+Inf)
// 242 bins. Relative error: from 1 us to 100 s a bin is at most 12.5 % as
// wide as its lower bound, so a duration read back as its bin's bound (a
// percentile, say) is never below the truth and at most 12.5 % above it.
// Every bound is a whole number of nanoseconds, and the 1-2.5-5 series of
// Prometheus's defaults (10 us ... 100 s) is among them: the export shows
// those bins' cumulative counts (CallDurationExported()), exactly.
//
// A duration is recorded to the nanosecond as the breaker measured it (with
// the clock chosen for slow-call detection, so a coarse clock's tick of
// error; see SlowCallClock) or as the caller passed it to
// Permit::Success(absl::Duration) and friends.
//
// Recording writes the calling thread's own counter stripe (or its CPU's
// block), like every other counter: no shared line. Reading sums the
// stripes: exact once the calls have stopped.
#ifndef CIRCUIT_CALL_DURATIONS_H_
#define CIRCUIT_CALL_DURATIONS_H_

#include <array>
#include <cstdint>

#include "absl/time/time.h"

namespace circuit {

namespace internal {

inline constexpr int kBinsPerDecade = 30;
inline constexpr int kDecades = 8;  // 1 us ... 100 s

// The finite bounds, in nanoseconds, ascending: 1 us, then each decade's
// 30 (see above).
constexpr std::array<int64_t, 1 + kDecades * kBinsPerDecade> MakeBounds() {
  std::array<int64_t, 1 + kDecades * kBinsPerDecade> bounds{};
  bounds[0] = 1'000;
  int64_t decade = 1'000;  // D in nanoseconds
  size_t i = 1;
  for (int d = 0; d < kDecades; ++d, decade *= 10) {
    for (int k = 1; k <= 12; ++k) bounds[i++] = decade + decade / 8 * k;            // to 2.5 D
    for (int k = 1; k <= 10; ++k) bounds[i++] = decade * 5 / 2 + decade / 4 * k;    // to 5 D
    for (int k = 1; k <= 8; ++k) bounds[i++] = decade * 5 + decade * 5 / 8 * k;     // to 10 D
  }
  return bounds;
}

}  // namespace internal

// The finite bounds, in nanoseconds, ascending.
inline constexpr std::array<int64_t, 1 + internal::kDecades *
                                             internal::kBinsPerDecade>
    kCallDurationBoundNanos = internal::MakeBounds();
static_assert(kCallDurationBoundNanos.back() == 100'000'000'000, "the last bound is 100 s");

// Bins: one per finite bound, then the one past 100 s (+Inf).
inline constexpr int kCallDurationBuckets = static_cast<int>(kCallDurationBoundNanos.size()) + 1;

// CallDurationBound()
// The upper bound of bin `i`: InfiniteDuration() for the last.
inline absl::Duration CallDurationBound(int i) {
  return i < static_cast<int>(kCallDurationBoundNanos.size())
             ? absl::Nanoseconds(kCallDurationBoundNanos[static_cast<size_t>(i)])
             : absl::InfiniteDuration();
}

// CallDurationBucket()
// The bin of a duration of `nanos` (negative counts as 0): a binary search
// of the bounds, 8 steps.
inline int CallDurationBucket(int64_t nanos) {
  int lo = 0;
  int n = static_cast<int>(kCallDurationBoundNanos.size());
  // The first bound >= nanos: [lo, lo + n) holds it, or it is past the end.
  while (n > 0) {
    const int half = n / 2;
    if (kCallDurationBoundNanos[static_cast<size_t>(lo + half)] < nanos) {
      lo += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return lo;
}

// CallDurationExported()
// True for the bins whose cumulative counts the Prometheus export shows:
// bounds 1, 2.5 and 5 x 10 us ... 10 s, then 25 s, 50 s, 100 s, and +Inf.
inline bool CallDurationExported(int i) {
  if (i >= static_cast<int>(kCallDurationBoundNanos.size())) return true;  // +Inf
  int64_t bound = kCallDurationBoundNanos[static_cast<size_t>(i)];
  if (bound < 10'000) return false;
  while (bound % 10 == 0 && bound > 5) bound /= 10;
  return bound == 1 || bound == 5 || bound == 25;
}

struct CallDurations {
  // False when the breaker keeps no histogram (record_call_durations off):
  // everything below is then zero.
  bool recorded = false;
  // Calls per bucket (not cumulative): counts[i] holds the durations in
  // (bound i-1, bound i].
  std::array<uint64_t, kCallDurationBuckets> counts{};
  uint64_t count = 0;                        // the sum of counts
  absl::Duration sum = absl::ZeroDuration();  // of every duration counted
};

// CallDurationPercentileBin()
// The bin of the p-th percentile of the `total` durations counted in
// `counts` (kCallDurationBuckets values): the bin of the ceil(p / 100 x
// total)-th smallest (the nearest rank; at least the first). -1 when total
// is 0. REQUIRES: 0 < p <= 100.
int CallDurationPercentileBin(const uint64_t* counts, uint64_t total, double p);

// CallDurationPercentile()
// The p-th percentile of `d` as its bin's bound (at most 12.5 % above the
// true value from 1 us to 100 s; InfiniteDuration() past 100 s), or
// ZeroDuration() when nothing was recorded. REQUIRES: 0 < p <= 100.
absl::Duration CallDurationPercentile(const CallDurations& d, double p);

}  // namespace circuit

#endif  // CIRCUIT_CALL_DURATIONS_H_
