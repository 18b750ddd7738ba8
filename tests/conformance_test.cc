// Behaviour the established breakers agree on (resilience4j, failsafe-go,
// Polly, gobreaker pin it down in their own suites), at each boundary, with
// the fake clock:
//   * rates are judged on every outcome: the success that brings the window
//     to minimum_calls opens it if a rate is then at its threshold;
//   * HALF_OPEN has a hard time limit, whether or not trial slots are free,
//     and the new open period starts at the deadline;
//   * S successes out of K trials close it; more than K - S failures reopen.
#include <memory>
#include <utility>
#include <vector>

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

// ---- Rates are judged on every outcome -------------------------------------------

struct MinimumCase {
  WindowType window;
  double threshold;  // percent
  bool opens;        // after 3 failures and 2 successes (3 of 5 = 60 %)
};

class SuccessAtTheMinimumTest : public testing::TestWithParam<MinimumCase> {};

TEST_P(SuccessAtTheMinimumTest, TheSuccessThatReachesMinimumCallsIsJudged) {
  const MinimumCase c = GetParam();
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = c.threshold;
  config.window_type = c.window;
  config.window_size = 10;
  config.window_duration = absl::Seconds(10);
  config.minimum_calls = 5;
  auto breaker = Make(config);
  Fail(*breaker, 3);
  Succeed(*breaker, 1);
  ASSERT_EQ(breaker->state(), State::kClosed) << "judged under minimum_calls";
  Succeed(*breaker, 1);  // the fifth outcome, a success
  EXPECT_EQ(breaker->state(), c.opens ? State::kOpen : State::kClosed)
      << "3 failures of 5 calls at a threshold of " << c.threshold << "%";
  if (!c.opens) {
    // Past the minimum a success only lowers the rate: still closed.
    Succeed(*breaker, 3);
    EXPECT_EQ(breaker->state(), State::kClosed);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AtJustUnderAndJustOverTheThreshold, SuccessAtTheMinimumTest,
    testing::Values(MinimumCase{WindowType::kCountBased, 50, true},
                    MinimumCase{WindowType::kCountBased, 60, true},     // at
                    MinimumCase{WindowType::kCountBased, 60.01, false},  // just over
                    MinimumCase{WindowType::kCountBased, 59.99, true},   // just under
                    MinimumCase{WindowType::kTimeBased, 50, true},
                    MinimumCase{WindowType::kTimeBased, 60, true},
                    MinimumCase{WindowType::kTimeBased, 60.01, false},
                    MinimumCase{WindowType::kTimeBased, 59.99, true}));

TEST(SuccessDecidesTest, ASlowSuccessRateIsJudgedOnTheSuccessThatReachesTheMinimum) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Seconds(1);
  config.minimum_calls = 4;
  config.window_size = 10;
  auto breaker = Make(config);
  for (int i = 0; i < 2; ++i) {  // two slow successes
    Permit permit = breaker->TryAcquire();
    clock.Advance(absl::Seconds(2));
    permit.Success();
  }
  Succeed(*breaker, 1);
  ASSERT_EQ(breaker->state(), State::kClosed);
  Succeed(*breaker, 1);  // 2 slow of 4
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// A time window loses old buckets as time passes, so a window judged at its
// minimum can fall back under it, or rise over a threshold, with no new
// failure: the next success is judged then too (fuzz/README.md, bug 6).
BreakerConfig AgingConfig(FakeClock* clock) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 5;
  return config;
}

TEST(SuccessDecidesTest, ASuccessAfterOldCallsLeftATimeWindowUnderItsMinimumIsJudged) {
  FakeClock clock;
  auto breaker = Make(AgingConfig(&clock));
  Succeed(*breaker, 6);
  clock.Advance(absl::Seconds(5));
  Fail(*breaker, 3);  // 3 of 9: judged, under the threshold
  clock.Advance(absl::Seconds(5));  // the 6 successes leave: 3 of 3
  Succeed(*breaker, 1);  // 4 calls: short of the minimum
  EXPECT_EQ(breaker->state(), State::kClosed);
  Succeed(*breaker, 1);  // 3 of 5 = 60 %
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(SuccessDecidesTest, ASuccessAfterOldSuccessesLeftATimeWindowOverItsThresholdIsJudged) {
  FakeClock clock;
  auto breaker = Make(AgingConfig(&clock));
  Succeed(*breaker, 10);
  clock.Advance(absl::Seconds(5));
  Fail(*breaker, 4);
  Succeed(*breaker, 2);  // 4 of 16 = 25 %
  EXPECT_EQ(breaker->state(), State::kClosed);
  clock.Advance(absl::Seconds(5));  // the 10 successes leave
  Succeed(*breaker, 1);  // 4 of 7 = 57 %
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(SuccessDecidesTest, SuccessesWithNoFailureInTheWindowNeverVisitIt) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.minimum_calls = 5;
  auto breaker = Make(config);
  Succeed(*breaker, 100);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // 1 of 101 (well, of the last 100)
  Succeed(*breaker, 10);
  EXPECT_EQ(breaker->state(), State::kClosed);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, m.successes + m.failures);
}

TEST(SuccessDecidesTest, AResetWindowNeedsItsOwnMinimumAgain) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.minimum_calls = 4;
  config.window_size = 10;
  auto breaker = Make(config);
  Fail(*breaker, 3);
  breaker->Reset();  // a new window: the three failures are gone
  Succeed(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 2);  // 2 of 6
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // 3 of 7
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);  // 4 of 8
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// ---- HALF_OPEN has a hard time limit ------------------------------------------

BreakerConfig HalfOpenLimitConfig(FakeClock* clock) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(30);
  config.half_open_trial_calls = 3;
  config.half_open_max_concurrent = 3;
  config.half_open_max_duration = absl::Seconds(10);
  return config;
}

// Trips, waits out OPEN, and starts HALF_OPEN with one trial in hand.
Permit EnterHalfOpen(Breaker& breaker, FakeClock& clock) {
  Fail(breaker, 1);
  EXPECT_EQ(breaker.state(), State::kOpen);
  clock.Advance(absl::Seconds(30));
  Permit trial = breaker.TryAcquire();
  EXPECT_TRUE(trial.is_trial());
  return trial;
}

TEST(HalfOpenLimitTest, ReopensAtTheDeadlineWithFreeSlotsAndStateReportsIt) {
  FakeClock clock;
  auto breaker = Make(HalfOpenLimitConfig(&clock));
  Permit trial = EnterHalfOpen(*breaker, clock);
  clock.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(breaker->state(), State::kHalfOpen) << "reopened before the deadline";
  clock.Advance(absl::Nanoseconds(1));
  // No call needed: state() applies the due transition.
  EXPECT_EQ(breaker->state(), State::kOpen);
  // The new open period started at the deadline: a call 1 s later hears
  // 29 s, not 30.
  clock.Advance(absl::Seconds(1));
  Permit rejected = breaker->TryAcquire();
  EXPECT_FALSE(rejected);
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(29));
  // The late trial is stale.
  trial.Success();
  EXPECT_EQ(breaker->Metrics().stale, 1u);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(HalfOpenLimitTest, ReopensAtTheDeadlineWithEveryTrialSlotBusy) {
  FakeClock clock;
  auto breaker = Make(HalfOpenLimitConfig(&clock));
  Permit first = EnterHalfOpen(*breaker, clock);
  Permit second = breaker->TryAcquire();
  Permit third = breaker->TryAcquire();
  ASSERT_TRUE(second.is_trial() && third.is_trial());
  EXPECT_FALSE(breaker->TryAcquire());  // every slot busy
  clock.Advance(absl::Seconds(10));
  Permit after = breaker->TryAcquire();
  EXPECT_FALSE(after);
  EXPECT_EQ(after.rejected_state(), State::kOpen);
  EXPECT_EQ(after.retry_after(), absl::Seconds(30));
}

TEST(HalfOpenLimitTest, AResolutionAfterTheDeadlineReopensAndIsStale) {
  FakeClock clock;
  auto breaker = Make(HalfOpenLimitConfig(&clock));
  Permit first = EnterHalfOpen(*breaker, clock);
  Permit second = breaker->TryAcquire();
  EXPECT_TRUE(first.Success());  // 1 of 3 before the deadline
  clock.Advance(absl::Seconds(11));
  const uint64_t stale_before = breaker->Metrics().stale;
  second.Success();  // would be the second of three: too late
  EXPECT_EQ(breaker->Metrics().stale, stale_before + 1);
  Permit rejected = breaker->TryAcquire();
  EXPECT_FALSE(rejected);
  EXPECT_EQ(rejected.rejected_state(), State::kOpen);
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(29)) << "the open period starts at the deadline";
}

TEST(HalfOpenLimitTest, AStuckTrialCannotHoldTheBreakerHalfOpen) {
  FakeClock clock;
  BreakerConfig config = HalfOpenLimitConfig(&clock);
  config.half_open_trial_calls = 1;
  config.half_open_max_concurrent = 1;
  config.open_backoff_multiplier = 2;
  config.max_open_duration = absl::Minutes(10);
  auto breaker = Make(config);
  Permit stuck = EnterHalfOpen(*breaker, clock);
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(breaker->state(), State::kOpen);
  // A reopen from HALF_OPEN backs off: 60 s from the deadline.
  Permit rejected = breaker->TryAcquire();
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(60));
  clock.Advance(absl::Seconds(60));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.Success();
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(HalfOpenLimitTest, ADecisionBeforeTheDeadlineStands) {
  FakeClock clock;
  BreakerConfig config = HalfOpenLimitConfig(&clock);
  config.half_open_trial_calls = 1;
  config.half_open_max_concurrent = 1;
  auto breaker = Make(config);
  Permit trial = EnterHalfOpen(*breaker, clock);
  clock.Advance(absl::Seconds(9));
  trial.Success();
  EXPECT_EQ(breaker->state(), State::kClosed);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// ---- S of K ------------------------------------------------------------------------

BreakerConfig SOfKConfig(FakeClock* clock, int s, int k, int concurrent) {
  BreakerConfig config;
  config.clock = clock;
  config.consecutive_failures_to_open = 1;
  config.half_open_trial_calls = k;
  config.half_open_max_concurrent = concurrent;
  config.half_open_successes_to_close = s;
  return config;
}

// Runs trials one at a time with outcomes `outcomes` (true: success) until
// the breaker leaves HALF_OPEN; returns the state it left to and how many
// trials ran.
std::pair<State, int> RunTrials(Breaker& breaker, FakeClock& clock,
                                const std::vector<bool>& outcomes) {
  Fail(breaker, 1);
  clock.Advance(absl::Seconds(30));
  int ran = 0;
  for (bool ok : outcomes) {
    if (breaker.state() != State::kHalfOpen && ran > 0) break;
    Permit trial = breaker.TryAcquire();
    if (!trial.is_trial()) break;
    ++ran;
    if (ok) {
      trial.Success();
    } else {
      trial.Failure();
    }
  }
  return {breaker.state(), ran};
}

TEST(SuccessesOfTrialsTest, ThreeOfFiveClosesOnTheThirdSuccessWhateverTheOrder) {
  const std::vector<std::vector<bool>> orders = {
      {true, true, true, false, false},  {false, false, true, true, true},
      {true, false, true, false, true},  {false, true, false, true, true},
  };
  for (const std::vector<bool>& order : orders) {
    FakeClock clock;
    auto breaker = Make(SOfKConfig(&clock, 3, 5, 1));
    const auto [state, ran] = RunTrials(*breaker, clock, order);
    EXPECT_EQ(state, State::kClosed);
    int successes = 0, needed = 0;
    for (bool ok : order) {
      ++needed;
      if (ok && ++successes == 3) break;
    }
    EXPECT_EQ(ran, needed) << "closed on the third success, not later";
  }
}

TEST(SuccessesOfTrialsTest, ThreeOfFiveReopensOnTheThirdFailureWhateverTheOrder) {
  const std::vector<std::vector<bool>> orders = {
      {false, false, false, true, true}, {true, true, false, false, false},
      {false, true, false, true, false}, {true, false, false, false, true},
  };
  for (const std::vector<bool>& order : orders) {
    FakeClock clock;
    auto breaker = Make(SOfKConfig(&clock, 3, 5, 1));
    const auto [state, ran] = RunTrials(*breaker, clock, order);
    EXPECT_EQ(state, State::kOpen);
    int failures = 0, needed = 0;
    for (bool ok : order) {
      ++needed;
      if (!ok && ++failures == 3) break;
    }
    EXPECT_EQ(ran, needed) << "reopened once more than K - S = 2 trials failed";
  }
}

TEST(SuccessesOfTrialsTest, SEqualToKIsTodaysAnyFailureReopens) {
  FakeClock clock;
  auto breaker = Make(SOfKConfig(&clock, 3, 3, 1));
  const auto [state, ran] = RunTrials(*breaker, clock, {true, true, false});
  EXPECT_EQ(state, State::kOpen);
  EXPECT_EQ(ran, 3);
  FakeClock clock2;
  auto breaker2 = Make(SOfKConfig(&clock2, 0, 3, 1));  // 0: all three
  const auto [state2, ran2] = RunTrials(*breaker2, clock2, {true, false});
  EXPECT_EQ(state2, State::kOpen);
  EXPECT_EQ(ran2, 2);
}

TEST(SuccessesOfTrialsTest, OneOfKClosesOnTheFirstSuccessAndReopensOnlyWhenAllFail) {
  FakeClock clock;
  auto breaker = Make(SOfKConfig(&clock, 1, 4, 1));
  const auto [state, ran] = RunTrials(*breaker, clock, {false, false, false, true});
  EXPECT_EQ(state, State::kClosed);
  EXPECT_EQ(ran, 4);
  FakeClock clock2;
  auto breaker2 = Make(SOfKConfig(&clock2, 1, 4, 1));
  const auto [state2, ran2] = RunTrials(*breaker2, clock2, {false, false, false, false});
  EXPECT_EQ(state2, State::kOpen);
  EXPECT_EQ(ran2, 4);
}

TEST(SuccessesOfTrialsTest, ConcurrentTrialsAreBoundedByTheConcurrencyLimitAndByK) {
  FakeClock clock;
  auto breaker = Make(SOfKConfig(&clock, 2, 4, 2));
  Fail(*breaker, 1);
  clock.Advance(absl::Seconds(30));
  Permit a = breaker->TryAcquire();
  Permit b = breaker->TryAcquire();
  ASSERT_TRUE(a.is_trial() && b.is_trial());
  EXPECT_FALSE(breaker->TryAcquire()) << "more than half_open_max_concurrent in flight";
  a.Failure();
  Permit c = breaker->TryAcquire();
  ASSERT_TRUE(c.is_trial());
  b.Failure();  // 2 failures of 4: more than K - S = 2? no: still open to verdict
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  Permit d = breaker->TryAcquire();
  ASSERT_TRUE(d.is_trial());
  EXPECT_FALSE(breaker->TryAcquire()) << "more than K trials";
  c.Success();
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  d.Success();  // 2 successes of 4
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(SuccessesOfTrialsTest, ASlowTrialCountsAsAFailedOne) {
  FakeClock clock;
  BreakerConfig config = SOfKConfig(&clock, 2, 3, 1);
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Seconds(1);
  auto breaker = Make(config);
  Fail(*breaker, 1);
  clock.Advance(absl::Seconds(30));
  for (int i = 0; i < 2; ++i) {
    Permit slow = breaker->TryAcquire();
    ASSERT_TRUE(slow.is_trial());
    clock.Advance(absl::Seconds(2));
    slow.Success();
  }
  EXPECT_EQ(breaker->state(), State::kOpen) << "2 slow trials of 3 with S = 2";
}

}  // namespace
}  // namespace circuit
