// File: circuit/fake_clock.h
// `circuit::FakeClock` is a Clock that moves only when told to. Tests and the
// trace simulator inject it through `BreakerConfig::clock` and call
// Advance() to cross a wait, a window bucket or a slow-call threshold
// without sleeping.
//
// Example:
//   circuit::FakeClock clock;
//   circuit::BreakerConfig config;
//   config.clock = &clock;
//   auto breaker = circuit::Breaker::Create(config).value();
//   ...                                   // trip it
//   clock.Advance(absl::Seconds(30));     // the next call is a trial
//
// Thread safety: every member may be called concurrently; a read after an
// Advance() on another thread sees the new time once that Advance()
// happens-before it.
#ifndef CIRCUIT_FAKE_CLOCK_H_
#define CIRCUIT_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"
#include "circuit/clock.h"

namespace circuit {

class FakeClock : public Clock {
 public:
  // Starts at `start_nanos` (default 1 s, so that 0 never means "now").
  explicit FakeClock(int64_t start_nanos = 1'000'000'000) : now_(start_nanos) {}

  int64_t NowNanos() const override {
    // acquire: pairs with the release in Advance(), so a thread that reads
    // the new time also sees what the advancing thread wrote before it.
    return now_.load(std::memory_order_acquire);
  }

  // Moves time forward by `d`. A negative `d` is ignored and time saturates
  // at the largest int64_t (an infinite or centuries-long `d` stops there):
  // clocks are monotonic.
  void Advance(absl::Duration d) {
    const int64_t nanos = absl::ToInt64Nanoseconds(d);  // saturates, too
    if (nanos <= 0) return;
    // relaxed: the CAS below validates it.
    int64_t now = now_.load(std::memory_order_relaxed);
    int64_t later;
    do {
      later = now > std::numeric_limits<int64_t>::max() - nanos
                  ? std::numeric_limits<int64_t>::max()
                  : now + nanos;
      // release: pairs with the acquire in NowNanos().
    } while (!now_.compare_exchange_weak(now, later, std::memory_order_release,
                                         std::memory_order_relaxed));
  }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace circuit

#endif  // CIRCUIT_FAKE_CLOCK_H_
