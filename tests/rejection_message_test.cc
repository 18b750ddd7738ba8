// Permit::RejectionStatus(): the message rounds the retry delay for people
// ("retry in 200ms", not "retry in 200.000963ms"); the payload keeps it
// exact, in nanoseconds, and IsRejection() recognises it.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr absl::string_view kPayload = "circuit.dev/rejection";

// A breaker opened by one failure, then `elapsed` later rejected, with
// `open_duration` as configured. The deadline is kept in whole
// microseconds, so an open_duration of whole microseconds is exact.
class RejectionMessageTest : public testing::Test {
 protected:
  Permit RejectedAfter(absl::Duration open_duration, absl::Duration elapsed) {
    BreakerConfig config;
    config.clock = &clock_;
    config.consecutive_failures_to_open = 1;
    config.open_duration = open_duration;
    config.max_open_duration = std::max(open_duration, absl::Minutes(10));
    breaker_ = Breaker::Create(config).value();
    EXPECT_TRUE(breaker_->TryAcquire().Failure());
    EXPECT_EQ(breaker_->state(), State::kOpen);
    clock_.Advance(elapsed);
    Permit permit = breaker_->TryAcquire();
    EXPECT_TRUE(permit.rejected());
    return permit;
  }

  // The payload's value, split into the state and the delay.
  static std::pair<std::string, std::string> Payload(const absl::Status& status) {
    const auto payload = status.GetPayload(kPayload);
    EXPECT_TRUE(payload.has_value()) << status;
    if (!payload) return {};
    const std::pair<std::string, std::string> parts =
        absl::StrSplit(std::string(*payload), absl::MaxSplits(' ', 1));
    return parts;
  }

  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
};

TEST_F(RejectionMessageTest, RoundsSubMicrosecondNoiseToTheMillisecond) {
  // 200.001 ms open, 37 ns later: 200.000963 ms to go.
  const Permit permit = RejectedAfter(absl::Microseconds(200'001), absl::Nanoseconds(37));
  ASSERT_EQ(permit.retry_after(), absl::Nanoseconds(200'000'963));
  const absl::Status status = permit.RejectionStatus();
  EXPECT_THAT(std::string(status.message()), EndsWith("is OPEN; retry in 200ms"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("circuit breaker 'breaker'"));
}

TEST_F(RejectionMessageTest, ThePayloadKeepsTheExactDelayInNanoseconds) {
  const Permit permit = RejectedAfter(absl::Microseconds(200'001), absl::Nanoseconds(37));
  const absl::Status status = permit.RejectionStatus();
  EXPECT_TRUE(IsRejection(status));
  const auto [state, delay] = Payload(status);
  EXPECT_EQ(state, "OPEN");
  EXPECT_EQ(delay, "200000963ns");
  absl::Duration parsed;
  ASSERT_TRUE(absl::ParseDuration(delay, &parsed));
  EXPECT_EQ(parsed, permit.retry_after());
}

TEST_F(RejectionMessageTest, TheDelayIsWhatIsLeftWhenAsked) {
  // A rejection kept while time passes reports what is left then, never
  // the delay as it stood at the rejection, and 0 once the open period is
  // over (a caller that waits on it never waits too long).
  const Permit permit = RejectedAfter(absl::Seconds(1), absl::ZeroDuration());
  EXPECT_EQ(permit.retry_after(), absl::Seconds(1));
  clock_.Advance(absl::Milliseconds(400));
  EXPECT_EQ(permit.retry_after(), absl::Milliseconds(600));
  EXPECT_EQ(RejectionRetryAfter(permit.RejectionStatus()), absl::Milliseconds(600));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(permit.retry_after(), absl::ZeroDuration());
}

TEST(RejectionDelayTest, AReusedClockReadingNeverOverstatesTheDelay) {
  // With the system clock, a rejection may be made without a reading, up
  // to 15 of its thread's calls after the deadline (circuit/clock.h); the
  // delay it reports is worked out afresh, so after a sleep it is no longer
  // than the time actually left.
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(5);  // far longer than any stall here
  auto breaker = Breaker::Create(config).value();
  { Permit p = breaker->TryAcquire(); p.Failure(); }
  const absl::Time opened = absl::Now();
  { Permit warm = breaker->TryAcquire(); ASSERT_TRUE(warm.rejected()); }  // a fresh reading
  absl::SleepFor(absl::Milliseconds(150));
  const Permit later = breaker->TryAcquire();  // decides on the old reading
  ASSERT_TRUE(later.rejected());
  const absl::Duration left = absl::Seconds(5) - (absl::Now() - opened);
  // The coarse clock's tick (a few ms) is the only slack.
  EXPECT_LE(later.retry_after(), left + absl::Milliseconds(20));
}

TEST_F(RejectionMessageTest, RoundsToTheNearestMillisecondBelowTenSeconds) {
  struct Case {
    absl::Duration open;
    absl::Duration elapsed;
    std::string says;
  };
  const Case cases[] = {
      {absl::Milliseconds(1500), absl::ZeroDuration(), "retry in 1.5s"},
      {absl::Milliseconds(1500), absl::Microseconds(400), "retry in 1.5s"},     // 1499.6 ms
      {absl::Milliseconds(1500), absl::Microseconds(600), "retry in 1.499s"},   // 1499.4 ms
      {absl::Milliseconds(1500), absl::Microseconds(500), "retry in 1.5s"},     // 1499.5 ms: up
      {absl::Seconds(10), absl::Microseconds(300), "retry in 10s"},            // 9999.7 ms
      {absl::Seconds(10), absl::Milliseconds(2), "retry in 9.998s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "open " << c.open << ", " << c.elapsed << " later");
    EXPECT_THAT(std::string(RejectedAfter(c.open, c.elapsed).RejectionStatus().message()),
                EndsWith(c.says));
  }
}

TEST_F(RejectionMessageTest, RoundsToTheNearestSecondFromTenSeconds) {
  struct Case {
    absl::Duration open;
    absl::Duration elapsed;
    std::string says;
  };
  const Case cases[] = {
      {absl::Seconds(30), absl::ZeroDuration(), "retry in 30s"},
      {absl::Seconds(30), absl::Milliseconds(17'600), "retry in 12s"},  // 12.4 s
      {absl::Seconds(30), absl::Milliseconds(17'400), "retry in 13s"},  // 12.6 s
      {absl::Seconds(91), absl::Milliseconds(600), "retry in 1m30s"},   // 90.4 s
      {absl::Seconds(10), absl::ZeroDuration(), "retry in 10s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "open " << c.open << ", " << c.elapsed << " later");
    EXPECT_THAT(std::string(RejectedAfter(c.open, c.elapsed).RejectionStatus().message()),
                EndsWith(c.says));
  }
}

TEST_F(RejectionMessageTest, ADelayUnderAMillisecondReadsOneMillisecond) {
  const Permit permit = RejectedAfter(absl::Microseconds(3), absl::ZeroDuration());
  EXPECT_THAT(std::string(permit.RejectionStatus().message()), EndsWith("retry in 1ms"));
  EXPECT_EQ(Payload(permit.RejectionStatus()).second, "3000ns");
}

TEST_F(RejectionMessageTest, ForcedOpenSaysUntilResetAndThePayloadSaysInf) {
  BreakerConfig config;
  config.clock = &clock_;
  breaker_ = Breaker::Create(config).value();
  breaker_->ForceOpen();
  const Permit permit = breaker_->TryAcquire();
  const absl::Status status = permit.RejectionStatus();
  EXPECT_TRUE(IsRejection(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("FORCED_OPEN until an operator resets it"));
  const auto [state, delay] = Payload(status);
  EXPECT_EQ(state, "FORCED_OPEN");
  EXPECT_EQ(delay, "inf");
  absl::Duration parsed;
  ASSERT_TRUE(absl::ParseDuration(delay, &parsed));
  EXPECT_EQ(parsed, absl::InfiniteDuration());
}

TEST_F(RejectionMessageTest, AnUnavailableStatusWithoutThePayloadIsNotARejection) {
  EXPECT_FALSE(IsRejection(absl::UnavailableError("circuit breaker 'x' is OPEN; retry in 1s")));
  EXPECT_FALSE(IsRejection(absl::OkStatus()));
}

TEST(RejectionRetryAfterTest, GivesBackTheExactDelayOfEachKindOfRejection) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Milliseconds(200);
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  breaker->TryAcquire().Failure();
  clock.Advance(absl::Nanoseconds(963));
  Permit open = breaker->TryAcquire();
  ASSERT_TRUE(open.rejected());
  EXPECT_EQ(RejectionRetryAfter(open.RejectionStatus()), open.retry_after());
  EXPECT_GT(open.retry_after(), absl::ZeroDuration());

  clock.Advance(absl::Milliseconds(200));
  Permit trial = breaker->TryAcquire();  // HALF_OPEN, its one slot taken
  ASSERT_TRUE(trial);
  Permit busy = breaker->TryAcquire();
  ASSERT_TRUE(busy.rejected());
  EXPECT_EQ(RejectionRetryAfter(busy.RejectionStatus()), absl::ZeroDuration());
  trial.Success();

  breaker->ForceOpen();
  EXPECT_EQ(RejectionRetryAfter(breaker->TryAcquire().RejectionStatus()),
            absl::InfiniteDuration());

  // Anything else: not a rejection.
  EXPECT_EQ(RejectionRetryAfter(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(RejectionRetryAfter(absl::UnavailableError("the dependency said so")), std::nullopt);
  absl::Status forged = absl::UnavailableError("forged");
  forged.SetPayload("circuit.dev/rejection", absl::Cord("OPEN garbage"));
  EXPECT_EQ(RejectionRetryAfter(forged), std::nullopt);
  forged.SetPayload("circuit.dev/rejection", absl::Cord("OPEN -5ns"));
  EXPECT_EQ(RejectionRetryAfter(forged), std::nullopt);
  forged.SetPayload("circuit.dev/rejection", absl::Cord(""));
  EXPECT_EQ(RejectionRetryAfter(forged), std::nullopt);
}

}  // namespace
}  // namespace circuit
