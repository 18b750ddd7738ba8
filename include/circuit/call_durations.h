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
// The buckets have fixed bounds, Prometheus's 1-2.5-5 series from 10 us to
// 10 s, then 30 s and 60 s: a duration d is counted in the first bucket
// whose bound is >= d (le, "less than or equal", as Prometheus means it),
// or in the last bucket, past 60 s. A duration is recorded to the
// nanosecond as the breaker measured it (with the clock chosen for
// slow-call detection, so a coarse clock's tick of error; see
// SlowCallClock) or as the caller passed it to Permit::Success(absl::Duration)
// and friends.
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

// The finite bounds, in nanoseconds, ascending.
inline constexpr std::array<int64_t, 21> kCallDurationBoundNanos = {
    10'000,         25'000,         50'000,          // 10, 25, 50 us
    100'000,        250'000,        500'000,         // 0.1, 0.25, 0.5 ms
    1'000'000,      2'500'000,      5'000'000,       // 1, 2.5, 5 ms
    10'000'000,     25'000'000,     50'000'000,      // 10, 25, 50 ms
    100'000'000,    250'000'000,    500'000'000,     // 0.1, 0.25, 0.5 s
    1'000'000'000,  2'500'000'000,  5'000'000'000,   // 1, 2.5, 5 s
    10'000'000'000, 30'000'000'000, 60'000'000'000,  // 10, 30, 60 s
};

// Buckets: one per finite bound, then the one past 60 s (+Inf).
inline constexpr int kCallDurationBuckets = static_cast<int>(kCallDurationBoundNanos.size()) + 1;

// CallDurationBound()
// The upper bound of bucket `i`: InfiniteDuration() for the last.
inline absl::Duration CallDurationBound(int i) {
  return i < static_cast<int>(kCallDurationBoundNanos.size())
             ? absl::Nanoseconds(kCallDurationBoundNanos[static_cast<size_t>(i)])
             : absl::InfiniteDuration();
}

// CallDurationBucket()
// The bucket of a duration of `nanos` (negative counts as 0).
inline int CallDurationBucket(int64_t nanos) {
  int i = 0;
  // 21 compares at most, ascending: short durations, the common case, stop
  // first. Only breakers with record_call_durations come here.
  while (i < static_cast<int>(kCallDurationBoundNanos.size()) &&
         nanos > kCallDurationBoundNanos[static_cast<size_t>(i)]) {
    ++i;
  }
  return i;
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

}  // namespace circuit

#endif  // CIRCUIT_CALL_DURATIONS_H_
