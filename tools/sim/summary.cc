// File: tools/sim/summary.cc
// The report as a side-by-side text table and as CSV timelines.
#include "summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "circuit/events.h"
#include "config_text.h"

namespace circuit {
namespace sim {
namespace {

// Seconds with millisecond precision: "12.345s".
std::string Seconds(int64_t nanos) { return absl::StrFormat("%.3fs", nanos / 1e9); }

std::string Percent(int64_t part, int64_t whole) {
  return whole == 0 ? "-" : absl::StrFormat("%.2f%%", 100.0 * part / whole);
}

std::string CsvName(const std::string& name) { return absl::StrReplaceAll(name, {{",", "_"}}); }

// A latency in seconds (a transition's value or threshold) as a duration:
// "812.5ms", "inf" past the bins' last bound.
std::string Latency(double seconds) {
  if (!std::isfinite(seconds)) return "inf";
  return absl::FormatDuration(absl::Nanoseconds(std::llround(seconds * 1e9)));
}

// A config's CLOSED -> OPEN transitions counted by cause, in the causes'
// order: "LATENCY_PERCENTILE 5, CONSECUTIVE_FAILURES 1" ("-" if none).
std::string OpeningsByCause(const ConfigResult& c) {
  std::map<TransitionCause, int64_t> counts;
  for (const Transition& t : c.transitions) {
    if (t.from == State::kClosed && t.to == State::kOpen) ++counts[t.cause];
  }
  std::vector<std::string> parts;
  for (const auto& [cause, n] : counts) {
    parts.push_back(absl::StrCat(TransitionCauseName(cause), " ", n));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

// Mean and max of the set values; "-" if none, with how many are unset.
std::string MeanMax(const std::vector<std::optional<int64_t>>& values, absl::string_view unset) {
  int64_t sum = 0, max = 0, n = 0, missing = 0;
  for (const std::optional<int64_t>& v : values) {
    if (!v.has_value()) {
      ++missing;
      continue;
    }
    sum += *v;
    max = n == 0 ? *v : std::max(max, *v);
    ++n;
  }
  std::string text = n == 0 ? "-" : absl::StrCat(Seconds(sum / n), " / ", Seconds(max));
  if (missing > 0) absl::StrAppend(&text, " (", missing, " ", unset, ")");
  return text;
}

void AppendTable(std::string& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::vector<std::string>& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, i == 0 ? "" : "  ", row[i],
                      std::string(i + 1 == row.size() ? 0 : widths[i] - row[i].size(), ' '));
    }
    absl::StrAppend(&out, line, "\n");
  }
}

}  // namespace

std::string FormatSummary(const Report& report, absl::string_view trace_name,
                          int max_transitions) {
  std::string out;
  const int64_t span = report.end_nanos - report.origin_nanos;
  absl::StrAppend(&out, "trace ", trace_name, ": ", report.calls, " calls over ", Seconds(span),
                  " (", report.calls > 0 && span > 0 ? absl::StrFormat("%.1f", report.calls / (span / 1e9)) : "-",
                  " calls/s), ", report.outages.size(), " outage(s), ",
                  OutageSourceName(report.outage_source), "\n");
  for (size_t i = 0; i < report.outages.size(); ++i) {
    const Period& p = report.outages[i];
    absl::StrAppend(&out, "  outage ", i + 1, ": ", Seconds(p.start_nanos - report.origin_nanos),
                    " to ", Seconds(p.end_nanos - report.origin_nanos), " (",
                    Seconds(p.end_nanos - p.start_nanos), ")\n");
  }
  out += "\n";
  for (const ConfigResult& c : report.configs) {
    absl::StrAppend(&out, "config ", c.config.name, ": ", FormatConfig(c.config),
                    c.honor_retry_after ? "" : " (ignores Retry-After)", "\n");
  }
  out += "\n";

  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {""};
  for (const ConfigResult& c : report.configs) header.push_back(c.config.name);
  rows.push_back(header);
  auto row = [&](std::string label, auto cell) {
    std::vector<std::string> r = {std::move(label)};
    for (const ConfigResult& c : report.configs) r.push_back(cell(c));
    rows.push_back(std::move(r));
  };
  row("calls admitted", [&](const ConfigResult& c) { return absl::StrCat(c.admitted); });
  row("calls rejected", [&](const ConfigResult& c) {
    return absl::StrCat(c.rejected, " (", Percent(c.rejected, report.calls), ")");
  });
  row("  while healthy", [&](const ConfigResult& c) { return absl::StrCat(c.rejected_while_healthy); });
  // Only when a config's gate can shed calls while CLOSED (slow start's
  // ramp after closing, adaptive throttling): other reports keep their rows.
  if (std::any_of(report.configs.begin(), report.configs.end(), [](const ConfigResult& c) {
        return c.config.slow_start_duration > absl::ZeroDuration() ||
               c.config.adaptive_throttling;
      })) {
    row("  shed while CLOSED", [&](const ConfigResult& c) { return absl::StrCat(c.shed); });
  }
  row("failures let through", [&](const ConfigResult& c) { return absl::StrCat(c.failures_admitted); });
  row("openings", [&](const ConfigResult& c) { return absl::StrCat(c.openings); });
  // Only when a config has the latency-percentile trip, which usually sits
  // beside other trips: other reports keep their rows.
  if (std::any_of(report.configs.begin(), report.configs.end(),
                  [](const ConfigResult& c) { return c.config.latency_percentile > 0; })) {
    row("  by cause", OpeningsByCause);
  }
  row("  while healthy (flapping)",
      [&](const ConfigResult& c) { return absl::StrCat(c.openings_while_healthy); });
  row("reopenings from HALF_OPEN", [&](const ConfigResult& c) { return absl::StrCat(c.reopenings); });
  row("outages opened for", [&](const ConfigResult& c) {
    int64_t opened = 0;
    for (const OutageResult& o : c.outages) opened += o.opened ? 1 : 0;
    return absl::StrCat(opened, " of ", c.outages.size());
  });
  row("time to open (mean / max)", [&](const ConfigResult& c) {
    std::vector<std::optional<int64_t>> v;
    for (const OutageResult& o : c.outages) v.push_back(o.time_to_open_nanos);
    return MeanMax(v, "never");
  });
  row("time to close after (mean / max)", [&](const ConfigResult& c) {
    std::vector<std::optional<int64_t>> v;
    for (const OutageResult& o : c.outages) {
      if (o.opened) v.push_back(o.time_to_close_nanos);
    }
    return MeanMax(v, "not closed");
  });
  for (State s : {State::kOpen, State::kHalfOpen}) {
    row(absl::StrCat("time ", StateName(s)), [&](const ConfigResult& c) {
      return absl::StrCat(Seconds(c.nanos_in_state[static_cast<int>(s)]), " (",
                          Percent(c.nanos_in_state[static_cast<int>(s)], span), ")");
    });
  }
  AppendTable(out, rows);

  if (!report.outages.empty()) {
    out += "\nper outage (time to open / time to close after it ended):\n";
    std::vector<std::vector<std::string>> per_outage;
    per_outage.push_back(header);
    for (size_t i = 0; i < report.outages.size(); ++i) {
      std::vector<std::string> r = {absl::StrCat(
          "outage ", i + 1, " at ", Seconds(report.outages[i].start_nanos - report.origin_nanos))};
      for (const ConfigResult& c : report.configs) {
        const OutageResult& o = c.outages[i];
        if (!o.opened) {
          r.push_back("never opened");
          continue;
        }
        r.push_back(absl::StrCat(
            o.time_to_open_nanos ? Seconds(*o.time_to_open_nanos) : "-", " / ",
            o.time_to_close_nanos ? Seconds(*o.time_to_close_nanos) : "not closed"));
      }
      per_outage.push_back(std::move(r));
    }
    AppendTable(out, per_outage);
  }

  for (const ConfigResult& c : report.configs) {
    absl::StrAppend(&out, "\ntimeline of ", c.config.name, " (", c.transitions.size(),
                    " transitions):\n");
    int shown = 0;
    for (const Transition& t : c.transitions) {
      if (shown == max_transitions) {
        absl::StrAppend(&out, "  ... ", c.transitions.size() - shown, " more\n");
        break;
      }
      ++shown;
      absl::StrAppend(&out, absl::StrFormat("  %12s  %-9s -> %-9s  %s", Seconds(t.at_nanos - report.origin_nanos),
                                            StateName(t.from), StateName(t.to),
                                            TransitionCauseName(t.cause)));
      if (t.cause == TransitionCause::kRetryAfter) {
        absl::StrAppend(&out, absl::StrFormat(" (%gs asked)", t.value));
      } else if (t.cause == TransitionCause::kLatencyPercentile) {
        // Seconds, each a bin's bound: the window's percentile, and the
        // threshold rounded up to its bin (circuit/call_durations.h).
        absl::StrAppend(&out, absl::StrFormat(" (p%g %s, threshold %s)",
                                              c.config.latency_percentile, Latency(t.value),
                                              Latency(t.threshold)));
      } else if (t.threshold != 0) {
        absl::StrAppend(&out, absl::StrFormat(" (%g, threshold %g)", t.value, t.threshold));
      }
      out += "\n";
    }
  }
  return out;
}

std::string TimelineCsv(const Report& report) {
  std::string out = "seconds,calls,failure_pct,slow_pct,unhealthy";
  for (const ConfigResult& c : report.configs) {
    absl::StrAppend(&out, ",state:", CsvName(c.config.name), ",rejected_per_s:",
                    CsvName(c.config.name));
  }
  out += "\n";
  const double bucket_seconds = report.bucket_nanos / 1e9;
  for (size_t b = 0; b < report.buckets.size(); ++b) {
    const TraceBucket& t = report.buckets[b];
    absl::StrAppend(&out, absl::StrFormat("%.3f,%d,%.2f,%.2f,%d", b * bucket_seconds, t.calls,
                                          t.calls ? 100.0 * t.failures / t.calls : 0.0,
                                          t.calls ? 100.0 * t.slow / t.calls : 0.0,
                                          t.unhealthy ? 1 : 0));
    for (const ConfigResult& c : report.configs) {
      absl::StrAppend(&out, ",", StateName(c.bucket_state[b]), ",",
                      absl::StrFormat("%.2f", c.bucket_rejected[b] / bucket_seconds));
    }
    out += "\n";
  }
  return out;
}

std::string OutagesCsv(const Report& report) {
  std::string out = "start_s,end_s\n";
  for (const Period& p : report.outages) {
    absl::StrAppend(&out, absl::StrFormat("%.3f,%.3f\n", (p.start_nanos - report.origin_nanos) / 1e9,
                                          (p.end_nanos - report.origin_nanos) / 1e9));
  }
  return out;
}

}  // namespace sim
}  // namespace circuit
