// Tests of configs as text (tools/sim/config_text.h): every field type, the
// file format, and errors that name the file, line and key.
#include "tools/sim/config_text.h"

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace sim {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTextTest, SetsEveryKindOfField) {
  BreakerConfig c;
  ASSERT_TRUE(SetConfigField(c, "failure_rate_threshold", "50%").ok());
  ASSERT_TRUE(SetConfigField(c, "consecutive_failures_to_open", "0").ok());
  ASSERT_TRUE(SetConfigField(c, "window_type", "time").ok());
  ASSERT_TRUE(SetConfigField(c, "window_duration", "10s").ok());
  ASSERT_TRUE(SetConfigField(c, "slow_call_clock", "caller").ok());
  ASSERT_TRUE(SetConfigField(c, "half_open_judge_by_rate", "true").ok());
  ASSERT_TRUE(SetConfigField(c, "half_open_max_duration", "0").ok());
  ASSERT_TRUE(SetConfigField(c, "minimum_calls", "20").ok());
  EXPECT_EQ(c.failure_rate_threshold, 50);
  EXPECT_EQ(c.consecutive_failures_to_open, 0);
  EXPECT_EQ(c.window_type, WindowType::kTimeBased);
  EXPECT_EQ(c.window_duration, absl::Seconds(10));
  EXPECT_EQ(c.slow_call_clock, SlowCallClock::kCaller);
  EXPECT_TRUE(c.half_open_judge_by_rate);
  EXPECT_EQ(c.half_open_max_duration, absl::ZeroDuration());
  EXPECT_EQ(c.minimum_calls, 20);
}

TEST(ConfigTextTest, SlowStartDurationIsADuration) {
  BreakerConfig c;
  EXPECT_EQ(c.slow_start_duration, absl::ZeroDuration());
  ASSERT_TRUE(SetConfigField(c, "slow_start_duration", "20s").ok());
  EXPECT_EQ(c.slow_start_duration, absl::Seconds(20));
  EXPECT_EQ(FormatConfig(c), "slow_start_duration=20s");
  ASSERT_TRUE(SetConfigField(c, "slow_start_duration", "0").ok());
  EXPECT_EQ(c.slow_start_duration, absl::ZeroDuration());
  EXPECT_EQ(FormatConfig(c), "defaults");
  absl::Status unitless = SetConfigField(c, "slow_start_duration", "20");
  EXPECT_EQ(unitless.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unitless.message(),
              HasSubstr("slow_start_duration: expected a duration with its unit"));
  // A file's value is validated as Breaker::Create() validates it.
  absl::StatusOr<std::vector<BreakerConfig>> configs =
      ParseConfigFile("[ramp]\nslow_start_duration = 2m\n[too-long]\nslow_start_duration = 25h\n",
                      "tuning.cfg");
  ASSERT_FALSE(configs.ok());
  EXPECT_THAT(configs.status().message(),
              HasSubstr("tuning.cfg:3: [too-long]: BreakerConfig.slow_start_duration"));
}

TEST(ConfigTextTest, AdaptiveThrottlingIsABoolAndKANumber) {
  BreakerConfig c;
  EXPECT_FALSE(c.adaptive_throttling);
  EXPECT_EQ(c.adaptive_throttling_k, 2);
  ASSERT_TRUE(SetConfigField(c, "window_type", "time").ok());
  ASSERT_TRUE(SetConfigField(c, "adaptive_throttling", "true").ok());
  ASSERT_TRUE(SetConfigField(c, "adaptive_throttling_k", "1.5").ok());
  EXPECT_TRUE(c.adaptive_throttling);
  EXPECT_EQ(c.adaptive_throttling_k, 1.5);
  EXPECT_EQ(FormatConfig(c), "window_type=time adaptive_throttling=true adaptive_throttling_k=1.5");
  // What FormatConfig() prints, SetConfigField() reads back.
  BreakerConfig back;
  for (absl::string_view pair : absl::StrSplit(FormatConfig(c), ' ')) {
    const size_t eq = pair.find('=');
    ASSERT_TRUE(SetConfigField(back, pair.substr(0, eq), pair.substr(eq + 1)).ok()) << pair;
  }
  EXPECT_TRUE(back.adaptive_throttling);
  EXPECT_EQ(back.adaptive_throttling_k, 1.5);
  // The defaults print nothing: K = 2 and throttling off.
  ASSERT_TRUE(SetConfigField(c, "adaptive_throttling", "false").ok());
  ASSERT_TRUE(SetConfigField(c, "adaptive_throttling_k", "2").ok());
  EXPECT_EQ(FormatConfig(c), "window_type=time");
  absl::Status not_bool = SetConfigField(c, "adaptive_throttling", "on");
  EXPECT_EQ(not_bool.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_bool.message(), HasSubstr("adaptive_throttling: expected true or false, got 'on'"));
  absl::Status not_number = SetConfigField(c, "adaptive_throttling_k", "two");
  EXPECT_EQ(not_number.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_number.message(), HasSubstr("adaptive_throttling_k: expected a number, got 'two'"));
  // A file's value is validated as Breaker::Create() validates it:
  // throttling needs a time window, and K is in 1..100.
  absl::StatusOr<std::vector<BreakerConfig>> configs = ParseConfigFile(
      "window_type = time\n"
      "window_duration = 10s\n"
      "[throttled]\n"
      "adaptive_throttling = true\n"
      "adaptive_throttling_k = 1.2\n"
      "[count-window]\n"
      "window_type = count\n"
      "adaptive_throttling = true\n",
      "tuning.cfg");
  ASSERT_FALSE(configs.ok());
  EXPECT_THAT(configs.status().message(),
              HasSubstr("tuning.cfg:6: [count-window]: BreakerConfig.adaptive_throttling must be"));
  configs = ParseConfigFile("window_type = time\n[k]\nadaptive_throttling = true\n"
                            "adaptive_throttling_k = 0.5\n",
                            "tuning.cfg");
  ASSERT_FALSE(configs.ok());
  EXPECT_THAT(configs.status().message(),
              HasSubstr("tuning.cfg:2: [k]: BreakerConfig.adaptive_throttling_k must be in 1..100, "
                        "got 0.5"));
  configs = ParseConfigFile("window_type = time\n[plain]\n[throttled]\nadaptive_throttling = true\n"
                            "adaptive_throttling_k = 3\n",
                            "tuning.cfg");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 2u);
  EXPECT_FALSE((*configs)[0].adaptive_throttling);
  EXPECT_TRUE((*configs)[1].adaptive_throttling);
  EXPECT_EQ((*configs)[1].adaptive_throttling_k, 3);
}

TEST(ConfigTextTest, LatencyPercentileIsANumberAndItsThresholdADuration) {
  BreakerConfig c;
  EXPECT_EQ(c.latency_percentile, 0);
  EXPECT_EQ(c.latency_percentile_threshold, absl::ZeroDuration());
  ASSERT_TRUE(SetConfigField(c, "window_type", "time").ok());
  ASSERT_TRUE(SetConfigField(c, "latency_percentile", "99.9").ok());
  ASSERT_TRUE(SetConfigField(c, "latency_percentile_threshold", "250ms").ok());
  EXPECT_EQ(c.latency_percentile, 99.9);
  EXPECT_EQ(c.latency_percentile_threshold, absl::Milliseconds(250));
  // In the header's order: the trip's two fields before the window's.
  EXPECT_EQ(FormatConfig(c),
            "latency_percentile=99.9 latency_percentile_threshold=250ms window_type=time");
  // What FormatConfig() prints, SetConfigField() reads back.
  BreakerConfig back;
  for (absl::string_view pair : absl::StrSplit(FormatConfig(c), ' ')) {
    const size_t eq = pair.find('=');
    ASSERT_TRUE(SetConfigField(back, pair.substr(0, eq), pair.substr(eq + 1)).ok()) << pair;
  }
  EXPECT_EQ(back.latency_percentile, 99.9);
  EXPECT_EQ(back.latency_percentile_threshold, absl::Milliseconds(250));
  EXPECT_EQ(FormatConfig(back), FormatConfig(c));
  // A percentile may carry a '%', as the rate thresholds do; off prints
  // nothing.
  ASSERT_TRUE(SetConfigField(c, "latency_percentile", "50%").ok());
  EXPECT_EQ(c.latency_percentile, 50);
  ASSERT_TRUE(SetConfigField(c, "latency_percentile", "0").ok());
  ASSERT_TRUE(SetConfigField(c, "latency_percentile_threshold", "0").ok());
  EXPECT_EQ(FormatConfig(c), "window_type=time");
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  };
  for (const Case& k : {
           Case{"latency_percentile", "p99", "latency_percentile: expected a number, got 'p99'"},
           Case{"latency_percentile", "inf", "latency_percentile: expected a number, got 'inf'"},
           Case{"latency_percentile_threshold", "250",
                "latency_percentile_threshold: expected a duration with its unit"},
           Case{"latency_percentile_threshold", "soon",
                "latency_percentile_threshold: expected a duration"},
       }) {
    absl::Status s = SetConfigField(c, k.key, k.value);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.value;
    EXPECT_THAT(s.message(), HasSubstr(k.message)) << k.value;
  }
  // A file's values are validated as Breaker::Create() validates them: a
  // time window, a percentile in 0..100, a threshold in 1us..100s once the
  // percentile is set (unset: zero, refused).
  struct FileCase {
    const char* text;
    const char* message;
  };
  for (const FileCase& k : {
           FileCase{"[count]\nlatency_percentile = 99\nlatency_percentile_threshold = 250ms\n",
                    "tuning.cfg:1: [count]: BreakerConfig.latency_percentile must be 0 unless "
                    "window_type is kTimeBased"},
           FileCase{"window_type = time\n[over]\nlatency_percentile = 101\n"
                    "latency_percentile_threshold = 250ms\n",
                    "tuning.cfg:2: [over]: BreakerConfig.latency_percentile must be in 0..100, "
                    "got 101"},
           FileCase{"window_type = time\n[ok]\n\n[unset]\nlatency_percentile = 99\n",
                    "tuning.cfg:4: [unset]: BreakerConfig.latency_percentile_threshold must be in "
                    "1us..100s when latency_percentile is set, got 0"},
           FileCase{"window_type = time\n[long]\nlatency_percentile = 99\n"
                    "latency_percentile_threshold = 2m\n",
                    "tuning.cfg:2: [long]: BreakerConfig.latency_percentile_threshold must be in "
                    "1us..100s when latency_percentile is set, got 2m"},
       }) {
    absl::StatusOr<std::vector<BreakerConfig>> configs = ParseConfigFile(k.text, "tuning.cfg");
    ASSERT_FALSE(configs.ok()) << k.text;
    EXPECT_THAT(configs.status().message(), HasSubstr(k.message)) << k.text;
  }
  // The trip may be a config's only one (no failures in a row); a threshold
  // without the percentile is kept and ignored.
  absl::StatusOr<std::vector<BreakerConfig>> configs = ParseConfigFile(
      "window_type = time\n"
      "latency_percentile_threshold = 250ms\n"
      "[p99-alone]\n"
      "consecutive_failures_to_open = 0\n"
      "latency_percentile = 99\n"
      "[off]\n",
      "tuning.cfg");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 2u);
  EXPECT_EQ((*configs)[0].latency_percentile, 99);
  EXPECT_EQ((*configs)[0].consecutive_failures_to_open, 0);
  EXPECT_EQ((*configs)[1].latency_percentile, 0);
  EXPECT_EQ((*configs)[1].latency_percentile_threshold, absl::Milliseconds(250));
}

TEST(ConfigTextTest, ErrorsNameTheKeyAndWhatWasExpected) {
  BreakerConfig c;
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  };
  for (const Case& k : {
           Case{"window_size", "ten", "window_size: expected an integer, got 'ten'"},
           Case{"open_duration", "30", "open_duration: expected a duration with its unit"},
           Case{"open_duration", "inf", "open_duration: expected a duration"},
           Case{"window_type", "sliding", "window_type: expected count or time, got 'sliding'"},
           Case{"failure_rate_threshold", "nan", "expected a number"},
           Case{"half_open_judge_by_rate", "maybe", "expected true or false"},
           Case{"failure_rate", "50", "unknown key 'failure_rate'; the keys are: "},
       }) {
    absl::Status s = SetConfigField(c, k.key, k.value);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.key;
    EXPECT_THAT(s.message(), HasSubstr(k.message)) << k.key;
  }
}

TEST(ConfigTextTest, FileSectionsShareTheKeysBeforeThem) {
  absl::StatusOr<std::vector<BreakerConfig>> configs = ParseConfigFile(
      "# shared\n"
      "minimum_calls = 20\n"
      "\n"
      "[fast]\n"
      "failure_rate_threshold = 50\n"
      "open_duration = 5s\n"
      "[ slow ]\n"
      "  failure_rate_threshold=25  \n"
      "minimum_calls = 40\n",
      "tuning.cfg");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 2u);
  EXPECT_EQ((*configs)[0].name, "fast");
  EXPECT_EQ((*configs)[0].minimum_calls, 20);
  EXPECT_EQ((*configs)[0].open_duration, absl::Seconds(5));
  EXPECT_EQ((*configs)[1].name, "slow");
  EXPECT_EQ((*configs)[1].minimum_calls, 40);
  EXPECT_EQ((*configs)[1].failure_rate_threshold, 25);
  EXPECT_EQ((*configs)[1].open_duration, absl::Seconds(30));
}

TEST(ConfigTextTest, FileErrorsNameTheFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& k : {
           Case{"[a]\nwindow_size = x\n", "tuning.cfg:2: window_size: expected an integer"},
           Case{"[a]\n[a]\n", "tuning.cfg:2: a second section 'a'"},
           Case{"[a\n", "tuning.cfg:1: a section header is '[name]'"},
           Case{"[]\n", "tuning.cfg:1: a section needs a name"},
           Case{"[a]\njust words\n", "tuning.cfg:2: expected 'key = value' or '[name]'"},
           Case{"minimum_calls = 5\n", "tuning.cfg: no config"},
           Case{"[ok]\n\n[bad]\nwindow_size = 0\n",
                "tuning.cfg:3: [bad]: BreakerConfig.window_size must be"},
           Case{"[none]\nconsecutive_failures_to_open = 0\n",
                "tuning.cfg:1: [none]: BreakerConfig."},
       }) {
    absl::StatusOr<std::vector<BreakerConfig>> configs = ParseConfigFile(k.text, "tuning.cfg");
    ASSERT_FALSE(configs.ok()) << k.text;
    EXPECT_THAT(configs.status().message(), HasSubstr(k.message)) << k.text;
  }
}

TEST(ConfigTextTest, FormatsOnlyWhatDiffersFromTheDefaults) {
  BreakerConfig c;
  EXPECT_EQ(FormatConfig(c), "defaults");
  c.failure_rate_threshold = 50;
  c.window_type = WindowType::kTimeBased;
  c.open_duration = absl::Seconds(5);
  EXPECT_EQ(FormatConfig(c), "failure_rate_threshold=50 window_type=time open_duration=5s");
  // What FormatConfig() prints, SetConfigField() reads back.
  BreakerConfig back;
  for (absl::string_view pair : absl::StrSplit(FormatConfig(c), ' ')) {
    const size_t eq = pair.find('=');
    ASSERT_TRUE(SetConfigField(back, pair.substr(0, eq), pair.substr(eq + 1)).ok()) << pair;
  }
  EXPECT_EQ(FormatConfig(back), FormatConfig(c));
}

}  // namespace
}  // namespace sim
}  // namespace circuit
