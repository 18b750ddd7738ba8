// File: src/call_durations.cc
// Percentiles of the call-duration bins (circuit/call_durations.h).
#include "circuit/call_durations.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace circuit {

int CallDurationPercentileBin(const uint64_t* counts, uint64_t total, double p) {
  if (total == 0) return -1;
  // The nearest rank, ceil(p / 100 x total), at least 1 and at most total.
  // In long double: a total near 2^64 keeps its low digits. A product
  // within a part in 10^12 of a whole number is that number: 99.9 is not
  // exact in binary, and 99.9 x 1000 / 100 must be rank 999, not 1000.
  const long double exact = static_cast<long double>(p) * static_cast<long double>(total) / 100;
  const long double nearest = std::round(exact);
  const long double rounded =
      std::fabs(exact - nearest) <= 1e-12L * std::max(1.0L, exact) ? nearest : std::ceil(exact);
  uint64_t rank = rounded <= 1 ? 1 : static_cast<uint64_t>(rounded);
  if (rank > total) rank = total;
  uint64_t seen = 0;
  for (int i = 0; i < kCallDurationBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) return i;
  }
  return kCallDurationBuckets - 1;  // counts summing to less than total
}

absl::Duration CallDurationPercentile(const CallDurations& d, double p) {
  const int bin = CallDurationPercentileBin(d.counts.data(), d.count, p);
  return bin < 0 ? absl::ZeroDuration() : CallDurationBound(bin);
}

}  // namespace circuit
