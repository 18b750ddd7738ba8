// File: src/clock.cc
// The system clock. Both reads go through the vDSO: no system call.
#include "circuit/clock.h"

namespace circuit {

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
