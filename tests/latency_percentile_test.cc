// BreakerConfig::latency_percentile: the breaker opens when a percentile of
// the window's call durations is above a threshold, judged once a bucket.
// With the fake clock and durations the caller measured, at each boundary.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/call_durations.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using testing_breakers::Make;

struct LatencyPercentileTest : ::testing::Test, testing_breakers::RecordsTransitions {
  // p90 over 100 ms, at least 10 calls, a 10 s window of 1 s buckets;
  // durations from the caller; failures in a row never trip here.
  BreakerConfig Config() {
    BreakerConfig config;
    config.name = "latency";
    config.latency_percentile = 90;
    config.latency_percentile_threshold = absl::Milliseconds(100);
    config.window_type = WindowType::kTimeBased;
    config.window_duration = absl::Seconds(10);
    config.window_buckets = 10;
    config.minimum_calls = 10;
    config.consecutive_failures_to_open = 0;
    config.slow_call_clock = SlowCallClock::kCaller;
    config.open_duration = absl::Seconds(5);
    config.clock = &clock;
    return config;
  }
  // `n` successes that took `took` each.
  static void Calls(Breaker& breaker, int n, absl::Duration took) {
    for (int i = 0; i < n; ++i) {
      Permit permit = breaker.TryAcquire();
      ASSERT_TRUE(permit) << i << " rejected in " << StateName(breaker.state());
      permit.Success(took);
    }
  }
  // Moves into the next bucket; the next outcome judges the window.
  void NextBucket() { clock.Advance(absl::Seconds(1)); }

  FakeClock clock;
};

TEST(LatencyPercentileConfigTest, EveryBadFieldIsNamed) {
  auto expect_invalid = [](const BreakerConfig& config, absl::string_view field) {
    const absl::Status status = ValidateConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_TRUE(absl::StrContains(status.message(), field)) << status;
  };
  BreakerConfig good;
  good.latency_percentile = 99;
  good.latency_percentile_threshold = absl::Milliseconds(250);
  good.window_type = WindowType::kTimeBased;
  EXPECT_TRUE(ValidateConfig(good).ok()) << ValidateConfig(good);

  for (double bad : {-1.0, 100.5, 1e9}) {
    BreakerConfig c = good;
    c.latency_percentile = bad;
    expect_invalid(c, "latency_percentile");
  }
  BreakerConfig count_window = good;
  count_window.window_type = WindowType::kCountBased;
  expect_invalid(count_window, "latency_percentile");
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Nanoseconds(999), absl::Seconds(101),
                             -absl::Seconds(1), absl::InfiniteDuration()}) {
    BreakerConfig c = good;
    c.latency_percentile_threshold = bad;
    expect_invalid(c, "latency_percentile_threshold");
  }
  // The percentile alone is a trip condition: failures in a row may be off.
  BreakerConfig alone = good;
  alone.consecutive_failures_to_open = 0;
  EXPECT_TRUE(ValidateConfig(alone).ok());
}

TEST(CallDurationBinsTest, LogLinearWithinAnEighthAndTheExportedSeriesExact) {
  for (int i = 1; i < static_cast<int>(kCallDurationBoundNanos.size()); ++i) {
    const int64_t lo = kCallDurationBoundNanos[static_cast<size_t>(i - 1)];
    const int64_t hi = kCallDurationBoundNanos[static_cast<size_t>(i)];
    ASSERT_LT(lo, hi) << i;
    EXPECT_LE(8 * (hi - lo), lo) << "bin " << i << " (" << lo << ", " << hi << "]";
    EXPECT_EQ(CallDurationBucket(hi), i);
    EXPECT_EQ(CallDurationBucket(hi - 1), hi - 1 > lo ? i : i - 1);
    EXPECT_EQ(CallDurationBucket(lo + 1), i);
  }
  EXPECT_EQ(CallDurationBucket(INT64_MAX), kCallDurationBuckets - 1);
  int exported = 0;
  for (int i = 0; i < kCallDurationBuckets; ++i) exported += CallDurationExported(i) ? 1 : 0;
  EXPECT_EQ(exported, 3 * 7 + 1 + 1);  // 10 us ... 50 s, 100 s, +Inf
  for (int64_t bound : {int64_t{10'000}, int64_t{25'000}, int64_t{50'000}, int64_t{100'000'000},
                        int64_t{250'000'000}, int64_t{100'000'000'000}}) {
    EXPECT_TRUE(CallDurationExported(CallDurationBucket(bound))) << bound;
    EXPECT_EQ(kCallDurationBoundNanos[static_cast<size_t>(CallDurationBucket(bound))], bound);
  }
}

TEST(CallDurationBinsTest, PercentileIsTheNearestRank) {
  std::vector<uint64_t> counts(kCallDurationBuckets, 0);
  const int fast = CallDurationBucket(1'000'000);
  const int slow = CallDurationBucket(1'000'000'000);
  counts[static_cast<size_t>(fast)] = 999;
  counts[static_cast<size_t>(slow)] = 1;
  // p99.9 of 1000 is the 999th: fast (99.9 x 1000 / 100 is not 999.0000001).
  EXPECT_EQ(CallDurationPercentileBin(counts.data(), 1000, 99.9), fast);
  EXPECT_EQ(CallDurationPercentileBin(counts.data(), 1000, 99.91), slow);
  EXPECT_EQ(CallDurationPercentileBin(counts.data(), 1000, 100), slow);
  EXPECT_EQ(CallDurationPercentileBin(counts.data(), 1000, 0.001), fast);
  EXPECT_EQ(CallDurationPercentileBin(counts.data(), 0, 50), -1);
}

TEST_F(LatencyPercentileTest, TripsAtExactlyTheBoundary) {
  // p90 of 10 calls is the 9th smallest: 9 calls at or under 100 ms hold
  // it there (exactly 100 ms is not over), 8 do not.
  auto holds = Build(Config());
  Calls(*holds, 9, absl::Milliseconds(100));
  Calls(*holds, 1, absl::Seconds(3));
  NextBucket();
  Calls(*holds, 1, absl::Milliseconds(1));  // judges the 10 before it
  EXPECT_EQ(holds->state(), State::kClosed);
  BreakerSnapshot s = holds->Snapshot();
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(*s.latency_percentile, absl::Milliseconds(100));
  EXPECT_EQ(s.latency_percentile_calls, 10u);
  EXPECT_EQ(s.latency_percentile_threshold, absl::Milliseconds(100));

  auto trips = Build(Config());
  Calls(*trips, 8, absl::Milliseconds(100));
  Calls(*trips, 2, absl::Nanoseconds(100'000'001));  // the next bin: over
  EXPECT_EQ(trips->state(), State::kClosed);  // not judged yet: once a bucket
  NextBucket();
  Calls(*trips, 1, absl::Milliseconds(1));
  EXPECT_EQ(trips->state(), State::kOpen);
  ASSERT_EQ(transitions->events.size(), 1u);
  const TransitionEvent& e = transitions->events[0];
  EXPECT_EQ(e.cause, TransitionCause::kLatencyPercentile);
  EXPECT_DOUBLE_EQ(e.value, 0.1125);  // the bin (100 ms, 112.5 ms]
  EXPECT_DOUBLE_EQ(e.threshold, 0.1);
  s = trips->Snapshot();
  EXPECT_EQ(s.last_trip.cause, TripCause::kLatencyPercentile);
  EXPECT_EQ(TripCauseName(s.last_trip.cause), "LATENCY_PERCENTILE");
  EXPECT_EQ(TransitionCauseName(e.cause), "LATENCY_PERCENTILE");
}

TEST_F(LatencyPercentileTest, ThresholdIsRoundedUpToItsBinsBound) {
  BreakerConfig config = Config();
  config.latency_percentile_threshold = absl::Milliseconds(101);  // bin (100, 112.5]
  auto breaker = Build(config);
  EXPECT_EQ(breaker->Snapshot().latency_percentile_threshold, absl::Microseconds(112500));
  Calls(*breaker, 10, absl::Microseconds(112500));
  NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(1));
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(LatencyPercentileTest, AFractionOfANanosecondRoundsTheThresholdUp) {
  // 1000.5 ns is over 1 us: in force as the next bin's bound, 1.125 us
  // (the fuzzer's bug 14: it was truncated to 1 us).
  BreakerConfig config = Config();
  config.latency_percentile = 100;
  config.latency_percentile_threshold = absl::Nanoseconds(1000) + absl::Nanoseconds(1) / 2;
  config.minimum_calls = 1;
  auto breaker = Build(config);
  EXPECT_EQ(breaker->Snapshot().latency_percentile_threshold, absl::Nanoseconds(1125));
  Calls(*breaker, 1, absl::Nanoseconds(1001));
  NextBucket();
  Calls(*breaker, 1, absl::Nanoseconds(1));
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(LatencyPercentileTest, OpenShowsTheWindowThatOpenedIt) {
  // With a rate window on, OPEN shows the CLOSED window the latency trip
  // came from, as after any trip from CLOSED (the fuzzer's bug 13).
  BreakerConfig config = Config();
  config.failure_rate_threshold = 50;
  auto breaker = Build(config);
  Calls(*breaker, 10, absl::Seconds(1));
  NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(1));
  ASSERT_EQ(breaker->state(), State::kOpen);
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.last_trip.cause, TripCause::kLatencyPercentile);
  EXPECT_EQ(s.calls, 10u);  // the tripping call is stale: not among them
  EXPECT_EQ(s.successes, 10u);
  ASSERT_TRUE(s.failure_rate.has_value());
  EXPECT_EQ(*s.failure_rate, 0);
}

TEST_F(LatencyPercentileTest, NoTripBelowTheMinimumCalls) {
  auto breaker = Build(Config());
  Calls(*breaker, 9, absl::Seconds(2));
  for (int i = 0; i < 3; ++i) {
    NextBucket();
    {
      Permit p = breaker->TryAcquire();  // judged before it counts: 9
      p.Release();                       // released: not a duration
    }
    breaker->TryAcquire().Ignore();
  }
  // Ignored and released calls do not judge or count; a success does.
  Calls(*breaker, 1, absl::Seconds(2));  // judges 9 (itself not yet), counts
  EXPECT_EQ(breaker->state(), State::kClosed);
  EXPECT_EQ(breaker->Snapshot().latency_percentile_calls, 9u);
  NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(1));  // judges 10: all slow
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST_F(LatencyPercentileTest, SlowCallsAgeOutOfTheWindow) {
  // METRICS_ONLY judges and shows the percentile, never trips.
  auto breaker = Build(Config());
  breaker->MetricsOnly();
  Calls(*breaker, 10, absl::Seconds(1));
  NextBucket();
  Calls(*breaker, 10, absl::Milliseconds(5));
  BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.state, State::kMetricsOnly);
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(*s.latency_percentile, absl::Seconds(1));
  // Ten buckets later the slow ones have left: the window holds the fast.
  for (int i = 0; i < 10; ++i) NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(5));
  s = breaker->Snapshot();
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(s.latency_percentile_calls, 10u);
  EXPECT_EQ(*s.latency_percentile, absl::Milliseconds(5));
  EXPECT_TRUE(transitions->events.size() == 1u &&
              transitions->events[0].to == State::kMetricsOnly);
}

TEST_F(LatencyPercentileTest, RecoversWhenThePercentileFalls) {
  auto breaker = Build(Config());
  Calls(*breaker, 10, absl::Seconds(1));
  NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(1));
  ASSERT_EQ(breaker->state(), State::kOpen);
  clock.Advance(absl::Seconds(5));
  // The trial is fast: CLOSED again, with a window of its own.
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  trial.Success(absl::Milliseconds(2));
  ASSERT_EQ(breaker->state(), State::kClosed);
  for (int i = 0; i < 12; ++i) {
    Calls(*breaker, 10, absl::Milliseconds(20));
    NextBucket();
  }
  Calls(*breaker, 1, absl::Milliseconds(20));
  EXPECT_EQ(breaker->state(), State::kClosed);
  const BreakerSnapshot s = breaker->Snapshot();
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(*s.latency_percentile, absl::Milliseconds(20));
  EXPECT_EQ(s.latency_percentile_calls, 100u);  // 10 buckets of 10
}

TEST_F(LatencyPercentileTest, CallsOfAnEarlierStateAreNotJudged) {
  // A call admitted before the trip that ends after recovery took the
  // whole outage: it must not count in the new CLOSED period's window.
  BreakerConfig config = Config();
  config.consecutive_failures_to_open = 1;
  auto breaker = Build(config);
  Permit old = breaker->TryAcquire();
  breaker->TryAcquire().Failure(absl::Milliseconds(1));
  ASSERT_EQ(breaker->state(), State::kOpen);
  clock.Advance(absl::Seconds(5));
  breaker->TryAcquire().Success(absl::Milliseconds(1));  // the trial closes it
  ASSERT_EQ(breaker->state(), State::kClosed);
  EXPECT_TRUE(old.Success(absl::Seconds(30)));  // stale: its generation is gone
  Calls(*breaker, 9, absl::Milliseconds(1));
  NextBucket();
  Calls(*breaker, 1, absl::Milliseconds(1));
  EXPECT_EQ(breaker->state(), State::kClosed);
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.latency_percentile_calls, 9u);  // the trial's and the stale's not among them
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(*s.latency_percentile, absl::Milliseconds(1));
}

TEST_F(LatencyPercentileTest, TheBreakersClockTimesCallsAndFailuresCount) {
  // Both clocks: the coarse one's end reading also places the call in its
  // bucket (no second read).
  for (SlowCallClock which : {SlowCallClock::kPrecise, SlowCallClock::kCoarse}) {
    SCOPED_TRACE(which == SlowCallClock::kPrecise ? "precise" : "coarse");
    BreakerConfig config = Config();
    config.slow_call_clock = which;
    config.consecutive_failures_to_open = std::nullopt;  // 5 in a row
    auto breaker = Build(config);
    for (int i = 0; i < 10; ++i) {
      Permit permit = breaker->TryAcquire();
      clock.Advance(i < 8 ? absl::Milliseconds(10) : absl::Milliseconds(400));
      if (i % 2 == 0) {
        permit.Failure();
      } else {
        permit.Success();
      }
    }
    EXPECT_EQ(breaker->state(), State::kClosed);  // judged a bucket later
    clock.Advance(absl::Seconds(2) - absl::Milliseconds(880));  // the next bucket's start
    Permit last = breaker->TryAcquire();
    clock.Advance(absl::Milliseconds(1));
    last.Success();  // ends in the bucket after the ten: judges them
    EXPECT_EQ(breaker->state(), State::kOpen);
    EXPECT_EQ(breaker->Snapshot().last_trip.cause, TripCause::kLatencyPercentile);
    clock.Advance(absl::Seconds(10));
  }
}

TEST_F(LatencyPercentileTest, ThreadsPastTheOwnStripesAddUpExactly) {
  BreakerConfig config = Config();
  config.stripes = 0;  // every thread counts into its CPU's block
  config.minimum_calls = 1'000'000;
  config.window_duration = absl::Seconds(1000);
  config.window_buckets = 1;
  auto breaker = Build(config);
  // The bucket's judge first, so that no thread's count races its snapshot.
  breaker->TryAcquire().Success(absl::Milliseconds(1));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&breaker, t] {
      for (int i = 0; i < 5000; ++i) {
        breaker->TryAcquire().Success(absl::Milliseconds(t < 2 ? 1 : 300));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  clock.Advance(absl::Seconds(1000));
  breaker->TryAcquire().Success(absl::Milliseconds(1));
  const BreakerSnapshot s = breaker->Snapshot();
  EXPECT_EQ(s.latency_percentile_calls, 20001u);
  ASSERT_TRUE(s.latency_percentile.has_value());
  EXPECT_EQ(*s.latency_percentile, absl::Milliseconds(300));  // half took 300 ms
  EXPECT_EQ(breaker->state(), State::kClosed);                 // under the minimum
}

}  // namespace
}  // namespace circuit
