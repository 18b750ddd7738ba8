// Behaviour of circuit::Breaker, single-threaded except where a permit is
// resolved on another thread. Every breaker reads a circuit::FakeClock: no
// test sleeps; time moves only by FakeClock::Advance().
#include "circuit/breaker.h"

#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/circuit.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::HasSubstr;

// ---- Helpers ----------------------------------------------------------------

struct TimeoutError : std::runtime_error {
  TimeoutError() : std::runtime_error("timed out") {}
};
struct SlowTimeoutError : TimeoutError {};
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "cancelled"; }
};
struct BusinessError : std::exception {
  const char* what() const noexcept override { return "no such account"; }
};

BreakerConfig ConfigWith(FakeClock* clock) {
  BreakerConfig config;
  config.clock = clock;
  return config;
}

std::unique_ptr<Breaker> Make(const BreakerConfig& config) {
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

// `n` admitted calls resolved as successes.
void Succeed(Breaker& breaker, int n = 1) {
  for (int i = 0; i < n; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "success " << i << " was rejected in state "
                        << StateName(breaker.state());
    EXPECT_TRUE(permit.Success());
  }
}

// `n` admitted calls resolved as failures.
void Fail(Breaker& breaker, int n = 1) {
  for (int i = 0; i < n; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "failure " << i << " was rejected in state "
                        << StateName(breaker.state());
    EXPECT_TRUE(permit.Failure());
  }
}

// One call that takes `duration` of fake time, resolved as a success.
void SucceedTaking(Breaker& breaker, FakeClock& clock, absl::Duration duration, int n = 1) {
  for (int i = 0; i < n; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "call " << i << " was rejected in state " << StateName(breaker.state());
    clock.Advance(duration);
    EXPECT_TRUE(permit.Success());
  }
}

// Opens a breaker with the default consecutive-failure trip (5).
void Trip(Breaker& breaker) {
  Fail(breaker, 5);
  ASSERT_EQ(breaker.state(), State::kOpen);
}

// A trial permit: advances the clock by `wait` and acquires.
Permit AcquireTrialAfter(Breaker& breaker, FakeClock& clock, absl::Duration wait) {
  clock.Advance(wait);
  Permit permit = breaker.TryAcquire();
  EXPECT_TRUE(permit) << "no trial after " << wait;
  EXPECT_TRUE(permit.is_trial());
  return permit;
}

// The permit identity that holds once every permit has been resolved.
void ExpectPermitIdentity(const Breaker& breaker) {
  const BreakerMetrics m = breaker.Metrics();
  EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released)
      << "permitted " << m.permitted << " successes " << m.successes << " failures "
      << m.failures << " ignored " << m.ignored << " released " << m.released;
}

// ---- Names and construction -------------------------------------------------

TEST(StateNameTest, NamesEveryStateAndUnknownOutsideTheEnum) {
  EXPECT_EQ(StateName(State::kClosed), "CLOSED");
  EXPECT_EQ(StateName(State::kOpen), "OPEN");
  EXPECT_EQ(StateName(State::kHalfOpen), "HALF_OPEN");
  EXPECT_EQ(StateName(State::kForcedOpen), "FORCED_OPEN");
  EXPECT_EQ(StateName(State::kDisabled), "DISABLED");
  EXPECT_EQ(StateName(State::kMetricsOnly), "METRICS_ONLY");
  EXPECT_EQ(StateName(static_cast<State>(6)), "UNKNOWN");
  EXPECT_EQ(StateName(static_cast<State>(200)), "UNKNOWN");
}

TEST(BreakerTest, CreateBuildsAClosedBreakerWithZeroedMetrics) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "payments";
  auto breaker = Make(config);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->name(), "payments");
  EXPECT_EQ(breaker->config().name, "payments");
  EXPECT_EQ(breaker->config().clock, &clock);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.state, State::kClosed);
  EXPECT_EQ(m.generation, breaker->generation());
  EXPECT_EQ(m.permitted, 0u);
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.failures, 0u);
  EXPECT_EQ(m.ignored, 0u);
  EXPECT_EQ(m.released, 0u);
  EXPECT_EQ(m.slow, 0u);
  EXPECT_EQ(m.stale, 0u);
  EXPECT_EQ(m.opened, 0u);
}

TEST(BreakerTest, ClosedBreakerAdmitsCallsThatAreNotTrials) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit);
  EXPECT_FALSE(permit.is_trial());
  EXPECT_FALSE(permit.rejected());
  EXPECT_EQ(permit.generation(), breaker->generation());
  EXPECT_TRUE(permit.Success());
  EXPECT_EQ(breaker->Metrics().permitted, 1u);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
}

// ---- Defaults: consecutive failures, OPEN, HALF_OPEN ------------------------

TEST(BreakerTest, OpensAfterFiveConsecutiveFailuresByDefault) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().opened, 1u);
  EXPECT_EQ(breaker->Metrics().failures, 5u);
}

TEST(BreakerTest, FourConsecutiveFailuresDoNotOpenByDefault) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit);
  EXPECT_FALSE(permit.is_trial());
  EXPECT_EQ(breaker->Metrics().opened, 0u);
}

TEST(BreakerTest, ASuccessResetsTheRunOfConsecutiveFailures) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Fail(*breaker, 4);
  Succeed(*breaker);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed) << "the success must have ended the first run";
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ConsecutiveFailuresToOpenIsConfigurable) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.consecutive_failures_to_open = 2;
  auto breaker = Make(config);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ZeroConsecutiveFailuresDisablesThatTrip) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 50;  // a trip condition no call meets
  auto breaker = Make(config);
  Fail(*breaker, 200);
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().failures, 200u);
}

TEST(BreakerTest, OpenBreakerRejectsWithTheRemainingOpenTimeAsRetryAfter) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);

  Permit first = breaker->TryAcquire();
  EXPECT_FALSE(first);
  EXPECT_TRUE(first.rejected());
  EXPECT_EQ(first.rejected_state(), State::kOpen);
  EXPECT_EQ(first.retry_after(), absl::Seconds(30));

  clock.Advance(absl::Seconds(10));
  Permit second = breaker->TryAcquire();
  EXPECT_FALSE(second);
  EXPECT_EQ(second.rejected_state(), State::kOpen);
  EXPECT_EQ(second.retry_after(), absl::Seconds(20));

  clock.Advance(absl::Seconds(19) + absl::Milliseconds(500));
  Permit third = breaker->TryAcquire();
  EXPECT_FALSE(third);
  EXPECT_EQ(third.retry_after(), absl::Milliseconds(500));

  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().rejected, 3u);
  EXPECT_EQ(breaker->Metrics().permitted, 5u);
}

TEST(BreakerTest, RejectedPermitCannotBeResolved) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit.rejected());
  EXPECT_FALSE(permit.Success());
  EXPECT_FALSE(permit.Failure());
  EXPECT_FALSE(permit.Ignore());
  EXPECT_FALSE(permit.Release());
  EXPECT_FALSE(permit.Record(absl::InternalError("x")));
  EXPECT_FALSE(permit.is_trial());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.failures, 5u);
  EXPECT_EQ(m.ignored, 0u);
  EXPECT_EQ(m.released, 0u);
  EXPECT_EQ(m.rejected, 1u);
}

TEST(BreakerTest, OpenBreakerStaysOpenUntilTheOpenDurationHasPassed) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  clock.Advance(absl::Seconds(30) - absl::Milliseconds(1));
  Permit early = breaker->TryAcquire();
  EXPECT_FALSE(early);
  EXPECT_EQ(early.retry_after(), absl::Milliseconds(1));
  EXPECT_EQ(breaker->state(), State::kOpen);
  clock.Advance(absl::Milliseconds(1));
  Permit trial = breaker->TryAcquire();
  EXPECT_TRUE(trial);
  EXPECT_TRUE(trial.is_trial());
}

TEST(BreakerTest, StateReportsOpenUntilACallArrivesAfterTheOpenDuration) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(breaker->state(), State::kOpen);
  Permit trial = breaker->TryAcquire();
  EXPECT_TRUE(trial.is_trial());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
}

TEST(BreakerTest, FirstCallAfterExactlyThirtySecondsIsATrial) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial);
  EXPECT_TRUE(trial.is_trial());
  EXPECT_FALSE(trial.rejected());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(trial.generation(), breaker->generation());
}

TEST(BreakerTest, HalfOpenAdmitsOnlyOneTrialAtATimeByDefault) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  Permit second = breaker->TryAcquire();
  EXPECT_FALSE(second);
  EXPECT_TRUE(second.rejected());
  EXPECT_EQ(second.rejected_state(), State::kHalfOpen);
  EXPECT_EQ(second.retry_after(), absl::ZeroDuration());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(trial.Success());
}

TEST(BreakerTest, SuccessfulTrialClosesTheBreaker) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(trial.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  Permit next = breaker->TryAcquire();
  EXPECT_TRUE(next);
  EXPECT_FALSE(next.is_trial());
}

TEST(BreakerTest, FailedTrialReopensTheBreakerForAnotherOpenDuration) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(trial.Failure());
  EXPECT_EQ(breaker->state(), State::kOpen);
  Permit rejected = breaker->TryAcquire();
  EXPECT_FALSE(rejected);
  EXPECT_EQ(rejected.rejected_state(), State::kOpen);
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(30));
  EXPECT_EQ(breaker->Metrics().opened, 2u);
  // And the next trial after another 30 s can close it.
  Permit again = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(again.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, ClosingStartsAFreshRunOfConsecutiveFailures) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_TRUE(trial.Success());
  ASSERT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// ---- Failure rate: count window ------------------------------------------------

BreakerConfig CountRateConfig(FakeClock* clock) {
  BreakerConfig config = ConfigWith(clock);
  config.consecutive_failures_to_open = 0;  // judge by the rate alone
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kCountBased;
  config.window_size = 10;
  config.minimum_calls = 10;
  return config;
}

TEST(BreakerTest, CountWindowOpensWhenTheFailureRateReachesTheThresholdExactly) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Succeed(*breaker, 5);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // 5 of 10 = 50 %
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().opened, 1u);
}

TEST(BreakerTest, CountWindowStaysClosedJustBelowTheFailureRateThreshold) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Succeed(*breaker, 6);
  Fail(*breaker, 4);  // 4 of 10 = 40 %
  EXPECT_EQ(breaker->state(), State::kClosed);
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit);
  EXPECT_EQ(breaker->Metrics().opened, 0u);
}

TEST(BreakerTest, FailureRateIsNotJudgedBeforeMinimumCalls) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Fail(*breaker, 9);  // 100 %, but only 9 calls
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, MinimumCallsBelowWindowSizeLetsTheRateBeJudgedEarly) {
  FakeClock clock;
  BreakerConfig config = CountRateConfig(&clock);
  config.window_size = 100;
  config.minimum_calls = 4;
  auto breaker = Make(config);
  Succeed(*breaker, 2);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 3 calls
  Fail(*breaker, 1);                            // 2 of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, CountWindowNeedsAtMostWindowSizeCallsEvenWhenMinimumCallsIsLarger) {
  FakeClock clock;
  BreakerConfig config = CountRateConfig(&clock);
  config.minimum_calls = 50;  // more than window_size (10)
  auto breaker = Make(config);
  Succeed(*breaker, 5);
  Fail(*breaker, 5);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, CountWindowForgetsFailuresOnceWindowSizeNewerCallsArrive) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Fail(*breaker, 4);
  Succeed(*breaker, 6);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 40 %
  Succeed(*breaker, 4);                         // the 4 failures slide out
  Fail(*breaker, 4);                            // last 10: 6 S, 4 F
  EXPECT_EQ(breaker->state(), State::kClosed)
      << "failures older than the last 10 calls were still counted";
  Fail(*breaker, 1);  // last 10: 5 S, 5 F
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, CountWindowSlidesOneCallAtATime) {
  FakeClock clock;
  BreakerConfig config = CountRateConfig(&clock);
  config.window_size = 4;
  config.minimum_calls = 4;
  auto breaker = Make(config);
  // F S S S: 25 %. Each new call pushes exactly one out.
  Fail(*breaker, 1);
  Succeed(*breaker, 3);
  Succeed(*breaker, 1);  // S S S S
  Fail(*breaker, 1);     // S S S F: 25 %
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // S S F F: 50 %
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, IgnoredCallsCountTowardNeitherRate) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Succeed(*breaker, 5);
  Fail(*breaker, 4);
  for (int i = 0; i < 20; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    EXPECT_TRUE(permit.Ignore());
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // 5 S, 5 F: the ignored calls took no place in the window
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().ignored, 20u);
}

TEST(BreakerTest, ReleasedCallsCountTowardNeitherRate) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Succeed(*breaker, 5);
  Fail(*breaker, 4);
  for (int i = 0; i < 20; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    EXPECT_TRUE(permit.Release());
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().released, 20u);
}

// ---- Failure rate: time window -------------------------------------------------

// Buckets of 1 s; FakeClock starts at 1 s, on a bucket boundary.
BreakerConfig TimeRateConfig(FakeClock* clock) {
  BreakerConfig config = ConfigWith(clock);
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 4;
  return config;
}

TEST(BreakerTest, TimeWindowOpensAtTheThreshold) {
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  Succeed(*breaker, 2);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 3 calls < minimum_calls
  Fail(*breaker, 1);                            // 2 of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowKeepsFailuresYoungerThanWindowDuration) {
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  Fail(*breaker, 3);  // 3 calls: not judged yet
  ASSERT_EQ(breaker->state(), State::kClosed);
  clock.Advance(absl::Seconds(9));
  Succeed(*breaker, 1);  // 3 F of 4, judged on this success, only if the old failures are in
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowForgetsFailuresAfterWindowDuration) {
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  Fail(*breaker, 3);
  ASSERT_EQ(breaker->state(), State::kClosed);
  clock.Advance(absl::Seconds(10));
  Succeed(*breaker, 3);
  Fail(*breaker, 1);  // 1 F of 4 = 25 % (4 F of 7 if they were still in)
  EXPECT_EQ(breaker->state(), State::kClosed)
      << "failures older than window_duration were still counted";
  Fail(*breaker, 2);  // 3 F of 6
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowForgetsSuccessesAfterWindowDuration) {
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  Succeed(*breaker, 6);
  clock.Advance(absl::Seconds(10));
  Fail(*breaker, 3);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 3 calls < minimum_calls
  Fail(*breaker, 1);  // 4 of 4 (4 of 10 = 40 % if the successes were still in)
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowKeepsAWholeBucketUntilItLeavesTheWindow) {
  // Failures at 1.1 s and 1.9 s share the bucket [1 s, 2 s). At 10.95 s that
  // bucket is still one of the last 10: both count.
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  clock.Advance(absl::Milliseconds(100));
  Fail(*breaker, 1);
  clock.Advance(absl::Milliseconds(800));
  Fail(*breaker, 1);
  clock.Advance(absl::Milliseconds(9050));  // now 10.95 s
  Succeed(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 3 calls: not judged yet
  Succeed(*breaker, 1);  // 2 F of 4, judged on this success, only if both old failures count
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowDropsTheOldestBucketWhole) {
  // Same failures at 1.1 s and 1.9 s. At 11 s the window has moved on to the
  // bucket [11 s, 12 s) and the bucket [1 s, 2 s) is dropped whole, although
  // the failure at 1.9 s is only 9.1 s old.
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  clock.Advance(absl::Milliseconds(100));
  Fail(*breaker, 1);
  clock.Advance(absl::Milliseconds(800));
  Fail(*breaker, 1);
  clock.Advance(absl::Milliseconds(9100));  // now 11 s
  Succeed(*breaker, 2);
  Fail(*breaker, 1);  // 3 calls if the bucket is gone (not judged); 4+ with 50 %+ otherwise
  EXPECT_EQ(breaker->state(), State::kClosed)
      << "a call from the bucket that left the window was still counted";
  Fail(*breaker, 1);  // 2 F of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TimeWindowDropsOneBucketAtATime) {
  // 10 buckets of 1 s. At 11 s the bucket of 1 s has left the window and the
  // bucket of 2 s has not.
  FakeClock clock;
  BreakerConfig config = TimeRateConfig(&clock);
  config.minimum_calls = 1;
  config.failure_rate_threshold = 60;
  auto breaker = Make(config);
  Succeed(*breaker, 4);  // bucket [1 s, 2 s)
  clock.Advance(absl::Seconds(1));
  Succeed(*breaker, 3);  // bucket [2 s, 3 s)
  clock.Advance(absl::Seconds(9));  // now 11 s
  // 4 F of 7 = 57 %; were the 2 s bucket gone too, the first would be 100 %.
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed) << "the bucket of 2 s left the window early";
  // 5 F of 8 = 62.5 %; were the 1 s bucket still in, 5 F of 12 = 42 %.
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen) << "the bucket of 1 s is still in the window";
}

// ---- Slow calls ---------------------------------------------------------------------

BreakerConfig SlowConfig(FakeClock* clock) {
  BreakerConfig config = ConfigWith(clock);
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  config.window_type = WindowType::kCountBased;
  config.window_size = 10;
  config.minimum_calls = 10;
  return config;
}

TEST(BreakerTest, CallsAtOrOverSlowCallDurationCountAsSlow) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock));
  SucceedTaking(*breaker, clock, absl::Milliseconds(99));
  EXPECT_EQ(breaker->Metrics().slow, 0u);
  SucceedTaking(*breaker, clock, absl::Milliseconds(100) - absl::Nanoseconds(1));
  EXPECT_EQ(breaker->Metrics().slow, 0u);
  SucceedTaking(*breaker, clock, absl::Milliseconds(100));
  EXPECT_EQ(breaker->Metrics().slow, 1u);
  SucceedTaking(*breaker, clock, absl::Seconds(5));
  EXPECT_EQ(breaker->Metrics().slow, 2u);
  // A slow failure is slow too.
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit);
  clock.Advance(absl::Milliseconds(150));
  EXPECT_TRUE(permit.Failure());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.slow, 3u);
  EXPECT_EQ(m.successes, 4u) << "a slow success is still a success";
  EXPECT_EQ(m.failures, 1u);
}

TEST(BreakerTest, SlowCallRateOpensAtTheThresholdExactly) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock));
  SucceedTaking(*breaker, clock, absl::Milliseconds(1), 5);
  SucceedTaking(*breaker, clock, absl::Milliseconds(100), 4);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 9 calls
  SucceedTaking(*breaker, clock, absl::Milliseconds(100), 1);  // 5 slow of 10
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().failures, 0u);
}

TEST(BreakerTest, SlowCallRateStaysClosedJustBelowTheThreshold) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock));
  SucceedTaking(*breaker, clock, absl::Milliseconds(1), 6);
  SucceedTaking(*breaker, clock, absl::Milliseconds(100), 4);  // 4 slow of 10
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().slow, 4u);
}

TEST(BreakerTest, SlowCallRateIsNotJudgedBeforeMinimumCalls) {
  FakeClock clock;
  auto breaker = Make(SlowConfig(&clock));
  SucceedTaking(*breaker, clock, absl::Seconds(1), 9);  // all slow, 9 calls
  EXPECT_EQ(breaker->state(), State::kClosed);
  SucceedTaking(*breaker, clock, absl::Seconds(1), 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// ---- Open backoff ---------------------------------------------------------------------

TEST(BreakerTest, OpenDurationBacksOffOnEachReopeningUpToTheCap) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Seconds(200);
  auto breaker = Make(config);
  Trip(*breaker);

  const absl::Duration expected[] = {absl::Seconds(30), absl::Seconds(60), absl::Seconds(120),
                                     absl::Seconds(200), absl::Seconds(200)};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); ++i) {
    SCOPED_TRACE(testing::Message() << "opening " << i);
    Permit rejected = breaker->TryAcquire();
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.retry_after(), expected[i]);
    clock.Advance(expected[i] - absl::Milliseconds(1));
    Permit early = breaker->TryAcquire();
    EXPECT_FALSE(early) << "admitted before the backed-off open duration";
    clock.Advance(absl::Milliseconds(1));
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial) << "no trial after the backed-off open duration";
    ASSERT_TRUE(trial.is_trial());
    EXPECT_TRUE(trial.Failure());
    ASSERT_EQ(breaker->state(), State::kOpen);
  }
}

TEST(BreakerTest, ClosingResetsTheOpenBackoff) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Seconds(200);
  auto breaker = Make(config);
  Trip(*breaker);
  Permit t1 = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(t1.Failure());
  Permit t2 = AcquireTrialAfter(*breaker, clock, absl::Seconds(60));
  EXPECT_TRUE(t2.Failure());
  Permit t3 = AcquireTrialAfter(*breaker, clock, absl::Seconds(120));
  EXPECT_TRUE(t3.Success());
  ASSERT_EQ(breaker->state(), State::kClosed);

  Trip(*breaker);
  Permit rejected = breaker->TryAcquire();
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(30));
  // And the first reopening after that doubles from 30 s again.
  Permit t4 = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(t4.Failure());
  Permit again = breaker->TryAcquire();
  EXPECT_EQ(again.retry_after(), absl::Seconds(60));
}

TEST(BreakerTest, ResetClearsTheOpenBackoff) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.open_backoff_multiplier = 2;
  auto breaker = Make(config);
  Trip(*breaker);
  Permit t1 = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(t1.Failure());
  ASSERT_EQ(breaker->TryAcquire().retry_after(), absl::Seconds(60));
  breaker->Reset();
  Trip(*breaker);
  EXPECT_EQ(breaker->TryAcquire().retry_after(), absl::Seconds(30));
}

TEST(BreakerTest, OpenJitterKeepsTheOpenDurationWithinItsFraction) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.open_jitter = 0.2;
  auto breaker = Make(config);
  std::set<int64_t> distinct;
  for (int i = 0; i < 20; ++i) {
    Trip(*breaker);
    Permit rejected = breaker->TryAcquire();
    ASSERT_FALSE(rejected);
    EXPECT_GE(rejected.retry_after(), absl::Seconds(24));
    EXPECT_LE(rejected.retry_after(), absl::Seconds(36));
    distinct.insert(absl::ToInt64Milliseconds(rejected.retry_after()));
    Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(36));
    ASSERT_TRUE(trial.Success());
    ASSERT_EQ(breaker->state(), State::kClosed);
  }
  EXPECT_GT(distinct.size(), 1u) << "open_jitter did not vary the open duration";
}

TEST(BreakerTest, OpenJitterNeverTakesAnOpenPeriodPastMaxOpenDuration) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.open_duration = absl::Seconds(10);
  config.max_open_duration = absl::Seconds(10);  // the first period is at the cap
  config.open_jitter = 0.5;
  auto breaker = Make(config);
  std::set<int64_t> distinct;
  for (int i = 0; i < 64; ++i) {
    Trip(*breaker);
    Permit rejected = breaker->TryAcquire();
    ASSERT_FALSE(rejected);
    // Rejected at once, so retry_after is the whole period.
    EXPECT_LE(rejected.retry_after(), absl::Seconds(10)) << "trip " << i;
    EXPECT_GE(rejected.retry_after(), absl::Seconds(5)) << "trip " << i;
    distinct.insert(absl::ToInt64Milliseconds(rejected.retry_after()));
    // A trial is admitted no later than the cap.
    Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(10));
    ASSERT_TRUE(trial.Success());
    ASSERT_EQ(breaker->state(), State::kClosed);
  }
  EXPECT_GT(distinct.size(), 1u) << "open_jitter did not shorten any period under the cap";
}

// ---- HALF_OPEN with several trials ---------------------------------------------------------

TEST(BreakerTest, ThreeTrialCallsNeedThreeSuccessesToClose) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 3;
  auto breaker = Make(config);  // one trial at a time
  Trip(*breaker);
  for (int i = 0; i < 2; ++i) {
    Permit trial = AcquireTrialAfter(*breaker, clock, i == 0 ? absl::Seconds(30)
                                                             : absl::ZeroDuration());
    EXPECT_TRUE(trial.Success());
    EXPECT_EQ(breaker->state(), State::kHalfOpen) << "closed after " << i + 1 << " successes";
  }
  Permit last = breaker->TryAcquire();
  ASSERT_TRUE(last.is_trial());
  EXPECT_TRUE(last.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, NeverMoreThanTrialCallsAreAdmittedPerHalfOpenPeriod) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  std::vector<Permit> trials;
  for (int i = 0; i < 3; ++i) {
    trials.push_back(breaker->TryAcquire());
    EXPECT_TRUE(trials.back().is_trial()) << "trial " << i;
  }
  Permit fourth = breaker->TryAcquire();
  EXPECT_FALSE(fourth);
  EXPECT_EQ(fourth.rejected_state(), State::kHalfOpen);

  EXPECT_TRUE(trials[0].Success());
  EXPECT_TRUE(trials[1].Success());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  // Two done and one in flight: the period's three trials are all spoken for.
  Permit late = breaker->TryAcquire();
  EXPECT_FALSE(late) << "a fourth trial was admitted in one HALF_OPEN period";
  EXPECT_TRUE(trials[2].Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, AdmittingMoreTrialsKeepsTheGeneration) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  auto breaker = Make(config);
  Trip(*breaker);
  Permit first = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  const uint32_t gen = breaker->generation();
  Permit second = breaker->TryAcquire();
  Permit third = breaker->TryAcquire();
  EXPECT_TRUE(second.is_trial());
  EXPECT_TRUE(third.is_trial());
  EXPECT_EQ(breaker->generation(), gen);
  EXPECT_EQ(first.generation(), gen);
  EXPECT_EQ(second.generation(), gen);
  EXPECT_EQ(third.generation(), gen);
  EXPECT_TRUE(first.Success());
  EXPECT_EQ(breaker->generation(), gen) << "a trial outcome that decides nothing moved the word";
}

TEST(BreakerTest, AnyFailedTrialReopensEvenAfterEarlierSuccesses) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  Permit c = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial() && c.is_trial());
  EXPECT_TRUE(a.Success());
  EXPECT_TRUE(b.Success());
  EXPECT_TRUE(c.Failure());
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, TheRemainingTrialsAreStaleOnceAFailedTrialReopened) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 2;
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial());
  EXPECT_TRUE(a.Failure());
  ASSERT_EQ(breaker->state(), State::kOpen);
  const uint64_t stale_before = breaker->Metrics().stale;
  EXPECT_TRUE(b.Success());
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().stale, stale_before + 1);
}

BreakerConfig JudgeByRateConfig(FakeClock* clock) {
  BreakerConfig config = ConfigWith(clock);
  config.consecutive_failures_to_open = 5;  // Trip() opens it this way
  config.failure_rate_threshold = 50;
  config.half_open_trial_calls = 4;
  config.half_open_max_concurrent = 4;
  config.half_open_judge_by_rate = true;
  return config;
}

TEST(BreakerTest, JudgedByRateTrialsCloseWhenTheirFailureRateIsBelowTheThreshold) {
  FakeClock clock;
  auto breaker = Make(JudgeByRateConfig(&clock));
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  std::vector<Permit> trials;
  for (int i = 0; i < 4; ++i) {
    trials.push_back(breaker->TryAcquire());
    ASSERT_TRUE(trials.back().is_trial());
  }
  EXPECT_TRUE(trials[0].Failure());
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "a single failed trial decided alone";
  EXPECT_TRUE(trials[1].Success());
  EXPECT_TRUE(trials[2].Success());
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "decided before 4 trials completed";
  EXPECT_TRUE(trials[3].Success());  // 1 F of 4 = 25 %
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, JudgedByRateTrialsReopenWhenTheirFailureRateReachesTheThreshold) {
  FakeClock clock;
  auto breaker = Make(JudgeByRateConfig(&clock));
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  std::vector<Permit> trials;
  for (int i = 0; i < 4; ++i) trials.push_back(breaker->TryAcquire());
  EXPECT_TRUE(trials[0].Failure());
  EXPECT_TRUE(trials[1].Success());
  EXPECT_TRUE(trials[2].Success());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(trials[3].Failure());  // 2 F of 4 = 50 %
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, JudgedByRateTrialsReopenWhenTheirSlowRateReachesTheThreshold) {
  FakeClock clock;
  BreakerConfig config = JudgeByRateConfig(&clock);
  config.failure_rate_threshold = 0;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  std::vector<Permit> trials;
  for (int i = 0; i < 4; ++i) trials.push_back(breaker->TryAcquire());
  EXPECT_TRUE(trials[0].Success());
  EXPECT_TRUE(trials[1].Success());
  clock.Advance(absl::Milliseconds(100));
  EXPECT_TRUE(trials[2].Success());  // slow
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(trials[3].Success());  // slow: 2 of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// ---- half_open_max_duration ---------------------------------------------------------------

TEST(BreakerTest, TrialsThatNeverReturnReopenAfterHalfOpenMaxDuration) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_max_duration = absl::Seconds(10);
  auto breaker = Make(config);
  Trip(*breaker);
  Permit lost = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));

  clock.Advance(absl::Seconds(10) - absl::Milliseconds(1));
  Permit before = breaker->TryAcquire();
  EXPECT_FALSE(before);
  EXPECT_EQ(before.rejected_state(), State::kHalfOpen);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);

  clock.Advance(absl::Milliseconds(1));
  Permit after = breaker->TryAcquire();  // finds no free slot: reopens
  EXPECT_FALSE(after);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().opened, 2u);

  // The lost trial coming back late decides nothing.
  EXPECT_TRUE(lost.Success());
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().stale, 1u);

  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(trial.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, WithoutHalfOpenMaxDurationAnOutstandingTrialHoldsItsSlot) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit slow_trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  clock.Advance(absl::Hours(24));
  Permit other = breaker->TryAcquire();
  EXPECT_FALSE(other);
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(slow_trial.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// ---- Operator controls ---------------------------------------------------------------------

TEST(BreakerTest, ForceOpenRejectsEveryCallUntilReset) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "ledger";
  auto breaker = Make(config);
  breaker->ForceOpen();
  EXPECT_EQ(breaker->state(), State::kForcedOpen);
  for (int i = 0; i < 3; ++i) {
    Permit permit = breaker->TryAcquire();
    EXPECT_FALSE(permit);
    EXPECT_TRUE(permit.rejected());
    EXPECT_EQ(permit.rejected_state(), State::kForcedOpen);
    EXPECT_EQ(permit.retry_after(), absl::InfiniteDuration());
    const absl::Status status = permit.RejectionStatus();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(IsRejection(status));
    EXPECT_THAT(std::string(status.message()), HasSubstr("ledger"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("FORCED_OPEN"));
    clock.Advance(absl::Hours(24 * 30));
  }
  EXPECT_EQ(breaker->state(), State::kForcedOpen);
  EXPECT_EQ(breaker->Metrics().rejected, 3u);
  breaker->Reset();
  EXPECT_EQ(breaker->state(), State::kClosed);
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit);
}

TEST(BreakerTest, DisablePermitsEveryCallAndRecordsNothing) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  const BreakerMetrics before = breaker->Metrics();
  breaker->Disable();
  EXPECT_EQ(breaker->state(), State::kDisabled);
  for (int i = 0; i < 100; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    EXPECT_FALSE(permit.is_trial());
    EXPECT_TRUE(permit.Failure());
  }
  {
    Permit success = breaker->TryAcquire();
    EXPECT_TRUE(success.Success());
    Permit ignored = breaker->TryAcquire();
    EXPECT_TRUE(ignored.Ignore());
    Permit dropped = breaker->TryAcquire();
    EXPECT_TRUE(dropped);
  }
  EXPECT_EQ(breaker->state(), State::kDisabled);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, before.permitted);
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.failures, 0u);
  EXPECT_EQ(m.ignored, 0u);
  EXPECT_EQ(m.released, 0u);
  EXPECT_EQ(m.opened, 0u);
  EXPECT_EQ(m.state, State::kDisabled);
}

TEST(BreakerTest, DisableAdmitsCallsEvenWhenTheBreakerWasOpen) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  breaker->Disable();
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit);
  EXPECT_TRUE(permit.Success());
  breaker->Reset();
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, MetricsOnlyRecordsButNeverTripsEvenWithAHundredFailures) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.failure_rate_threshold = 50;
  config.window_size = 10;
  config.minimum_calls = 10;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Milliseconds(100);
  auto breaker = Make(config);
  breaker->MetricsOnly();
  EXPECT_EQ(breaker->state(), State::kMetricsOnly);
  Fail(*breaker, 100);
  SucceedTaking(*breaker, clock, absl::Seconds(1), 20);
  EXPECT_EQ(breaker->state(), State::kMetricsOnly);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 120u);
  EXPECT_EQ(m.failures, 100u);
  EXPECT_EQ(m.successes, 20u);
  EXPECT_EQ(m.slow, 20u);
  EXPECT_EQ(m.opened, 0u);
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(m.state, State::kMetricsOnly);
}

TEST(BreakerTest, ResetReturnsToClosedFromEveryState) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));

  Trip(*breaker);
  breaker->Reset();
  EXPECT_EQ(breaker->state(), State::kClosed);

  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_EQ(breaker->state(), State::kHalfOpen);
  breaker->Reset();
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(trial.Failure());  // stale: must not reopen
  EXPECT_EQ(breaker->state(), State::kClosed);

  for (void (Breaker::*op)() : {&Breaker::ForceOpen, &Breaker::Disable, &Breaker::MetricsOnly}) {
    (breaker.get()->*op)();
    EXPECT_NE(breaker->state(), State::kClosed);
    breaker->Reset();
    EXPECT_EQ(breaker->state(), State::kClosed);
    Permit permit = breaker->TryAcquire();
    EXPECT_TRUE(permit);
    EXPECT_FALSE(permit.is_trial());
  }
}

TEST(BreakerTest, ResetClearsTheWindow) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  Fail(*breaker, 4);
  Succeed(*breaker, 5);
  breaker->Reset();
  Fail(*breaker, 1);  // with the old window this would be 5 F of 10
  EXPECT_EQ(breaker->state(), State::kClosed) << "Reset() kept the old window";
  Succeed(*breaker, 4);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 5 F of 9: too few calls
  Fail(*breaker, 1);                             // 6 F of 10
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ResetClearsTheTimeWindow) {
  FakeClock clock;
  auto breaker = Make(TimeRateConfig(&clock));
  Fail(*breaker, 3);  // 3 calls: not judged yet
  breaker->Reset();
  Succeed(*breaker, 2);
  Fail(*breaker, 1);  // 3 calls of this generation; 4 F of 6 with the old window
  EXPECT_EQ(breaker->state(), State::kClosed) << "Reset() kept the old window";
  Fail(*breaker, 1);  // 2 F of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ClosingAfterTrialsStartsAnEmptyWindow) {
  FakeClock clock;
  BreakerConfig config = CountRateConfig(&clock);
  config.failure_rate_threshold = 60;
  auto breaker = Make(config);
  Succeed(*breaker, 4);
  Fail(*breaker, 6);  // 60 %
  ASSERT_EQ(breaker->state(), State::kOpen);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_TRUE(trial.Success());
  ASSERT_EQ(breaker->state(), State::kClosed);
  Succeed(*breaker, 4);
  Fail(*breaker, 5);  // 9 calls (10 with the trial): 5 F, at most 50 %
  EXPECT_EQ(breaker->state(), State::kClosed)
      << "calls from before the breaker opened are still in the window";
  Fail(*breaker, 1);  // S4 F6: 60 %
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ResetClearsTheRunOfConsecutiveFailures) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Fail(*breaker, 4);
  breaker->Reset();
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, ResetAfterMetricsOnlyStartsWithAnEmptyWindow) {
  FakeClock clock;
  BreakerConfig config = CountRateConfig(&clock);
  config.consecutive_failures_to_open = 5;
  auto breaker = Make(config);
  breaker->MetricsOnly();
  Fail(*breaker, 100);
  breaker->Reset();
  Fail(*breaker, 1);  // 10 F of 10 if METRICS_ONLY's calls were still in the window
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 3);  // and the run starts from zero too
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(BreakerTest, ForceOpenFreesHalfOpenSlotsAndMakesTrialsStale) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  breaker->ForceOpen();
  EXPECT_TRUE(trial.Success());
  EXPECT_EQ(breaker->state(), State::kForcedOpen);
  EXPECT_EQ(breaker->Metrics().stale, 1u);
}

// ---- Stale outcomes and generations --------------------------------------------------------

TEST(BreakerTest, StaleFailureFromClosedDoesNotReopenAHalfOpenBreaker) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit old = breaker->TryAcquire();
  ASSERT_TRUE(old);
  Trip(*breaker);  // by other permits
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_EQ(breaker->state(), State::kHalfOpen);

  EXPECT_TRUE(old.Failure()) << "resolving a stale permit still resolves it";
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "a stale failure reopened the breaker";
  EXPECT_EQ(breaker->Metrics().stale, 1u);
  EXPECT_EQ(breaker->Metrics().opened, 1u);

  EXPECT_TRUE(trial.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  ExpectPermitIdentity(*breaker);
}

TEST(BreakerTest, StaleSuccessFromClosedDoesNotCountAsATrialSuccess) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit old = breaker->TryAcquire();
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  EXPECT_TRUE(old.Success());
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "a stale success closed the breaker";
  Permit other = breaker->TryAcquire();
  EXPECT_FALSE(other) << "a stale success freed the trial slot";
  EXPECT_EQ(breaker->Metrics().stale, 1u);
  EXPECT_TRUE(trial.Failure());
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, StaleFailureDoesNotExtendTheNextGenerationsRun) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit old = breaker->TryAcquire();
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_TRUE(trial.Success());
  ASSERT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 4);
  EXPECT_TRUE(old.Failure());
  EXPECT_EQ(breaker->state(), State::kClosed) << "a stale failure counted toward the new run";
  EXPECT_EQ(breaker->Metrics().stale, 1u);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, StaleSuccessDoesNotResetTheNextGenerationsRun) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit old = breaker->TryAcquire();
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  ASSERT_TRUE(trial.Success());
  Fail(*breaker, 4);
  EXPECT_TRUE(old.Success());
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen) << "a stale success reset the current run";
}

TEST(BreakerTest, StaleFailureDoesNotEnterTheNextGenerationsWindow) {
  FakeClock clock;
  auto breaker = Make(CountRateConfig(&clock));
  std::vector<Permit> old;
  for (int i = 0; i < 3; ++i) old.push_back(breaker->TryAcquire());
  breaker->Reset();
  Succeed(*breaker, 6);
  Fail(*breaker, 2);
  for (Permit& permit : old) EXPECT_TRUE(permit.Failure());
  Fail(*breaker, 2);  // 4 F of 10 in this generation
  EXPECT_EQ(breaker->state(), State::kClosed) << "stale failures entered the new window";
  EXPECT_EQ(breaker->Metrics().stale, 3u);
}

TEST(BreakerTest, GenerationChangesOnEveryTransitionAndOnlyThen) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  const uint32_t g = breaker->generation();

  Succeed(*breaker, 3);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->generation(), g) << "calls in CLOSED moved the generation";
  Fail(*breaker, 1);  // CLOSED -> OPEN
  EXPECT_EQ(breaker->generation(), g + 1);
  Permit rejected = breaker->TryAcquire();
  EXPECT_EQ(rejected.generation(), g + 1);
  EXPECT_EQ(breaker->generation(), g + 1) << "a rejection moved the generation";

  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));  // -> HALF_OPEN
  EXPECT_EQ(breaker->generation(), g + 2);
  EXPECT_EQ(trial.generation(), g + 2);
  Permit busy = breaker->TryAcquire();
  EXPECT_FALSE(busy);
  EXPECT_EQ(breaker->generation(), g + 2);
  EXPECT_TRUE(trial.Failure());  // -> OPEN
  EXPECT_EQ(breaker->generation(), g + 3);

  Permit trial2 = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));  // -> HALF_OPEN
  EXPECT_EQ(breaker->generation(), g + 4);
  EXPECT_TRUE(trial2.Success());  // -> CLOSED
  EXPECT_EQ(breaker->generation(), g + 5);
  EXPECT_EQ(breaker->state(), State::kClosed);

  breaker->ForceOpen();
  EXPECT_EQ(breaker->generation(), g + 6);
  breaker->Disable();
  EXPECT_EQ(breaker->generation(), g + 7);
  breaker->MetricsOnly();
  EXPECT_EQ(breaker->generation(), g + 8);
  breaker->Reset();
  EXPECT_EQ(breaker->generation(), g + 9);
  EXPECT_EQ(breaker->Metrics().generation, g + 9);
  EXPECT_EQ(breaker->Metrics().state, State::kClosed);
}

// ---- Classification ---------------------------------------------------------------------------

TEST(ClassifyTest, FailOnCodesCountsExactlyTheListedCodes) {
  StatusClassifier is_failure =
      FailOnCodes({absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded});
  EXPECT_TRUE(is_failure(absl::UnavailableError("down")));
  EXPECT_TRUE(is_failure(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(is_failure(absl::NotFoundError("no")));
  EXPECT_FALSE(is_failure(absl::InternalError("bug")));
  EXPECT_FALSE(is_failure(absl::OkStatus()));
  // OK is never a failure, even when listed.
  EXPECT_FALSE(FailOnCodes({absl::StatusCode::kOk})(absl::OkStatus()));
}

TEST(ClassifyTest, FailExceptCodesCountsEveryOtherNonOkCode) {
  StatusClassifier is_failure =
      FailExceptCodes({absl::StatusCode::kNotFound, absl::StatusCode::kInvalidArgument});
  EXPECT_FALSE(is_failure(absl::OkStatus()));
  EXPECT_FALSE(is_failure(absl::NotFoundError("no")));
  EXPECT_FALSE(is_failure(absl::InvalidArgumentError("bad")));
  EXPECT_TRUE(is_failure(absl::InternalError("bug")));
  EXPECT_TRUE(is_failure(absl::UnavailableError("down")));
  EXPECT_FALSE(FailExceptCodes({})(absl::OkStatus()));
  EXPECT_TRUE(FailExceptCodes({})(absl::CancelledError("c")));
}

TEST(ClassifyTest, ExceptionIsAnyOfMatchesListedTypesAndTheirSubclasses) {
  ExceptionClassifier matches = ExceptionIsAnyOf<TimeoutError, Cancelled>();
  EXPECT_TRUE(matches(std::make_exception_ptr(TimeoutError())));
  EXPECT_TRUE(matches(std::make_exception_ptr(SlowTimeoutError())));
  EXPECT_TRUE(matches(std::make_exception_ptr(Cancelled())));
  EXPECT_FALSE(matches(std::make_exception_ptr(BusinessError())));
  EXPECT_FALSE(matches(std::make_exception_ptr(std::runtime_error("x"))));
  EXPECT_FALSE(matches(std::make_exception_ptr(42)));
  EXPECT_FALSE(matches(nullptr));
}

TEST(ClassifyTest, AnyExceptionAndNoExceptionAreTheTrivialClassifiers) {
  EXPECT_TRUE(AnyException()(std::make_exception_ptr(BusinessError())));
  EXPECT_TRUE(AnyException()(std::make_exception_ptr(7)));
  EXPECT_FALSE(AnyException()(nullptr));
  EXPECT_FALSE(NoException()(std::make_exception_ptr(TimeoutError())));
  EXPECT_FALSE(NoException()(nullptr));
}

TEST(BreakerTest, ClassifiesEveryNonOkStatusAsAFailureByDefault) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  EXPECT_EQ(breaker->Classify(absl::OkStatus()), Outcome::kSuccess);
  EXPECT_EQ(breaker->Classify(absl::NotFoundError("x")), Outcome::kFailure);
  EXPECT_EQ(breaker->Classify(absl::UnavailableError("x")), Outcome::kFailure);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(BusinessError())), Outcome::kFailure);
}

TEST(BreakerTest, StatusIsFailureDecidesWhatRecordCounts) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.status_is_failure = FailOnCodes({absl::StatusCode::kUnavailable});
  auto breaker = Make(config);
  EXPECT_EQ(breaker->Classify(absl::InternalError("x")), Outcome::kSuccess);
  EXPECT_EQ(breaker->Classify(absl::UnavailableError("x")), Outcome::kFailure);

  for (int i = 0; i < 10; ++i) {
    Permit permit = breaker->TryAcquire();
    EXPECT_TRUE(permit.Record(absl::InternalError("not the dependency")));
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().successes, 10u);
  EXPECT_EQ(breaker->Metrics().failures, 0u);
  for (int i = 0; i < 5; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    EXPECT_TRUE(permit.Record(absl::UnavailableError("down")));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().failures, 5u);
}

TEST(BreakerTest, FailExceptCodesLetsCallerErrorsCountAsSuccesses) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.status_is_failure = FailExceptCodes({absl::StatusCode::kNotFound});
  auto breaker = Make(config);
  Fail(*breaker, 4);
  Permit not_found = breaker->TryAcquire();
  EXPECT_TRUE(not_found.Record(absl::NotFoundError("no such row")));  // a success: ends the run
  for (int i = 0; i < 4; ++i) {
    Permit permit = breaker->TryAcquire();
    EXPECT_TRUE(permit.Record(absl::InternalError("boom")));
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  Permit last = breaker->TryAcquire();
  EXPECT_TRUE(last.Record(absl::InternalError("boom")));
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, RecordResolvesOnceAndOkIsASuccess) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit.Record(absl::OkStatus()));
  EXPECT_FALSE(permit.Record(absl::InternalError("late")));
  EXPECT_FALSE(permit);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  EXPECT_EQ(breaker->Metrics().failures, 0u);
}

TEST(BreakerTest, AStatusClassifierThatThrowsCountsAsAFailure) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.status_is_failure = [](const absl::Status& status) -> bool {
    if (!status.ok()) throw std::runtime_error("classifier bug");
    return false;
  };
  auto breaker = Make(config);
  EXPECT_EQ(breaker->Classify(absl::NotFoundError("x")), Outcome::kFailure);
  for (int i = 0; i < 5; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
    EXPECT_TRUE(permit.Record(absl::NotFoundError("x")));
  }
  EXPECT_EQ(breaker->Metrics().failures, 5u);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

BreakerConfig ExceptionConfig(FakeClock* clock) {
  BreakerConfig config = ConfigWith(clock);
  config.exception_is_failure = ExceptionIsAnyOf<TimeoutError>();
  config.exception_is_ignored = ExceptionIsAnyOf<Cancelled>();
  return config;
}

TEST(BreakerTest, ClassifiesExceptionsIgnoredFirstThenFailureElseSuccess) {
  FakeClock clock;
  BreakerConfig config = ExceptionConfig(&clock);
  auto breaker = Make(config);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(TimeoutError())), Outcome::kFailure);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(SlowTimeoutError())), Outcome::kFailure);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(Cancelled())), Outcome::kIgnored);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(BusinessError())), Outcome::kSuccess);

  // Ignored is asked first: an exception that is both is ignored.
  config.exception_is_failure = AnyException();
  auto both = Make(config);
  EXPECT_EQ(both->Classify(std::make_exception_ptr(Cancelled())), Outcome::kIgnored);
}

TEST(BreakerTest, EveryExceptionIsAFailureByDefault) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  for (int i = 0; i < 5; ++i) {
    EXPECT_THROW((void)breaker->Call([]() -> int { throw BusinessError(); }), BusinessError);
  }
  EXPECT_EQ(breaker->Metrics().failures, 5u);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, CallRecordsAFailureExceptionThenRethrowsIt) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  bool caught = false;
  try {
    (void)breaker->Call([]() -> int { throw TimeoutError(); });
  } catch (const TimeoutError&) {
    caught = true;
    // Recorded before it reached us.
    EXPECT_EQ(breaker->Metrics().failures, 1u);
  }
  EXPECT_TRUE(caught);
  for (int i = 0; i < 4; ++i) {
    EXPECT_THROW((void)breaker->Call([] { throw SlowTimeoutError(); }), SlowTimeoutError);
  }
  EXPECT_EQ(breaker->Metrics().failures, 5u);
  EXPECT_EQ(breaker->state(), State::kOpen);
  ExpectPermitIdentity(*breaker);
}

TEST(BreakerTest, CallRecordsAnIgnoredExceptionAsIgnoredThenRethrowsIt) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  Fail(*breaker, 4);
  for (int i = 0; i < 10; ++i) {
    EXPECT_THROW((void)breaker->Call([] { throw Cancelled(); }), Cancelled);
  }
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.ignored, 10u);
  EXPECT_EQ(m.failures, 4u);
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(breaker->state(), State::kClosed);
  ExpectPermitIdentity(*breaker);
}

TEST(BreakerTest, CallCountsAnExpectedExceptionAsASuccessThenRethrowsIt) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  Fail(*breaker, 4);
  EXPECT_THROW((void)breaker->Call([]() -> absl::Status { throw BusinessError(); }),
               BusinessError);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed) << "the expected exception did not end the run";
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, AnExceptionClassifierThatThrowsCountsAsAFailure) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.exception_is_failure = [](const std::exception_ptr&) -> bool {
    throw std::logic_error("classifier bug");
  };
  auto breaker = Make(config);
  EXPECT_EQ(breaker->Classify(std::make_exception_ptr(BusinessError())), Outcome::kFailure);
  EXPECT_THROW((void)breaker->Call([] { throw BusinessError(); }), BusinessError);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(BreakerTest, AClassifierThatThrowsDoesNotLeakTheHalfOpenSlot) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.exception_is_failure = [](const std::exception_ptr&) -> bool {
    throw std::logic_error("classifier bug");
  };
  config.consecutive_failures_to_open = 5;  // Trip() opens it this way
  config.failure_rate_threshold = 100;
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 1;
  config.half_open_judge_by_rate = true;
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  EXPECT_THROW((void)breaker->Call([] { throw BusinessError(); }), BusinessError);
  EXPECT_EQ(breaker->Metrics().failures, 6u) << "the throwing classifier's call was not a failure";
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  Permit next = breaker->TryAcquire();
  ASSERT_TRUE(next) << "the trial slot leaked";
  EXPECT_TRUE(next.is_trial());
  EXPECT_TRUE(next.Success());  // 1 F of 2 = 50 % < 100 %
  EXPECT_EQ(breaker->state(), State::kClosed);
  ExpectPermitIdentity(*breaker);
}

TEST(BreakerTest, AStatusClassifierThatThrowsFailsTheTrial) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.status_is_failure = [](const absl::Status&) -> bool {
    throw std::logic_error("classifier bug");
  };
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  absl::Status result = breaker->Call([] { return absl::NotFoundError("x"); });
  EXPECT_EQ(result.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(breaker->state(), State::kOpen) << "the failed trial did not reopen";
  ExpectPermitIdentity(*breaker);
}

// ---- Call(fn) -------------------------------------------------------------------------------

TEST(BreakerTest, CallMapsReturnTypesToStatuses) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  auto returns_status = [] { return absl::OkStatus(); };
  auto returns_status_or = [] { return absl::StatusOr<int>(7); };
  auto returns_value = [] { return std::string("quote"); };
  auto returns_int = [] { return 42; };
  bool ran = false;
  auto returns_void = [&ran] { ran = true; };

  static_assert(std::is_same_v<decltype(breaker->Call(returns_status)), absl::Status>);
  static_assert(
      std::is_same_v<decltype(breaker->Call(returns_status_or)), absl::StatusOr<int>>);
  static_assert(
      std::is_same_v<decltype(breaker->Call(returns_value)), absl::StatusOr<std::string>>);
  static_assert(std::is_same_v<decltype(breaker->Call(returns_int)), absl::StatusOr<int>>);
  static_assert(std::is_same_v<decltype(breaker->Call(returns_void)), absl::Status>);

  EXPECT_TRUE(breaker->Call(returns_status).ok());
  absl::StatusOr<int> seven = breaker->Call(returns_status_or);
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(*seven, 7);
  absl::StatusOr<std::string> quote = breaker->Call(returns_value);
  ASSERT_TRUE(quote.ok());
  EXPECT_EQ(*quote, "quote");
  absl::StatusOr<int> answer = breaker->Call(returns_int);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(*answer, 42);
  EXPECT_TRUE(breaker->Call(returns_void).ok());
  EXPECT_TRUE(ran);
  EXPECT_EQ(breaker->Metrics().successes, 5u);
  EXPECT_EQ(breaker->Metrics().permitted, 5u);
}

TEST(BreakerTest, CallPassesFailingStatusesThroughAndRecordsThem) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  absl::Status status = breaker->Call([] { return absl::DeadlineExceededError("slow db"); });
  EXPECT_EQ(status, absl::DeadlineExceededError("slow db"));
  absl::StatusOr<int> value =
      breaker->Call([] { return absl::StatusOr<int>(absl::UnavailableError("down")); });
  EXPECT_EQ(value.status(), absl::UnavailableError("down"));
  EXPECT_EQ(breaker->Metrics().failures, 2u);
  EXPECT_FALSE(IsRejection(status));
  EXPECT_FALSE(IsRejection(value.status()));
}

TEST(BreakerTest, CallFailuresTripTheBreaker) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  for (int i = 0; i < 5; ++i) {
    absl::Status status = breaker->Call([] { return absl::UnavailableError("down"); });
    EXPECT_FALSE(IsRejection(status));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, RejectedCallReturnsUnavailableNamingTheBreakerAndState) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "inventory";
  auto breaker = Make(config);
  Trip(*breaker);
  int runs = 0;
  absl::Status status = breaker->Call([&runs] {
    ++runs;
    return absl::OkStatus();
  });
  EXPECT_EQ(runs, 0) << "a rejected call ran";
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRejection(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("inventory"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("OPEN"));

  absl::StatusOr<int> value = breaker->Call([&runs] { return ++runs; });
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(IsRejection(value.status()));
  absl::Status void_status = breaker->Call([&runs] { ++runs; });
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(IsRejection(void_status));
  EXPECT_EQ(breaker->Metrics().rejected, 3u);
}

TEST(BreakerTest, RejectionStatusOfAPermitMatchesItsState) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "search";
  auto breaker = Make(config);
  Trip(*breaker);
  Permit open = breaker->TryAcquire();
  absl::Status open_status = open.RejectionStatus();
  EXPECT_EQ(open_status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRejection(open_status));
  EXPECT_THAT(std::string(open_status.message()), HasSubstr("search"));
  EXPECT_THAT(std::string(open_status.message()), HasSubstr("OPEN"));

  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  Permit busy = breaker->TryAcquire();
  absl::Status busy_status = busy.RejectionStatus();
  EXPECT_TRUE(IsRejection(busy_status));
  EXPECT_THAT(std::string(busy_status.message()), HasSubstr("search"));
  EXPECT_THAT(std::string(busy_status.message()), HasSubstr("HALF_OPEN"));
}

TEST(BreakerTest, IsRejectionTellsABreakersRejectionFromTheDependencysUnavailable) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  absl::Status rejection = breaker->TryAcquire().RejectionStatus();
  EXPECT_TRUE(IsRejection(rejection));
  EXPECT_FALSE(IsRejection(absl::UnavailableError(rejection.message())));
  EXPECT_FALSE(IsRejection(absl::UnavailableError("connection refused")));
  EXPECT_FALSE(IsRejection(absl::OkStatus()));
  EXPECT_FALSE(IsRejection(absl::InternalError("x")));
}

// ---- Call(fn, fallback, args...) ---------------------------------------------------------------

TEST(BreakerTest, CallWithFallbackReturnsTheResultWhenTheCallSucceeds) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  int fallbacks = 0;
  absl::StatusOr<int> result = breaker->Call([](int x, int y) { return x * y; },
                                             [&fallbacks](const absl::Status&, int, int) {
                                               ++fallbacks;
                                               return -1;
                                             },
                                             6, 7);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(fallbacks, 0);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
}

TEST(BreakerTest, CallWithFallbackGetsTheRejectionReasonAndTheArguments) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "quotes";
  auto breaker = Make(config);
  Trip(*breaker);
  absl::Status seen_reason;
  std::string seen_id;
  int runs = 0;
  absl::StatusOr<std::string> quote = breaker->Call(
      [&runs](const std::string& id) {
        ++runs;
        return "live:" + id;
      },
      [&](const absl::Status& why, const std::string& id) {
        seen_reason = why;
        seen_id = id;
        return "cached:" + id;
      },
      std::string("ACME"));
  EXPECT_EQ(runs, 0);
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_EQ(*quote, "cached:ACME");
  EXPECT_EQ(seen_id, "ACME");
  EXPECT_TRUE(IsRejection(seen_reason));
  EXPECT_THAT(std::string(seen_reason.message()), HasSubstr("quotes"));
}

TEST(BreakerTest, CallWithArgumentsOnlyFallbackIsUsedOnRejection) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  breaker->ForceOpen();
  absl::StatusOr<int> result =
      breaker->Call([](int x) { return x; }, [](int x) { return x + 1000; }, 5);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 1005);

  absl::StatusOr<int> no_args = breaker->Call([] { return 1; }, [] { return 2; });
  ASSERT_TRUE(no_args.ok());
  EXPECT_EQ(*no_args, 2);
}

TEST(BreakerTest, CallWithFallbackUsesTheFallbackOnAFailingStatus) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  absl::Status seen_reason;
  absl::StatusOr<int> result = breaker->Call(
      [](int) { return absl::StatusOr<int>(absl::UnavailableError("down")); },
      [&seen_reason](const absl::Status& why, int x) {
        seen_reason = why;
        return absl::StatusOr<int>(-x);
      },
      9);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, -9);
  EXPECT_EQ(seen_reason, absl::UnavailableError("down"));
  EXPECT_FALSE(IsRejection(seen_reason));
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(BreakerTest, CallWithArgumentsOnlyFallbackIsUsedOnFailure) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  absl::StatusOr<int> from_status = breaker->Call(
      [](int) { return absl::StatusOr<int>(absl::UnavailableError("down")); },
      [](int x) { return absl::StatusOr<int>(x + 1); }, 1);
  ASSERT_TRUE(from_status.ok()) << from_status.status();
  EXPECT_EQ(*from_status, 2);
  absl::StatusOr<int> from_exception = breaker->Call(
      [](int) -> int { throw TimeoutError(); }, [](int x) { return x + 2; }, 1);
  ASSERT_TRUE(from_exception.ok()) << from_exception.status();
  EXPECT_EQ(*from_exception, 3);
  EXPECT_EQ(breaker->Metrics().failures, 2u);
}

TEST(BreakerTest, CallWithFallbackDoesNotUseTheFallbackForANonFailingErrorStatus) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.status_is_failure = FailOnCodes({absl::StatusCode::kUnavailable});
  auto breaker = Make(config);
  int fallbacks = 0;
  absl::Status result = breaker->Call([] { return absl::NotFoundError("no row"); },
                                      [&fallbacks](const absl::Status&) {
                                        ++fallbacks;
                                        return absl::OkStatus();
                                      });
  EXPECT_EQ(result, absl::NotFoundError("no row"));
  EXPECT_EQ(fallbacks, 0);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
}

TEST(BreakerTest, CallWithFallbackUsesTheFallbackOnAFailureExceptionWithoutRethrowing) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  absl::Status seen_reason;
  absl::StatusOr<int> result;
  EXPECT_NO_THROW(result = breaker->Call([](int) -> int { throw TimeoutError(); },
                                         [&seen_reason](const absl::Status& why, int x) {
                                           seen_reason = why;
                                           return x * 10;
                                         },
                                         4));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 40);
  EXPECT_FALSE(seen_reason.ok());
  EXPECT_FALSE(IsRejection(seen_reason));
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(BreakerTest, CallWithFallbackRethrowsIgnoredExceptions) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  int fallbacks = 0;
  EXPECT_THROW((void)breaker->Call([]() -> int { throw Cancelled(); },
                             [&fallbacks]() {
                               ++fallbacks;
                               return 0;
                             }),
               Cancelled);
  EXPECT_EQ(fallbacks, 0);
  EXPECT_EQ(breaker->Metrics().ignored, 1u);
}

// ---- CallWithClassifier ------------------------------------------------------------------------

TEST(BreakerTest, CallWithClassifierCountsFlaggedResultsAsFailuresAndStillReturnsThem) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  auto is_negative = [](int result) { return result < 0; };
  absl::StatusOr<int> good = breaker->CallWithClassifier([] { return 3; }, is_negative);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<int> bad = breaker->CallWithClassifier([] { return -1; }, is_negative);
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(*bad, -1);
  }
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  EXPECT_EQ(breaker->Metrics().failures, 5u);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(BreakerTest, CallWithClassifierStillClassifiesTheStatus) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  auto never = [](const absl::StatusOr<int>&) { return false; };
  absl::StatusOr<int> result = breaker->CallWithClassifier(
      [] { return absl::StatusOr<int>(absl::InternalError("x")); }, never);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(BreakerTest, CallWithClassifierThatThrowsCountsAsAFailure) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  absl::StatusOr<int> result = breaker->CallWithClassifier(
      [] { return 1; }, [](int) -> bool { throw std::runtime_error("classifier bug"); });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 1);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
  ExpectPermitIdentity(*breaker);
}

// ---- CallOrThrow --------------------------------------------------------------------------------

TEST(BreakerTest, CallOrThrowReturnsTheResultAsItIs) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  auto value = [] { return 7; };
  static_assert(std::is_same_v<decltype(breaker->CallOrThrow(value)), int>);
  EXPECT_EQ(breaker->CallOrThrow(value), 7);
  absl::Status status = breaker->CallOrThrow([] { return absl::UnavailableError("down"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(breaker->Metrics().successes, 1u);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(BreakerTest, CallOrThrowThrowsOpenErrorWhenRejected) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.name = "inventory";
  auto breaker = Make(config);
  Trip(*breaker);
  clock.Advance(absl::Seconds(10));
  int runs = 0;
  bool thrown = false;
  try {
    breaker->CallOrThrow([&runs] { return ++runs; });
  } catch (const OpenError& e) {
    thrown = true;
    EXPECT_EQ(e.breaker_name(), "inventory");
    EXPECT_EQ(e.state(), State::kOpen);
    EXPECT_EQ(e.retry_after(), absl::Seconds(20));
    EXPECT_THAT(std::string(e.what()), HasSubstr("inventory"));
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(runs, 0);
}

TEST(BreakerTest, CallOrThrowReportsForcedOpenWithAnInfiniteRetry) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  breaker->ForceOpen();
  try {
    breaker->CallOrThrow([] {});
    ADD_FAILURE() << "no OpenError";
  } catch (const OpenError& e) {
    EXPECT_EQ(e.state(), State::kForcedOpen);
    EXPECT_EQ(e.retry_after(), absl::InfiniteDuration());
  }
}

TEST(BreakerTest, CallOrThrowRecordsAndRethrowsTheCallsException) {
  FakeClock clock;
  auto breaker = Make(ExceptionConfig(&clock));
  EXPECT_THROW(breaker->CallOrThrow([]() -> int { throw TimeoutError(); }), TimeoutError);
  EXPECT_THROW(breaker->CallOrThrow([] { throw Cancelled(); }), Cancelled);
  EXPECT_THROW(breaker->CallOrThrow([] { throw BusinessError(); }), BusinessError);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.ignored, 1u);
  EXPECT_EQ(m.successes, 1u);
  ExpectPermitIdentity(*breaker);
}

// ---- Permits ----------------------------------------------------------------------------------

TEST(PermitTest, ADefaultPermitIsEmpty) {
  Permit permit;
  EXPECT_FALSE(permit);
  EXPECT_FALSE(permit.rejected());
  EXPECT_FALSE(permit.is_trial());
  EXPECT_FALSE(permit.Success());
  EXPECT_FALSE(permit.Failure());
  EXPECT_FALSE(permit.Ignore());
  EXPECT_FALSE(permit.Release());
  EXPECT_FALSE(permit.Record(absl::OkStatus()));
}

TEST(PermitTest, MovingLeavesTheSourceEmpty) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit original = breaker->TryAcquire();
  ASSERT_TRUE(original);
  Permit moved = std::move(original);
  EXPECT_FALSE(original);  // NOLINT(bugprone-use-after-move): documented behaviour
  EXPECT_FALSE(original.rejected());
  EXPECT_FALSE(original.Success());
  EXPECT_FALSE(original.Failure());
  EXPECT_FALSE(original.Release());
  EXPECT_TRUE(moved);
  EXPECT_TRUE(moved.Success());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 1u);
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.failures, 0u);
  EXPECT_EQ(m.released, 0u);
}

TEST(PermitTest, DestroyingAMovedFromPermitDoesNothing) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit kept;
  {
    Permit original = breaker->TryAcquire();
    kept = std::move(original);
  }
  EXPECT_EQ(breaker->Metrics().released, 0u);
  EXPECT_TRUE(kept);
  EXPECT_TRUE(kept.Failure());
  EXPECT_EQ(breaker->Metrics().failures, 1u);
  EXPECT_EQ(breaker->Metrics().released, 0u);
}

TEST(PermitTest, MoveAssigningOverAnUnresolvedPermitReleasesIt) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(breaker->Metrics().released, 1u);
  EXPECT_TRUE(b.Success());
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 2u);
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.released, 1u);
  ExpectPermitIdentity(*breaker);
}

TEST(PermitTest, ASecondResolutionReturnsFalseAndCountsNothing) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit.Failure());
  EXPECT_FALSE(permit);
  EXPECT_FALSE(permit.Failure());
  EXPECT_FALSE(permit.Success());
  EXPECT_FALSE(permit.Ignore());
  EXPECT_FALSE(permit.Release());
  EXPECT_FALSE(permit.Record(absl::InternalError("again")));
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.failures, 1u);
  EXPECT_EQ(m.successes, 0u);
  EXPECT_EQ(m.ignored, 0u);
  EXPECT_EQ(m.released, 0u);
}

TEST(PermitTest, RepeatedFailuresOfOnePermitDoNotTripTheBreaker) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit permit = breaker->TryAcquire();
  EXPECT_TRUE(permit.Failure());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(permit.Failure());
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
}

TEST(PermitTest, ADroppedUnresolvedPermitCountsAsReleased) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  {
    Permit permit = breaker->TryAcquire();
    ASSERT_TRUE(permit);
  }
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.released, 1u);
  EXPECT_EQ(m.successes + m.failures + m.ignored, 0u);
  ExpectPermitIdentity(*breaker);
}

TEST(PermitTest, ADroppedTrialFreesTheHalfOpenSlot) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  clock.Advance(absl::Seconds(30));
  {
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial.is_trial());
  }
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->Metrics().released, 1u);
  Permit next = breaker->TryAcquire();
  ASSERT_TRUE(next) << "the dropped trial kept its slot";
  EXPECT_TRUE(next.is_trial());
  EXPECT_TRUE(next.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(PermitTest, AReleasedTrialFreesTheSlotAndDecidesNothing) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  const uint32_t gen = breaker->generation();
  EXPECT_TRUE(trial.Release());
  EXPECT_FALSE(trial.Release());
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_EQ(breaker->generation(), gen);
  Permit next = breaker->TryAcquire();
  EXPECT_TRUE(next.is_trial());
}

TEST(PermitTest, APermitCanBeResolvedOnAnotherThread) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit);
  bool resolved = false;
  std::thread worker([p = std::move(permit), &resolved]() mutable { resolved = p.Failure(); });
  worker.join();
  EXPECT_TRUE(resolved);
  EXPECT_EQ(breaker->Metrics().failures, 1u);
  ExpectPermitIdentity(*breaker);
}

TEST(PermitTest, ATrialResolvedOnAnotherThreadClosesTheBreaker) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  std::thread worker([t = std::move(trial)]() mutable { EXPECT_TRUE(t.Success()); });
  worker.join();
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(PermitTest, APermitDroppedOnAnotherThreadIsReleased) {
  FakeClock clock;
  auto breaker = Make(ConfigWith(&clock));
  Trip(*breaker);
  Permit trial = AcquireTrialAfter(*breaker, clock, absl::Seconds(30));
  std::thread worker([t = std::move(trial)]() mutable { Permit dropped = std::move(t); });
  worker.join();
  EXPECT_EQ(breaker->Metrics().released, 1u);
  Permit next = breaker->TryAcquire();
  EXPECT_TRUE(next.is_trial());
}

// ---- Metrics ------------------------------------------------------------------------------------

TEST(MetricsTest, PermittedEqualsTheSumOfOutcomesOnceEveryPermitIsResolved) {
  FakeClock clock;
  BreakerConfig config = ConfigWith(&clock);
  config.half_open_trial_calls = 2;
  config.half_open_max_concurrent = 2;
  auto breaker = Make(config);
  Succeed(*breaker, 7);
  for (int i = 0; i < 3; ++i) {
    Permit permit = breaker->TryAcquire();
    EXPECT_TRUE(permit.Ignore());
  }
  for (int i = 0; i < 2; ++i) {
    Permit permit = breaker->TryAcquire();
    EXPECT_TRUE(permit.Release());
  }
  { Permit dropped = breaker->TryAcquire(); }
  Permit outstanding = breaker->TryAcquire();
  {
    const BreakerMetrics m = breaker->Metrics();
    EXPECT_EQ(m.permitted, m.successes + m.failures + m.ignored + m.released + 1)
        << "one permit is still outstanding";
  }
  Trip(*breaker);
  absl::Status rejected = breaker->Call([] { throw Cancelled(); });
  EXPECT_TRUE(IsRejection(rejected)) << "a rejected Call() does not run fn";
  clock.Advance(absl::Seconds(30));
  Permit t1 = breaker->TryAcquire();
  { Permit t2 = breaker->TryAcquire(); }
  EXPECT_TRUE(t1.Success());
  Permit t3 = breaker->TryAcquire();
  EXPECT_TRUE(t3.Success());
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(outstanding.Failure());  // stale, but counted as a failure

  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 7u + 3 + 2 + 1 + 1 + 5 + 3);
  EXPECT_EQ(m.successes, 7u + 2);
  EXPECT_EQ(m.failures, 5u + 1);
  EXPECT_EQ(m.ignored, 3u);
  EXPECT_EQ(m.released, 2u + 1 + 1);
  EXPECT_EQ(m.stale, 1u);
  EXPECT_EQ(m.rejected, 1u);
  ExpectPermitIdentity(*breaker);
}

}  // namespace
}  // namespace circuit
