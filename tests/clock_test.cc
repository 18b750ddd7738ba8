// Clocks: a breaker keeps its timing whatever its clock's origin (a
// Unix-epoch clock, a fake clock years in, a negative origin, one near the
// top of int64_t), and FakeClock never runs backwards.
#include <time.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kYear = 365 * 86'400 * kSecond;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// ---- FakeClock -------------------------------------------------------------------

TEST(FakeClockTest, AdvanceByAnInfiniteDurationSaturatesInsteadOfWrapping) {
  FakeClock clock;
  clock.Advance(absl::InfiniteDuration());
  EXPECT_EQ(clock.NowNanos(), kMax);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(clock.NowNanos(), kMax);
}

TEST(FakeClockTest, AdvanceByCenturiesSaturatesInsteadOfWrapping) {
  FakeClock clock(kMax - 10 * kYear);
  clock.Advance(absl::Hours(24 * 365 * 300));  // 300 years: fits a Duration, not the clock
  EXPECT_EQ(clock.NowNanos(), kMax);
}

TEST(FakeClockTest, AdvanceNeverMovesBackwards) {
  FakeClock clock(-5 * kSecond);
  int64_t last = clock.NowNanos();
  for (absl::Duration d : {absl::Nanoseconds(1), -absl::Seconds(3), absl::ZeroDuration(),
                           absl::Hours(1), -absl::InfiniteDuration(), absl::Hours(24 * 365 * 200),
                           absl::InfiniteDuration(), absl::Nanoseconds(1)}) {
    clock.Advance(d);
    EXPECT_GE(clock.NowNanos(), last) << "after Advance(" << d << ")";
    last = clock.NowNanos();
  }
}

// ---- Clock origins ------------------------------------------------------------------

class ClockOriginTest : public testing::TestWithParam<int64_t> {
 protected:
  std::unique_ptr<Breaker> Make(BreakerConfig config) {
    config.clock = &clock_;
    absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
    EXPECT_TRUE(breaker.ok()) << breaker.status();
    return std::move(breaker).value();
  }
  FakeClock clock_{GetParam()};
};

std::string OriginName(const testing::TestParamInfo<int64_t>& info) {
  switch (info.index) {
    case 0: return "OneSecond";
    case 1: return "UnixEpoch";
    case 2: return "TenYearsIn";
    case 3: return "Negative";
    case 4: return "FarNegative";
    case 5: return "NearTheTop";
    default: return "Other";
  }
}

INSTANTIATE_TEST_SUITE_P(Origins, ClockOriginTest,
                         testing::Values(kSecond,                    // FakeClock's default
                                         int64_t{1'764'000'000} * kSecond,  // Unix epoch, 2025
                                         10 * kYear,
                                         -5 * kSecond,               // crosses zero below
                                         -(int64_t{1} << 62),
                                         kMax - 2 * kYear),
                         OriginName);

TEST_P(ClockOriginTest, OpenLastsExactlyItsDurationAndTheRetryDelayIsExact) {
  BreakerConfig config;  // 5 consecutive failures, 30 s open
  auto breaker = Make(config);
  for (int i = 0; i < 5; ++i) breaker->TryAcquire().Failure();
  ASSERT_EQ(breaker->state(), State::kOpen);
  clock_.Advance(absl::Seconds(1));
  Permit rejected = breaker->TryAcquire();
  EXPECT_FALSE(rejected) << "a trial 1 s into a 30 s open duration";
  EXPECT_EQ(rejected.retry_after(), absl::Seconds(29));
  clock_.Advance(absl::Seconds(29) - absl::Nanoseconds(1));
  EXPECT_FALSE(breaker->TryAcquire()) << "a trial 1 ns before the deadline";
  clock_.Advance(absl::Nanoseconds(1));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial) << "no trial at the deadline";
  EXPECT_TRUE(trial.is_trial());
  trial.Success();
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_P(ClockOriginTest, TheHalfOpenLimitFiresAtItsDeadlineNotBefore) {
  BreakerConfig config;
  config.half_open_max_duration = absl::Seconds(10);
  auto breaker = Make(config);
  for (int i = 0; i < 5; ++i) breaker->TryAcquire().Failure();
  clock_.Advance(absl::Seconds(30));
  Permit hung = breaker->TryAcquire();  // the one trial, never resolved in time
  ASSERT_TRUE(hung.is_trial());
  clock_.Advance(absl::Seconds(10) - absl::Microseconds(1));
  Permit busy = breaker->TryAcquire();
  EXPECT_FALSE(busy);
  EXPECT_EQ(busy.rejected_state(), State::kHalfOpen) << "reopened before the half-open limit";
  clock_.Advance(absl::Microseconds(1));
  Permit after = breaker->TryAcquire();
  EXPECT_FALSE(after);
  EXPECT_EQ(after.rejected_state(), State::kOpen) << "the half-open limit did not fire";
  EXPECT_EQ(after.retry_after(), absl::Seconds(30));
  hung.Success();  // stale now
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().stale, 1u);
}

TEST_P(ClockOriginTest, TheTimeWindowCountsAcrossItsBuckets) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 4;
  auto breaker = Make(config);
  // Spread over 8 s (across zero for the negative origin): 2 successes and
  // 2 failures, all in the window.
  breaker->TryAcquire().Success();
  clock_.Advance(absl::Seconds(3));
  breaker->TryAcquire().Failure();
  clock_.Advance(absl::Seconds(3));
  breaker->TryAcquire().Success();
  EXPECT_EQ(breaker->state(), State::kClosed);
  clock_.Advance(absl::Seconds(2));
  breaker->TryAcquire().Failure();
  EXPECT_EQ(breaker->state(), State::kOpen) << "2 failures of 4 calls at 50%";
}

TEST_P(ClockOriginTest, BackoffKeepsItsCapAndTheRejectionReportsIt) {
  BreakerConfig config;
  config.open_duration = absl::Seconds(1);
  config.open_backoff_multiplier = 4;
  config.max_open_duration = absl::Seconds(10);
  auto breaker = Make(config);
  for (int i = 0; i < 5; ++i) breaker->TryAcquire().Failure();
  for (absl::Duration expected : {absl::Seconds(1), absl::Seconds(4), absl::Seconds(10),
                                  absl::Seconds(10)}) {
    Permit rejected = breaker->TryAcquire();
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.retry_after(), expected);
    clock_.Advance(expected);
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial.is_trial());
    trial.Failure();  // reopens with backoff
  }
}

// ---- The system clock ---------------------------------------------------------------

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
TEST(SystemClockTest, ReadsTheVdsoDirectlyOnLinux) {
  // Every Linux kernel of the last fifteen years maps a vDSO with
  // clock_gettime on these architectures; falling back silently to the C
  // library's wrapper would cost slow-call detection a third of its time.
  EXPECT_TRUE(internal::ClockReadsVdsoDirectly());
}
#endif

TEST(SystemClockTest, BothReadsAgreeWithTheCLibraryAndNeverRunBackwards) {
  for (clockid_t id : {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE}) {
    int64_t last = internal::ReadClockNanos(id);
    for (int i = 0; i < 10'000; ++i) {
      struct timespec before, after;
      clock_gettime(id, &before);
      const int64_t ours = internal::ReadClockNanos(id);
      clock_gettime(id, &after);
      ASSERT_GE(ours, last) << "clock " << id << " ran backwards";
      ASSERT_GE(ours, int64_t{before.tv_sec} * kSecond + before.tv_nsec) << "clock " << id;
      ASSERT_LE(ours, int64_t{after.tv_sec} * kSecond + after.tv_nsec) << "clock " << id;
      last = ours;
    }
  }
  EXPECT_GE(internal::MonotonicNanos(), internal::MonotonicCoarseNanos() - 100'000'000)
      << "the coarse clock is at most a tick or so behind the precise one";
}

}  // namespace
}  // namespace circuit
