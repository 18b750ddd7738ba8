// Slow-call detection by clock choice: the precise clock, the coarse one
// (chosen automatically for a long slow_call_duration), or durations the
// caller measured itself; and the coarse reading a rejection reuses.
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

// A clock whose coarse reading lags the precise one by a fixed amount
// rounded down to a tick, as CLOCK_MONOTONIC_COARSE does.
class TickClock : public Clock {
 public:
  explicit TickClock(int64_t tick_nanos) : tick_(tick_nanos) {}
  int64_t NowNanos() const override { return now_; }
  int64_t CoarseNowNanos() const override { return now_ / tick_ * tick_; }
  void Advance(absl::Duration d) { now_ += absl::ToInt64Nanoseconds(d); }

 private:
  const int64_t tick_;
  int64_t now_ = 1'000'000'000;
};

std::unique_ptr<Breaker> Make(const BreakerConfig& config) {
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

BreakerConfig SlowConfig(const Clock* clock, absl::Duration slow, SlowCallClock which) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 100;  // any measured call decides nothing
  config.minimum_calls = 1000;
  config.slow_call_duration = slow;
  config.slow_call_clock = which;
  return config;
}

// One call that takes `took` on `clock`; returns the breaker's slow count.
uint64_t SlowAfter(Breaker& breaker, TickClock& clock, absl::Duration took) {
  Permit permit = breaker.TryAcquire();
  clock.Advance(took);
  permit.Success();
  return breaker.Metrics().slow;
}

TEST(SlowCallClockTest, AutoUsesTheCoarseClockForALongSlowCallDuration) {
  TickClock clock(absl::ToInt64Nanoseconds(absl::Milliseconds(4)));
  auto breaker = Make(SlowConfig(&clock, absl::Milliseconds(100), SlowCallClock::kAuto));
  // 99.5 ms precise, but the start sat just before a tick: the coarse
  // reading sees 100 ms. Proof the coarse clock is in use.
  clock.Advance(absl::Milliseconds(4) - absl::Microseconds(500));  // 0.5 ms before a tick
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Microseconds(99'500)), 1u);
}

TEST(SlowCallClockTest, AutoUsesThePreciseClockForAShortSlowCallDuration) {
  TickClock clock(absl::ToInt64Nanoseconds(absl::Milliseconds(4)));
  auto breaker = Make(SlowConfig(&clock, absl::Milliseconds(10), SlowCallClock::kAuto));
  clock.Advance(absl::Milliseconds(4) - absl::Microseconds(500));
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Microseconds(9'500)), 0u);
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Milliseconds(10)), 1u);
}

TEST(SlowCallClockTest, TheCoarseClockIsOffByLessThanOneTickEitherWay) {
  TickClock clock(absl::ToInt64Nanoseconds(absl::Milliseconds(4)));
  auto breaker = Make(SlowConfig(&clock, absl::Milliseconds(100), SlowCallClock::kCoarse));
  // Started just after a tick: 103.9 ms precise reads as 100 ms coarse at
  // most... and a call shorter than 96 ms is never slow.
  clock.Advance(absl::Microseconds(100));
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Milliseconds(96)), 0u);
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Milliseconds(104)), 1u);
}

TEST(SlowCallClockTest, ThePreciseClockWhenAskedForEvenForALongDuration) {
  TickClock clock(absl::ToInt64Nanoseconds(absl::Milliseconds(4)));
  auto breaker = Make(SlowConfig(&clock, absl::Milliseconds(100), SlowCallClock::kPrecise));
  clock.Advance(absl::Milliseconds(4) - absl::Microseconds(500));
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Microseconds(99'999)), 0u);
  EXPECT_EQ(SlowAfter(*breaker, clock, absl::Milliseconds(100)), 1u);
}

TEST(SlowCallClockTest, ADurationTheCallerMeasuredIsJudgedInsteadOfTheClock) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock, absl::Seconds(1), SlowCallClock::kPrecise));
  {
    Permit p = breaker->TryAcquire();
    clock.Advance(absl::Seconds(5));  // the clock says slow...
    p.Success(absl::Milliseconds(10));  // ...the caller says 10 ms
  }
  EXPECT_EQ(breaker->Metrics().slow, 0u);
  {
    Permit p = breaker->TryAcquire();
    p.Failure(absl::Seconds(2));
  }
  EXPECT_EQ(breaker->Metrics().slow, 1u);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
  {
    Permit p = breaker->TryAcquire();
    p.Record(absl::OkStatus(), absl::Seconds(1));  // at the duration: slow
  }
  EXPECT_EQ(breaker->Metrics().slow, 2u);
  {
    Permit p = breaker->TryAcquire();
    p.Record(absl::UnavailableError("down"), -absl::Seconds(3));  // negative: 0
  }
  EXPECT_EQ(breaker->Metrics().slow, 2u);
  EXPECT_EQ(breaker->Metrics().failures, 2u);
}

TEST(SlowCallClockTest, WithTheCallersClockOnlyMeasuredDurationsAreJudged) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock, absl::Seconds(1), SlowCallClock::kCaller));
  {
    Permit p = breaker->TryAcquire();
    clock.Advance(absl::Seconds(5));
    p.Success();  // no duration: never slow
  }
  EXPECT_EQ(breaker->Metrics().slow, 0u);
  {
    Permit p = breaker->TryAcquire();
    p.Success(absl::Seconds(3));
  }
  EXPECT_EQ(breaker->Metrics().slow, 1u);
}

TEST(SlowCallClockTest, ASlowTrialMeasuredByTheCallerReopens) {
  FakeClock clock;
  BreakerConfig config = SlowConfig(&clock, absl::Seconds(1), SlowCallClock::kCaller);
  config.consecutive_failures_to_open = 1;
  auto breaker = Make(config);
  breaker->TryAcquire().Failure();
  clock.Advance(absl::Seconds(30));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.Success(absl::Seconds(2));
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(SlowCallClockTest, ValidationNamesTheField) {
  BreakerConfig config;
  config.slow_call_clock = static_cast<SlowCallClock>(9);
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("BreakerConfig.slow_call_clock"), absl::string_view::npos)
      << status;
}

TEST(RejectionClockTest, AReadingIsReusedAFixedNumberOfTimesAndNeverRunsAhead) {
  // Drain whatever this thread had, then watch one cycle.
  for (uint32_t i = 0; i < internal::kRejectionsPerClockRead; ++i) {
    internal::MonotonicCoarseNanosForRejection();
  }
  const int64_t fresh = internal::MonotonicCoarseNanosForRejection();
  EXPECT_LE(fresh, internal::MonotonicCoarseNanos());
  for (uint32_t i = 1; i < internal::kRejectionsPerClockRead; ++i) {
    EXPECT_EQ(internal::MonotonicCoarseNanosForRejection(), fresh) << "reuse " << i;
    EXPECT_LE(fresh, internal::MonotonicCoarseNanos());
  }
  // The next one reads the clock again (which never runs backwards).
  EXPECT_GE(internal::MonotonicCoarseNanosForRejection(), fresh);
}

// The rejection while OPEN with the system clock: the inline-fast path
// (a reused reading, a stripe of its own) and the one that reads the clock
// or registers the thread or shares a stripe count every rejection once,
// report a retry within the open period, and never end OPEN early.
TEST(RejectionClockTest, EveryThreadsRejectionsAreCountedWhateverItsStripe) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Hours(1);
  config.max_open_duration = absl::Hours(1);
  config.stripes = 1;  // most threads below are past the own stripes
  absl::StatusOr<std::unique_ptr<Breaker>> made = Breaker::Create(config);
  ASSERT_TRUE(made.ok()) << made.status();
  Breaker& breaker = **made;
  breaker.TryAcquire().Failure();
  ASSERT_EQ(breaker.state(), State::kOpen);

  constexpr int kThreads = 6;
  constexpr int kCallsPerThread = 5'000;
  std::atomic<int> admitted{0};
  std::atomic<int> bad_retry{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        Permit permit = breaker.TryAcquire();
        if (permit) admitted.fetch_add(1);
        const absl::Duration retry = permit.retry_after();
        if (retry <= absl::ZeroDuration() || retry > absl::Hours(1)) bad_retry.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kCallsPerThread; ++i) {
    Permit permit = breaker.TryAcquire();
    if (permit) admitted.fetch_add(1);
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 0);
  EXPECT_EQ(bad_retry.load(), 0);
  EXPECT_EQ(breaker.Metrics().rejected, uint64_t{(kThreads + 1) * kCallsPerThread});
  EXPECT_EQ(breaker.state(), State::kOpen);
}

}  // namespace
}  // namespace circuit
