// File: tests/shared_control_test.cc
// The core's side of the distributed mode (circuit/internal/shared_control.h,
// docs/design.md section 13), with no Redis: what a breaker leaves to the
// shared state while shared, what the coordinator's moves do, and how the
// breaker takes its decisions back when it leaves.
#include "circuit/internal/shared_control.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"

namespace circuit {
namespace {

using internal::SharedControl;
using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

class SharedControlTest : public ::testing::Test {
 protected:
  BreakerConfig Config() {
    BreakerConfig config;
    config.name = "shared";
    config.clock = &clock_;
    config.failure_rate_threshold = 50;
    config.window_size = 10;
    config.minimum_calls = 4;
    config.consecutive_failures_to_open = 6;
    config.open_duration = absl::Seconds(10);
    config.half_open_trial_calls = 3;
    config.half_open_max_concurrent = 3;
    return config;
  }
  void Share(Breaker& b) {
    ASSERT_TRUE(SharedControl::Claim(b));
    SharedControl::SetSharing(b, Sharing::kShared, absl::OkStatus());
  }
  FakeClock clock_;
};

TEST_F(SharedControlTest, WhileSharedTheWindowRecordsButNeverTrips) {
  auto b = Make(Config());
  Share(*b);
  EXPECT_FALSE(SharedControl::Claim(*b));  // one coordinator at a time
  Fail(*b, 8);                              // 100 %, and a run of 8
  EXPECT_EQ(b->state(), State::kClosed);
  EXPECT_EQ(b->Snapshot().failures, 8u);
  EXPECT_EQ(b->Snapshot().sharing, Sharing::kShared);
  EXPECT_EQ(SharedControl::Read(*b).consecutive_failures, 8u);
}

TEST_F(SharedControlTest, LeavingTheSharedStateJudgesTheWindowAtOnce) {
  auto b = Make(Config());
  Share(*b);
  Fail(*b, 3);
  Succeed(*b, 2);  // 3 of 5: over 50 %, held back
  SharedControl::SetSharing(*b, Sharing::kDegraded, absl::UnavailableError("gone"));
  EXPECT_EQ(b->state(), State::kOpen);
  EXPECT_EQ(b->Snapshot().last_trip.cause, TripCause::kFailureRate);
  EXPECT_DOUBLE_EQ(b->Snapshot().last_trip.value, 60);
}

TEST_F(SharedControlTest, LeavingTheSharedStateJudgesTheRunAtOnce) {
  BreakerConfig config = Config();
  config.failure_rate_threshold = 0;
  auto b = Make(config);
  Share(*b);
  Fail(*b, 6);
  EXPECT_EQ(b->state(), State::kClosed);
  SharedControl::SetSharing(*b, Sharing::kLocal, absl::OkStatus());
  EXPECT_EQ(b->state(), State::kOpen);
  EXPECT_EQ(b->Snapshot().last_trip.cause, TripCause::kConsecutiveFailures);
}

TEST_F(SharedControlTest, FollowingTheSharedStateThroughItsCycleWithTrialsBoundedByWhatWasLent) {
  auto b = Make(Config());
  Share(*b);
  uint32_t gen = 0;
  ASSERT_TRUE(SharedControl::Follow(*b, State::kOpen, absl::ToInt64Nanoseconds(absl::Seconds(2)),
                                    75, 50, &gen));
  EXPECT_EQ(b->state(), State::kOpen);
  EXPECT_EQ(b->Snapshot().last_trip.cause, TripCause::kShared);
  EXPECT_DOUBLE_EQ(b->Snapshot().last_trip.value, 75);
  EXPECT_EQ(b->Snapshot().open_remaining, absl::Seconds(2));  // the store's, not the config's
  clock_.Advance(absl::Seconds(3));
  Permit refused = b->TryAcquire();  // past the period: the store ends OPEN
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.retry_after(), absl::ZeroDuration());
  EXPECT_EQ(b->state(), State::kOpen);

  ASSERT_TRUE(SharedControl::Follow(*b, State::kHalfOpen, 0, 0, 0, &gen));
  EXPECT_FALSE(b->TryAcquire());  // nothing lent yet
  SharedControl::Lend(*b, gen, 1);
  Permit first = b->TryAcquire();
  EXPECT_TRUE(first);
  EXPECT_FALSE(b->TryAcquire());  // one lent, one taken
  SharedControl::Lend(*b, gen, 2);
  Permit second = b->TryAcquire();
  EXPECT_TRUE(second);
  EXPECT_FALSE(b->TryAcquire());
  SharedControl::Lend(*b, gen, 1);  // never lowered
  EXPECT_EQ(SharedControl::Lent(*b, gen), 2u);
  first.Success();
  second.Success();
  EXPECT_EQ(b->state(), State::kHalfOpen);  // counted; the store decides
  EXPECT_EQ(SharedControl::Read(*b).trial_successes, 2u);
  ASSERT_TRUE(SharedControl::Follow(*b, State::kClosed, 0, 0, 0, &gen));
  EXPECT_EQ(b->state(), State::kClosed);
  EXPECT_EQ(b->Metrics().transitions[static_cast<int>(State::kHalfOpen)]
                                    [static_cast<int>(State::kClosed)], 1u);
}

TEST_F(SharedControlTest, LeavingTheSharedStateInHalfOpenReopensWithNoWait) {
  auto b = Make(Config());
  Share(*b);
  uint32_t gen = 0;
  ASSERT_TRUE(SharedControl::Follow(*b, State::kHalfOpen, 0, 0, 0, &gen));
  SharedControl::Lend(*b, gen, 1);
  Permit trial = b->TryAcquire();
  ASSERT_TRUE(trial);
  SharedControl::SetSharing(*b, Sharing::kDegraded, absl::UnavailableError("gone"));
  EXPECT_EQ(b->state(), State::kOpen);
  Permit own = b->TryAcquire();  // the breaker's own trial, at once
  EXPECT_TRUE(own);
  EXPECT_TRUE(own.is_trial());
  trial.Success();  // of the shared HALF_OPEN: stale
  EXPECT_EQ(b->Metrics().stale, 1u);
  own.Success();
}

TEST_F(SharedControlTest, TheOperatorsStatesAreLeftAlone) {
  auto b = Make(Config());
  Share(*b);
  b->ForceOpen();
  uint32_t gen = 0;
  EXPECT_FALSE(SharedControl::Follow(*b, State::kClosed, 0, 0, 0, &gen));
  EXPECT_EQ(b->state(), State::kForcedOpen);
  b->Reset();
  EXPECT_TRUE(SharedControl::Follow(*b, State::kOpen, 1000, 0, 0, &gen));
  EXPECT_TRUE(SharedControl::Reopen(*b, gen, 1000, 0, 0));
  EXPECT_FALSE(SharedControl::Reopen(*b, gen, 1000, 0, 0));  // that generation is gone
}

}  // namespace
}  // namespace circuit
