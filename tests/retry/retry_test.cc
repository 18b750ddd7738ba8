// circuit::Retry() (circuit/retry.h): the backoff sequence, its jitter and
// cap, max_attempts, which failures are retried, the total deadline, the
// breaker's rejections (returned, or waited out into the HALF_OPEN trial),
// every result type, the policy's validation, exceptions, the status
// Retry() gives up with, and concurrent callers. Each test injects a
// FakeClock and a sleep that advances it and records the wait, except
// SystemClockTest, which needs the real coarse clock.
#include "circuit/retry.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "circuit/permit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr int kNeverTrips = 1'000'000'000;  // consecutive failures to open

class RetryTest : public testing::Test {
 protected:
  // A breaker on clock_; by default one that failures never open.
  std::unique_ptr<Breaker> MakeBreaker(BreakerConfig config = {}) {
    config.clock = &clock_;
    if (!config.consecutive_failures_to_open.has_value()) {
      config.consecutive_failures_to_open = kNeverTrips;
    }
    return Breaker::Create(config).value();
  }

  // A breaker that opens on its first failure, for `open_duration`, and is
  // open now.
  std::unique_ptr<Breaker> MakeOpenBreaker(absl::Duration open_duration) {
    BreakerConfig config;
    config.consecutive_failures_to_open = 1;
    config.open_duration = open_duration;
    auto breaker = MakeBreaker(config);
    EXPECT_FALSE(breaker->Call([] { return absl::UnavailableError("trip"); }).ok());
    EXPECT_EQ(breaker->state(), State::kOpen);
    return breaker;
  }

  // Waits on clock_ without sleeping: each wait is recorded, then the clock
  // is advanced by it. No jitter, so waits are exact.
  RetryPolicy Policy() {
    RetryPolicy policy;
    policy.clock = &clock_;
    policy.jitter = 0;
    policy.sleep = [this](absl::Duration wait) {
      waits_.push_back(wait);
      clock_.Advance(wait);
    };
    return policy;
  }

  absl::Duration Elapsed() const { return absl::Nanoseconds(clock_.NowNanos() - start_nanos_); }

  FakeClock clock_;
  const int64_t start_nanos_ = clock_.NowNanos();
  std::vector<absl::Duration> waits_;
};

// ---- Success, and the breaker's count ------------------------------------------------

TEST_F(RetryTest, SucceedsAfterTwoFailuresAndTheBreakerCountsEveryAttempt) {
  auto breaker = MakeBreaker();
  int calls = 0;
  absl::StatusOr<int> result = Retry(*breaker, Policy(), [&]() -> absl::StatusOr<int> {
    if (++calls < 3) return absl::UnavailableError("down");
    return 42;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, 3u) << "every attempt is one call of the breaker";
  EXPECT_EQ(m.failures, 2u);
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.rejected, 0u);
}

TEST_F(RetryTest, RetriedFailuresCountTowardTheConsecutiveFailureTrip) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 3;
  config.open_duration = absl::Minutes(1);
  auto breaker = MakeBreaker(config);
  int calls = 0;
  const absl::Status status = Retry(*breaker, Policy(), [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(IsRejection(status)) << status;
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(breaker->state(), State::kOpen) << "one request's three attempts are three failures";
}

TEST_F(RetryTest, ASuccessIsReturnedUntouched) {
  auto breaker = MakeBreaker();
  const absl::Status status = Retry(*breaker, Policy(), [] { return absl::OkStatus(); });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(RetryAttempts(status), std::nullopt);
  EXPECT_THAT(waits_, IsEmpty());
}

// ---- Backoff ------------------------------------------------------------------------

TEST_F(RetryTest, WaitsTheExactExponentialBackoffWithoutJitter) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 5;
  policy.initial_backoff = absl::Milliseconds(10);
  policy.backoff_multiplier = 3;
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(calls, 5);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(10), absl::Milliseconds(30),
                                  absl::Milliseconds(90), absl::Milliseconds(270)));
  EXPECT_EQ(Elapsed(), absl::Milliseconds(400));
}

TEST_F(RetryTest, AMultiplierOfOneWaitsTheSameEachTime) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 4;
  policy.backoff_multiplier = 1;
  policy.initial_backoff = absl::Milliseconds(250);
  (void)Retry(*breaker, policy, [] { return absl::AbortedError("conflict"); });
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(250), absl::Milliseconds(250),
                                  absl::Milliseconds(250)));
}

TEST_F(RetryTest, JitterDrawsEachWaitWithinItsBoundsAndSpreadsThem) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 201;
  policy.backoff_multiplier = 1;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.jitter = 0.5;
  (void)Retry(*breaker, policy, [] { return absl::UnavailableError("down"); });
  ASSERT_EQ(waits_.size(), 200u);
  for (const absl::Duration wait : waits_) {
    EXPECT_GE(wait, absl::Milliseconds(50));
    EXPECT_LE(wait, absl::Milliseconds(150));
  }
  // Uniform over [50 ms, 150 ms]: 200 draws all above 70 ms (or all below
  // 130 ms) happen with probability 0.8^200, about 4e-20.
  EXPECT_LT(*std::min_element(waits_.begin(), waits_.end()), absl::Milliseconds(70));
  EXPECT_GT(*std::max_element(waits_.begin(), waits_.end()), absl::Milliseconds(130));
}

TEST_F(RetryTest, JitterIsAroundEachStepOfTheExponentialBackoff) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 7;
  policy.max_backoff = absl::Hours(1);
  policy.jitter = 0.2;
  (void)Retry(*breaker, policy, [] { return absl::UnavailableError("down"); });
  ASSERT_EQ(waits_.size(), 6u);
  absl::Duration base = absl::Milliseconds(100);
  for (const absl::Duration wait : waits_) {
    EXPECT_GE(wait, base * 0.8) << "base " << base;
    EXPECT_LE(wait, base * 1.2) << "base " << base;
    base *= 2;
  }
}

TEST_F(RetryTest, MaxBackoffCapsTheGrowth) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 5;
  policy.initial_backoff = absl::Seconds(1);
  policy.backoff_multiplier = 10;
  policy.max_backoff = absl::Seconds(5);
  (void)Retry(*breaker, policy, [] { return absl::UnavailableError("down"); });
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(1), absl::Seconds(5), absl::Seconds(5),
                                  absl::Seconds(5)));
}

TEST_F(RetryTest, MaxBackoffCapsJitterToo) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 101;
  policy.initial_backoff = absl::Seconds(5);
  policy.max_backoff = absl::Seconds(5);
  policy.jitter = 0.5;
  (void)Retry(*breaker, policy, [] { return absl::UnavailableError("down"); });
  ASSERT_EQ(waits_.size(), 100u);
  for (const absl::Duration wait : waits_) {
    EXPECT_LE(wait, absl::Seconds(5));
    EXPECT_GE(wait, absl::Seconds(2.5));
  }
  // Half of the draws would pass the cap: at least one is cut to it, and
  // at least one is under it (each with probability 1 - 2^-100).
  EXPECT_EQ(*std::max_element(waits_.begin(), waits_.end()), absl::Seconds(5));
  EXPECT_LT(*std::min_element(waits_.begin(), waits_.end()), absl::Seconds(5));
}

// ---- Attempts, and what is retried ----------------------------------------------------

TEST_F(RetryTest, StopsAfterMaxAttemptsWithTheLastFailureMarked) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 4;
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError(absl::StrCat("down #", calls));
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(waits_.size(), 3u);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "down #4; gave up after 4 attempts: max_attempts is 4");
  EXPECT_EQ(RetryAttempts(status), 4);
}

TEST_F(RetryTest, OneAttemptMeansNoRetryAndAnUnchangedMessage) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 1;
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_EQ(status.message(), "down");
  EXPECT_EQ(RetryAttempts(status), 1);
}

TEST_F(RetryTest, ANonRetryableFailureReturnsAtOnce) {
  auto breaker = MakeBreaker();
  int calls = 0;
  const absl::Status status = Retry(*breaker, Policy(), [&] {
    ++calls;
    return absl::InvalidArgumentError("bad request");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "bad request");
  EXPECT_EQ(RetryAttempts(status), 1);
}

TEST_F(RetryTest, ANonRetryableFailureAfterRetriesSaysWhyItStopped) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 10;
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    return ++calls < 3 ? absl::DeadlineExceededError("slow") : absl::NotFoundError("gone");
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(waits_.size(), 2u);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "gone; gave up after 3 attempts: not retryable");
}

TEST_F(RetryTest, DefaultRetryableCodesAreTheTransientOnes) {
  for (const absl::StatusCode code :
       {absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kAborted}) {
    EXPECT_TRUE(IsRetryableByDefault(absl::Status(code, "x"))) << code;
  }
  for (const absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kCancelled}) {
    EXPECT_FALSE(IsRetryableByDefault(absl::Status(code, "x"))) << code;
  }
  auto breaker = MakeBreaker();
  breaker->ForceOpen();
  const absl::Status rejection = breaker->TryAcquire().RejectionStatus();
  ASSERT_TRUE(IsRejection(rejection));
  EXPECT_FALSE(IsRetryableByDefault(rejection)) << "kUnavailable, but a rejection";
}

TEST_F(RetryTest, IsRetryableDecidesAndIsNeverAskedAboutARejection) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  RetryPolicy policy = Policy();
  policy.max_attempts = 10;
  std::vector<absl::StatusCode> asked;
  policy.is_retryable = [&](const absl::Status& status) {
    EXPECT_FALSE(IsRejection(status)) << status;
    asked.push_back(status.code());
    return status.code() == absl::StatusCode::kInternal;
  };
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    return ++calls < 3 ? absl::InternalError("flaky") : absl::UnavailableError("down");
  });
  // Rejected, waited out; the trial fails with kInternal (retried) and
  // reopens the breaker; rejected, waited out; the next trial's kInternal
  // (retried); rejected, waited out; the third trial's kUnavailable, which
  // this predicate refuses. The three rejections were never asked about.
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(IsRejection(status));
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(asked, ElementsAre(absl::StatusCode::kInternal, absl::StatusCode::kInternal,
                                 absl::StatusCode::kUnavailable));
}

// ---- The total deadline --------------------------------------------------------------

TEST_F(RetryTest, TheTotalDeadlineStopsBeforeAWaitWouldCrossIt) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 100;
  policy.total_deadline = absl::Seconds(1);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  // 100 + 200 + 400 = 700 ms; 800 more would end at 1.5 s.
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                                  absl::Milliseconds(400)));
  EXPECT_EQ(calls, 4);
  EXPECT_LE(Elapsed(), absl::Seconds(1));
  EXPECT_EQ(status.message(),
            "down; gave up after 4 attempts: the next wait (800ms) would not end before "
            "total_deadline (1s, 300ms left)");
  EXPECT_EQ(RetryAttempts(status), 4);
}

TEST_F(RetryTest, TheTotalDeadlineCountsTheAttemptsOwnTime) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 100;
  policy.total_deadline = absl::Seconds(1);
  int calls = 0;
  (void)Retry(*breaker, policy, [&] {
    ++calls;
    clock_.Advance(absl::Milliseconds(150));
    return absl::UnavailableError("down");
  });
  // 150 + 100 + 150 + 200 + 150 = 750 ms; 400 more would end at 1.15 s.
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(Elapsed(), absl::Milliseconds(750));
}

TEST_F(RetryTest, AWaitThatWouldEndExactlyAtTheDeadlineIsNotBegun) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.max_attempts = 100;
  policy.total_deadline = absl::Milliseconds(300);  // 100 ms, then 200 ms would end at it
  int calls = 0;
  (void)Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_EQ(calls, 2);
}

TEST_F(RetryTest, AnAttemptThatOutlastsTheDeadlineEndsTheRetries) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.total_deadline = absl::Seconds(1);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    clock_.Advance(absl::Seconds(2));
    return absl::DeadlineExceededError("slow");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

// ---- The breaker's rejections ----------------------------------------------------------

TEST_F(RetryTest, ARejectionWhoseRetryAfterExceedsTheBudgetReturnsAtOnce) {
  auto breaker = MakeOpenBreaker(absl::Seconds(30));
  RetryPolicy policy = Policy();
  policy.total_deadline = absl::Seconds(5);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_TRUE(IsRejection(status)) << status;
  EXPECT_EQ(RejectionRetryAfter(status), absl::Seconds(30)) << "the payload is kept";
  EXPECT_EQ(RetryAttempts(status), 1);
  EXPECT_EQ(breaker->Metrics().rejected, 1u);
}

TEST_F(RetryTest, ARejectionBeyondTheBudgetAfterRetriesSaysWhyItStopped) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(30);
  auto breaker = MakeBreaker(config);
  RetryPolicy policy = Policy();
  policy.total_deadline = absl::Seconds(5);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::UnavailableError("down");  // opens the breaker for 30 s
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_TRUE(IsRejection(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("; gave up after 2 attempts: the breaker's retry-after (29.9s) would not "
                        "end before total_deadline (5s, 4.9s left)"));
}

TEST_F(RetryTest, ARejectionWhoseRetryAfterEqualsTheBudgetReturnsAtOnce) {
  auto breaker = MakeOpenBreaker(absl::Seconds(5));
  RetryPolicy policy = Policy();
  policy.total_deadline = absl::Seconds(5);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_TRUE(IsRejection(status));
}

TEST_F(RetryTest, ARejectionShorterThanTheBudgetIsWaitedOutAndTheTrialSucceeds) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  RetryPolicy policy = Policy();
  policy.total_deadline = absl::Seconds(10);
  int calls = 0;
  bool was_trial_time = false;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    was_trial_time = breaker->state() == State::kHalfOpen;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(was_trial_time) << "the attempt after the wait is the HALF_OPEN trial";
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(1))) << "exactly the retry-after";
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.permitted, 2u);  // the trip, the trial
  EXPECT_EQ(m.successes, 1u);
  EXPECT_EQ(m.transitions[static_cast<int>(State::kHalfOpen)][static_cast<int>(State::kClosed)],
            1u);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(RetryTest, AFailureThatTripsTheBreakerIsFollowedByWaitingOutItsOpenPeriod) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  auto breaker = MakeBreaker(config);
  int calls = 0;
  const absl::Status status = Retry(*breaker, Policy(), [&] {
    return ++calls == 1 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  // Attempt 1 fails and opens the breaker; wait 100 ms; attempt 2 is
  // rejected with 900 ms left of the open period (longer than the 200 ms
  // backoff); wait it out; attempt 3 is the trial.
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 2);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(900)));
  EXPECT_EQ(breaker->Metrics().rejected, 1u);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST_F(RetryTest, ARejectionOnTheLastAttemptIsReturnedMarked) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  auto breaker = MakeBreaker(config);
  RetryPolicy policy = Policy();
  policy.max_attempts = 2;
  const absl::Status status = Retry(*breaker, policy, [] { return absl::UnavailableError("down"); });
  EXPECT_TRUE(IsRejection(status)) << status;
  EXPECT_EQ(RejectionRetryAfter(status), absl::Milliseconds(900));
  EXPECT_EQ(RetryAttempts(status), 2);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("; gave up after 2 attempts: max_attempts is 2"));
  EXPECT_THAT(std::string(status.message()), StartsWith("circuit breaker 'breaker' is OPEN"));
}

TEST_F(RetryTest, AHalfOpenRejectionWaitsTheBackoffNotZero) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  Permit trial = breaker->TryAcquire();  // takes the only trial slot
  ASSERT_TRUE(trial.is_trial());
  RetryPolicy policy = Policy();
  policy.sleep = [&](absl::Duration wait) {
    waits_.push_back(wait);
    clock_.Advance(wait);
    trial.Success();  // the trial ends during the wait: the breaker closes
  };
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 1);
  // The rejection's retry-after is zero (a slot may free up any moment):
  // the backoff is waited instead of retrying at once.
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_EQ(breaker->Metrics().rejected, 1u);
}

TEST_F(RetryTest, AHalfOpenRejectionThatStaysRejectedUsesUpTheAttempts) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  Permit trial = breaker->TryAcquire();
  ASSERT_TRUE(trial.is_trial());
  int calls = 0;
  const absl::Status status = Retry(*breaker, Policy(), [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(IsRejection(status));
  EXPECT_EQ(RejectionRetryAfter(status), absl::ZeroDuration());
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
  EXPECT_EQ(breaker->Metrics().rejected, 3u);
  trial.Success();
}

TEST_F(RetryTest, ForcedOpenReturnsAtOnceWhateverTheBudget) {
  auto breaker = MakeBreaker();
  breaker->ForceOpen();
  RetryPolicy policy = Policy();
  policy.max_attempts = 100;  // and total_deadline infinite
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_TRUE(IsRejection(status)) << status;
  EXPECT_EQ(RejectionRetryAfter(status), absl::InfiniteDuration());
  EXPECT_EQ(RetryAttempts(status), 1);
  EXPECT_EQ(breaker->Metrics().rejected, 1u);
}

TEST_F(RetryTest, ForcedOpenAfterRetriesSaysWhyItStopped) {
  auto breaker = MakeBreaker();
  int calls = 0;
  const absl::Status status = Retry(*breaker, Policy(), [&] {
    ++calls;
    breaker->ForceOpen();  // an operator, during the first attempt
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_TRUE(IsRejection(status));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("; gave up after 2 attempts: the breaker admits no call until it is "
                        "reset"));
}

// ---- Every result type ------------------------------------------------------------------

TEST_F(RetryTest, AVoidCallableReturnsAStatus) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  int calls = 0;
  auto fn = [&] { ++calls; };
  static_assert(std::is_same_v<decltype(Retry(*breaker, Policy(), fn)), absl::Status>);
  const absl::Status status = Retry(*breaker, Policy(), fn);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(1)));
}

TEST_F(RetryTest, AStatusCallableReturnsItsStatus) {
  auto breaker = MakeBreaker();
  int calls = 0;
  auto fn = [&] { return ++calls < 2 ? absl::ResourceExhaustedError("busy") : absl::OkStatus(); };
  static_assert(std::is_same_v<decltype(Retry(*breaker, Policy(), fn)), absl::Status>);
  EXPECT_TRUE(Retry(*breaker, Policy(), fn).ok());
  EXPECT_EQ(calls, 2);
}

TEST_F(RetryTest, AValueCallableReturnsAStatusOr) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  auto fn = [] { return std::string("quote"); };
  static_assert(
      std::is_same_v<decltype(Retry(*breaker, Policy(), fn)), absl::StatusOr<std::string>>);
  const absl::StatusOr<std::string> result = Retry(*breaker, Policy(), fn);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "quote");
  EXPECT_THAT(waits_, ElementsAre(absl::Seconds(1)));
}

TEST_F(RetryTest, AStatusOrCallableReturnsItsStatusOr) {
  auto breaker = MakeBreaker();
  int calls = 0;
  auto fn = [&]() -> absl::StatusOr<double> {
    if (++calls < 3) return absl::AbortedError("conflict");
    return 2.5;
  };
  static_assert(std::is_same_v<decltype(Retry(*breaker, Policy(), fn)), absl::StatusOr<double>>);
  const absl::StatusOr<double> result = Retry(*breaker, Policy(), fn);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 2.5);
  EXPECT_EQ(calls, 3);
}

TEST_F(RetryTest, AMoveOnlyValueIsMovedOut) {
  auto breaker = MakeOpenBreaker(absl::Seconds(1));
  auto fn = [] { return std::make_unique<int>(7); };
  static_assert(std::is_same_v<decltype(Retry(*breaker, Policy(), fn)),
                               absl::StatusOr<std::unique_ptr<int>>>);
  absl::StatusOr<std::unique_ptr<int>> result = Retry(*breaker, Policy(), fn);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_NE(*result, nullptr);
  EXPECT_EQ(**result, 7);
}

TEST_F(RetryTest, AMoveOnlyStatusOrIsRetriedThenMovedOut) {
  auto breaker = MakeBreaker();
  int calls = 0;
  // A move-only callable, passed as an rvalue: Retry() calls it as an lvalue.
  auto owned = std::make_unique<int>(9);
  absl::StatusOr<std::unique_ptr<int>> result = Retry(
      *breaker, Policy(),
      [&calls, owned = std::move(owned)]() -> absl::StatusOr<std::unique_ptr<int>> {
        if (++calls < 2) return absl::UnavailableError("down");
        return std::make_unique<int>(*owned);
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(**result, 9);
  EXPECT_EQ(calls, 2);
}

TEST_F(RetryTest, AMoveOnlyStatusOrFailureKeepsItsCode) {
  auto breaker = MakeBreaker();
  absl::StatusOr<std::unique_ptr<int>> result =
      Retry(*breaker, Policy(), []() -> absl::StatusOr<std::unique_ptr<int>> {
        return absl::UnavailableError("down");
      });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAttempts(result.status()), 3);
}

// ---- The status Retry() gives up with -----------------------------------------------------

TEST_F(RetryTest, TheFinalFailureKeepsItsCodeAndPayloads) {
  auto breaker = MakeBreaker();
  const absl::Status status = Retry(*breaker, Policy(), [] {
    absl::Status down = absl::UnavailableError("down");
    down.SetPayload("example.com/shard", absl::Cord("7"));
    return down;
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.GetPayload("example.com/shard"), absl::Cord("7"));
  EXPECT_EQ(status.GetPayload("circuit.dev/retry-attempts"), absl::Cord("3"));
  EXPECT_EQ(RetryAttempts(status), 3);
}

TEST_F(RetryTest, AnEmptyMessageGainsOnlyTheReason) {
  auto breaker = MakeBreaker();
  const absl::Status status =
      Retry(*breaker, Policy(), [] { return absl::Status(absl::StatusCode::kUnavailable, ""); });
  EXPECT_EQ(status.message(), "gave up after 3 attempts: max_attempts is 3");
}

TEST(RetryAttemptsTest, IsNulloptForStatusesRetryDidNotMark) {
  EXPECT_EQ(RetryAttempts(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(RetryAttempts(absl::UnavailableError("down")), std::nullopt);
  absl::Status garbled = absl::UnavailableError("down");
  garbled.SetPayload("circuit.dev/retry-attempts", absl::Cord("three"));
  EXPECT_EQ(RetryAttempts(garbled), std::nullopt);
}

// ---- The policy ---------------------------------------------------------------------------

TEST(ValidateRetryPolicyTest, TheDefaultPolicyIsValid) {
  EXPECT_TRUE(ValidateRetryPolicy(RetryPolicy()).ok());
}

TEST(ValidateRetryPolicyTest, EachInvalidFieldIsNamedWithItsValue) {
  struct Case {
    std::function<void(RetryPolicy&)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](RetryPolicy& p) { p.max_attempts = 0; },
       "RetryPolicy.max_attempts must be >= 1, got 0"},
      {[](RetryPolicy& p) { p.max_attempts = -3; },
       "RetryPolicy.max_attempts must be >= 1, got -3"},
      {[](RetryPolicy& p) { p.initial_backoff = absl::Milliseconds(-1); },
       "RetryPolicy.initial_backoff must be >= 0 and finite, got -1ms"},
      {[](RetryPolicy& p) { p.initial_backoff = absl::InfiniteDuration(); },
       "RetryPolicy.initial_backoff must be >= 0 and finite, got inf"},
      {[](RetryPolicy& p) { p.backoff_multiplier = 0.5; },
       "RetryPolicy.backoff_multiplier must be >= 1 and finite, got 0.5"},
      {[](RetryPolicy& p) { p.backoff_multiplier = std::nan(""); },
       "RetryPolicy.backoff_multiplier must be >= 1 and finite, got nan"},
      {[](RetryPolicy& p) { p.backoff_multiplier = HUGE_VAL; },
       "RetryPolicy.backoff_multiplier must be >= 1 and finite, got inf"},
      {[](RetryPolicy& p) { p.max_backoff = absl::Milliseconds(50); },
       "RetryPolicy.max_backoff must be >= initial_backoff (100ms), got 50ms"},
      {[](RetryPolicy& p) { p.max_backoff = absl::Seconds(-1); },
       "RetryPolicy.max_backoff must be >= initial_backoff (100ms), got -1s"},
      {[](RetryPolicy& p) { p.jitter = 1; }, "RetryPolicy.jitter must be in [0, 1), got 1"},
      {[](RetryPolicy& p) { p.jitter = -0.1; }, "RetryPolicy.jitter must be in [0, 1), got -0.1"},
      {[](RetryPolicy& p) { p.total_deadline = absl::ZeroDuration(); },
       "RetryPolicy.total_deadline must be > 0, got 0"},
      {[](RetryPolicy& p) { p.total_deadline = absl::Seconds(-2); },
       "RetryPolicy.total_deadline must be > 0, got -2s"},
  };
  for (const Case& c : cases) {
    RetryPolicy policy;
    c.set(policy);
    const absl::Status status = ValidateRetryPolicy(policy);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(status.message(), c.message);
  }
}

TEST(ValidateRetryPolicyTest, TheEdgesOfEachRangeAreValid) {
  RetryPolicy policy;
  policy.max_attempts = 1;
  policy.initial_backoff = absl::ZeroDuration();
  policy.max_backoff = absl::ZeroDuration();
  policy.backoff_multiplier = 1;
  policy.jitter = 0;
  policy.total_deadline = absl::Nanoseconds(1);
  EXPECT_TRUE(ValidateRetryPolicy(policy).ok()) << ValidateRetryPolicy(policy);
  policy.max_backoff = absl::InfiniteDuration();
  policy.jitter = 0.999;
  EXPECT_TRUE(ValidateRetryPolicy(policy).ok()) << ValidateRetryPolicy(policy);
}

TEST_F(RetryTest, AnInvalidPolicyReturnsItsErrorWithoutCallingFn) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.jitter = 2;
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] { ++calls; });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "RetryPolicy.jitter must be in [0, 1), got 2");
  EXPECT_EQ(RetryAttempts(status), std::nullopt);
  const absl::StatusOr<std::unique_ptr<int>> result = Retry(*breaker, policy, [&] {
    ++calls;
    return std::make_unique<int>(1);
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(breaker->Metrics().permitted, 0u);
}

// ---- Exceptions -----------------------------------------------------------------------------

TEST_F(RetryTest, AnExceptionPropagatesWithoutARetry) {
  auto breaker = MakeBreaker();
  int calls = 0;
  EXPECT_THROW((void)Retry(*breaker, Policy(),
                           [&]() -> absl::Status {
                             ++calls;
                             throw std::runtime_error("boom");
                           }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(waits_, IsEmpty());
  EXPECT_EQ(breaker->Metrics().failures, 1u) << "the breaker recorded it";
}

TEST_F(RetryTest, AnExceptionAfterARetryPropagates) {
  auto breaker = MakeBreaker();
  int calls = 0;
  EXPECT_THROW((void)Retry(*breaker, Policy(),
                           [&]() -> absl::StatusOr<int> {
                             if (++calls == 1) return absl::UnavailableError("down");
                             throw std::logic_error("boom");
                           }),
               std::logic_error);
  EXPECT_EQ(calls, 2);
  EXPECT_THAT(waits_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_EQ(breaker->Metrics().failures, 2u);
}

TEST_F(RetryTest, WhatIsRetryableThrowsReachesTheCaller) {
  auto breaker = MakeBreaker();
  RetryPolicy policy = Policy();
  policy.is_retryable = [](const absl::Status&) -> bool { throw std::out_of_range("predicate"); };
  EXPECT_THROW((void)Retry(*breaker, policy, [] { return absl::UnavailableError("down"); }),
               std::out_of_range);
  EXPECT_EQ(breaker->Metrics().permitted, 1u);
}

// ---- Threads ----------------------------------------------------------------------------------

TEST(RetryConcurrencyTest, ConcurrentRetriesShareNothingButTheBreaker) {
  // Under tsan: the jitter's generators, the schedule, the breaker's count.
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = kNeverTrips;
  auto breaker = Breaker::Create(config).value();
  constexpr int kThreads = 4;
  constexpr int kRetriesPerThread = 100;
  std::atomic<int> out_of_bounds{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      RetryPolicy policy;
      policy.clock = &clock;
      policy.jitter = 0.2;
      std::vector<absl::Duration> waits;
      policy.sleep = [&](absl::Duration wait) {
        waits.push_back(wait);
        clock.Advance(wait);
      };
      for (int i = 0; i < kRetriesPerThread; ++i) {
        int calls = 0;
        const absl::Status status = Retry(*breaker, policy, [&] {
          return ++calls < 2 ? absl::UnavailableError("down") : absl::OkStatus();
        });
        if (!status.ok()) failed.fetch_add(1);
      }
      for (const absl::Duration wait : waits) {
        if (wait < absl::Milliseconds(80) || wait > absl::Milliseconds(120)) {
          out_of_bounds.fetch_add(1);
        }
      }
      if (waits.size() != static_cast<size_t>(kRetriesPerThread)) out_of_bounds.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(out_of_bounds.load(), 0);
  const BreakerMetrics m = breaker->Metrics();
  EXPECT_EQ(m.permitted, uint64_t{kThreads} * kRetriesPerThread * 2);
  EXPECT_EQ(m.failures, uint64_t{kThreads} * kRetriesPerThread);
  EXPECT_EQ(m.successes, uint64_t{kThreads} * kRetriesPerThread);
}

// ---- The system clock ---------------------------------------------------------------------

TEST(SystemClockTest, TheAttemptAfterWaitingOutTheOpenPeriodIsNotRejectedByAStaleReading) {
  // With the system clock, a thread's OPEN rejections reuse one coarse
  // reading for up to kRejectionsPerClockRead of them (circuit/clock.h).
  // Retry() must not let the attempt after its wait be judged by the
  // reading taken before it: that rejects it again with the same
  // retry-after, up to 15 times. Real time: one 20 ms open period.
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Milliseconds(20);
  auto breaker = Breaker::Create(config).value();
  ASSERT_FALSE(breaker->Call([] { return absl::UnavailableError("trip"); }).ok());
  RetryPolicy policy;  // the system clock, absl::SleepFor()
  policy.max_attempts = 4;
  policy.initial_backoff = absl::Milliseconds(1);
  policy.jitter = 0;
  policy.total_deadline = absl::Seconds(10);
  int calls = 0;
  const absl::Status status = Retry(*breaker, policy, [&] {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 1);
  // The first rejection only: the wait was the retry-after and a tick of
  // the coarse clock, so a fresh reading is past the deadline.
  EXPECT_EQ(breaker->Metrics().rejected, 1u);
}

}  // namespace
}  // namespace circuit
