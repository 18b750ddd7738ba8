// File: tools/sim/main.cc
// circuit_sim: try breaker configs on a trace of calls before shipping them.
//
//   circuit_sim generate --scenario=mixed --out=calls.csv
//   circuit_sim replay --trace=calls.csv --config=tuning.cfg --plot=timeline.png
//   circuit_sim replay --trace=calls.csv --failure_rate_threshold=50
//       --minimum_calls=20 --sweep=open_duration=5s,30s,2m   (one line)
//
// `generate` writes a synthetic trace (tools/sim/generator.h); `replay`
// runs a trace (tools/sim/trace.h) through one breaker per config on a
// simulated clock (tools/sim/replay.h) and prints the configs side by side
// (tools/sim/summary.h), optionally with a plot and a CSV timeline.
// docs/tuning.md is the guide. Exit status: 0, or 1 with one line on
// standard error naming what was wrong (file and line for bad input); a
// failed run writes no output file.
#include <cmath>
#include <cstdio>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "config_text.h"
#include "generator.h"
#include "output_file.h"
#include "plot.h"
#include "replay.h"
#include "summary.h"
#include "trace.h"

// ---- generate ----------------------------------------------------------------
ABSL_FLAG(std::string, scenario, "mixed",
          "generate: the base scenario: steady, outage, slow, flapping, throttled or mixed");
ABSL_FLAG(std::string, duration, "",
          "generate: the trace's length (default 10m; the scenario's episodes keep their "
          "places in proportion)");
ABSL_FLAG(std::string, rate, "",
          "generate: calls per second (default 200)");
ABSL_FLAG(std::string, error_rate, "",
          "generate: percent of calls failing outside episodes (default 1)");
ABSL_FLAG(std::string, latency, "",
          "generate: median latency (default 20ms)");
ABSL_FLAG(std::string, latency_p99, "",
          "generate: 99th percentile latency (default 80ms)");
ABSL_FLAG(std::vector<std::string>, outage, {},
          "generate: more outages, START+LENGTH[@RATE] (e.g. 2m+1m@100)");
ABSL_FLAG(std::vector<std::string>, slow, {},
          "generate: more slow episodes, START+LENGTH@LATENCY (e.g. 5m+1m@2s)");
ABSL_FLAG(std::vector<std::string>, flapping, {},
          "generate: more flapping, START+LENGTH/PERIOD[@RATE] (e.g. 7m+2m/10s)");
ABSL_FLAG(std::vector<std::string>, throttled, {},
          "generate: more throttling, START+LENGTH@WAIT[@RATE]: RATE % of calls (default 100) "
          "fail with 'retry after WAIT' (e.g. 2m+3m@20s@50)");
ABSL_FLAG(uint64_t, seed, 1, "generate: the random seed");
ABSL_FLAG(std::string, out, "-", "generate: where the trace goes ('-': standard output)");

// ---- replay ------------------------------------------------------------------
ABSL_FLAG(std::string, trace, "", "replay: the trace file ('-': standard input)");
ABSL_FLAG(std::string, config, "",
          "replay: a file of [name] sections, one config each, compared side by side");
ABSL_FLAG(std::string, name, "flags", "replay: the name of the config given by flags");
ABSL_FLAG(std::string, sweep, "",
          "replay: KEY=V1,V2,...: one config per value of KEY, from each config");
ABSL_FLAG(std::string, bucket, "1s", "replay: the timeline's resolution");
ABSL_FLAG(std::vector<std::string>, known_outages, {},
          "replay: when the dependency was down, START+LENGTH from the trace's start "
          "(default: the trace's '# outage' lines, else detected from its failure rate)");
ABSL_FLAG(double, unhealthy_failure_rate, 50,
          "replay: detecting outages: a bucket with this percent of failures is unhealthy");
ABSL_FLAG(double, unhealthy_slow_rate, 50,
          "replay: detecting outages: ... or with this percent of slow calls");
ABSL_FLAG(std::string, unhealthy_latency, "",
          "replay: a slow call for outages and the plot (default: the slow_call_duration of "
          "the first config that judges slow calls, else the latency_percentile_threshold of "
          "the first with a latency percentile)");
ABSL_FLAG(std::string, retry_after, "honor",
          "replay: a failure's retry-after (the trace's 4th column): honor (FailureRetryAfter()), "
          "ignore (a plain failure), or compare (each config both ways, side by side)");
ABSL_FLAG(std::string, plot, "", "replay: draw the timeline into this PNG");
ABSL_FLAG(std::string, timeline, "", "replay: write the per-bucket timeline as CSV here");
ABSL_FLAG(int, max_transitions, 20, "replay: transitions listed per config");
ABSL_FLAG(std::string, python, "", "replay: the python3 with matplotlib for --plot");

// One flag per BreakerConfig field, for the config given by flags; with
// --config they override every section.
#define CIRCUIT_SIM_FIELD_FLAG(field, help) \
  ABSL_FLAG(std::string, field, "", "config: " help);
CIRCUIT_SIM_CONFIG_FIELDS(CIRCUIT_SIM_FIELD_FLAG)
#undef CIRCUIT_SIM_FIELD_FLAG

namespace circuit {
namespace sim {
namespace {

// Flags whose types Abseil keeps behind a sequence lock (absl::Duration,
// std::optional<...>) are strings here, parsed below: the lock's fences do
// not build under ThreadSanitizer, and the messages can name the flag.

// The flag's duration, or nullopt when it is empty.
absl::StatusOr<std::optional<absl::Duration>> DurationFlag(absl::string_view name,
                                                           const std::string& value) {
  if (value.empty()) return std::nullopt;
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d == absl::InfiniteDuration() ||
      d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": expected a duration with its unit (e.g. 10m, 250ms), got '", value, "'"));
  }
  return d;
}

// The flag's number, or nullopt when it is empty.
absl::StatusOr<std::optional<double>> NumberFlag(absl::string_view name, const std::string& value) {
  if (value.empty()) return std::nullopt;
  double v;
  if (!absl::SimpleAtod(value, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a number, got '", value, "'"));
  }
  return v;
}

absl::Status RunGenerate() {
  absl::StatusOr<Scenario> preset = PresetScenario(absl::GetFlag(FLAGS_scenario));
  if (!preset.ok()) return preset.status();
  Scenario scenario = *preset;
  absl::StatusOr<std::optional<absl::Duration>> duration =
      DurationFlag("duration", absl::GetFlag(FLAGS_duration));
  absl::StatusOr<std::optional<double>> rate = NumberFlag("rate", absl::GetFlag(FLAGS_rate));
  absl::StatusOr<std::optional<double>> error_rate =
      NumberFlag("error_rate", absl::GetFlag(FLAGS_error_rate));
  absl::StatusOr<std::optional<absl::Duration>> latency =
      DurationFlag("latency", absl::GetFlag(FLAGS_latency));
  absl::StatusOr<std::optional<absl::Duration>> latency_p99 =
      DurationFlag("latency_p99", absl::GetFlag(FLAGS_latency_p99));
  for (const absl::Status& s : {duration.status(), rate.status(), error_rate.status(),
                                latency.status(), latency_p99.status()}) {
    if (!s.ok()) return s;
  }
  if (*duration) {
    if (**duration <= absl::ZeroDuration() || **duration > absl::Hours(31 * 24)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--duration must be in (0, 31 days], got ", absl::FormatDuration(**duration)));
    }
    ScaleScenario(scenario, absl::ToInt64Nanoseconds(**duration));
  }
  if (*rate) scenario.calls_per_second = **rate;
  if (*error_rate) scenario.error_rate = **error_rate;
  if (*latency) scenario.latency_median_nanos = absl::ToInt64Nanoseconds(**latency);
  if (*latency_p99) {
    scenario.latency_p99_nanos = absl::ToInt64Nanoseconds(**latency_p99);
  } else if (scenario.latency_p99_nanos < scenario.latency_median_nanos) {
    scenario.latency_p99_nanos = 4 * scenario.latency_median_nanos;
  }
  scenario.seed = absl::GetFlag(FLAGS_seed);
  for (const auto& [kind, specs] :
       {std::pair<Episode::Kind, std::vector<std::string>>{Episode::Kind::kOutage,
                                                           absl::GetFlag(FLAGS_outage)},
        {Episode::Kind::kSlow, absl::GetFlag(FLAGS_slow)},
        {Episode::Kind::kFlapping, absl::GetFlag(FLAGS_flapping)},
        {Episode::Kind::kThrottled, absl::GetFlag(FLAGS_throttled)}}) {
    for (const std::string& spec : specs) {
      absl::StatusOr<Episode> episode = ParseEpisode(kind, spec);
      if (!episode.ok()) return episode.status();
      scenario.episodes.push_back(*episode);
    }
  }
  absl::Status valid = ValidateScenario(scenario);
  if (!valid.ok()) return valid;
  const std::string out = ResolvePath(absl::GetFlag(FLAGS_out));
  if (out == "-") return WriteTrace(scenario, stdout);
  const std::string temp = TemporaryPathFor(out);
  if (temp.empty()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", out));
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  absl::Status written = file == nullptr
                             ? absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", out))
                             : WriteTrace(scenario, file);
  if (file != nullptr && std::fclose(file) != 0 && written.ok()) {
    written = absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", out));
  }
  if (!written.ok()) {
    std::remove(temp.c_str());
    return written;
  }
  return ReplaceWith(temp, out);
}

// The flags' field overrides, as (key, value) pairs.
std::vector<std::pair<std::string, std::string>> FieldFlags() {
  std::vector<std::pair<std::string, std::string>> set;
#define CIRCUIT_SIM_READ_FLAG(field, help) \
  if (!absl::GetFlag(FLAGS_##field).empty()) set.emplace_back(#field, absl::GetFlag(FLAGS_##field));
  CIRCUIT_SIM_CONFIG_FIELDS(CIRCUIT_SIM_READ_FLAG)
#undef CIRCUIT_SIM_READ_FLAG
  return set;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(file);
  std::fclose(file);
  if (failed) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  return text;
}

// The configs to compare: the file's sections or one from flags, each with
// the field flags applied, then multiplied by the sweep.
absl::StatusOr<std::vector<BreakerConfig>> Configs() {
  std::vector<BreakerConfig> configs;
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (!config_path.empty()) {
    absl::StatusOr<std::string> text = ReadFile(ResolvePath(config_path));
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<BreakerConfig>> parsed = ParseConfigFile(*text, config_path);
    if (!parsed.ok()) return parsed.status();
    configs = *std::move(parsed);
  } else {
    configs.emplace_back();
    configs.back().name = absl::GetFlag(FLAGS_name);
  }
  for (BreakerConfig& config : configs) {
    for (const auto& [key, value] : FieldFlags()) {
      absl::Status set = SetConfigField(config, key, value);
      if (!set.ok()) return absl::InvalidArgumentError(absl::StrCat("--", set.message()));
    }
  }
  const std::string sweep = absl::GetFlag(FLAGS_sweep);
  if (!sweep.empty()) {
    const size_t equals = sweep.find('=');
    if (equals == std::string::npos || equals + 1 == sweep.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sweep: expected KEY=V1,V2,..., got '", sweep, "'"));
    }
    const std::string key = sweep.substr(0, equals);
    std::vector<BreakerConfig> swept;
    for (const BreakerConfig& base : configs) {
      for (absl::string_view value : absl::StrSplit(sweep.substr(equals + 1), ',')) {
        BreakerConfig config = base;
        absl::Status set = SetConfigField(config, key, value);
        if (!set.ok()) return absl::InvalidArgumentError(absl::StrCat("--sweep: ", set.message()));
        config.name = configs.size() == 1 ? absl::StrCat(key, "=", value)
                                          : absl::StrCat(base.name, " ", key, "=", value);
        swept.push_back(std::move(config));
      }
    }
    configs = std::move(swept);
  }
  for (const BreakerConfig& config : configs) {
    absl::Status valid = ValidateConfig(config);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config '", config.name, "': ", valid.message()));
    }
  }
  return configs;
}

absl::StatusOr<ReplayOptions> Options(const std::vector<BreakerConfig>& configs) {
  ReplayOptions options;
  absl::StatusOr<std::optional<absl::Duration>> bucket =
      DurationFlag("bucket", absl::GetFlag(FLAGS_bucket));
  if (!bucket.ok()) return bucket.status();
  if (!*bucket) return absl::InvalidArgumentError("--bucket: expected a duration, got ''");
  options.bucket_nanos = absl::ToInt64Nanoseconds(**bucket);
  options.unhealthy_failure_rate = absl::GetFlag(FLAGS_unhealthy_failure_rate);
  options.unhealthy_slow_rate = absl::GetFlag(FLAGS_unhealthy_slow_rate);
  for (double rate : {options.unhealthy_failure_rate, options.unhealthy_slow_rate}) {
    if (!(rate > 0 && rate <= 100)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--unhealthy_failure_rate and --unhealthy_slow_rate must be in (0, 100], got ",
                       rate));
    }
  }
  absl::StatusOr<std::optional<absl::Duration>> unhealthy_latency =
      DurationFlag("unhealthy_latency", absl::GetFlag(FLAGS_unhealthy_latency));
  if (!unhealthy_latency.ok()) return unhealthy_latency.status();
  if (*unhealthy_latency) {
    options.unhealthy_latency_nanos = absl::ToInt64Nanoseconds(**unhealthy_latency);
  } else {
    for (const BreakerConfig& config : configs) {
      if (config.slow_call_rate_threshold > 0) {
        options.unhealthy_latency_nanos = absl::ToInt64Nanoseconds(config.slow_call_duration);
        break;
      }
    }
    for (const BreakerConfig& config : configs) {
      if (options.unhealthy_latency_nanos > 0) break;
      if (config.latency_percentile > 0) {
        options.unhealthy_latency_nanos =
            absl::ToInt64Nanoseconds(config.latency_percentile_threshold);
      }
    }
  }
  for (const std::string& spec : absl::GetFlag(FLAGS_known_outages)) {
    absl::StatusOr<Episode> outage = ParseEpisode(Episode::Kind::kOutage, spec);
    if (!outage.ok()) return absl::InvalidArgumentError(absl::StrCat("--known_", outage.status().message()));
    if (outage->length_nanos <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--known_outages: '", spec, "' has no length"));
    }
    // Relative to the origin: shifted once the origin is known.
    options.outages.push_back(Period{outage->start_nanos, outage->start_nanos + outage->length_nanos});
  }
  return options;
}

absl::Status RunReplay() {
  const std::string trace_flag = absl::GetFlag(FLAGS_trace);
  if (trace_flag.empty()) {
    return absl::InvalidArgumentError("replay needs --trace=FILE (or '-' for standard input)");
  }
  absl::StatusOr<std::vector<BreakerConfig>> configs = Configs();
  if (!configs.ok()) return configs.status();
  absl::StatusOr<ReplayOptions> options = Options(*configs);
  if (!options.ok()) return options.status();
  const std::string retry_after = absl::GetFlag(FLAGS_retry_after);
  if (retry_after == "ignore") {
    options->honor_retry_after.assign(configs->size(), false);
  } else if (retry_after == "compare") {
    std::vector<BreakerConfig> both;
    for (const BreakerConfig& config : *configs) {
      both.push_back(config);
      options->honor_retry_after.push_back(true);
      both.push_back(config);
      both.back().name = absl::StrCat(config.name, " ignoring Retry-After");
      options->honor_retry_after.push_back(false);
    }
    *configs = std::move(both);
  } else if (retry_after != "honor") {
    return absl::InvalidArgumentError(
        absl::StrCat("--retry_after: expected honor, ignore or compare, got '", retry_after, "'"));
  }

  const std::string trace_path = ResolvePath(trace_flag);
  std::FILE* file = trace_path == "-" ? stdin : std::fopen(trace_path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", trace_flag));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file == stdin ? nullptr : file,
                                                         &std::fclose);
  TraceReader reader(file, trace_flag == "-" ? "<stdin>" : trace_flag);
  const absl::Time began = absl::Now();
  std::unique_ptr<Replay> replay;
  TraceCall call;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&call);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (replay == nullptr) {
      const int64_t origin = reader.start_annotation().value_or(call.start_nanos);
      for (Period& p : options->outages) {
        p.start_nanos += origin;
        p.end_nanos += origin;
      }
      absl::StatusOr<std::unique_ptr<Replay>> created =
          Replay::Create(*configs, *options, origin);
      if (!created.ok()) return created.status();
      replay = std::move(created).value();
    }
    absl::Status fed = replay->Feed(call);
    if (!fed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(trace_flag, ":", reader.line_number(), ": ", fed.message()));
    }
  }
  if (replay == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(trace_flag, ": no calls in the trace"));
  }
  const Report report = replay->Finish(reader.outage_annotations());
  const absl::Duration took = absl::Now() - began;

  // The outputs, only now that the whole trace was read.
  const std::string timeline = absl::GetFlag(FLAGS_timeline);
  if (!timeline.empty()) {
    absl::Status written = WriteFileAtomically(ResolvePath(timeline), TimelineCsv(report));
    if (!written.ok()) return written;
  }
  const std::string plot = absl::GetFlag(FLAGS_plot);
  if (!plot.empty()) {
    const std::string python =
        absl::GetFlag(FLAGS_python).empty() ? DefaultPython() : absl::GetFlag(FLAGS_python);
    std::string title = absl::StrCat(trace_flag, ": ");
    for (size_t i = 0; i < configs->size(); ++i) {
      absl::StrAppend(&title, i == 0 ? "" : " vs ", (*configs)[i].name);
    }
    absl::Status drawn = DrawPlot(report, ResolvePath(plot), title, python);
    if (!drawn.ok()) return drawn;
  }
  std::fputs(FormatSummary(report, trace_flag, absl::GetFlag(FLAGS_max_transitions)).c_str(),
             stdout);
  std::fprintf(stderr, "replayed %lld calls through %zu config(s) in %s (%.1f million lines a minute)\n",
               static_cast<long long>(report.calls), configs->size(),
               absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1))).c_str(),
               report.calls / absl::ToDoubleMinutes(took) / 1e6);
  return absl::OkStatus();
}

}  // namespace
}  // namespace sim
}  // namespace circuit

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "tries circuit breaker configs on a trace of calls.\n"
      "  circuit_sim generate [--scenario=mixed] [--out=calls.csv]\n"
      "  circuit_sim replay --trace=calls.csv [--config=tuning.cfg | --<field>=...] "
      "[--sweep=KEY=V1,V2] [--plot=out.png]\n"
      "See docs/tuning.md.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  absl::Status status;
  if (args.size() == 2 && std::string(args[1]) == "generate") {
    status = circuit::sim::RunGenerate();
  } else if (args.size() == 2 && std::string(args[1]) == "replay") {
    status = circuit::sim::RunReplay();
  } else {
    std::fprintf(stderr, "%s\n", absl::ProgramUsageMessage().data());
    return 1;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "circuit_sim: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
