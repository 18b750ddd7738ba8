// Tests of the replay (tools/sim/replay.h) on scripted traces whose every
// decision is worked out by hand: when it opens and closes, which calls are
// rejected, calls in flight across transitions, and the report's judgement.
#include "tools/sim/replay.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/sim/summary.h"

namespace circuit {
namespace sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000 * kMs;

TraceCall Call(int64_t start, TraceOutcome outcome, int64_t latency) {
  return TraceCall{start, outcome, latency};
}

// Calls every 100 ms from 0 to `end` (exclusive), 10 ms each, failing in
// [fail_from, fail_until).
std::vector<TraceCall> Every100ms(int64_t end, int64_t fail_from, int64_t fail_until) {
  std::vector<TraceCall> calls;
  for (int64_t t = 0; t < end; t += 100 * kMs) {
    const bool fails = t >= fail_from && t < fail_until;
    calls.push_back(Call(t, fails ? TraceOutcome::kFailure : TraceOutcome::kSuccess, 10 * kMs));
  }
  return calls;
}

Report ReplayAll(std::vector<BreakerConfig> configs, const std::vector<TraceCall>& calls,
           ReplayOptions options = {}) {
  auto replay = Replay::Create(std::move(configs), std::move(options), 0);
  EXPECT_TRUE(replay.ok()) << replay.status();
  for (const TraceCall& call : calls) {
    EXPECT_TRUE((*replay)->Feed(call).ok());
  }
  return (*replay)->Finish({});
}

TEST(ReplayTest, DefaultConfigThroughATenSecondOutage) {
  BreakerConfig config;  // 5 failures in a row; OPEN 30 s; one trial
  config.name = "default";
  ReplayOptions options;
  options.outages = {Period{10 * kSecond, 20 * kSecond}};
  const Report report = ReplayAll({config}, Every100ms(60 * kSecond, 10 * kSecond, 20 * kSecond), options);
  ASSERT_EQ(report.configs.size(), 1u);
  const ConfigResult& r = report.configs[0];
  // Failures start at 10.0 s; the fifth (started 10.4 s) ends at 10.41 s.
  ASSERT_EQ(r.transitions.size(), 3u);
  EXPECT_EQ(r.transitions[0].at_nanos, 10'410 * kMs);
  EXPECT_EQ(r.transitions[0].to, State::kOpen);
  EXPECT_EQ(r.transitions[0].cause, TransitionCause::kConsecutiveFailures);
  // 30 s later (40.41 s) the next call, at 40.5 s, is the trial ...
  EXPECT_EQ(r.transitions[1].at_nanos, 40'500 * kMs);
  EXPECT_EQ(r.transitions[1].to, State::kHalfOpen);
  // ... and its success, at 40.51 s, closes it.
  EXPECT_EQ(r.transitions[2].at_nanos, 40'510 * kMs);
  EXPECT_EQ(r.transitions[2].to, State::kClosed);

  EXPECT_EQ(r.rejected, 300);               // 10.5 s .. 40.4 s
  EXPECT_EQ(r.rejected_while_healthy, 205);  // 20.0 s .. 40.4 s
  EXPECT_EQ(r.admitted, 600 - 300);
  EXPECT_EQ(r.failures_admitted, 5);
  EXPECT_EQ(r.openings, 1);
  EXPECT_EQ(r.openings_while_healthy, 0);
  EXPECT_EQ(r.closings, 1);
  ASSERT_EQ(r.outages.size(), 1u);
  EXPECT_TRUE(r.outages[0].opened);
  EXPECT_EQ(r.outages[0].time_to_open_nanos, 410 * kMs);
  EXPECT_EQ(r.outages[0].time_to_close_nanos, 20'510 * kMs);
  EXPECT_EQ(r.nanos_in_state[static_cast<int>(State::kOpen)], 40'500 * kMs - 10'410 * kMs);
  EXPECT_EQ(r.nanos_in_state[static_cast<int>(State::kHalfOpen)], 10 * kMs);
  // The timeline's buckets: OPEN held longest from 11 s to 39 s.
  EXPECT_EQ(r.bucket_state[9], State::kClosed);
  EXPECT_EQ(r.bucket_state[10], State::kOpen);  // open from 10.41 s
  EXPECT_EQ(r.bucket_state[39], State::kOpen);
  EXPECT_EQ(r.bucket_state[40], State::kOpen);  // until 40.5 s of it
  EXPECT_EQ(r.bucket_state[41], State::kClosed);
  EXPECT_EQ(r.bucket_rejected[25], 10u);
  EXPECT_EQ(report.outage_source, OutageSource::kGiven);
}

TEST(ReplayTest, ATrialInFlightHoldsItsSlotUntilItEnds) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 1;
  config.open_duration = absl::Seconds(1);
  auto simulation = Simulation::Create(config, 0).value();
  EXPECT_TRUE(simulation->Feed(Call(0, TraceOutcome::kFailure, 0)));  // opens at 0
  EXPECT_FALSE(simulation->Feed(Call(500 * kMs, TraceOutcome::kSuccess, 0)));
  // The trial: admitted at 1 s, it takes 5 s.
  EXPECT_TRUE(simulation->Feed(Call(1 * kSecond, TraceOutcome::kSuccess, 5 * kSecond)));
  EXPECT_FALSE(simulation->Feed(Call(1'500 * kMs, TraceOutcome::kSuccess, 0)));
  EXPECT_FALSE(simulation->Feed(Call(5'999 * kMs, TraceOutcome::kSuccess, 0)));
  // It ends at 6 s, before the call that starts then: that one is admitted.
  EXPECT_TRUE(simulation->Feed(Call(6 * kSecond, TraceOutcome::kSuccess, 0)));
  const std::vector<Transition>& t = simulation->transitions();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].to, State::kClosed);
  EXPECT_EQ(t[2].at_nanos, 6 * kSecond);
}

TEST(ReplayTest, ALateOutcomeOfAnEarlierStateChangesNothing) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 2;
  config.open_duration = absl::Seconds(1);
  auto simulation = Simulation::Create(config, 0).value();
  // A: admitted while CLOSED, fails only at 10 s.
  EXPECT_TRUE(simulation->Feed(Call(0, TraceOutcome::kFailure, 10 * kSecond)));
  EXPECT_TRUE(simulation->Feed(Call(1 * kSecond, TraceOutcome::kFailure, 0)));
  EXPECT_TRUE(simulation->Feed(Call(2 * kSecond, TraceOutcome::kFailure, 0)));  // opens at 2 s
  EXPECT_TRUE(simulation->Feed(Call(3'500 * kMs, TraceOutcome::kSuccess, 0)));  // the trial
  EXPECT_TRUE(simulation->Feed(Call(4 * kSecond, TraceOutcome::kFailure, 0)));  // one of two
  EXPECT_TRUE(simulation->Feed(Call(11 * kSecond, TraceOutcome::kSuccess, 0)));
  simulation->Finish();
  // A's failure at 10 s belongs to the first CLOSED period: it is not the
  // second failure in a row of the new one.
  ASSERT_EQ(simulation->transitions().size(), 3u);
  EXPECT_EQ(simulation->transitions()[2].to, State::kClosed);
  EXPECT_EQ(simulation->breaker().state(), State::kClosed);
}

TEST(ReplayTest, SlowCallsAreJudgedByTheTracesLatency) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 0;
  config.slow_call_rate_threshold = 50;
  config.slow_call_duration = absl::Seconds(1);  // kAuto: the coarse clock, were it read
  config.window_size = 4;
  config.minimum_calls = 4;
  auto simulation = Simulation::Create(config, 0).value();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(simulation->Feed(Call(i * kMs, TraceOutcome::kSuccess, 999 * kMs)));
  }
  EXPECT_TRUE(simulation->Feed(Call(3 * kMs, TraceOutcome::kSuccess, 1 * kSecond)));
  EXPECT_TRUE(simulation->Feed(Call(4 * kMs, TraceOutcome::kSuccess, 1 * kSecond)));
  simulation->Finish();
  // At 1003 ms the window is 999, 999, 999, 1000 ms: one slow call of four.
  // At 1004 ms it is 999, 999, 1000, 1000: half are slow, and it opens.
  ASSERT_EQ(simulation->transitions().size(), 1u);
  EXPECT_EQ(simulation->transitions()[0].cause, TransitionCause::kSlowCallRate);
  EXPECT_EQ(simulation->transitions()[0].at_nanos, 1'004 * kMs);
}

TEST(ReplayTest, ARetryAfterOpensForTheWaitUnlessTheConfigIgnoresIt) {
  BreakerConfig config;  // 5 failures in a row, 30 s open
  ReplayOptions options;
  options.honor_retry_after = {true, false};
  auto replay = Replay::Create({config, config}, options, 0).value();
  // One 429 asking for 2 s at 1 s, then healthy calls every 100 ms.
  ASSERT_TRUE(replay->Feed(TraceCall{1 * kSecond, TraceOutcome::kFailure, 0, 2 * kSecond}).ok());
  for (int64_t t = 1'100 * kMs; t < 5 * kSecond; t += 100 * kMs) {
    ASSERT_TRUE(replay->Feed(Call(t, TraceOutcome::kSuccess, 0)).ok());
  }
  const Report report = replay->Finish({});
  const ConfigResult& honoring = report.configs[0];
  ASSERT_EQ(honoring.transitions.size(), 3u);
  EXPECT_EQ(honoring.transitions[0].cause, TransitionCause::kRetryAfter);
  EXPECT_EQ(honoring.transitions[0].value, 2);
  EXPECT_EQ(honoring.transitions[1].at_nanos, 3'000 * kMs);  // the first call 2 s later
  EXPECT_EQ(honoring.rejected, 19);                          // 1.1 s .. 2.9 s
  EXPECT_TRUE(report.configs[0].honor_retry_after);
  EXPECT_FALSE(report.configs[1].honor_retry_after);
  EXPECT_TRUE(report.configs[1].transitions.empty());  // one failure of 5 in a row
}

TEST(ReplayTest, ConfigsSideBySideSeeTheSameTrace) {
  BreakerConfig eager;
  eager.name = "eager";
  eager.consecutive_failures_to_open = 2;
  BreakerConfig patient;
  patient.name = "patient";
  patient.consecutive_failures_to_open = 20;
  ReplayOptions options;
  options.outages = {Period{10 * kSecond, 11 * kSecond}};
  const Report report =
      ReplayAll({eager, patient}, Every100ms(30 * kSecond, 10 * kSecond, 11 * kSecond), options);
  ASSERT_EQ(report.configs.size(), 2u);
  EXPECT_EQ(report.calls, 300);
  EXPECT_EQ(report.configs[0].openings, 1);
  EXPECT_EQ(report.configs[0].outages[0].time_to_open_nanos, 110 * kMs);
  EXPECT_EQ(report.configs[1].openings, 0);  // 10 failures in a row, never 20
  EXPECT_FALSE(report.configs[1].outages[0].opened);
  EXPECT_FALSE(report.configs[1].outages[0].time_to_open_nanos.has_value());
  EXPECT_EQ(report.configs[1].rejected, 0);
  EXPECT_EQ(report.configs[1].failures_admitted, 10);
}

TEST(ReplayTest, SlowStartShedsCallsWhileItRampsUpTheSameEveryTime) {
  BreakerConfig plain;  // 5 failures in a row; OPEN 30 s; one trial
  plain.name = "plain";
  BreakerConfig ramp = plain;
  ramp.name = "ramp";
  ramp.slow_start_duration = absl::Seconds(10);
  ReplayOptions options;
  options.outages = {Period{10 * kSecond, 20 * kSecond}};
  const std::vector<TraceCall> calls = Every100ms(60 * kSecond, 10 * kSecond, 20 * kSecond);
  const Report report = ReplayAll({plain, ramp}, calls, options);
  ASSERT_EQ(report.configs.size(), 2u);
  const ConfigResult& p = report.configs[0];
  const ConfigResult& r = report.configs[1];
  // Both close at 40.51 s (as in DefaultConfigThroughATenSecondOutage); a
  // shed call changes no state.
  ASSERT_EQ(r.transitions.size(), 3u);
  EXPECT_EQ(r.transitions[2].at_nanos, 40'510 * kMs);
  EXPECT_EQ(r.transitions[2].to, State::kClosed);
  EXPECT_EQ(p.shed, 0);
  EXPECT_EQ(p.rejected, 300);
  // Then the ramp admits a share rising from 0 to all by 50.51 s: of the
  // 100 calls from 40.6 s to 50.5 s about half are shed, and none after.
  EXPECT_EQ(r.rejected, 300 + r.shed);
  EXPECT_GT(r.shed, 25);
  EXPECT_LT(r.shed, 75);
  EXPECT_EQ(r.failures_admitted, 5);
  int64_t rejected_after_ramp = 0;
  for (size_t b = 51; b < r.bucket_rejected.size(); ++b) rejected_after_ramp += r.bucket_rejected[b];
  EXPECT_EQ(rejected_after_ramp, 0);
  // Each simulation draws from its own generator, seeded alike: the same
  // config sheds the same calls again, alone or beside another ramp.
  BreakerConfig twin = ramp;
  twin.name = "twin";
  const Report again = ReplayAll({ramp, twin}, calls, options);
  for (const ConfigResult& a : again.configs) {
    EXPECT_EQ(a.shed, r.shed) << a.config.name;
    EXPECT_EQ(a.bucket_rejected, r.bucket_rejected) << a.config.name;
  }
  // The report has a row for it only when a config ramps.
  const std::string summary = FormatSummary(report, "calls.csv", 0);
  const size_t row = summary.find("\n  shed while CLOSED ");
  ASSERT_NE(row, std::string::npos) << summary;
  const std::vector<std::string> cells =
      absl::StrSplit(summary.substr(row + 1, summary.find('\n', row + 1) - row - 1), ' ',
                     absl::SkipEmpty());
  EXPECT_THAT(cells, ::testing::ElementsAre("shed", "while", "CLOSED", "0",
                                            absl::StrCat(r.shed)));
  EXPECT_THAT(FormatSummary(ReplayAll({plain}, calls, options), "calls.csv", 0),
              Not(HasSubstr("shed")));
}

TEST(ReplayTest, ThrottlingShedsCallsWhileClosedTheSameEveryTime) {
  // A call every 100 ms for 2 minutes; from 10 s to 40 s four of every
  // five fail (a partial failure that never has 1,000 in a row).
  std::vector<TraceCall> calls = Every100ms(120 * kSecond, 0, 0);
  for (size_t i = 100; i < 400; ++i) {
    if (i % 5 != 0) calls[i].outcome = TraceOutcome::kFailure;
  }
  BreakerConfig plain;
  plain.name = "plain";
  plain.consecutive_failures_to_open = 1000;
  plain.window_type = WindowType::kTimeBased;
  plain.window_duration = absl::Seconds(10);
  BreakerConfig throttled = plain;
  throttled.name = "throttled";
  throttled.adaptive_throttling = true;
  ReplayOptions options;
  options.outages = {Period{10 * kSecond, 40 * kSecond}};
  const Report report = ReplayAll({plain, throttled}, calls, options);
  ASSERT_EQ(report.configs.size(), 2u);
  const ConfigResult& p = report.configs[0];
  const ConfigResult& t = report.configs[1];
  // Neither opens: every rejection is the throttle's, made while CLOSED.
  EXPECT_TRUE(p.transitions.empty());
  EXPECT_TRUE(t.transitions.empty());
  EXPECT_EQ(p.rejected, 0);
  EXPECT_EQ(p.shed, 0);
  EXPECT_EQ(p.failures_admitted, 240);
  EXPECT_EQ(t.rejected, t.shed);
  // The dependency accepts a fifth of what it is sent, under 1/K = 1/2:
  // the probability climbs, and most of the failing calls are shed.
  EXPECT_GT(t.shed, 150);
  EXPECT_LT(t.failures_admitted, 120);
  // Nothing is throttled before the failures begin, and the throttle has
  // eased off well before the end (it takes a few windows of successes).
  for (size_t b = 0; b < 10; ++b) EXPECT_EQ(t.bucket_rejected[b], 0u) << b;
  for (size_t b = 100; b < t.bucket_rejected.size(); ++b) {
    EXPECT_EQ(t.bucket_rejected[b], 0u) << b;
  }
  // Each simulation draws from its own generator, seeded alike: the same
  // config sheds the same calls again, alone or beside another.
  BreakerConfig twin = throttled;
  twin.name = "twin";
  const Report again = ReplayAll({throttled, twin}, calls, options);
  for (const ConfigResult& a : again.configs) {
    EXPECT_EQ(a.shed, t.shed) << a.config.name;
    EXPECT_EQ(a.bucket_rejected, t.bucket_rejected) << a.config.name;
  }
  // The report's shed row counts them; a report without slow start or
  // throttling has none.
  const std::string summary = FormatSummary(report, "calls.csv", 0);
  const size_t row = summary.find("\n  shed while CLOSED ");
  ASSERT_NE(row, std::string::npos) << summary;
  const std::vector<std::string> cells =
      absl::StrSplit(summary.substr(row + 1, summary.find('\n', row + 1) - row - 1), ' ',
                     absl::SkipEmpty());
  EXPECT_THAT(cells, ::testing::ElementsAre("shed", "while", "CLOSED", "0",
                                            absl::StrCat(t.shed)));
  EXPECT_THAT(FormatSummary(ReplayAll({plain}, calls, options), "calls.csv", 0),
              Not(HasSubstr("shed")));
}

TEST(ReplayTest, ALatencyPercentileSeesTheTailThatRatesDoNot) {
  // A call every 100 ms for 30 s, 10 ms each; from 10 s the one on each
  // whole second takes 800 ms: a tenth of the calls, no failure.
  std::vector<TraceCall> calls = Every100ms(30 * kSecond, 0, 0);
  for (size_t i = 100; i < calls.size(); i += 10) calls[i].latency_nanos = 800 * kMs;
  BreakerConfig base;
  base.consecutive_failures_to_open = 0;
  base.window_type = WindowType::kTimeBased;
  base.window_duration = absl::Seconds(10);
  base.window_buckets = 10;
  base.minimum_calls = 20;
  base.open_duration = absl::Seconds(5);
  BreakerConfig slow_rate = base;
  slow_rate.name = "slow-rate";
  slow_rate.slow_call_rate_threshold = 50;
  slow_rate.slow_call_duration = absl::Milliseconds(500);
  BreakerConfig p99 = base;
  p99.name = "p99";
  p99.latency_percentile = 99;
  p99.latency_percentile_threshold = absl::Milliseconds(250);
  BreakerConfig p50 = p99;
  p50.name = "p50";
  p50.latency_percentile = 50;
  ReplayOptions options;
  options.outages = {Period{10 * kSecond, 30 * kSecond}};
  const Report report = ReplayAll({slow_rate, p99, p50}, calls, options);
  ASSERT_EQ(report.configs.size(), 3u);
  // A tenth of the calls is slow: neither half of them nor the median.
  EXPECT_TRUE(report.configs[0].transitions.empty());
  EXPECT_TRUE(report.configs[2].transitions.empty());
  // The p99 is judged at each bucket's first outcome, over the 10 buckets
  // just completed. At 11.11 s (the 11.0 s call is still running) the
  // window holds the 100 calls of 1.0 s to 10.9 s, one of them slow: the
  // 99th smallest is 10 ms. At 12.11 s it holds those of 2.0 s to 11.9 s,
  // two slow: the 99th is 800 ms, in the bin up to 812.5 ms.
  const ConfigResult& r = report.configs[1];
  ASSERT_GE(r.transitions.size(), 1u);
  const Transition& trip = r.transitions[0];
  EXPECT_EQ(trip.at_nanos, 12'110 * kMs);
  EXPECT_EQ(trip.from, State::kClosed);
  EXPECT_EQ(trip.to, State::kOpen);
  EXPECT_EQ(trip.cause, TransitionCause::kLatencyPercentile);
  EXPECT_DOUBLE_EQ(trip.value, 0.8125);
  EXPECT_DOUBLE_EQ(trip.threshold, 0.25);
  // A trial of 10 ms closes it; the tail opens it again, every time by the
  // percentile.
  EXPECT_GT(r.openings, 1);
  for (const Transition& t : r.transitions) {
    if (t.from == State::kClosed) {
      EXPECT_EQ(t.cause, TransitionCause::kLatencyPercentile);
    }
  }
  // The report counts openings by cause and shows the percentile and the
  // threshold as durations.
  const std::string summary = FormatSummary(report, "calls.csv", 1);
  EXPECT_THAT(summary, HasSubstr("LATENCY_PERCENTILE (p99 812.5ms, threshold 250ms)\n"));
  const size_t row = summary.find("\n  by cause ");
  ASSERT_NE(row, std::string::npos) << summary;
  const std::vector<std::string> cells =
      absl::StrSplit(summary.substr(row + 1, summary.find('\n', row + 1) - row - 1), ' ',
                     absl::SkipEmpty());
  EXPECT_THAT(cells, ::testing::ElementsAre("by", "cause", "-", "LATENCY_PERCENTILE",
                                            absl::StrCat(r.openings), "-"));
  // A report without the percentile trip keeps its rows.
  EXPECT_THAT(FormatSummary(ReplayAll({slow_rate}, calls, options), "calls.csv", 0),
              Not(HasSubstr("by cause")));
}

TEST(ReplayTest, OpeningsOutsideEveryOutageAreFlapping) {
  BreakerConfig config;
  config.consecutive_failures_to_open = 2;
  config.open_duration = absl::Seconds(1);
  ReplayOptions options;
  options.outages = {Period{50 * kSecond, 60 * kSecond}};  // the failures are not in it
  const Report report = ReplayAll({config}, Every100ms(30 * kSecond, 10 * kSecond, 10'200 * kMs), options);
  EXPECT_EQ(report.configs[0].openings, 1);
  EXPECT_EQ(report.configs[0].openings_while_healthy, 1);
}

TEST(ReplayTest, OutagesAreDetectedFromTheTraceWhenNotGiven) {
  BreakerConfig config;
  std::vector<TraceCall> calls = Every100ms(20 * kSecond, 5 * kSecond, 8 * kSecond);
  // A gap with no calls at all inside the outage continues it.
  calls.erase(std::remove_if(calls.begin(), calls.end(),
                             [](const TraceCall& c) {
                               return c.start_nanos >= 6 * kSecond && c.start_nanos < 7 * kSecond;
                             }),
              calls.end());
  const Report report = ReplayAll({config}, calls);
  EXPECT_EQ(report.outage_source, OutageSource::kDetected);
  ASSERT_EQ(report.outages.size(), 1u);
  EXPECT_EQ(report.outages[0].start_nanos, 5 * kSecond);
  EXPECT_EQ(report.outages[0].end_nanos, 8 * kSecond);
  EXPECT_TRUE(report.buckets[6].unhealthy);
  EXPECT_FALSE(report.buckets[8].unhealthy);
}

TEST(ReplayTest, AnnotatedOutagesComeAfterGivenOnes) {
  auto replay = Replay::Create({BreakerConfig()}, ReplayOptions(), 0).value();
  ASSERT_TRUE(replay->Feed(Call(0, TraceOutcome::kSuccess, 0)).ok());
  const Report report = replay->Finish({Period{1 * kSecond, 2 * kSecond}});
  EXPECT_EQ(report.outage_source, OutageSource::kAnnotated);
  ASSERT_EQ(report.outages.size(), 1u);
}

TEST(ReplayTest, RefusesWhatItCannotDo) {
  BreakerConfig bad;
  bad.name = "bad";
  bad.window_size = 0;
  absl::StatusOr<std::unique_ptr<Replay>> replay = Replay::Create({bad}, ReplayOptions(), 0);
  ASSERT_FALSE(replay.ok());
  EXPECT_THAT(replay.status().message(), HasSubstr("config 'bad': BreakerConfig.window_size"));

  EXPECT_FALSE(Replay::Create({}, ReplayOptions(), 0).ok());
  ReplayOptions uneven;
  uneven.honor_retry_after = {true, false};
  EXPECT_THAT(Replay::Create({BreakerConfig()}, uneven, 0).status().message(),
              HasSubstr("one entry per config"));
  ReplayOptions fine;
  fine.bucket_nanos = 1;
  EXPECT_THAT(Replay::Create({BreakerConfig()}, fine, 0).status().message(),
              HasSubstr("at least 1ms"));

  ReplayOptions small;
  small.max_buckets = 100;
  replay = Replay::Create({BreakerConfig()}, small, 0);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE((*replay)->Feed(Call(99 * kSecond, TraceOutcome::kSuccess, 0)).ok());
  absl::Status too_long = (*replay)->Feed(Call(100 * kSecond, TraceOutcome::kSuccess, 0));
  EXPECT_THAT(too_long.message(), HasSubstr("use a bucket of at least 1.001s"));
}

}  // namespace
}  // namespace sim
}  // namespace circuit
