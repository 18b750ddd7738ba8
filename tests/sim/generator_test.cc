// Tests of the synthetic traces (tools/sim/generator.h): determinism, the
// rates and episodes they promise, and errors naming what is wrong.
#include "tools/sim/generator.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace sim {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

std::vector<TraceCall> Calls(const Scenario& s) {
  std::vector<TraceCall> calls;
  GenerateCalls(s, [&](const TraceCall& c) { calls.push_back(c); });
  return calls;
}

TEST(GeneratorTest, SameSeedSameTraceOtherSeedOtherTrace) {
  Scenario s = PresetScenario("outage").value();
  s.duration_nanos = 20 * kSecond;
  s.episodes.clear();
  const std::vector<TraceCall> a = Calls(s), b = Calls(s);
  s.seed = 2;
  const std::vector<TraceCall> c = Calls(s);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].start_nanos, b[i].start_nanos);
    ASSERT_EQ(a[i].latency_nanos, b[i].latency_nanos);
  }
  EXPECT_NE(a.front().start_nanos, c.front().start_nanos);
}

TEST(GeneratorTest, RatesAndEpisodesAreWhatTheScenarioSays) {
  Scenario s;
  s.duration_nanos = 300 * kSecond;
  s.calls_per_second = 500;
  s.error_rate = 2;
  s.episodes = {ParseEpisode(Episode::Kind::kOutage, "100s+50s@60").value(),
                ParseEpisode(Episode::Kind::kSlow, "200s+50s@1s").value()};
  ASSERT_TRUE(ValidateScenario(s).ok());
  const std::vector<TraceCall> calls = Calls(s);
  int64_t n = 0, failed = 0, outage_n = 0, outage_failed = 0, slow_n = 0, slow_over = 0;
  std::vector<int64_t> latencies;
  int64_t last = 0;
  for (const TraceCall& c : calls) {
    ASSERT_GE(c.start_nanos, last);  // sorted
    ASSERT_LT(c.start_nanos, s.duration_nanos);
    last = c.start_nanos;
    const int64_t t = c.start_nanos / kSecond;
    const bool failure = c.outcome == TraceOutcome::kFailure;
    if (t >= 100 && t < 150) {
      ++outage_n;
      outage_failed += failure;
    } else if (t >= 200 && t < 250) {
      ++slow_n;
      slow_over += c.latency_nanos >= 1 * kSecond;
    } else {
      ++n;
      failed += failure;
      latencies.push_back(c.latency_nanos);
    }
  }
  EXPECT_NEAR(static_cast<double>(calls.size()), 150'000, 1'500);  // Poisson: sd ~390
  EXPECT_NEAR(100.0 * failed / n, 2, 0.3);
  EXPECT_NEAR(100.0 * outage_failed / outage_n, 60, 2);
  EXPECT_NEAR(100.0 * slow_over / slow_n, 50, 2);  // the median became 1 s
  std::sort(latencies.begin(), latencies.end());
  EXPECT_NEAR(latencies[latencies.size() / 2], 20e6, 1e6);         // median 20 ms
  EXPECT_NEAR(latencies[latencies.size() * 99 / 100], 80e6, 6e6);  // p99 80 ms
}

TEST(GeneratorTest, ThrottlingAnswersAShareOfCallsWithAWait) {
  Scenario s = PresetScenario("throttled").value();  // 2m+3m@20s@50
  ASSERT_TRUE(ValidateScenario(s).ok());
  int64_t throttled = 0, in_episode = 0, outside = 0;
  for (const TraceCall& c : Calls(s)) {
    const bool during = c.start_nanos >= 120 * kSecond && c.start_nanos < 300 * kSecond;
    if (c.retry_after_nanos > 0) {
      ASSERT_TRUE(during);
      ASSERT_EQ(c.outcome, TraceOutcome::kFailure);
      ASSERT_EQ(c.retry_after_nanos, 20 * kSecond);
      ++throttled;
    }
    ++(during ? in_episode : outside);
  }
  EXPECT_NEAR(100.0 * throttled / in_episode, 50, 2);
  EXPECT_GT(outside, 0);
  EXPECT_THAT(ParseEpisode(Episode::Kind::kThrottled, "1m+1m").status().message(),
              HasSubstr("expected START+LENGTH@WAIT[@RATE]"));
  EXPECT_THAT(ParseEpisode(Episode::Kind::kThrottled, "1m+1m@soon").status().message(),
              HasSubstr("bad wait 'soon'"));
}

TEST(GeneratorTest, FlappingIsAnnotatedPhaseByPhase) {
  Scenario s;
  s.episodes = {ParseEpisode(Episode::Kind::kFlapping, "60s+50s/10s").value(),
                ParseEpisode(Episode::Kind::kOutage, "10s+5s").value()};
  const std::vector<Period> periods = UnhealthyPeriods(s);
  ASSERT_EQ(periods.size(), 4u);
  EXPECT_EQ(periods[0].start_nanos, 10 * kSecond);
  EXPECT_EQ(periods[1].start_nanos, 60 * kSecond);
  EXPECT_EQ(periods[1].end_nanos, 70 * kSecond);
  EXPECT_EQ(periods[2].start_nanos, 80 * kSecond);
  EXPECT_EQ(periods[3].start_nanos, 100 * kSecond);
  EXPECT_EQ(periods[3].end_nanos, 110 * kSecond);  // cut at the episode's end
}

TEST(GeneratorTest, WritesAnnotatedTraceTheReaderReadsBack) {
  Scenario s = PresetScenario("flapping").value();
  s.duration_nanos = 300 * kSecond;
  s.calls_per_second = 20;
  std::FILE* file = std::tmpfile();
  ASSERT_TRUE(WriteTrace(s, file).ok());
  std::rewind(file);
  TraceReader reader(file, "gen");
  TraceCall call;
  std::vector<TraceCall> read;
  while (*reader.Next(&call)) read.push_back(call);
  std::fclose(file);
  const std::vector<TraceCall> generated = Calls(s);
  ASSERT_EQ(read.size(), generated.size());
  for (size_t i = 0; i < read.size(); ++i) {
    ASSERT_EQ(read[i].start_nanos, generated[i].start_nanos);
    ASSERT_EQ(read[i].outcome, generated[i].outcome);
    ASSERT_EQ(read[i].latency_nanos, generated[i].latency_nanos);
  }
  EXPECT_EQ(reader.start_annotation(), 0);
  const std::vector<Period> periods = UnhealthyPeriods(s);
  ASSERT_EQ(reader.outage_annotations().size(), periods.size());
  EXPECT_EQ(reader.outage_annotations()[0].start_nanos, periods[0].start_nanos);
}

TEST(GeneratorTest, ScalingKeepsTheEpisodesInProportion) {
  Scenario s = PresetScenario("mixed").value();  // 10 min
  ScaleScenario(s, 5 * 60 * kSecond);
  ASSERT_TRUE(ValidateScenario(s).ok());
  EXPECT_EQ(s.duration_nanos, 300 * kSecond);
  EXPECT_EQ(s.episodes[0].start_nanos, 50 * kSecond);   // was 1m40s
  EXPECT_EQ(s.episodes[0].length_nanos, 30 * kSecond);  // was 1m
  EXPECT_EQ(s.episodes[2].period_nanos, 7'500'000'000);  // was 15s
}

TEST(GeneratorTest, PresetsAreValidAndUnknownNamesListTheOthers) {
  for (const char* name : {"steady", "outage", "slow", "flapping", "throttled", "mixed"}) {
    absl::StatusOr<Scenario> s = PresetScenario(name);
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_TRUE(ValidateScenario(*s).ok()) << name;
  }
  absl::StatusOr<Scenario> s = PresetScenario("chaos");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("steady, outage, slow, flapping, throttled and mixed"));
}

TEST(GeneratorTest, BadEpisodesAndScenariosSayWhy) {
  struct Case {
    Episode::Kind kind;
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{Episode::Kind::kOutage, "2m", "expected START+LENGTH[@RATE]"},
           Case{Episode::Kind::kOutage, "2m+1m@150", "bad error rate '150'"},
           Case{Episode::Kind::kOutage, "soon+1m", "bad start 'soon'"},
           Case{Episode::Kind::kSlow, "2m+1m", "expected START+LENGTH@LATENCY"},
           Case{Episode::Kind::kSlow, "2m+1m@slow", "bad latency 'slow'"},
           Case{Episode::Kind::kFlapping, "2m+1m", "expected START+LENGTH/PERIOD[@RATE]"},
       }) {
    absl::StatusOr<Episode> e = ParseEpisode(c.kind, c.spec);
    ASSERT_FALSE(e.ok()) << c.spec;
    EXPECT_THAT(e.status().message(), HasSubstr(c.message)) << c.spec;
  }
  Scenario s;
  s.episodes = {ParseEpisode(Episode::Kind::kOutage, "9m+2m").value()};
  EXPECT_THAT(ValidateScenario(s).message(), HasSubstr("within the trace's duration"));
  s.episodes = {ParseEpisode(Episode::Kind::kFlapping, "1m+10s/20s").value()};
  EXPECT_THAT(ValidateScenario(s).message(), HasSubstr("a period in (0, its length]"));
  s.episodes.clear();
  s.calls_per_second = 0;
  EXPECT_THAT(ValidateScenario(s).message(), HasSubstr("calls_per_second must be"));
  s.calls_per_second = 1;
  s.latency_p99_nanos = 1;
  EXPECT_THAT(ValidateScenario(s).message(), HasSubstr("latency_p99 must be at least"));
}

}  // namespace
}  // namespace sim
}  // namespace circuit
