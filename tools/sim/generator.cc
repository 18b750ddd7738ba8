// File: tools/sim/generator.cc
// Synthetic traces: a Poisson stream of calls with log-normal latencies and
// episodes of errors and slowness laid over it.
#include "generator.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace circuit {
namespace sim {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

absl::StatusOr<int64_t> ParseSpan(absl::string_view what, absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() ||
      d >= absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad ", what, " '", absl::CHexEscape(text), "': expected a duration with its unit (e.g. 90s, 2m)"));
  }
  return absl::ToInt64Nanoseconds(d);
}

absl::StatusOr<double> ParsePercent(absl::string_view text) {
  double rate;
  if (!absl::SimpleAtod(absl::StripSuffix(text, "%"), &rate) || !(rate >= 0 && rate <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad error rate '", absl::CHexEscape(text), "': expected a percentage in 0..100"));
  }
  return rate;
}

absl::string_view KindName(Episode::Kind kind) {
  switch (kind) {
    case Episode::Kind::kOutage:
      return "outage";
    case Episode::Kind::kSlow:
      return "slow";
    case Episode::Kind::kFlapping:
      return "flapping";
    case Episode::Kind::kThrottled:
      return "throttled";
  }
  return "episode";
}

// A uniform double in [0, 1) from 53 random bits: the same on every
// platform (std::uniform_real_distribution is not specified bit for bit).
double Unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// A standard normal deviate (Box-Muller, one of the pair).
double Normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - Unit(rng);  // (0, 1]
  const double u2 = Unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace

absl::StatusOr<Episode> ParseEpisode(Episode::Kind kind, absl::string_view spec) {
  auto error = [&](const absl::Status& cause) {
    return absl::InvalidArgumentError(absl::StrCat(KindName(kind), " '", absl::CHexEscape(spec),
                                                   "': ", cause.message()));
  };
  Episode episode;
  episode.kind = kind;
  absl::string_view span = spec;
  absl::string_view value;
  if (kind == Episode::Kind::kThrottled) {
    // START+LENGTH@WAIT[@RATE]
    const std::vector<absl::string_view> parts = absl::StrSplit(spec, '@');
    if (parts.size() < 2 || parts.size() > 3) {
      return error(absl::InvalidArgumentError("expected START+LENGTH@WAIT[@RATE]"));
    }
    span = parts[0];
    absl::StatusOr<int64_t> wait = ParseSpan("wait", parts[1]);
    if (!wait.ok()) return error(wait.status());
    episode.retry_after_nanos = *wait;
    if (parts.size() == 3) value = parts[2];
  } else {
    const size_t at = spec.rfind('@');
    if (at != absl::string_view::npos) {
      span = spec.substr(0, at);
      value = spec.substr(at + 1);
    }
  }
  if (kind == Episode::Kind::kFlapping) {
    const size_t slash = span.rfind('/');
    if (slash == absl::string_view::npos) {
      return error(absl::InvalidArgumentError("expected START+LENGTH/PERIOD[@RATE]"));
    }
    absl::StatusOr<int64_t> period = ParseSpan("period", span.substr(slash + 1));
    if (!period.ok()) return error(period.status());
    episode.period_nanos = *period;
    span = span.substr(0, slash);
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(span, '+');
  if (parts.size() != 2) {
    return error(absl::InvalidArgumentError(
        kind == Episode::Kind::kSlow        ? "expected START+LENGTH@LATENCY"
        : kind == Episode::Kind::kOutage    ? "expected START+LENGTH[@RATE]"
        : kind == Episode::Kind::kThrottled ? "expected START+LENGTH@WAIT[@RATE]"
                                            : "expected START+LENGTH/PERIOD[@RATE]"));
  }
  absl::StatusOr<int64_t> start = ParseSpan("start", parts[0]);
  if (!start.ok()) return error(start.status());
  absl::StatusOr<int64_t> length = ParseSpan("length", parts[1]);
  if (!length.ok()) return error(length.status());
  episode.start_nanos = *start;
  episode.length_nanos = *length;
  if (kind == Episode::Kind::kSlow) {
    if (value.empty()) return error(absl::InvalidArgumentError("expected START+LENGTH@LATENCY"));
    absl::StatusOr<int64_t> latency = ParseSpan("latency", value);
    if (!latency.ok()) return error(latency.status());
    episode.latency_nanos = *latency;
  } else if (!value.empty()) {
    absl::StatusOr<double> rate = ParsePercent(value);
    if (!rate.ok()) return error(rate.status());
    episode.error_rate = *rate;
  }
  return episode;
}

absl::StatusOr<Scenario> PresetScenario(absl::string_view name) {
  Scenario scenario;
  std::vector<std::pair<Episode::Kind, absl::string_view>> specs;
  if (name == "steady") {
  } else if (name == "outage") {
    specs = {{Episode::Kind::kOutage, "2m+1m"}, {Episode::Kind::kOutage, "6m+90s@40"}};
  } else if (name == "slow") {
    specs = {{Episode::Kind::kSlow, "3m+2m@2s"}};
  } else if (name == "flapping") {
    specs = {{Episode::Kind::kFlapping, "2m+4m/10s"}};
  } else if (name == "throttled") {
    specs = {{Episode::Kind::kThrottled, "2m+3m@20s@50"}};
  } else if (name == "mixed") {
    specs = {{Episode::Kind::kOutage, "1m40s+1m"},
             {Episode::Kind::kSlow, "5m+1m@1.5s"},
             {Episode::Kind::kFlapping, "7m30s+90s/15s"}};
  } else {
    return absl::NotFoundError(absl::StrCat("no scenario '", absl::CHexEscape(name),
                                            "': the scenarios are steady, outage, slow, "
                                            "flapping, throttled and mixed"));
  }
  for (const auto& [kind, spec] : specs) {
    absl::StatusOr<Episode> episode = ParseEpisode(kind, spec);
    if (!episode.ok()) return episode.status();  // a preset is always well formed
    scenario.episodes.push_back(*episode);
  }
  return scenario;
}

void ScaleScenario(Scenario& scenario, int64_t duration_nanos) {
  const double factor =
      static_cast<double>(duration_nanos) / static_cast<double>(scenario.duration_nanos);
  auto scale = [factor](int64_t& nanos) { nanos = static_cast<int64_t>(nanos * factor); };
  for (Episode& e : scenario.episodes) {
    scale(e.start_nanos);
    scale(e.length_nanos);
    scale(e.period_nanos);
  }
  scenario.duration_nanos = duration_nanos;
}

absl::Status ValidateScenario(const Scenario& s) {
  auto invalid = [](absl::string_view field, absl::string_view rule, auto value) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be ", rule, ", got ", value));
  };
  if (!(s.duration_nanos > 0 && s.duration_nanos <= int64_t{31} * 24 * 3600 * kSecond)) {
    return invalid("duration", "in (0, 31 days]",
                   absl::FormatDuration(absl::Nanoseconds(s.duration_nanos)));
  }
  if (!(s.calls_per_second > 0 && s.calls_per_second <= 1e7)) {
    return invalid("calls_per_second", "in (0, 10,000,000]", s.calls_per_second);
  }
  if (!(s.error_rate >= 0 && s.error_rate <= 100)) {
    return invalid("error_rate", "a percentage in 0..100", s.error_rate);
  }
  if (s.latency_median_nanos <= 0) {
    return invalid("latency_median", "> 0",
                   absl::FormatDuration(absl::Nanoseconds(s.latency_median_nanos)));
  }
  if (s.latency_p99_nanos < s.latency_median_nanos) {
    return invalid("latency_p99", "at least latency_median",
                   absl::FormatDuration(absl::Nanoseconds(s.latency_p99_nanos)));
  }
  for (const Episode& e : s.episodes) {
    const std::string name =
        absl::StrCat(KindName(e.kind), " at ", absl::FormatDuration(absl::Nanoseconds(e.start_nanos)));
    if (e.length_nanos <= 0) return invalid(name, "longer than 0", "0");
    if (e.start_nanos + e.length_nanos > s.duration_nanos) {
      return invalid(name, "within the trace's duration",
                     absl::StrCat("an end at ",
                                  absl::FormatDuration(absl::Nanoseconds(e.start_nanos + e.length_nanos))));
    }
    if (!(e.error_rate >= 0 && e.error_rate <= 100)) {
      return invalid(name, "an error rate in 0..100", e.error_rate);
    }
    if (e.kind == Episode::Kind::kSlow && e.latency_nanos <= 0) {
      return invalid(name, "a latency > 0", "0");
    }
    if (e.kind == Episode::Kind::kThrottled && e.retry_after_nanos <= 0) {
      return invalid(name, "a wait > 0", "0");
    }
    if (e.kind == Episode::Kind::kFlapping &&
        !(e.period_nanos > 0 && e.period_nanos <= e.length_nanos)) {
      return invalid(name, "a period in (0, its length]",
                     absl::FormatDuration(absl::Nanoseconds(e.period_nanos)));
    }
  }
  return absl::OkStatus();
}

std::vector<Period> UnhealthyPeriods(const Scenario& scenario) {
  std::vector<Period> periods;
  for (const Episode& e : scenario.episodes) {
    const int64_t end = e.start_nanos + e.length_nanos;
    if (e.kind != Episode::Kind::kFlapping) {
      periods.push_back(Period{e.start_nanos, end});
      continue;
    }
    for (int64_t down = e.start_nanos; down < end; down += 2 * e.period_nanos) {
      periods.push_back(Period{down, std::min(end, down + e.period_nanos)});
    }
  }
  std::sort(periods.begin(), periods.end(),
            [](const Period& a, const Period& b) { return a.start_nanos < b.start_nanos; });
  return periods;
}

void GenerateCalls(const Scenario& s, absl::FunctionRef<void(const TraceCall&)> sink) {
  std::mt19937_64 rng(s.seed);
  // Log-normal latency: the median is e^mu, the 99th percentile e^(mu + 2.326 sigma).
  const double sigma = std::log(static_cast<double>(s.latency_p99_nanos) /
                                static_cast<double>(s.latency_median_nanos)) /
                       2.3263478740;
  const double mean_gap = 1e9 / s.calls_per_second;
  double t = 0;
  while (true) {
    t += -std::log(1.0 - Unit(rng)) * mean_gap;  // exponential gaps: a Poisson stream
    if (t >= static_cast<double>(s.duration_nanos)) break;
    const int64_t start = static_cast<int64_t>(t);
    double error_rate = s.error_rate;
    double median = static_cast<double>(s.latency_median_nanos);
    double throttled_rate = 0;
    int64_t retry_after = 0;
    for (const Episode& e : s.episodes) {
      if (start < e.start_nanos || start >= e.start_nanos + e.length_nanos) continue;
      switch (e.kind) {
        case Episode::Kind::kOutage:
          error_rate = std::max(error_rate, e.error_rate);
          break;
        case Episode::Kind::kSlow:
          median = std::max(median, static_cast<double>(e.latency_nanos));
          break;
        case Episode::Kind::kFlapping:
          if ((start - e.start_nanos) / e.period_nanos % 2 == 0) {
            error_rate = std::max(error_rate, e.error_rate);
          }
          break;
        case Episode::Kind::kThrottled:
          throttled_rate = e.error_rate;
          retry_after = e.retry_after_nanos;
          break;
      }
    }
    TraceCall call;
    call.start_nanos = start;
    call.outcome = Unit(rng) * 100 < error_rate ? TraceOutcome::kFailure : TraceOutcome::kSuccess;
    call.latency_nanos = static_cast<int64_t>(median * std::exp(sigma * Normal(rng)));
    if (throttled_rate > 0 && Unit(rng) * 100 < throttled_rate) {
      call.outcome = TraceOutcome::kFailure;  // a 429 with Retry-After
      call.retry_after_nanos = retry_after;
    }
    sink(call);
  }
}

absl::Status WriteTrace(const Scenario& scenario, std::FILE* out) {
  std::string text = "# a synthetic trace from circuit_sim generate\n# start 0\n";
  for (const Period& p : UnhealthyPeriods(scenario)) {
    absl::StrAppend(&text, "# outage ", FormatSeconds(p.start_nanos), " ",
                    FormatSeconds(p.end_nanos), "\n");
  }
  text += "timestamp,outcome,latency_ms\n";
  bool failed = false;
  auto flush = [&] {
    if (!failed && std::fwrite(text.data(), 1, text.size(), out) != text.size()) failed = true;
    text.clear();
  };
  GenerateCalls(scenario, [&](const TraceCall& call) {
    text += FormatTraceLine(call);
    text += '\n';
    if (text.size() >= (1 << 20)) flush();
  });
  flush();
  if (failed || std::fflush(out) != 0) {
    return absl::ErrnoToStatus(errno, "writing the trace failed");
  }
  return absl::OkStatus();
}

}  // namespace sim
}  // namespace circuit
