// Breaker::Snapshot() through a scripted sequence across every state, with
// the fake clock: each field at each step.
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

BreakerConfig ScriptConfig(FakeClock* clock, WindowType window) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 4;
  config.failure_rate_threshold = 50;
  config.slow_call_rate_threshold = 80;
  config.slow_call_duration = absl::Seconds(1);
  config.window_type = window;
  config.window_size = 10;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 6;
  config.open_duration = absl::Seconds(20);
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Seconds(60);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 2;
  config.half_open_max_duration = absl::Seconds(5);
  return config;
}

class SnapshotScriptTest : public testing::TestWithParam<WindowType> {};

TEST_P(SnapshotScriptTest, EveryFieldThroughEveryState) {
  FakeClock clock;
  auto breaker = Make(ScriptConfig(&clock, GetParam()));

  // A fresh CLOSED breaker.
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.generation, 0u);
  EXPECT_EQ(s.calls, 0u);
  EXPECT_FALSE(s.failure_rate.has_value());
  EXPECT_FALSE(s.slow_call_rate.has_value());
  EXPECT_EQ(s.open_remaining, absl::ZeroDuration());
  EXPECT_EQ(s.open_period, absl::Seconds(20)) << "the next open period";
  EXPECT_EQ(s.last_trip.cause, TripCause::kNone);

  // 2 failures, 2 successes (1 of them slow), 1 failure: 5 calls, under
  // the minimum: counts but no rates.
  Fail(*breaker, 2);
  Succeed(*breaker, 1);
  {
    Permit slow = breaker->TryAcquire();
    clock.Advance(absl::Seconds(2));
    slow.Success();
  }
  Fail(*breaker, 1);
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.calls, 5u);
  EXPECT_EQ(s.failures, 3u);
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.slow_calls, 1u);
  EXPECT_EQ(s.consecutive_failures, 1u);
  EXPECT_FALSE(s.failure_rate.has_value()) << "5 calls < minimum_calls 6";

  // A sixth call (a success): 3 of 6 = 50 %: the success trips it.
  Succeed(*breaker, 1);
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kOpen);
  EXPECT_EQ(s.generation, 1u);
  // The window that opened it survives into OPEN.
  EXPECT_EQ(s.calls, 6u);
  EXPECT_EQ(s.failures, 3u);
  ASSERT_TRUE(s.failure_rate.has_value());
  EXPECT_DOUBLE_EQ(*s.failure_rate, 50.0);
  ASSERT_TRUE(s.slow_call_rate.has_value());
  EXPECT_NEAR(*s.slow_call_rate, 100.0 / 6, 1e-9);
  EXPECT_EQ(s.last_trip.cause, TripCause::kFailureRate);
  EXPECT_DOUBLE_EQ(s.last_trip.value, 50.0);
  EXPECT_DOUBLE_EQ(s.last_trip.threshold, 50.0);
  EXPECT_EQ(s.last_trip.generation, 1u);
  EXPECT_EQ(s.open_remaining, absl::Seconds(20));
  EXPECT_EQ(s.open_period, absl::Seconds(20));
  EXPECT_EQ(s.consecutive_failures, 0u);

  clock.Advance(absl::Seconds(15));
  EXPECT_EQ(breaker->Snapshot().open_remaining, absl::Seconds(5));
  clock.Advance(absl::Seconds(5));
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kOpen) << "OPEN until a call arrives";
  EXPECT_EQ(s.open_remaining, absl::ZeroDuration());

  // HALF_OPEN: two trials in flight, one succeeds.
  Permit first = breaker->TryAcquire();
  Permit second = breaker->TryAcquire();
  ASSERT_TRUE(first.is_trial() && second.is_trial());
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kHalfOpen);
  EXPECT_EQ(s.trials_in_flight, 2u);
  EXPECT_EQ(s.calls, 0u) << "a new window on entering HALF_OPEN";
  EXPECT_FALSE(s.failure_rate.has_value());
  EXPECT_EQ(s.open_period, absl::Seconds(40)) << "a reopen would back off";
  first.Success();
  s = breaker->Snapshot();
  EXPECT_EQ(s.trials_in_flight, 1u);
  EXPECT_EQ(s.trial_successes, 1u);
  EXPECT_EQ(s.calls, 1u);

  // The HALF_OPEN limit passes: OPEN (applied by the snapshot itself),
  // with the trials that were out shown as the window that reopened it.
  clock.Advance(absl::Seconds(5));
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kOpen);
  EXPECT_EQ(s.last_trip.cause, TripCause::kHalfOpenTimeout);
  EXPECT_EQ(s.open_period, absl::Seconds(40));
  EXPECT_EQ(s.open_remaining, absl::Seconds(40));
  EXPECT_EQ(s.trial_successes, 0u);
  EXPECT_EQ(s.successes, 1u);
  second.Success();  // stale

  // FORCED_OPEN, then DISABLED, then METRICS_ONLY, then Reset().
  breaker->ForceOpen();
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kForcedOpen);
  EXPECT_EQ(s.open_remaining, absl::InfiniteDuration());
  EXPECT_EQ(s.last_trip.cause, TripCause::kOperator);
  EXPECT_EQ(s.calls, 0u);
  breaker->Disable();
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kDisabled);
  EXPECT_EQ(s.open_remaining, absl::ZeroDuration());
  breaker->MetricsOnly();
  Fail(*breaker, 6);
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kMetricsOnly) << "METRICS_ONLY never trips";
  EXPECT_EQ(s.calls, 6u);
  EXPECT_EQ(s.consecutive_failures, 6u);
  ASSERT_TRUE(s.failure_rate.has_value());
  EXPECT_DOUBLE_EQ(*s.failure_rate, 100.0);
  breaker->Reset();
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.calls, 0u) << "Reset() starts an empty window";
  EXPECT_EQ(s.consecutive_failures, 0u);
  EXPECT_EQ(s.open_period, absl::Seconds(20)) << "Reset() clears the backoff";

  // Consecutive failures trip it with their own cause.
  Fail(*breaker, 4);
  s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kOpen);
  EXPECT_EQ(s.last_trip.cause, TripCause::kConsecutiveFailures);
  EXPECT_DOUBLE_EQ(s.last_trip.value, 4);
  EXPECT_DOUBLE_EQ(s.last_trip.threshold, 4);
  EXPECT_EQ(s.calls, 4u);
}

INSTANTIATE_TEST_SUITE_P(CountAndTime, SnapshotScriptTest,
                         testing::Values(WindowType::kCountBased, WindowType::kTimeBased));

TEST(SnapshotTest, ATimeWindowDropsWhatAgedOutAtTheMomentOfReading) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 100;
  auto breaker = Make(config);
  Fail(*breaker, 3);
  Succeed(*breaker, 2);
  clock.Advance(absl::Seconds(5));
  Succeed(*breaker, 1);
  EXPECT_EQ(breaker->Snapshot().calls, 6u);
  EXPECT_EQ(breaker->Snapshot().failures, 3u);
  // No call since: the first bucket leaves the window as time passes.
  clock.Advance(absl::Seconds(5));
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.successes, 1u);
}

TEST(SnapshotTest, ACountWindowShowsOnlyItsLastNCalls) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 90;
  config.window_size = 5;
  config.minimum_calls = 5;
  auto breaker = Make(config);
  Fail(*breaker, 2);
  Succeed(*breaker, 4);  // the failures' positions: 1, 2; now 6 calls
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.calls, 5u);
  EXPECT_EQ(s.failures, 1u);
  ASSERT_TRUE(s.failure_rate.has_value());
  EXPECT_DOUBLE_EQ(*s.failure_rate, 20.0);
  Succeed(*breaker, 1);
  s = breaker->Snapshot();
  EXPECT_EQ(s.failures, 0u);
}

TEST(SnapshotTest, TripCausesHaveNames) {
  EXPECT_EQ(TripCauseName(TripCause::kNone), "NONE");
  EXPECT_EQ(TripCauseName(TripCause::kFailureRate), "FAILURE_RATE");
  EXPECT_EQ(TripCauseName(TripCause::kHalfOpenTimeout), "HALF_OPEN_TIMEOUT");
  EXPECT_EQ(TripCauseName(static_cast<TripCause>(200)), "UNKNOWN");
}

}  // namespace
}  // namespace circuit
