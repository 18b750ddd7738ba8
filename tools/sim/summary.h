// File: tools/sim/summary.h
// What circuit_sim prints of a Report (replay.h): the configs side by side,
// each outage as each config met it, the state timelines; and the
// per-bucket timeline as CSV, for the plot or a spreadsheet.
#ifndef CIRCUIT_TOOLS_SIM_SUMMARY_H_
#define CIRCUIT_TOOLS_SIM_SUMMARY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "replay.h"

namespace circuit {
namespace sim {

// FormatSummary()
// The report as text: the trace (calls, span, outages and where they came
// from), a table with a column per config (admitted, rejected, rejected
// while healthy, shed while CLOSED by slow start's ramp or adaptive
// throttling when a config has slow_start_duration or adaptive_throttling,
// failures let through, openings, openings by cause when a config has
// latency_percentile, openings while healthy, reopenings, time to open and to close around each outage, time in each
// state), then each config's transitions, at most `max_transitions` each
// (the rest counted), a latency-percentile trip's with the percentile and
// the threshold as durations. Times are seconds from the trace's origin.
std::string FormatSummary(const Report& report, absl::string_view trace_name,
                          int max_transitions);

// TimelineCsv()
// A line a bucket: "seconds,calls,failure_pct,slow_pct,unhealthy", then
// "state:<name>,rejected_per_s:<name>" for each config (the longest-held
// state's name; commas in a name become '_').
std::string TimelineCsv(const Report& report);

// OutagesCsv()
// "start_s,end_s" a line an outage, seconds from the origin.
std::string OutagesCsv(const Report& report);

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_SUMMARY_H_
