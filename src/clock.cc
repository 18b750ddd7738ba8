// File: src/clock.cc
// The system clock. Both reads go through the vDSO: no system call.
#include "circuit/clock.h"

#include <time.h>

namespace circuit {
namespace internal {

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t MonotonicCoarseNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace internal

namespace {

class SystemClockImpl final : public Clock {
 public:
  int64_t NowNanos() const override { return internal::MonotonicNanos(); }
  int64_t CoarseNowNanos() const override { return internal::MonotonicCoarseNanos(); }
};

}  // namespace

const Clock* SystemClock() {
  static const SystemClockImpl* const kClock = new SystemClockImpl();
  return kClock;
}

}  // namespace circuit
