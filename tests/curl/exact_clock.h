// File: tests/curl/exact_clock.h
// `circuit::testing::ExactClock` is real monotonic time for breakers whose
// tests sleep and then check exactly when OPEN ends and what retry delay a
// rejection reports.
//
// Why not the default system clock: with it, a thread judges whether OPEN
// is over on one of its rejections in 16 and rejects the others unjudged
// (circuit/clock.h, kRejectionsPerClockRead), so after a sleep up to 15
// calls on that thread may still be refused (each reporting, from a fresh
// reading, a delay of 0). That is the core's trade-off for a 2 ns
// rejection, which the suites show once with the default clock (a probe
// goes through within 16 calls, the refused ones sending nothing); the
// other timings are judged against a clock that any Clock but the
// system's is: read on every rejection.
//
// Example:
//   static const ExactClock clock;
//   config.clock = &clock;
//
// Thread safety: stateless; any thread may read it.
#ifndef CIRCUIT_TESTS_CURL_EXACT_CLOCK_H_
#define CIRCUIT_TESTS_CURL_EXACT_CLOCK_H_

#include <chrono>
#include <cstdint>

#include "circuit/clock.h"

namespace circuit {
namespace testing {

class ExactClock : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace testing
}  // namespace circuit

#endif  // CIRCUIT_TESTS_CURL_EXACT_CLOCK_H_
