// The call-duration histogram (record_call_durations) and the transition
// counts by from and to: what the Prometheus export reads at scrape time.
#include "circuit/call_durations.h"

#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

std::unique_ptr<Breaker> Make(const BreakerConfig& config) {
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

BreakerConfig Recording(const Clock* clock) {
  BreakerConfig config;
  config.clock = clock;
  config.record_call_durations = true;
  config.slow_call_clock = SlowCallClock::kPrecise;
  return config;
}

int Index(State s) { return static_cast<int>(s); }

TEST(CallDurationBucketTest, BoundsAreLessThanOrEqual) {
  EXPECT_EQ(CallDurationBucket(-5), 0);
  EXPECT_EQ(CallDurationBucket(0), 0);
  EXPECT_EQ(CallDurationBucket(1'000), 0);  // exactly 1 us: le 1 us
  EXPECT_EQ(CallDurationBucket(1'001), 1);
  EXPECT_EQ(CallDurationBucket(10'000), 30);      // a decade of 30 bins
  EXPECT_EQ(CallDurationBucket(1'000'000), 90);  // 1 ms
  EXPECT_EQ(CallDurationBucket(100'000'000'000), kCallDurationBuckets - 2);
  EXPECT_EQ(CallDurationBucket(100'000'000'001), kCallDurationBuckets - 1);
  EXPECT_EQ(CallDurationBucket(INT64_MAX), kCallDurationBuckets - 1);
  for (int i = 0; i + 1 < kCallDurationBuckets; ++i) {
    EXPECT_EQ(CallDurationBucket(absl::ToInt64Nanoseconds(CallDurationBound(i))), i);
  }
  EXPECT_EQ(CallDurationBound(kCallDurationBuckets - 1), absl::InfiniteDuration());
}

TEST(CallDurationsTest, OffByDefaultAndEmpty) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  std::unique_ptr<Breaker> breaker = Make(config);
  Permit permit = breaker->TryAcquire();
  clock.Advance(absl::Milliseconds(3));
  permit.Success();
  const CallDurations d = breaker->Durations();
  EXPECT_FALSE(d.recorded);
  EXPECT_EQ(d.count, 0u);
  EXPECT_EQ(d.sum, absl::ZeroDuration());
}

TEST(CallDurationsTest, SuccessesAndFailuresAreCountedByTheClockIgnoredOnesAreNot) {
  FakeClock clock;
  std::unique_ptr<Breaker> breaker = Make(Recording(&clock));
  const absl::Duration took[] = {absl::Microseconds(7), absl::Microseconds(10),
                                 absl::Milliseconds(3), absl::Seconds(2), absl::Seconds(90)};
  for (absl::Duration d : took) {
    Permit permit = breaker->TryAcquire();
    clock.Advance(d);
    permit.Success();
  }
  {
    Permit permit = breaker->TryAcquire();
    clock.Advance(absl::Milliseconds(40));
    permit.Failure();
  }
  {
    Permit permit = breaker->TryAcquire();
    clock.Advance(absl::Milliseconds(400));
    permit.Ignore();
  }
  {
    Permit permit = breaker->TryAcquire();
    clock.Advance(absl::Milliseconds(400));
    permit.Release();
  }
  const CallDurations d = breaker->Durations();
  ASSERT_TRUE(d.recorded);
  EXPECT_EQ(d.count, 6u);
  EXPECT_EQ(d.sum, absl::Microseconds(17) + absl::Milliseconds(43) + absl::Seconds(92));
  EXPECT_EQ(d.counts[CallDurationBucket(7'000)], 1u);         // le 7.5 us
  EXPECT_EQ(d.counts[CallDurationBucket(10'000)], 1u);        // le 10 us
  EXPECT_EQ(d.counts[CallDurationBucket(3'000'000)], 1u);     // le 3 ms
  EXPECT_EQ(d.counts[CallDurationBucket(40'000'000)], 1u);    // le 40 ms (the failure)
  EXPECT_EQ(d.counts[CallDurationBucket(2'000'000'000)], 1u);  // le 2 s
  EXPECT_EQ(d.counts[CallDurationBucket(90'000'000'000)], 1u);  // le 90 s
  // Slow-call detection is off: nothing is slow, whatever it took.
  EXPECT_EQ(breaker->Metrics().slow, 0u);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(CallDurationsTest, CallerMeasuredDurationsNeedNoClock) {
  FakeClock clock;
  BreakerConfig config = Recording(&clock);
  config.slow_call_clock = SlowCallClock::kCaller;
  std::unique_ptr<Breaker> breaker = Make(config);
  breaker->TryAcquire().Success(absl::Milliseconds(3));
  breaker->TryAcquire().Failure(absl::Milliseconds(30));
  breaker->TryAcquire().Record(absl::UnavailableError("down"), absl::Microseconds(20));
  breaker->TryAcquire().Success();  // no duration given, none read: not counted
  breaker->TryAcquire().Success(-absl::Seconds(1));  // a clock that went back: 0
  const CallDurations d = breaker->Durations();
  EXPECT_EQ(d.count, 4u);
  EXPECT_EQ(d.counts[0], 1u);
  EXPECT_EQ(d.counts[CallDurationBucket(20'000)], 1u);
  EXPECT_EQ(d.counts[CallDurationBucket(3'000'000)], 1u);
  EXPECT_EQ(d.counts[CallDurationBucket(30'000'000)], 1u);
  EXPECT_EQ(d.sum, absl::Milliseconds(33) + absl::Microseconds(20));
  EXPECT_EQ(breaker->Metrics().successes, 3u);
  EXPECT_EQ(breaker->Metrics().failures, 2u);
}

TEST(CallDurationsTest, SlowCallDetectionStillJudgesWithTheHistogramOn) {
  FakeClock clock;
  BreakerConfig config = Recording(&clock);
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  config.minimum_calls = 2;
  config.window_size = 2;
  std::unique_ptr<Breaker> breaker = Make(config);
  for (absl::Duration took : {absl::Milliseconds(99), absl::Milliseconds(100)}) {
    Permit permit = breaker->TryAcquire();
    clock.Advance(took);
    permit.Success();
  }
  EXPECT_EQ(breaker->Metrics().slow, 1u);
  EXPECT_EQ(breaker->state(), State::kOpen);  // 1 slow of 2: 50 %
  const CallDurations d = breaker->Durations();
  EXPECT_EQ(d.counts[CallDurationBucket(100'000'000)], 2u);
  EXPECT_EQ(d.sum, absl::Milliseconds(199));
}

TEST(CallDurationsTest, ThreadsPastTheOwnStripesAddUpExactly) {
  FakeClock clock;
  BreakerConfig config = Recording(&clock);
  config.slow_call_clock = SlowCallClock::kCaller;
  config.stripes = 1;  // every thread but one counts per CPU
  std::unique_ptr<Breaker> breaker = Make(config);
  constexpr int kThreads = 6;
  constexpr int kCalls = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&breaker, t] {
      for (int i = 0; i < kCalls; ++i) {
        breaker->TryAcquire().Success(absl::Microseconds(t == 0 ? 1 : 200));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const CallDurations d = breaker->Durations();
  EXPECT_EQ(d.count, uint64_t{kThreads} * kCalls);
  EXPECT_EQ(d.counts[0], uint64_t{kCalls});
  EXPECT_EQ(d.counts[CallDurationBucket(200'000)], uint64_t{kThreads - 1} * kCalls);
  EXPECT_EQ(d.sum, absl::Microseconds(kCalls) * (1 + 200 * (kThreads - 1)));
}

TEST(TransitionCountsTest, EveryTransitionIsCountedByFromAndTo) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  std::unique_ptr<Breaker> breaker = Make(config);
  breaker->TryAcquire().Failure();             // CLOSED -> OPEN
  clock.Advance(absl::Seconds(1));
  breaker->TryAcquire().Failure();             // OPEN -> HALF_OPEN -> OPEN
  clock.Advance(absl::Seconds(1));
  breaker->TryAcquire().Success();             // OPEN -> HALF_OPEN -> CLOSED
  breaker->ForceOpen();                        // CLOSED -> FORCED_OPEN
  breaker->Reset();                            // FORCED_OPEN -> CLOSED
  breaker->Disable();                          // CLOSED -> DISABLED
  breaker->MetricsOnly();                      // DISABLED -> METRICS_ONLY
  const BreakerMetrics m = breaker->Metrics();
  uint64_t expected[kNumStates][kNumStates] = {};
  expected[Index(State::kClosed)][Index(State::kOpen)] = 1;
  expected[Index(State::kOpen)][Index(State::kHalfOpen)] = 2;
  expected[Index(State::kHalfOpen)][Index(State::kOpen)] = 1;
  expected[Index(State::kHalfOpen)][Index(State::kClosed)] = 1;
  expected[Index(State::kClosed)][Index(State::kForcedOpen)] = 1;
  expected[Index(State::kForcedOpen)][Index(State::kClosed)] = 1;
  expected[Index(State::kClosed)][Index(State::kDisabled)] = 1;
  expected[Index(State::kDisabled)][Index(State::kMetricsOnly)] = 1;
  for (int from = 0; from < kNumStates; ++from) {
    for (int to = 0; to < kNumStates; ++to) {
      EXPECT_EQ(m.transitions[from][to], expected[from][to])
          << StateName(static_cast<State>(from)) << " -> " << StateName(static_cast<State>(to));
    }
  }
  EXPECT_EQ(m.opened, 2u);
}

}  // namespace
}  // namespace circuit
