// Permit::FailureRetryAfter(): the dependency says when to come back (an
// HTTP 429 or 503 with Retry-After, a throttling status), and the breaker
// opens for exactly that long, instead of its computed open period, at
// every boundary, with the fake clock.
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

struct RetryAfterTest : ::testing::Test, testing_breakers::RecordsTransitions {
  // On the fixture's clock.
  std::unique_ptr<Breaker> Build(BreakerConfig config) {
    config.clock = &clock;
    return RecordsTransitions::Build(config);
  }
  // The breaker's rejection delay, from a rejected permit.
  static absl::Duration RetryDelay(Breaker& breaker) {
    Permit permit = breaker.TryAcquire();
    EXPECT_FALSE(permit) << "admitted while it should be OPEN";
    return permit.retry_after();
  }

  FakeClock clock;
};

TEST_F(RetryAfterTest, OneAnswerOpensAClosedBreakerForExactlyThatLong) {
  auto breaker = Build(BreakerConfig());  // 5 failures in a row; 30 s open
  Permit permit = breaker->TryAcquire();
  ASSERT_TRUE(permit);
  EXPECT_TRUE(permit.FailureRetryAfter(absl::Seconds(20)));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(20));
  ASSERT_EQ(transitions->events.size(), 1u);
  EXPECT_EQ(transitions->events[0].cause, TransitionCause::kRetryAfter);
  EXPECT_EQ(transitions->events[0].value, 20);
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.last_trip.cause, TripCause::kRetryAfter);
  EXPECT_EQ(s.last_trip.value, 20);
  EXPECT_EQ(s.open_period, absl::Seconds(20));
  EXPECT_EQ(breaker->Metrics().failures, 1u);  // counted as a failure too

  clock.Advance(absl::Seconds(20) - absl::Nanoseconds(1));
  EXPECT_EQ(RetryDelay(*breaker), absl::Nanoseconds(1));
  clock.Advance(absl::Nanoseconds(1));
  Permit trial = breaker->TryAcquire();
  EXPECT_TRUE(trial.is_trial());  // not the 30 s the config would have kept it
}

TEST_F(RetryAfterTest, TheAnswerOverridesBackoffAndTheTripConditions) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_size = 4;
  config.minimum_calls = 2;
  config.open_duration = absl::Seconds(30);
  config.open_backoff_multiplier = 4;
  auto breaker = Build(config);
  Fail(*breaker, 1);
  // This failure also takes the window to 100 %: the rate would open it for
  // 30 s; the dependency's 7 s is the period, and the cause.
  Permit permit = breaker->TryAcquire();
  permit.FailureRetryAfter(absl::Seconds(7));
  ASSERT_EQ(transitions->events.size(), 1u);
  EXPECT_EQ(transitions->events[0].cause, TransitionCause::kRetryAfter);
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(7));

  // A failed trial with the answer reopens for the answer, not 30 s x 4.
  clock.Advance(absl::Seconds(7));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.FailureRetryAfter(absl::Seconds(3));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(3));
  EXPECT_EQ(transitions->events.back().from, State::kHalfOpen);
  EXPECT_EQ(transitions->events.back().cause, TransitionCause::kRetryAfter);
}

TEST_F(RetryAfterTest, ATrialWithTheAnswerReopensWhereSOfKWouldWait) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  config.half_open_successes_to_close = 2;  // one failed trial of 3 is allowed
  auto breaker = Build(config);
  Fail(*breaker, 1);
  clock.Advance(absl::Seconds(1));
  Permit first = breaker->TryAcquire();
  Permit second = breaker->TryAcquire();
  ASSERT_TRUE(first.is_trial());
  ASSERT_TRUE(second.is_trial());
  second.Failure();  // 1 of the K - S = 1 allowed: still HALF_OPEN
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  Permit third = breaker->TryAcquire();
  ASSERT_TRUE(third.is_trial());
  third.FailureRetryAfter(absl::Seconds(12));
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(12));
  EXPECT_TRUE(first.Success());  // resolved, but its generation is over
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST_F(RetryAfterTest, CappedAtMaxOpenDuration) {
  BreakerConfig config;
  config.max_open_duration = absl::Minutes(1);
  auto breaker = Build(config);
  Permit permit = breaker->TryAcquire();
  permit.FailureRetryAfter(absl::Hours(1));
  EXPECT_EQ(RetryDelay(*breaker), absl::Minutes(1));
  EXPECT_EQ(transitions->events[0].value, 60);
}

TEST_F(RetryAfterTest, AStaleAnswerChangesNothing) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  auto breaker = Build(config);
  Permit late = breaker->TryAcquire();  // admitted while CLOSED
  Fail(*breaker, 1);                    // opens for 30 s
  ASSERT_EQ(breaker->state(), State::kOpen);
  EXPECT_TRUE(late.FailureRetryAfter(absl::Seconds(5)));  // resolved, but stale
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(30));
  EXPECT_EQ(transitions->events.size(), 1u);
}

TEST_F(RetryAfterTest, NoWaitIsAPlainFailure) {
  auto breaker = Build(BreakerConfig());  // 5 in a row
  for (absl::Duration wait : {absl::ZeroDuration(), absl::Seconds(-3)}) {
    Permit permit = breaker->TryAcquire();
    permit.FailureRetryAfter(wait);
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Metrics().failures, 2u);
  Fail(*breaker, 3);  // the run counted them: 5 in a row
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(transitions->events[0].cause, TransitionCause::kConsecutiveFailures);
}

TEST_F(RetryAfterTest, OperatorStatesNeverOpen) {
  auto breaker = Build(BreakerConfig());
  breaker->MetricsOnly();
  Permit recorded = breaker->TryAcquire();
  recorded.FailureRetryAfter(absl::Seconds(5));
  EXPECT_EQ(breaker->state(), State::kMetricsOnly);
  breaker->Disable();
  Permit untracked = breaker->TryAcquire();
  EXPECT_TRUE(untracked.FailureRetryAfter(absl::Seconds(5)));
  EXPECT_FALSE(untracked.FailureRetryAfter(absl::Seconds(5)));  // resolved once
  EXPECT_EQ(breaker->state(), State::kDisabled);
}

TEST_F(RetryAfterTest, AWallClockTimeAndAMeasuredDuration) {
  BreakerConfig config;
  config.slow_call_rate_threshold = 100;
  config.slow_call_duration = absl::Seconds(1);
  config.window_size = 10;
  config.minimum_calls = 10;
  auto breaker = Build(config);
  Permit timed = breaker->TryAcquire();
  timed.FailureRetryAfter(absl::Seconds(4), /*took=*/absl::Seconds(2));
  EXPECT_EQ(breaker->Metrics().slow, 1u);
  EXPECT_EQ(RetryDelay(*breaker), absl::Seconds(4));

  clock.Advance(absl::Seconds(4));
  breaker->Reset();
  Permit at = breaker->TryAcquire();
  at.FailureRetryAfter(absl::Now() + absl::Seconds(90));
  const absl::Duration delay = RetryDelay(*breaker);
  EXPECT_GT(delay, absl::Seconds(85));  // the wall clock moved a little since
  EXPECT_LE(delay, absl::Seconds(90));
}

}  // namespace
}  // namespace circuit
