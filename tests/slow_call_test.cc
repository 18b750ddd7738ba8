// Slow-call detection by clock choice: the precise clock, the coarse one
// (chosen automatically for a long slow_call_duration), or durations the
// caller measured itself; and how often a rejection while OPEN reads the
// clock.
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

// The rejection while OPEN with the system clock, real time: a thread
// judges by the clock on one of its rejections in kRejectionsPerClockRead
// on a breaker, the one made when its stripe's count of them there is a
// multiple of it (so its first, on a stripe of its own from the start),
// and rejects the others without a reading (circuit/clock.h).
constexpr uint32_t kPerRead = internal::kRejectionsPerClockRead;

std::unique_ptr<Breaker> OpenForMilliseconds(int ms) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Milliseconds(ms);
  absl::StatusOr<std::unique_ptr<Breaker>> made = Breaker::Create(config);
  if (!made.ok()) return nullptr;
  (*made)->TryAcquire().Failure();
  return std::move(*made);
}

// Rejections until the first admitted call (moved to `*trial` if given,
// else released); every one of them reports a delay from a fresh reading:
// 0, since the deadline has passed.
uint64_t RejectionsUntilAdmitted(Breaker& breaker, int* stale_delays, Permit* trial = nullptr) {
  uint64_t rejections = 0;
  for (;;) {
    Permit permit = breaker.TryAcquire();
    if (permit) {
      if (trial != nullptr) *trial = std::move(permit);
      return rejections;
    }
    ++rejections;
    if (permit.retry_after() != absl::ZeroDuration()) ++*stale_delays;
    if (rejections > 2 * kPerRead) return rejections;  // a bound broken: stop
  }
}

TEST(RejectionClockTest, AThreadJudgesOnTheRejectionMadeAtAMultipleOfItsCount) {
  // Each thread below is the breaker's only caller, with a stripe of its
  // own, so the breaker's count of rejections is the thread's.
  for (uint64_t before : {uint64_t{0}, uint64_t{5}, uint64_t{7}, uint64_t{13}, uint64_t{15},
                          uint64_t{kPerRead + 3}}) {
    std::thread([before] {
      std::unique_ptr<Breaker> breaker = OpenForMilliseconds(20);
      ASSERT_NE(breaker, nullptr);
      for (uint64_t i = 0; i < before; ++i) {
        Permit permit = breaker->TryAcquire();
        ASSERT_FALSE(permit) << "rejection " << i << " (a judgment before the deadline)";
        const absl::Duration retry = permit.retry_after();
        EXPECT_GT(retry, absl::ZeroDuration());
        EXPECT_LE(retry, absl::Milliseconds(20));
      }
      ASSERT_EQ(breaker->Metrics().rejected, before);
      absl::SleepFor(absl::Milliseconds(40));  // the deadline has passed
      int stale_delays = 0;
      // The calls until the count reaches a multiple are rejected unjudged;
      // the one made at it judges and becomes the first trial.
      EXPECT_EQ(RejectionsUntilAdmitted(*breaker, &stale_delays),
                (kPerRead - before % kPerRead) % kPerRead)
          << "after " << before << " rejections";
      EXPECT_EQ(stale_delays, 0);
      EXPECT_EQ(breaker->state(), State::kHalfOpen);
    }).join();
  }
}

TEST(RejectionClockTest, AThreadThatTakesAnExitedThreadsNumberTakesItsCountToo) {
  // Thread numbers are reused (circuit/internal/stripes.h): a thread
  // numbered after one that exited counts into that thread's stripe, so
  // its judgments fall where the stripe's count, not its own, reaches a
  // multiple. Still at most kRejectionsPerClockRead - 1 late calls.
  std::unique_ptr<Breaker> breaker = OpenForMilliseconds(20);
  ASSERT_NE(breaker, nullptr);
  constexpr uint64_t kEarlier = 3;
  int first_number = -1;
  std::thread([&] {
    for (uint64_t i = 0; i < kEarlier; ++i) ASSERT_FALSE(breaker->TryAcquire());
    first_number = internal::tls_thread_slot.load(std::memory_order_relaxed);
  }).join();
  std::thread([&] {
    // A thread's first call anywhere numbers it, by way of the judged path;
    // this one, before the deadline, is rejected and counted.
    ASSERT_FALSE(breaker->TryAcquire());
    absl::SleepFor(absl::Milliseconds(40));  // the deadline has passed
    int stale_delays = 0;
    Permit trial;
    const uint64_t rejections = RejectionsUntilAdmitted(*breaker, &stale_delays, &trial);
    EXPECT_TRUE(trial);
    EXPECT_EQ(stale_delays, 0);
    // The lowest free number, normally the exited thread's: its stripe
    // holds 3 + 1 rejections. (If another thread of this process took the
    // number in between, a fresh stripe holds 1.)
    if (internal::tls_thread_slot.load(std::memory_order_relaxed) == first_number) {
      EXPECT_EQ(rejections, kPerRead - (kEarlier + 1));
    } else {
      EXPECT_EQ(rejections, kPerRead - 1);
    }
  }).join();
}

TEST(RejectionClockTest, CallListenersHaveEveryRejectionJudged) {
  std::thread([] {
    std::unique_ptr<Breaker> breaker = OpenForMilliseconds(20);
    ASSERT_NE(breaker, nullptr);
    auto listener = std::make_shared<BreakerListener>();
    Subscription subscription = breaker->Subscribe(listener, kCallEvents);
    EXPECT_FALSE(breaker->TryAcquire());
    absl::SleepFor(absl::Milliseconds(40));
    EXPECT_TRUE(breaker->TryAcquire()) << "the first call after the deadline is the trial";
    // Cancelled, the listener no longer has them judged: the next open
    // period's rejections go the common way again.
    subscription.Cancel();
  }).join();
}

TEST(RejectionClockTest, AnInjectedClockHasEveryRejectionJudged) {
  FakeClock clock;
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  config.clock = &clock;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  breaker->TryAcquire().Failure();
  EXPECT_FALSE(breaker->TryAcquire());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(breaker->TryAcquire());
}

TEST(RejectionClockTest, AnUnjudgedRejectionReportsItsOpenPeriodsDeadlineWhenAsked) {
  std::thread([] {
    std::unique_ptr<Breaker> breaker = OpenForMilliseconds(50);
    ASSERT_NE(breaker, nullptr);
    EXPECT_FALSE(breaker->TryAcquire());      // the thread's first: judged
    Permit rejected = breaker->TryAcquire();  // its second: unjudged
    ASSERT_FALSE(rejected);
    const absl::Duration first = rejected.retry_after();
    EXPECT_GT(first, absl::ZeroDuration());
    EXPECT_LE(first, absl::Milliseconds(50));
    absl::SleepFor(absl::Milliseconds(10));
    // Worked out when asked, from a fresh reading: less now.
    EXPECT_LT(rejected.retry_after(), first);
    absl::SleepFor(absl::Milliseconds(60));
    int stale_delays = 0;
    Permit trial;
    RejectionsUntilAdmitted(*breaker, &stale_delays, &trial);
    EXPECT_EQ(stale_delays, 0);
    ASSERT_TRUE(trial);
    // The trial fails: a new open period, with a deadline 50 ms ahead. The
    // old rejection's period is over: it says 0, not the new period's wait.
    trial.Failure();
    ASSERT_EQ(breaker->state(), State::kOpen);
    EXPECT_EQ(rejected.retry_after(), absl::ZeroDuration());
    Permit now_rejected = breaker->TryAcquire();
    ASSERT_FALSE(now_rejected);
    EXPECT_GT(now_rejected.retry_after(), absl::Milliseconds(40));
  }).join();
}

// The rejection while OPEN with the system clock: the inline-fast path
// (unjudged, a stripe of its own) and the one that reads the clock
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
