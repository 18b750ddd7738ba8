// File: src/config.cc
// ValidateConfig(): one rule per field, each message naming the field; and
// EffectiveConsecutiveFailuresToOpen() and DefaultStripes(), the defaults
// that depend on the config or the machine.
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/config.h"

namespace circuit {
namespace {

// pybreaker's default, for a config with no rate threshold (config.h).
constexpr int kDefaultConsecutiveFailuresToOpen = 5;

absl::Status Invalid(absl::string_view field, absl::string_view rule, absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("BreakerConfig.", field, " must be ", rule, ", got ", got));
}

absl::Status CheckInt(absl::string_view field, int value, int min, int max) {
  if (value < min || value > max) {
    return Invalid(field, absl::StrCat("in ", min, "..", max), absl::StrCat(value));
  }
  return absl::OkStatus();
}

// A percentage: 0 (off) to 100 inclusive. NaN fails the comparison.
absl::Status CheckPercent(absl::string_view field, double value) {
  if (!(value >= 0 && value <= 100)) {
    return Invalid(field, "in 0..100", absl::StrCat(value));
  }
  return absl::OkStatus();
}

// Durations are kept in whole nanoseconds: a positive one must be at least 1.
absl::Status CheckPositiveFinite(absl::string_view field, absl::Duration value) {
  if (value < absl::Nanoseconds(1) || value == absl::InfiniteDuration()) {
    return Invalid(field, ">= 1ns and finite", absl::FormatDuration(value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const BreakerConfig& c) {
  absl::Status s;
  if (c.name.empty()) return Invalid("name", "non-empty", "\"\"");
  if (c.consecutive_failures_to_open.has_value() &&
      !(s = CheckInt("consecutive_failures_to_open", *c.consecutive_failures_to_open, 0,
                     1'000'000'000))
           .ok()) {
    return s;
  }
  if (!(s = CheckPercent("failure_rate_threshold", c.failure_rate_threshold)).ok()) return s;
  if (!(s = CheckPercent("slow_call_rate_threshold", c.slow_call_rate_threshold)).ok()) return s;
  // Something must be able to open the breaker.
  if (EffectiveConsecutiveFailuresToOpen(c) == 0 && c.failure_rate_threshold == 0 &&
      c.slow_call_rate_threshold == 0 && c.latency_percentile == 0) {
    return Invalid("consecutive_failures_to_open",
                   ">= 1, or unset (5), when failure_rate_threshold, "
                   "slow_call_rate_threshold and latency_percentile are 0: otherwise nothing "
                   "opens the breaker (to "
                   "record calls without ever tripping, call Breaker::MetricsOnly())",
                   "0");
  }
  if (!(s = CheckPositiveFinite("slow_call_duration", c.slow_call_duration)).ok()) return s;
  if (c.slow_call_clock != SlowCallClock::kAuto && c.slow_call_clock != SlowCallClock::kPrecise &&
      c.slow_call_clock != SlowCallClock::kCoarse && c.slow_call_clock != SlowCallClock::kCaller) {
    return Invalid("slow_call_clock", "kAuto, kPrecise, kCoarse or kCaller",
                   absl::StrCat(static_cast<int>(c.slow_call_clock)));
  }
  if (c.window_type != WindowType::kCountBased && c.window_type != WindowType::kTimeBased) {
    return Invalid("window_type", "kCountBased or kTimeBased",
                   absl::StrCat(static_cast<int>(c.window_type)));
  }
  if (!(s = CheckInt("window_size", c.window_size, 1, 1'000'000)).ok()) return s;
  if (!(s = CheckPositiveFinite("window_duration", c.window_duration)).ok()) return s;
  if (!(s = CheckInt("window_buckets", c.window_buckets, 1, 1000)).ok()) return s;
  if (c.window_duration / c.window_buckets < absl::Milliseconds(1)) {
    return Invalid("window_duration", "at least 1 ms per bucket (window_buckets)",
                   absl::StrCat(absl::FormatDuration(c.window_duration), " over ",
                                c.window_buckets, " buckets"));
  }
  if (c.minimum_calls < 1) return Invalid("minimum_calls", ">= 1", absl::StrCat(c.minimum_calls));
  if (!(s = CheckPositiveFinite("open_duration", c.open_duration)).ok()) return s;
  if (!(c.open_backoff_multiplier >= 1 && c.open_backoff_multiplier <= 1000)) {
    return Invalid("open_backoff_multiplier", "in 1..1000",
                   absl::StrCat(c.open_backoff_multiplier));
  }
  if (!(s = CheckPositiveFinite("max_open_duration", c.max_open_duration)).ok()) return s;
  if (c.max_open_duration < c.open_duration) {
    return Invalid("max_open_duration",
                   absl::StrCat(">= open_duration (", absl::FormatDuration(c.open_duration), ")"),
                   absl::FormatDuration(c.max_open_duration));
  }
  if (c.max_open_duration > absl::Hours(24 * 365)) {
    return Invalid("max_open_duration", "<= 365 days", absl::FormatDuration(c.max_open_duration));
  }
  if (!(c.open_jitter >= 0 && c.open_jitter < 1)) {
    return Invalid("open_jitter", "in [0, 1)", absl::StrCat(c.open_jitter));
  }
  if (!(s = CheckInt("half_open_trial_calls", c.half_open_trial_calls, 1, 255)).ok()) return s;
  if (!(s = CheckInt("half_open_max_concurrent", c.half_open_max_concurrent, 1,
                     c.half_open_trial_calls))
           .ok()) {
    return Invalid("half_open_max_concurrent",
                   absl::StrCat("in 1..half_open_trial_calls (", c.half_open_trial_calls, ")"),
                   absl::StrCat(c.half_open_max_concurrent));
  }
  if (c.half_open_successes_to_close < 0 ||
      c.half_open_successes_to_close > c.half_open_trial_calls) {
    return Invalid("half_open_successes_to_close",
                   absl::StrCat("0 (all trials) or in 1..half_open_trial_calls (",
                                c.half_open_trial_calls, ")"),
                   absl::StrCat(c.half_open_successes_to_close));
  }
  if (c.half_open_judge_by_rate && c.half_open_successes_to_close != 0) {
    return Invalid("half_open_successes_to_close",
                   "0 when half_open_judge_by_rate is true (the rates decide)",
                   absl::StrCat(c.half_open_successes_to_close));
  }
  if (c.half_open_judge_by_rate && c.failure_rate_threshold == 0 &&
      c.slow_call_rate_threshold == 0) {
    return Invalid("half_open_judge_by_rate",
                   "false unless failure_rate_threshold or slow_call_rate_threshold is set",
                   "true");
  }
  if (c.half_open_max_duration < absl::ZeroDuration() ||
      (c.half_open_max_duration > absl::ZeroDuration() &&
       c.half_open_max_duration < absl::Nanoseconds(1)) ||
      c.half_open_max_duration > absl::Hours(24 * 365)) {
    return Invalid("half_open_max_duration", "0 (off) or in 1ns..365 days",
                   absl::FormatDuration(c.half_open_max_duration));
  }
  if (c.half_open_probe_timeout != absl::ZeroDuration() &&
      !(c.half_open_probe_timeout >= absl::Milliseconds(1) &&
        c.half_open_probe_timeout <= absl::Hours(24 * 365))) {
    // At least 1 ms: a probe's deadline is kept in milliseconds (the
    // coarse clock that reaps it ticks every few anyway).
    return Invalid("half_open_probe_timeout", "0 (off) or in 1ms..365 days",
                   absl::FormatDuration(c.half_open_probe_timeout));
  }
  if (c.half_open_probe_timeout_outcome != ProbeTimeoutOutcome::kFailure &&
      c.half_open_probe_timeout_outcome != ProbeTimeoutOutcome::kReleased) {
    return Invalid("half_open_probe_timeout_outcome", "kFailure or kReleased",
                   absl::StrCat(static_cast<int>(c.half_open_probe_timeout_outcome)));
  }
  if (c.slow_start_duration != absl::ZeroDuration() &&
      !(c.slow_start_duration >= absl::Milliseconds(1) &&
        c.slow_start_duration <= absl::Hours(24))) {
    return Invalid("slow_start_duration", "0 (off) or in 1ms..1 day",
                   absl::FormatDuration(c.slow_start_duration));
  }
  if (c.adaptive_throttling && c.window_type != WindowType::kTimeBased) {
    return Invalid("adaptive_throttling", "false unless window_type is kTimeBased (it judges "
                   "requests and accepts over the time window)", "true");
  }
  if (!(c.adaptive_throttling_k >= 1 && c.adaptive_throttling_k <= 100)) {
    return Invalid("adaptive_throttling_k", "in 1..100", absl::StrCat(c.adaptive_throttling_k));
  }
  if (!(s = CheckPercent("latency_percentile", c.latency_percentile)).ok()) return s;
  if (c.latency_percentile > 0) {
    if (c.window_type != WindowType::kTimeBased) {
      return Invalid("latency_percentile", "0 unless window_type is kTimeBased (the percentile "
                     "is judged a bucket at a time)", absl::StrCat(c.latency_percentile));
    }
    if (!(c.latency_percentile_threshold >= absl::Microseconds(1) &&
          c.latency_percentile_threshold <= absl::Seconds(100))) {
      return Invalid("latency_percentile_threshold",
                     "in 1us..100s when latency_percentile is set",
                     absl::FormatDuration(c.latency_percentile_threshold));
    }
  }
  if (c.stripes.has_value() && !(s = CheckInt("stripes", *c.stripes, 0, 1024)).ok()) return s;
  return absl::OkStatus();
}

int EffectiveConsecutiveFailuresToOpen(const BreakerConfig& c) {
  if (c.consecutive_failures_to_open.has_value()) return *c.consecutive_failures_to_open;
  const bool rate_set = c.failure_rate_threshold > 0 || c.slow_call_rate_threshold > 0;
  return rate_set ? 0 : kDefaultConsecutiveFailuresToOpen;
}

int DefaultStripes() {
  static const int stripes = [] {
    cpu_set_t cpus;
    int count = 0;
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) count = CPU_COUNT(&cpus);
    return std::clamp(2 * count, 1, kMaxDefaultStripes);
  }();
  return stripes;
}

int EffectiveStripes(const BreakerConfig& c) {
  return c.stripes.has_value() ? *c.stripes : DefaultStripes();
}

}  // namespace circuit
