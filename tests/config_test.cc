// Tests of ValidateConfig() (circuit/config.h): the defaults and every
// boundary value are accepted; each field with a rule rejects a bad value
// with kInvalidArgument and a message "BreakerConfig.<field> must be <rule>,
// got <value>"; Breaker::Create() returns the same error. And the default of
// consecutive_failures_to_open, which applies only without a rate threshold
// (EffectiveConsecutiveFailuresToOpen()).
#include "circuit/config.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Expects `config` to be rejected, naming BreakerConfig.<field> (or one of
// `fields`), by both ValidateConfig() and Breaker::Create().
void ExpectRejected(const BreakerConfig& config, const std::string& field,
                    const std::string& other_field = "") {
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  const std::string message(status.message());
  if (other_field.empty()) {
    EXPECT_THAT(message, HasSubstr("BreakerConfig." + field));
  } else {
    EXPECT_THAT(message, AnyOf(HasSubstr("BreakerConfig." + field),
                               HasSubstr("BreakerConfig." + other_field)));
  }
  // The documented shape: "BreakerConfig.<field> must be <rule>, got <value>".
  EXPECT_THAT(message, HasSubstr(" must be "));
  EXPECT_THAT(message, HasSubstr(", got "));

  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  EXPECT_FALSE(breaker.ok());
  EXPECT_EQ(breaker.status(), status);
}

void ExpectAccepted(const BreakerConfig& config) {
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  ASSERT_TRUE(breaker.ok()) << breaker.status();
  EXPECT_NE(*breaker, nullptr);
}

BreakerConfig TimeBased() {
  BreakerConfig config;
  config.window_type = WindowType::kTimeBased;
  config.failure_rate_threshold = 50;
  return config;
}

TEST(ConfigTest, DefaultsAreValid) {
  BreakerConfig config;
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
}

TEST(ConfigTest, DefaultsMatchTheDocumentation) {
  BreakerConfig config;
  EXPECT_EQ(config.name, "breaker");
  EXPECT_FALSE(config.consecutive_failures_to_open.has_value());
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 5);
  EXPECT_EQ(config.failure_rate_threshold, 0);
  EXPECT_EQ(config.slow_call_rate_threshold, 0);
  EXPECT_EQ(config.slow_call_duration, absl::Seconds(60));
  EXPECT_EQ(config.window_type, WindowType::kCountBased);
  EXPECT_EQ(config.window_size, 100);
  EXPECT_EQ(config.window_duration, absl::Seconds(60));
  EXPECT_EQ(config.window_buckets, 10);
  EXPECT_EQ(config.minimum_calls, 100);
  EXPECT_EQ(config.open_duration, absl::Seconds(30));
  EXPECT_EQ(config.open_backoff_multiplier, 1);
  EXPECT_EQ(config.max_open_duration, absl::Minutes(10));
  EXPECT_EQ(config.open_jitter, 0);
  EXPECT_EQ(config.half_open_max_concurrent, 1);
  EXPECT_EQ(config.half_open_trial_calls, 1);
  EXPECT_FALSE(config.half_open_judge_by_rate);
  EXPECT_EQ(config.half_open_max_duration, absl::ZeroDuration());
  EXPECT_FALSE(config.status_is_failure);
  EXPECT_FALSE(config.exception_is_failure);
  EXPECT_FALSE(config.exception_is_ignored);
  EXPECT_EQ(config.clock, nullptr);
  EXPECT_FALSE(config.stripes.has_value());
  EXPECT_GE(EffectiveStripes(config), 1);
  EXPECT_LE(EffectiveStripes(config), kMaxDefaultStripes);
  EXPECT_EQ(EffectiveStripes(config), DefaultStripes());
}

TEST(ConfigTest, CreateAcceptsTheDefaultsAndBuildsAClosedBreaker) {
  BreakerConfig config;
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  ASSERT_TRUE(breaker.ok()) << breaker.status();
  EXPECT_EQ((*breaker)->state(), State::kClosed);
  EXPECT_EQ((*breaker)->name(), "breaker");
}

TEST(ConfigTest, TheTimeBasedExampleFromTheHeaderIsValid) {
  BreakerConfig config;
  config.name = "payments";
  config.failure_rate_threshold = 50;
  config.window_type = WindowType::kTimeBased;
  config.window_duration = absl::Seconds(10);
  config.minimum_calls = 20;
  ExpectAccepted(config);
}

TEST(ConfigTest, AcceptsEveryBoundaryValue) {
  auto with = [](auto mutate) {
    BreakerConfig config;
    mutate(config);
    return config;
  };
  ExpectAccepted(with([](BreakerConfig& c) {
    c.consecutive_failures_to_open = 0;
    c.failure_rate_threshold = 50;
  }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c.consecutive_failures_to_open = 0;
    c.slow_call_rate_threshold = 0.5;
  }));
  ExpectAccepted(with([](BreakerConfig& c) { c.consecutive_failures_to_open = 1; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.consecutive_failures_to_open = 1'000'000'000; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.failure_rate_threshold = 100; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.failure_rate_threshold = 0.5; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.slow_call_rate_threshold = 100; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.slow_call_duration = absl::Nanoseconds(1); }));
  ExpectAccepted(with([](BreakerConfig& c) { c.window_size = 1; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.window_size = 1'000'000; }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c = TimeBased();
    c.window_buckets = 1;
  }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c = TimeBased();
    c.window_duration = absl::Seconds(1);
    c.window_buckets = 1000;  // exactly 1 ms a bucket
  }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c = TimeBased();
    c.window_duration = absl::Milliseconds(1);
    c.window_buckets = 1;
  }));
  ExpectAccepted(with([](BreakerConfig& c) { c.minimum_calls = 1; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.minimum_calls = 1'000'000; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.open_duration = absl::Nanoseconds(1); }));
  ExpectAccepted(with([](BreakerConfig& c) { c.open_backoff_multiplier = 1000; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.open_backoff_multiplier = 1.5; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.max_open_duration = c.open_duration; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.max_open_duration = absl::Hours(24 * 365); }));
  ExpectAccepted(with([](BreakerConfig& c) { c.open_jitter = 0.999; }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c.half_open_trial_calls = 255;
    c.half_open_max_concurrent = 255;
  }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c.half_open_trial_calls = 3;
    c.half_open_max_concurrent = 3;
  }));
  ExpectAccepted(with([](BreakerConfig& c) {
    c.half_open_trial_calls = 10;
    c.half_open_max_concurrent = 2;
  }));
  ExpectAccepted(with([](BreakerConfig& c) { c.half_open_max_duration = absl::Hours(24 * 365); }));
  ExpectAccepted(with([](BreakerConfig& c) { c.half_open_max_duration = absl::Nanoseconds(1); }));
  ExpectAccepted(with([](BreakerConfig& c) { c.stripes = 0; }));  // every thread per CPU
  ExpectAccepted(with([](BreakerConfig& c) { c.stripes = 1; }));
  ExpectAccepted(with([](BreakerConfig& c) { c.stripes = 1024; }));
}

TEST(ConfigTest, RejectsConsecutiveFailuresOutOfRange) {
  BreakerConfig config;
  config.consecutive_failures_to_open = -1;
  ExpectRejected(config, "consecutive_failures_to_open");
  config.consecutive_failures_to_open = 1'000'000'001;
  ExpectRejected(config, "consecutive_failures_to_open");
}

// ---- The consecutive trip's default, and a config that nothing can trip -------

TEST(ConfigTest, UnsetConsecutiveFailuresMeanFiveWithoutARateThresholdAndOffWithOne) {
  BreakerConfig config;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 5);
  config.failure_rate_threshold = 50;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
  config.failure_rate_threshold = 0;
  config.slow_call_rate_threshold = 0.5;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
  config.failure_rate_threshold = 100;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
}

TEST(ConfigTest, ASetConsecutiveFailuresAppliesWhateverElseIsSet) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 3;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 3);
  config.failure_rate_threshold = 50;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 3);
  config.slow_call_rate_threshold = 50;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 3);
  config.consecutive_failures_to_open = 5;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 5);
  config.consecutive_failures_to_open = 0;
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
  config.consecutive_failures_to_open.reset();
  EXPECT_EQ(EffectiveConsecutiveFailuresToOpen(config), 0);
}

TEST(ConfigTest, RejectsAConfigThatNothingCanTripPointingAtMetricsOnly) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 0;
  ExpectRejected(config, "consecutive_failures_to_open");
  const std::string message(ValidateConfig(config).message());
  EXPECT_THAT(message, HasSubstr("failure_rate_threshold"));
  EXPECT_THAT(message, HasSubstr("slow_call_rate_threshold"));
  EXPECT_THAT(message, HasSubstr("Breaker::MetricsOnly()"));
  EXPECT_THAT(message, HasSubstr("got 0"));
  // Any trip condition makes it valid.
  config.failure_rate_threshold = 1;
  ExpectAccepted(config);
  config.failure_rate_threshold = 0;
  config.slow_call_rate_threshold = 1;
  ExpectAccepted(config);
  config.slow_call_rate_threshold = 0;
  config.consecutive_failures_to_open = 1;
  ExpectAccepted(config);
  config.consecutive_failures_to_open.reset();
  ExpectAccepted(config);
}

TEST(ConfigTest, RecordingWithoutTrippingIsMetricsOnly) {
  // What the rejection above points at: any valid config, then
  // MetricsOnly(): every call is permitted and recorded, none trips it.
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  breaker->MetricsOnly();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(breaker->TryAcquire().Failure());
  EXPECT_EQ(breaker->state(), State::kMetricsOnly);
  EXPECT_EQ(breaker->Metrics().failures, 50u);
}

// `failures` failures in a row through `breaker`; returns the state after.
State FailInARow(Breaker& breaker, int failures) {
  for (int i = 0; i < failures; ++i) {
    Permit permit = breaker.TryAcquire();
    if (!permit) break;
    permit.Failure();
  }
  return breaker.state();
}

TEST(ConfigTest, ABreakerWithARateThresholdOpensOnTheRateNotOnFiveFailuresInARow) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.failure_rate_threshold = 50;
  config.window_size = 100;
  config.minimum_calls = 20;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  EXPECT_EQ(FailInARow(*breaker, 19), State::kClosed) << "19 failures: under minimum_calls";
  EXPECT_EQ(FailInARow(*breaker, 1), State::kOpen) << "the 20th: 100 % >= 50 %";
}

TEST(ConfigTest, ABreakerWithoutARateThresholdOpensOnFiveFailuresInARow) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  EXPECT_EQ(FailInARow(*breaker, 4), State::kClosed);
  EXPECT_EQ(FailInARow(*breaker, 1), State::kOpen);
}

TEST(ConfigTest, AnExplicitConsecutiveTripOpensBesideARateThreshold) {
  FakeClock clock;
  BreakerConfig config;
  config.clock = &clock;
  config.failure_rate_threshold = 50;
  config.minimum_calls = 20;
  config.consecutive_failures_to_open = 5;
  std::unique_ptr<Breaker> breaker = Breaker::Create(config).value();
  EXPECT_EQ(FailInARow(*breaker, 4), State::kClosed);
  EXPECT_EQ(FailInARow(*breaker, 1), State::kOpen) << "5 in a row, under minimum_calls";
}

TEST(ConfigTest, RejectsFailureRateThresholdBelowZeroAboveHundredOrNaN) {
  for (double bad : {-0.001, -1.0, 100.001, 101.0, kNaN, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(testing::Message() << "failure_rate_threshold " << bad);
    BreakerConfig config;
    config.failure_rate_threshold = bad;
    ExpectRejected(config, "failure_rate_threshold");
  }
}

TEST(ConfigTest, RejectsSlowCallRateThresholdBelowZeroAboveHundredOrNaN) {
  for (double bad : {-0.001, -1.0, 100.001, 250.0, kNaN}) {
    SCOPED_TRACE(testing::Message() << "slow_call_rate_threshold " << bad);
    BreakerConfig config;
    config.slow_call_rate_threshold = bad;
    ExpectRejected(config, "slow_call_rate_threshold");
  }
}

TEST(ConfigTest, RejectsZeroOrNegativeSlowCallDuration) {
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Nanoseconds(-1), absl::Seconds(-5)}) {
    SCOPED_TRACE(testing::Message() << "slow_call_duration " << bad);
    BreakerConfig config;
    config.slow_call_duration = bad;
    ExpectRejected(config, "slow_call_duration");
    // Also when the slow-call trip is on.
    config.slow_call_rate_threshold = 50;
    ExpectRejected(config, "slow_call_duration");
  }
}

TEST(ConfigTest, RejectsWindowSizeOutOfRange) {
  for (int bad : {0, -1, 1'000'001}) {
    SCOPED_TRACE(testing::Message() << "window_size " << bad);
    BreakerConfig config;
    config.failure_rate_threshold = 50;
    config.window_size = bad;
    ExpectRejected(config, "window_size");
  }
}

TEST(ConfigTest, RejectsZeroOrNegativeWindowDuration) {
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Milliseconds(-1), absl::Seconds(-60)}) {
    SCOPED_TRACE(testing::Message() << "window_duration " << bad);
    BreakerConfig config = TimeBased();
    config.window_duration = bad;
    ExpectRejected(config, "window_duration");
  }
}

TEST(ConfigTest, RejectsWindowBucketsOutOfRange) {
  for (int bad : {0, -1, 1001}) {
    SCOPED_TRACE(testing::Message() << "window_buckets " << bad);
    BreakerConfig config = TimeBased();
    config.window_buckets = bad;
    ExpectRejected(config, "window_buckets");
  }
}

TEST(ConfigTest, RejectsBucketsNarrowerThanOneMillisecond) {
  // The rule is on window_duration / window_buckets; either field may be
  // the one named.
  BreakerConfig config = TimeBased();
  config.window_duration = absl::Microseconds(999);
  config.window_buckets = 1;
  ExpectRejected(config, "window_duration", "window_buckets");

  config.window_duration = absl::Milliseconds(500);
  config.window_buckets = 1000;  // 0.5 ms a bucket
  ExpectRejected(config, "window_duration", "window_buckets");

  config.window_duration = absl::Milliseconds(9);
  config.window_buckets = 10;  // 0.9 ms a bucket
  ExpectRejected(config, "window_duration", "window_buckets");

  config.window_duration = absl::Milliseconds(10);
  config.window_buckets = 10;  // exactly 1 ms: fine
  ExpectAccepted(config);
}

TEST(ConfigTest, RejectsMinimumCallsBelowOne) {
  for (int bad : {0, -1, -100}) {
    SCOPED_TRACE(testing::Message() << "minimum_calls " << bad);
    BreakerConfig config;
    config.failure_rate_threshold = 50;
    config.minimum_calls = bad;
    ExpectRejected(config, "minimum_calls");
  }
}

TEST(ConfigTest, RejectsZeroOrNegativeOpenDuration) {
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Nanoseconds(-1), absl::Seconds(-30)}) {
    SCOPED_TRACE(testing::Message() << "open_duration " << bad);
    BreakerConfig config;
    config.open_duration = bad;
    ExpectRejected(config, "open_duration");
  }
}

TEST(ConfigTest, RejectsOpenBackoffMultiplierOutOfRange) {
  for (double bad : {0.999, 0.5, 0.0, -2.0, 1000.5, kNaN}) {
    SCOPED_TRACE(testing::Message() << "open_backoff_multiplier " << bad);
    BreakerConfig config;
    config.open_backoff_multiplier = bad;
    ExpectRejected(config, "open_backoff_multiplier");
  }
}

TEST(ConfigTest, RejectsMaxOpenDurationShorterThanOpenDuration) {
  BreakerConfig config;
  config.open_duration = absl::Seconds(30);
  config.max_open_duration = absl::Seconds(29);
  ExpectRejected(config, "max_open_duration");
  config.max_open_duration = absl::Seconds(30) - absl::Nanoseconds(1);
  ExpectRejected(config, "max_open_duration");
}

TEST(ConfigTest, RejectsMaxOpenDurationLongerThanAYear) {
  BreakerConfig config;
  config.max_open_duration = absl::Hours(24 * 365) + absl::Seconds(1);
  ExpectRejected(config, "max_open_duration");
  config.max_open_duration = absl::Hours(24 * 1000);
  ExpectRejected(config, "max_open_duration");
}

TEST(ConfigTest, RejectsOpenJitterOutsideZeroToOneExclusive) {
  for (double bad : {-0.001, -1.0, 1.0, 1.5, kNaN}) {
    SCOPED_TRACE(testing::Message() << "open_jitter " << bad);
    BreakerConfig config;
    config.open_jitter = bad;
    ExpectRejected(config, "open_jitter");
  }
}

TEST(ConfigTest, RejectsHalfOpenMaxConcurrentOfZero) {
  BreakerConfig config;
  config.half_open_max_concurrent = 0;
  ExpectRejected(config, "half_open_max_concurrent");
  config.half_open_max_concurrent = -1;
  ExpectRejected(config, "half_open_max_concurrent");
}

TEST(ConfigTest, RejectsHalfOpenMaxConcurrentAbove255) {
  BreakerConfig config;
  config.half_open_trial_calls = 255;
  config.half_open_max_concurrent = 256;
  ExpectRejected(config, "half_open_max_concurrent");
}

TEST(ConfigTest, RejectsHalfOpenMaxConcurrentAboveTrialCalls) {
  BreakerConfig config;
  config.half_open_trial_calls = 1;
  config.half_open_max_concurrent = 2;
  ExpectRejected(config, "half_open_max_concurrent");
  config.half_open_trial_calls = 5;
  config.half_open_max_concurrent = 6;
  ExpectRejected(config, "half_open_max_concurrent");
}

TEST(ConfigTest, RejectsHalfOpenTrialCallsAbove255) {
  BreakerConfig config;
  config.half_open_trial_calls = 256;
  ExpectRejected(config, "half_open_trial_calls");
  config.half_open_trial_calls = 1000;
  ExpectRejected(config, "half_open_trial_calls");
}

TEST(ConfigTest, RejectsHalfOpenTrialCallsOfZero) {
  // half_open_max_concurrent (>= 1) is then also above half_open_trial_calls,
  // so naming either field is right.
  BreakerConfig config;
  config.half_open_trial_calls = 0;
  ExpectRejected(config, "half_open_trial_calls", "half_open_max_concurrent");
  config.half_open_trial_calls = -3;
  ExpectRejected(config, "half_open_trial_calls", "half_open_max_concurrent");
}

TEST(ConfigTest, RejectsNegativeHalfOpenMaxDuration) {
  BreakerConfig config;
  config.half_open_max_duration = absl::Nanoseconds(-1);
  ExpectRejected(config, "half_open_max_duration");
  config.half_open_max_duration = absl::Seconds(-10);
  ExpectRejected(config, "half_open_max_duration");
}

TEST(ConfigTest, RejectsHalfOpenMaxDurationLongerThanAYear) {
  BreakerConfig config;
  config.half_open_max_duration = absl::Hours(24 * 365) + absl::Seconds(1);
  ExpectRejected(config, "half_open_max_duration");
}

TEST(ConfigTest, RejectsStripesOutOfRange) {
  for (int bad : {-1, 1025, 4096}) {
    SCOPED_TRACE(testing::Message() << "stripes " << bad);
    BreakerConfig config;
    config.stripes = bad;
    ExpectRejected(config, "stripes");
  }
}

TEST(ConfigTest, MessageNamesTheFieldAndTheBadValue) {
  BreakerConfig config;
  config.window_size = 0;
  config.failure_rate_threshold = 50;
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The header's own example.
  EXPECT_THAT(std::string(status.message()), HasSubstr("BreakerConfig.window_size must be"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("got 0"));

  config = BreakerConfig();
  config.stripes = 2000;
  EXPECT_THAT(std::string(ValidateConfig(config).message()), HasSubstr("2000"));
}

TEST(ConfigTest, CreateReturnsExactlyTheValidationError) {
  BreakerConfig config;
  config.open_jitter = 2;
  const absl::Status expected = ValidateConfig(config);
  ASSERT_FALSE(expected.ok());
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  ASSERT_FALSE(breaker.ok());
  EXPECT_EQ(breaker.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(breaker.status().message(), expected.message());
}

}  // namespace
}  // namespace circuit
