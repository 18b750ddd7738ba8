// BreakerConfig::slow_start_duration: after HALF_OPEN closes the breaker,
// a fraction of calls rising linearly from 0 to all is admitted over the
// ramp and the rest are shed with the ramp's end as their retry time; a
// trip during the ramp opens as usual; only the trials' verdict ramps.
// With the fake clock, at each boundary.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

constexpr absl::Duration kRamp = absl::Seconds(10);

struct SlowStartTest : ::testing::Test {
  // Opens after 1 failure, stays OPEN 1 s, closes on 1 successful trial,
  // then ramps for 10 s.
  BreakerConfig Config() {
    BreakerConfig config;
    config.name = "ramp";
    config.consecutive_failures_to_open = 1;
    config.open_duration = absl::Seconds(1);
    config.half_open_trial_calls = 1;
    config.half_open_max_concurrent = 1;
    config.slow_start_duration = kRamp;
    config.clock = &clock;
    return config;
  }
  // Opens `breaker` for 1 s (the dependency's Retry-After: whatever its
  // trip conditions), waits it out, and closes it with one successful
  // trial: the ramp starts now.
  void Recover(Breaker& breaker) {
    breaker.TryAcquire().FailureRetryAfter(absl::Seconds(1));
    ASSERT_EQ(breaker.state(), State::kOpen);
    clock.Advance(absl::Seconds(1));
    Permit trial = breaker.TryAcquire();
    ASSERT_TRUE(trial.is_trial());
    trial.Success();
    ASSERT_EQ(breaker.state(), State::kClosed);
  }
  // The fraction of `n` calls admitted now (each admitted one succeeds).
  static double AdmittedFraction(Breaker& breaker, int n) {
    int admitted = 0;
    for (int i = 0; i < n; ++i) {
      Permit permit = breaker.TryAcquire();
      if (permit) {
        ++admitted;
        permit.Success();
      } else {
        EXPECT_EQ(permit.rejected_state(), State::kClosed);
      }
    }
    return static_cast<double>(admitted) / n;
  }

  FakeClock clock;
};

TEST_F(SlowStartTest, OffByDefaultEveryCallIsAdmittedRightAfterClosing) {
  BreakerConfig config = Config();
  config.slow_start_duration = absl::ZeroDuration();
  auto breaker = Make(config);
  Recover(*breaker);
  EXPECT_EQ(AdmittedFraction(*breaker, 1000), 1.0);
  EXPECT_EQ(breaker->Metrics().shed, 0u);
  EXPECT_FALSE(breaker->Snapshot().slow_start_admitted.has_value());
}

TEST_F(SlowStartTest, AtTheRampsFirstInstantEveryCallIsShedWithTheRampsEnd) {
  auto breaker = Make(Config());
  Recover(*breaker);
  const BreakerMetrics before = breaker->Metrics();
  for (int i = 0; i < 100; ++i) {
    Permit permit = breaker->TryAcquire();
    ASSERT_FALSE(permit);
    EXPECT_TRUE(permit.rejected());
    EXPECT_EQ(permit.rejected_state(), State::kClosed);
    EXPECT_EQ(permit.retry_after(), kRamp);
  }
  const BreakerMetrics after = breaker->Metrics();
  EXPECT_EQ(after.shed - before.shed, 100u);
  EXPECT_EQ(after.rejected - before.rejected, 100u);
  EXPECT_EQ(after.permitted, before.permitted);
  EXPECT_EQ(breaker->state(), State::kClosed);
  const BreakerSnapshot snapshot = breaker->Snapshot();
  ASSERT_TRUE(snapshot.slow_start_admitted.has_value());
  EXPECT_EQ(*snapshot.slow_start_admitted, 0.0);
  EXPECT_EQ(snapshot.slow_start_remaining, kRamp);
}

TEST_F(SlowStartTest, TheAdmittedFractionRisesLinearlyOverTheRamp) {
  auto breaker = Make(Config());
  Recover(*breaker);
  // 20,000 draws a step: the binomial's standard deviation is at most
  // 0.0036, so 0.025 is seven of them.
  for (int tenth = 1; tenth <= 9; ++tenth) {
    clock.Advance(kRamp / 10);
    SCOPED_TRACE(testing::Message() << tenth * 10 << "% of the ramp");
    EXPECT_NEAR(AdmittedFraction(*breaker, 20000), tenth / 10.0, 0.025);
    const BreakerSnapshot snapshot = breaker->Snapshot();
    ASSERT_TRUE(snapshot.slow_start_admitted.has_value());
    EXPECT_NEAR(*snapshot.slow_start_admitted, tenth / 10.0, 1e-6);
    EXPECT_EQ(snapshot.slow_start_remaining, kRamp * (10 - tenth) / 10);
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(SlowStartTest, AShedCallsRetryAfterIsTheTimeLeftInTheRampAsOfAsking) {
  auto breaker = Make(Config());
  Recover(*breaker);
  clock.Advance(absl::Milliseconds(250));
  Permit shed = breaker->TryAcquire();
  while (shed) {  // 2.5 %: the odd admitted one is resolved and we go on
    shed.Success();
    shed = breaker->TryAcquire();
  }
  EXPECT_EQ(shed.retry_after(), kRamp - absl::Milliseconds(250));
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(shed.retry_after(), kRamp - absl::Milliseconds(2250));
  const absl::Status status = shed.RejectionStatus();
  EXPECT_TRUE(IsRejection(status));
  EXPECT_NE(std::string(status.message()).find("'ramp' is CLOSED and shed this call (slow start's "
                                               "ramp after recovery"),
            std::string::npos)
      << status;
  EXPECT_NE(std::string(status.message()).find("retry in 7.75s"), std::string::npos) << status;
  ASSERT_TRUE(RejectionRetryAfter(status).has_value());
  EXPECT_EQ(*RejectionRetryAfter(status), kRamp - absl::Milliseconds(2250));
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(shed.retry_after(), absl::ZeroDuration());  // never negative
}

TEST_F(SlowStartTest, FromTheRampsEndEveryCallIsAdmittedAndTheGateStaysOpen) {
  auto breaker = Make(Config());
  Recover(*breaker);
  clock.Advance(kRamp - absl::Seconds(1));
  EXPECT_LT(AdmittedFraction(*breaker, 2000), 1.0);  // 90 %: no shed has odds of 1e-92
  clock.Advance(absl::Seconds(1) - absl::Milliseconds(1));
  const BreakerSnapshot last = breaker->Snapshot();
  ASSERT_TRUE(last.slow_start_admitted.has_value());  // 1 ms before: still ramping
  EXPECT_NEAR(*last.slow_start_admitted, 0.9999, 1e-9);
  EXPECT_EQ(last.slow_start_remaining, absl::Milliseconds(1));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(AdmittedFraction(*breaker, 20000), 1.0);
  EXPECT_FALSE(breaker->Snapshot().slow_start_admitted.has_value());
  const uint64_t shed = breaker->Metrics().shed;
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(AdmittedFraction(*breaker, 1000), 1.0);
  EXPECT_EQ(breaker->Metrics().shed, shed);
}

TEST_F(SlowStartTest, AFailureTripDuringTheRampOpensAsUsualAndTheNextRecoveryRampsAgain) {
  auto breaker = Make(Config());
  Recover(*breaker);
  clock.Advance(kRamp / 2);
  Permit admitted = breaker->TryAcquire();
  while (!admitted) admitted = breaker->TryAcquire();
  admitted.Failure();
  EXPECT_EQ(breaker->state(), State::kOpen);
  Permit rejected = breaker->TryAcquire();
  EXPECT_EQ(rejected.rejected_state(), State::kOpen);
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(1));

  // The second recovery ramps from zero again, from its own close.
  clock.Advance(absl::Seconds(1));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.Success();
  ASSERT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 0.0);
  clock.Advance(kRamp);
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 1.0);
}

TEST_F(SlowStartTest, ACallAdmittedDuringTheRampResolvesAfterItAsAnyOther) {
  auto breaker = Make(Config());
  Recover(*breaker);
  clock.Advance(kRamp / 2);
  Permit early = breaker->TryAcquire();
  while (!early) early = breaker->TryAcquire();
  const BreakerMetrics before = breaker->Metrics();
  clock.Advance(kRamp);
  EXPECT_EQ(AdmittedFraction(*breaker, 10), 1.0);  // opens the gate
  early.Success();
  const BreakerMetrics after = breaker->Metrics();
  EXPECT_EQ(after.successes - before.successes, 11u);
  EXPECT_EQ(after.stale, before.stale);  // same generation: the gate is no transition
}

TEST_F(SlowStartTest, OnlyTheTrialsVerdictRampsNotReset) {
  auto breaker = Make(Config());
  Fail(*breaker, 1);
  ASSERT_EQ(breaker->state(), State::kOpen);
  breaker->Reset();
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 1.0);
  Fail(*breaker, 1);
  breaker->ForceOpen();
  breaker->Reset();
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 1.0);
  EXPECT_EQ(breaker->Metrics().shed, 0u);
}

TEST_F(SlowStartTest, AnOperatorActionDuringTheRampEndsIt) {
  auto breaker = Make(Config());
  Recover(*breaker);
  breaker->ForceOpen();
  EXPECT_EQ(breaker->TryAcquire().rejected_state(), State::kForcedOpen);
  breaker->Reset();
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 1.0);
  breaker->MetricsOnly();
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 1.0);
}

TEST_F(SlowStartTest, JudgedByRateTheTrialsVerdictRampsToo) {
  BreakerConfig config = Config();
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.minimum_calls = 2;
  config.window_size = 10;
  config.half_open_trial_calls = 4;
  config.half_open_max_concurrent = 4;
  config.half_open_judge_by_rate = true;
  auto breaker = Make(config);
  Fail(*breaker, 2);
  ASSERT_EQ(breaker->state(), State::kOpen);
  clock.Advance(absl::Seconds(1));
  Succeed(*breaker, 3);
  Fail(*breaker, 1);  // 25 % failed trials: under the threshold, closes
  ASSERT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(AdmittedFraction(*breaker, 100), 0.0);
}

TEST_F(SlowStartTest, ShedCallsAreCountedWhateverTheWindowAndTheWindowIsUntouched) {
  // The shed count borrows the stripe word the window mode leaves unused:
  // check each mode counts exactly and disturbs nothing.
  for (const WindowType type : {WindowType::kCountBased, WindowType::kTimeBased}) {
    for (const bool rate : {false, true}) {
      SCOPED_TRACE(testing::Message() << "time window " << (type == WindowType::kTimeBased)
                                      << " rate " << rate);
      BreakerConfig config = Config();
      config.window_type = type;
      if (rate) {
        config.consecutive_failures_to_open = 0;
        config.failure_rate_threshold = 50;
        config.minimum_calls = 4;
        config.window_size = 10;
        config.window_duration = absl::Seconds(10);
        config.window_buckets = 10;
      }
      auto breaker = Make(config);
      Recover(*breaker);
      for (int i = 0; i < 37; ++i) EXPECT_FALSE(breaker->TryAcquire());
      EXPECT_EQ(breaker->Metrics().shed, 37u);
      clock.Advance(kRamp);
      Succeed(*breaker, 3);  // the window holds the successes, not the shed calls
      const BreakerSnapshot snapshot = breaker->Snapshot();
      if (rate) {
        EXPECT_EQ(snapshot.calls, 3u);
        EXPECT_EQ(snapshot.failures, 0u);
      }
      // The window counts calls as it would without slow start: 2 failed
      // of 5 stays under 50 %, 3 of 6 reaches it.
      if (rate) {
        Fail(*breaker, 2);
        EXPECT_EQ(breaker->state(), State::kClosed);  // 2 of 5: 40 %
        Fail(*breaker, 1);
        EXPECT_EQ(breaker->state(), State::kOpen);  // 3 of 6: 50 %
      }
      EXPECT_EQ(breaker->Metrics().shed, 37u);
    }
  }
}

TEST_F(SlowStartTest, TheConfigIsValidatedNamingTheField) {
  for (absl::Duration bad : {absl::Milliseconds(-5), absl::Microseconds(999), absl::Hours(25),
                             absl::InfiniteDuration()}) {
    BreakerConfig config = Config();
    config.slow_start_duration = bad;
    const absl::Status status = ValidateConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(status.message()).find("slow_start_duration"), std::string::npos)
        << status;
  }
  for (absl::Duration good : {absl::ZeroDuration(), absl::Milliseconds(1), absl::Hours(24)}) {
    BreakerConfig config = Config();
    config.slow_start_duration = good;
    EXPECT_TRUE(ValidateConfig(config).ok()) << good;
  }
}

TEST_F(SlowStartTest, ThreadsDrawingAtOnceShedTheRightShareAndLoseNoCount) {
  auto breaker = Make(Config());
  Recover(*breaker);
  clock.Advance(kRamp * 3 / 10);
  const BreakerMetrics before = breaker->Metrics();
  constexpr int kThreads = 4;
  constexpr int kCalls = 20000;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        Permit permit = breaker->TryAcquire();
        if (permit) {
          admitted.fetch_add(1, std::memory_order_relaxed);
          permit.Success();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const BreakerMetrics after = breaker->Metrics();
  const uint64_t total = kThreads * kCalls;
  EXPECT_EQ(after.permitted - before.permitted, static_cast<uint64_t>(admitted.load()));
  EXPECT_EQ((after.permitted - before.permitted) + (after.rejected - before.rejected), total);
  EXPECT_EQ(after.shed - before.shed, after.rejected - before.rejected);
  // Each thread draws from its own generator: together still 30 %.
  EXPECT_NEAR(static_cast<double>(admitted.load()) / total, 0.3, 0.02);
}

}  // namespace
}  // namespace circuit
