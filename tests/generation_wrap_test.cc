// Generations compared for equality only: however many transitions have
// passed, the consecutive-failure run, the rate window's base and pending
// events, and the deadline word still tell the current generation from an
// old one. A breaker that re-probed an outage (or was cycled by an operator)
// for more than half the generation range must still trip afterwards.
//
// Crossing 2^27 transitions one by one takes minutes, so the tests skip
// generations through tests/breaker_test_peer.h: one real transition (the
// breaker's own Publish()) that moves the generation by n, as if n - 1
// transitions had touched nothing but the state word. Before generations
// were compared by equality, each of these tests failed: the run and the
// window dropped every failure as stale and the breaker stayed CLOSED.
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/state_word.h"
#include "gtest/gtest.h"
#include "tests/test_breakers.h"
#include "tests/breaker_test_peer.h"

namespace circuit {
namespace {

using testing_breakers::Fail;
using testing_breakers::Make;
using testing_breakers::Succeed;

using internal::BreakerTestPeer;

// More than half the generation range (what serial arithmetic cannot
// survive), with low bits past any 14-bit tag's half range as well.
constexpr uint32_t kPastHalfTheRange = (uint32_t{1} << (internal::kGenBits - 1)) + 9000;

TEST(GenerationWrapTest, ConsecutiveFailuresTripAfterOperatorCyclesOverHalfTheRange) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;  // 5 consecutive failures open it
  auto breaker = Make(config);
  // The run word still holds generation 0's (empty) run.
  BreakerTestPeer::SkipGenerations(*breaker, State::kClosed, kPastHalfTheRange);
  ASSERT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
  EXPECT_EQ(breaker->Metrics().stale, 0u);
}

TEST(GenerationWrapTest, ARunOfAnOldGenerationNeverCountsTowardsANewOne) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  auto breaker = Make(config);
  Fail(*breaker, 4);  // a run of 4 at generation 0
  BreakerTestPeer::SkipGenerations(*breaker, State::kClosed, internal::kGenMask + 1 - 1);
  // Now one generation short of a full wrap: the old run is not ours.
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 3);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

// An outage: trip, then re-probe OPEN -> HALF_OPEN -> OPEN for more than
// half the range (no rebase of the window happens in those), then recover.
// The new CLOSED window must count its failures and trip.
void ExpectRateWindowTripsAfterALongOutage(WindowType type) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_type = type;
  config.window_size = 10;
  config.window_duration = absl::Seconds(10);
  config.window_buckets = 10;
  config.minimum_calls = 10;
  auto breaker = Make(config);
  Fail(*breaker, 10);
  ASSERT_EQ(breaker->state(), State::kOpen);
  BreakerTestPeer::SkipGenerations(*breaker, State::kOpen, kPastHalfTheRange);
  ASSERT_EQ(breaker->state(), State::kOpen);
  // The deadline of the skipped-to generation was stored: OPEN lasts its
  // duration, then one trial closes the breaker (rebasing the window).
  EXPECT_FALSE(breaker->TryAcquire());
  clock.Advance(absl::Seconds(30));
  {
    Permit trial = breaker->TryAcquire();
    ASSERT_TRUE(trial);
    ASSERT_TRUE(trial.is_trial());
    trial.Success();
  }
  ASSERT_EQ(breaker->state(), State::kClosed);
  Succeed(*breaker, 5);
  Fail(*breaker, 4);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 9 calls: under the minimum
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen) << "5 failures in 10 calls at a 50% threshold";
}

TEST(GenerationWrapTest, CountWindowTripsAfterAnOutageThatReprobedOverHalfTheRange) {
  ExpectRateWindowTripsAfterALongOutage(WindowType::kCountBased);
}

TEST(GenerationWrapTest, TimeWindowTripsAfterAnOutageThatReprobedOverHalfTheRange) {
  ExpectRateWindowTripsAfterALongOutage(WindowType::kTimeBased);
}

TEST(GenerationWrapTest, RateWindowTripsAfterOperatorCyclesOverHalfTheRange) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 0;
  config.failure_rate_threshold = 50;
  config.window_size = 4;
  config.minimum_calls = 4;
  auto breaker = Make(config);
  Fail(*breaker, 1);  // a pending event and a log of generation 0
  BreakerTestPeer::SkipGenerations(*breaker, State::kForcedOpen, kPastHalfTheRange);
  breaker->Reset();
  Succeed(*breaker, 2);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kClosed);
  Fail(*breaker, 1);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

}  // namespace
}  // namespace circuit
