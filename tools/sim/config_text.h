// File: tools/sim/config_text.h
// BreakerConfig as text, for circuit_sim: a field set from "key = value",
// a file of named configs to compare, and a config printed back.
//
// A config file holds one or more sections; each is a config, named by its
// header, whose unset fields keep BreakerConfig's defaults:
//
//   # tuning.cfg
//   [rate-50]
//   failure_rate_threshold = 50
//   window_type = time
//   window_duration = 10s
//   minimum_calls = 20
//
//   [rate-25-slow]
//   failure_rate_threshold = 25
//   slow_call_rate_threshold = 50
//   slow_call_duration = 500ms
//
// Keys are BreakerConfig's field names (the list below); durations take a
// unit ("30s", "250ms"); window_type is count or time; slow_call_clock is
// auto, precise, coarse or caller; booleans are true or false; percentages
// (the thresholds, latency_percentile) may carry a '%'. Errors name
// the file, line and key: "tuning.cfg:7: window_size: expected an integer,
// got 'ten'".
#ifndef CIRCUIT_TOOLS_SIM_CONFIG_TEXT_H_
#define CIRCUIT_TOOLS_SIM_CONFIG_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "circuit/config.h"

namespace circuit {
namespace sim {

// The fields that can be set from text, with a one-line help each: one
// list for the parser, the tool's flags (one flag a field) and the docs.
#define CIRCUIT_SIM_CONFIG_FIELDS(X)                                                       \
  X(consecutive_failures_to_open, "failures in a row that open it (0 off)")                \
  X(failure_rate_threshold, "failure rate, in percent, that opens it (0 off)")             \
  X(slow_call_rate_threshold, "slow-call rate, in percent, that opens it (0 off)")         \
  X(slow_call_duration, "a call at least this long is slow (e.g. 500ms)")                  \
  X(slow_call_clock, "auto, precise, coarse or caller")                                    \
  X(latency_percentile, "time window: this percentile of the calls' durations opens it "   \
                        "when above latency_percentile_threshold (0 off, e.g. 99)")        \
  X(latency_percentile_threshold, "the duration that percentile must not exceed (e.g. 250ms)") \
  X(window_type, "count or time")                                                          \
  X(window_size, "count window: the last N calls")                                         \
  X(window_duration, "time window: its span (e.g. 60s)")                                   \
  X(window_buckets, "time window: buckets in the span")                                    \
  X(minimum_calls, "calls in the window before a rate is judged")                          \
  X(open_duration, "how long it stays OPEN (e.g. 30s)")                                    \
  X(open_backoff_multiplier, "each reopening multiplies the open duration by this")        \
  X(max_open_duration, "cap of an open period")                                            \
  X(open_jitter, "fraction by which each open period is randomized")                       \
  X(half_open_max_concurrent, "trial calls in flight at once")                             \
  X(half_open_trial_calls, "trial calls that decide")                                      \
  X(half_open_successes_to_close, "successful trials of half_open_trial_calls that close") \
  X(half_open_judge_by_rate, "true: judge the trials by the rates")                        \
  X(half_open_max_duration, "longest HALF_OPEN without a verdict (0 off)")                 \
  X(half_open_probe_timeout, "longest one trial call may take (0 off)")                    \
  X(half_open_probe_timeout_outcome, "a timed-out trial counts as: failure or released")   \
  X(slow_start_duration, "after closing, admit a share rising to all over this (0 off)")   \
  X(adaptive_throttling, "true: while CLOSED, shed calls as the dependency accepts less")   \
  X(adaptive_throttling_k, "throttling: send up to K times the calls it accepts (1..100)")

// SetConfigField()
// Sets config.<key> from `value`. InvalidArgumentError "<key>: expected
// ..., got '<value>'", or "unknown key '<key>'" (with the known keys).
// Does not validate the config as a whole (ValidateConfig() does).
absl::Status SetConfigField(BreakerConfig& config, absl::string_view key,
                            absl::string_view value);

// ParseConfigFile()
// The sections of a config file's `text`, in order, each a config named by
// its header, every one validated with ValidateConfig(). `file_name`
// prefixes every error with the line: "tuning.cfg:7: ...". Keys before the
// first section header belong to every section (a shared base). An error
// if there is no section, a name repeats, or a section is invalid.
absl::StatusOr<std::vector<BreakerConfig>> ParseConfigFile(absl::string_view text,
                                                           absl::string_view file_name);

// FormatConfig()
// The fields of `config` that differ from BreakerConfig's defaults, as
// "key=value" joined by spaces ("defaults" if none): a config's one-line
// identity in the tool's output.
std::string FormatConfig(const BreakerConfig& config);

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_CONFIG_TEXT_H_
