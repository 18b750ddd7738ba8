// BreakerConfig::adaptive_throttling: while CLOSED, calls are rejected
// locally with probability max(0, (requests - K * accepts) / (requests + 1))
// over the time window (Google SRE's client-side throttling). With the fake
// clock: the formula at exact counts, convergence against dependencies that
// accept a fixed capacity or a fixed fraction, recovery, composition with
// the trip conditions, and the config's validation.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
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

using testing_breakers::Make;
using testing_breakers::Succeed;

struct ThrottleTest : ::testing::Test {
  // A 10 s window of 10 buckets, K = 2, and no trip that these tests reach
  // (a billion failures in a row).
  BreakerConfig Config() {
    BreakerConfig config;
    config.name = "throttle";
    config.consecutive_failures_to_open = 1'000'000'000;
    config.window_type = WindowType::kTimeBased;
    config.window_duration = absl::Seconds(10);
    config.window_buckets = 10;
    config.minimum_calls = 1;
    config.adaptive_throttling = true;
    config.clock = &clock;
    return config;
  }

  // Offers `attempts` calls; each admitted one is resolved by `serve`
  // (true: success). Returns the calls rejected.
  template <typename Serve>
  static int Offer(Breaker& breaker, int attempts, Serve serve) {
    int rejected = 0;
    for (int i = 0; i < attempts; ++i) {
      Permit permit = breaker.TryAcquire();
      if (!permit) {
        // Throttled (a trip may end CLOSED on the way: then it is OPEN's).
        if (breaker.state() == State::kClosed) {
          EXPECT_EQ(permit.rejected_state(), State::kClosed);
        }
        ++rejected;
      } else if (serve()) {
        permit.Success();
      } else {
        permit.Failure();
      }
    }
    return rejected;
  }

  // Admits `successes + failures` calls first, then resolves them: each is
  // admitted whatever the outcomes before it make the throttle say.
  static void Resolve(Breaker& breaker, int successes, int failures) {
    std::vector<Permit> permits;
    for (int i = 0; i < successes + failures; ++i) {
      permits.push_back(breaker.TryAcquire());
      ASSERT_TRUE(permits.back()) << "call " << i << " was rejected";
    }
    for (int i = 0; i < successes + failures; ++i) {
      if (i < successes) {
        permits[static_cast<size_t>(i)].Success();
      } else {
        permits[static_cast<size_t>(i)].Failure();
      }
    }
  }

  FakeClock clock;
};

TEST_F(ThrottleTest, OffByDefaultNothingIsThrottledAndTheSnapshotSaysNothing) {
  BreakerConfig config = Config();
  config.adaptive_throttling = false;
  auto breaker = Make(config);
  EXPECT_EQ(Offer(*breaker, 1000, [] { return false; }), 0);
  EXPECT_FALSE(breaker->Snapshot().throttle_probability.has_value());
  EXPECT_EQ(breaker->Metrics().shed, 0u);
}

TEST_F(ThrottleTest, AHealthyDependencyIsNeverThrottled) {
  auto breaker = Make(Config());
  for (int second = 0; second < 30; ++second) {
    EXPECT_EQ(Offer(*breaker, 100, [] { return true; }), 0);
    clock.Advance(absl::Seconds(1));
  }
  const BreakerSnapshot s = breaker->Snapshot();
  ASSERT_TRUE(s.throttle_probability.has_value());
  EXPECT_EQ(*s.throttle_probability, 0.0);
  EXPECT_EQ(breaker->Metrics().shed, 0u);
}

TEST_F(ThrottleTest, TheProbabilityIsTheFormulaOverTheWindowsExactCounts) {
  auto breaker = Make(Config());
  Succeed(*breaker, 2);
  // Before the failures: 2 requests, 2 accepts: nothing to throttle.
  EXPECT_EQ(*breaker->Snapshot().throttle_probability, 0.0);
  Resolve(*breaker, 0, 7);
  // 9 requests, 2 accepts: (9 - 4) / 10.
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.throttle_requests, 9u);
  EXPECT_EQ(s.throttle_accepts, 2u);
  EXPECT_DOUBLE_EQ(*s.throttle_probability, 0.5);
  // The boundary: K * accepts == requests gives exactly 0.
  auto even = Make(Config());
  Resolve(*even, 3, 3);
  s = even->Snapshot();
  EXPECT_EQ(s.throttle_requests, 6u);
  EXPECT_EQ(s.throttle_accepts, 3u);
  EXPECT_EQ(*s.throttle_probability, 0.0);
  EXPECT_EQ(Offer(*even, 1000, [] { return true; }), 0);
}

TEST_F(ThrottleTest, AdmissionsDrawAgainstTheJudgedProbability) {
  auto breaker = Make(Config());
  Resolve(*breaker, 2, 7);  // p = 0.5, judged by the last failure's fold
  // Released permits have no outcome: no fold, so p stays 0.5 for the whole
  // bucket (the requests it throttles are counted, for the next judgment).
  int admitted = 0;
  constexpr int kAttempts = 20000;
  for (int i = 0; i < kAttempts; ++i) {
    Permit permit = breaker->TryAcquire();
    if (permit) {
      ++admitted;
      permit.Release();
    }
  }
  // Binomial: sd 0.0035; 0.025 is seven of them.
  EXPECT_NEAR(static_cast<double>(admitted) / kAttempts, 0.5, 0.025);
  EXPECT_EQ(breaker->Metrics().shed, static_cast<uint64_t>(kAttempts - admitted));
  // The throttled calls count as requests: the snapshot's judgment as of
  // now is far higher than the one in force.
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.throttle_requests, 9u + static_cast<uint64_t>(kAttempts - admitted));
  EXPECT_GT(*s.throttle_probability, 0.99);
}

TEST_F(ThrottleTest, AThrottledCallRetriesAtTheNextBucket) {
  auto breaker = Make(Config());
  clock.Advance(absl::Milliseconds(300));
  Resolve(*breaker, 0, 20);  // 20 requests, no accept: p = 20/21
  Permit throttled = breaker->TryAcquire();
  while (throttled) {
    throttled.Release();
    throttled = breaker->TryAcquire();
  }
  EXPECT_EQ(throttled.rejected_state(), State::kClosed);
  EXPECT_EQ(throttled.retry_after(), absl::Milliseconds(700));  // buckets of 1 s
  EXPECT_TRUE(IsRejection(throttled.RejectionStatus()));
  EXPECT_NE(std::string(throttled.RejectionStatus().message()).find("adaptive throttling"),
            std::string::npos);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// A dependency that serves at most `capacity` calls a step and fails the
// rest, offered `offered` a step: the breaker should send it about K times
// what it accepts, i.e. reject 1 - K * capacity / offered of the calls.
TEST_F(ThrottleTest, AgainstAFixedCapacityItConvergesToKTimesWhatIsAccepted) {
  auto breaker = Make(Config());
  constexpr int kOffered = 50;  // a step of 10 ms: 5,000 calls a second
  constexpr int kCapacity = 10;  // 1,000 a second
  int rejected_last_window = 0;
  for (int step = 0; step < 3000; ++step) {  // 30 s
    int served = 0;
    const int rejected = Offer(*breaker, kOffered, [&] { return served++ < kCapacity; });
    if (step >= 2000) rejected_last_window += rejected;
    clock.Advance(absl::Milliseconds(10));
  }
  const double measured = rejected_last_window / (1000.0 * kOffered);
  // The formula's fixed point: 1 - 2 * 1000 / 5000 = 0.6.
  EXPECT_NEAR(measured, 0.6, 0.03);
  const BreakerSnapshot s = breaker->Snapshot();
  ASSERT_TRUE(s.throttle_probability.has_value());
  EXPECT_NEAR(*s.throttle_probability, measured, 0.03);
  // The window holds every call offered (admitted or not: 9 full buckets
  // at a bucket's first instant) and the dependency's full capacity in
  // accepts.
  EXPECT_NEAR(static_cast<double>(s.throttle_requests), 900.0 * kOffered, 900.0 * kOffered * 0.02);
  EXPECT_NEAR(static_cast<double>(s.throttle_accepts), 900.0 * kCapacity, 900.0 * kCapacity * 0.05);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

// A dependency that accepts each call with probability `a`: with K * a >= 1
// the formula stays at 0 (up to the noise of the draws); below, the window's
// requests grow against its accepts and the share rejected locally climbs
// towards all but a trickle (faster the smaller K * a). Either way the share
// rejected follows the formula over the window.
TEST_F(ThrottleTest, AgainstAFixedAcceptanceTheRejectedShareFollowsTheFormula) {
  for (const double accept : {0.3, 0.45, 0.7, 0.9}) {
    SCOPED_TRACE(testing::Message() << "dependency accepts " << accept);
    auto breaker = Make(Config());
    std::mt19937 random(42);
    std::bernoulli_distribution accepts(accept);
    int rejected_last_window = 0;
    for (int step = 0; step < 3000; ++step) {
      const int rejected = Offer(*breaker, 20, [&] { return accepts(random); });
      if (step >= 2000) rejected_last_window += rejected;
      clock.Advance(absl::Milliseconds(10));
    }
    const double measured = rejected_last_window / (1000.0 * 20);
    const BreakerSnapshot s = breaker->Snapshot();
    ASSERT_TRUE(s.throttle_probability.has_value());
    EXPECT_NEAR(measured, *s.throttle_probability, 0.05);
    if (2 * accept >= 1) {
      EXPECT_LT(measured, 0.05);
    } else {
      // Rising towards 1 (the throttled calls count as requests), past the
      // share a formula over admitted calls alone would settle at.
      EXPECT_GT(measured, 1 - 2 * accept + 0.05);
    }
  }
}

TEST_F(ThrottleTest, WhenTheDependencyRecoversThrottlingEasesOffAndEnds) {
  auto breaker = Make(Config());
  for (int step = 0; step < 500; ++step) {  // 5 s down
    Offer(*breaker, 20, [] { return false; });
    clock.Advance(absl::Milliseconds(10));
  }
  EXPECT_GT(*breaker->Snapshot().throttle_probability, 0.99);
  // Healthy again: the trickle that gets through succeeds, and the accepts
  // it adds let more through at the next judgment, while the throttled
  // calls keep the requests up: the formula eases off over a few windows
  // (about 5 of 10 s here: see adaptive_throttling in circuit/config.h).
  double last = 1.0;
  int seconds = 0;
  for (; seconds < 200 && last > 0; ++seconds) {
    for (int step = 0; step < 100; ++step) {
      Offer(*breaker, 20, [] { return true; });
      clock.Advance(absl::Milliseconds(10));
    }
    const double p = *breaker->Snapshot().throttle_probability;
    EXPECT_LE(p, last + 0.01) << "after " << seconds + 1 << " s";  // never climbs back
    last = p;
  }
  EXPECT_EQ(last, 0.0);
  EXPECT_GT(seconds, 10);  // not within one window: the formula's own pace
  std::printf("throttling ended %d s after the recovery\n", seconds);
  EXPECT_LT(seconds, 200);
  const uint64_t shed = breaker->Metrics().shed;
  EXPECT_EQ(Offer(*breaker, 1000, [] { return true; }), 0);
  EXPECT_EQ(breaker->Metrics().shed, shed);
}

TEST_F(ThrottleTest, ItComposesWithTheTripConditions) {
  BreakerConfig config = Config();
  config.failure_rate_threshold = 90;
  config.minimum_calls = 20;
  // A throttled window may hold too few calls for the rate to be judged
  // (the trickle it admits): failures in a row catch a total outage.
  config.consecutive_failures_to_open = 20;
  config.open_duration = absl::Seconds(5);
  auto breaker = Make(config);
  // Half the calls fail: throttled (p about 0.0 to 0.3 as requests grow),
  // never tripped.
  bool flip = false;
  for (int step = 0; step < 300; ++step) {
    Offer(*breaker, 20, [&] { return flip = !flip; });
    clock.Advance(absl::Milliseconds(10));
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  // A total outage: a trip opens it as usual, throttling or not.
  for (int step = 0; step < 3000 && breaker->state() == State::kClosed; ++step) {
    Offer(*breaker, 20, [] { return false; });
    clock.Advance(absl::Milliseconds(10));
  }
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->TryAcquire().rejected_state(), State::kOpen);
  // The next CLOSED generation starts with a window of its own: no
  // throttling carried over.
  clock.Advance(absl::Seconds(5));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.Success();
  ASSERT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(Offer(*breaker, 100, [] { return true; }), 0);
}

TEST_F(ThrottleTest, WithSlowStartTheRampAndTheThrottleMultiply) {
  BreakerConfig config = Config();
  config.slow_start_duration = absl::Seconds(10);
  config.consecutive_failures_to_open = 1'000'000'000;
  auto breaker = Make(config);
  breaker->TryAcquire().FailureRetryAfter(absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  breaker->TryAcquire().Success();  // the trial: CLOSED, ramping
  ASSERT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(Offer(*breaker, 100, [] { return true; }), 100);  // 0 % at the start
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(Offer(*breaker, 100, [] { return true; }), 0);  // ramp over, healthy
}

TEST_F(ThrottleTest, TheRampsShedCallsAreNotThrottleRequests) {
  // A healthy recovery under slow start: the ramp sheds, the throttle sees
  // only calls with an outcome, all successes, and stays at 0. (When shed
  // calls counted as requests, the first half of a ramp also throttled:
  // (N - 2 r N) / (N + 1) > 0 for a share r < 1/2, so about 2 r^2 got
  // through instead of r.)
  BreakerConfig config = Config();
  config.slow_start_duration = absl::Seconds(10);
  auto breaker = Make(config);
  breaker->TryAcquire().FailureRetryAfter(absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  breaker->TryAcquire().Success();  // the trial: CLOSED, ramping
  ASSERT_EQ(breaker->state(), State::kClosed);
  int rejected = 0;
  constexpr int kPerStep = 2000;
  for (int tenth = 1; tenth <= 4; ++tenth) {
    clock.Advance(absl::Seconds(1));  // r = 0.1 .. 0.4: a bucket each
    rejected += Offer(*breaker, kPerStep, [] { return true; });
    const BreakerSnapshot s = breaker->Snapshot();
    ASSERT_TRUE(s.throttle_probability.has_value());
    EXPECT_EQ(*s.throttle_probability, 0) << "r = 0." << tenth;
  }
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.throttled, 0u);
  EXPECT_EQ(m.shed, static_cast<uint64_t>(rejected));
  // The ramp alone: 1 - (0.1 + 0.2 + 0.3 + 0.4) / 4 of them, within 6
  // standard deviations of the 8,000 draws.
  EXPECT_NEAR(rejected / 8000.0, 0.75, 6 * std::sqrt(0.25 * 0.75 / 8000));
}

TEST_F(ThrottleTest, MetricsCountTheThrottledCalls) {
  auto breaker = Make(Config());
  Resolve(*breaker, 0, 30);  // p = 30/31
  const int rejected = Offer(*breaker, 1000, [] { return false; });
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.throttled, static_cast<uint64_t>(rejected));
  EXPECT_EQ(m.shed, m.throttled);  // no ramp: every shed call was the throttle's
  EXPECT_GT(m.throttled, 0u);
}

TEST_F(ThrottleTest, TheConfigIsValidatedNamingTheField) {
  BreakerConfig config = Config();
  config.window_type = WindowType::kCountBased;
  absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status.message()).find("adaptive_throttling"), std::string::npos) << status;
  for (const double k : {0.0, 0.99, 101.0, std::nan("")}) {
    config = Config();
    config.adaptive_throttling_k = k;
    status = ValidateConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << k;
    EXPECT_NE(std::string(status.message()).find("adaptive_throttling_k"), std::string::npos)
        << status;
  }
  for (const double k : {1.0, 1.1, 2.0, 100.0}) {
    config = Config();
    config.adaptive_throttling_k = k;
    EXPECT_TRUE(ValidateConfig(config).ok()) << k;
  }
}

TEST_F(ThrottleTest, ThreadsThrottlingAtOnceLoseNoCount) {
  auto breaker = Make(Config());
  Resolve(*breaker, 0, 30);  // p = 30/31 for everyone
  const BreakerMetrics before = breaker->Metrics();
  constexpr int kThreads = 4;
  constexpr int kCalls = 5000;
  std::atomic<uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        Permit permit = breaker->TryAcquire();
        if (permit) {
          admitted.fetch_add(1, std::memory_order_relaxed);
          permit.Release();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const BreakerMetrics after = breaker->Metrics();
  const uint64_t total = kThreads * kCalls;
  EXPECT_EQ(after.permitted - before.permitted, admitted.load());
  EXPECT_EQ(after.shed - before.shed, total - admitted.load());
  EXPECT_EQ(after.rejected - before.rejected, total - admitted.load());
  // Every throttled call is a request of the window.
  EXPECT_EQ(breaker->Snapshot().throttle_requests, 30 + total - admitted.load());
}

}  // namespace
}  // namespace circuit
