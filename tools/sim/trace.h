// File: tools/sim/trace.h
// A trace is a record of calls to one dependency, one call a line, in the
// order they started: what the circuit_sim tool replays through a breaker.
//
//   # start 0                      the breaker's creation (default: the first call)
//   # outage 120 180               a known unhealthy period (seconds, start end)
//   timestamp,outcome,latency      an optional header line
//   0.000412,success,12.5          started at 0.000412 s, succeeded after 12.5 ms
//   0.001030,failure,3ms
//   2026-11-30T10:00:00.25Z,timeout,2s
//   0.002000,failure,1.2,30s       a failure that said "retry after 30 s" (a 429)
//
// - timestamp: when the call started, in seconds (a decimal number: since
//   any origin, the epoch included) or an RFC 3339 time. Never decreases
//   from one line to the next.
// - outcome: success | ok, failure | error | fail | timeout, ignored
//   (case-insensitive). An ignored call counts as neither (an exception the
//   breaker is configured to ignore, a cancelled call).
// - latency: how long the call took: milliseconds as a plain number, or a
//   duration with its unit ("250us", "1.5s").
// - retry_after (optional, failures only): the wait the dependency asked
//   for (Retry-After), in the latency's forms; the replay resolves the call
//   with Permit::FailureRetryAfter().
// Blank lines and lines starting with '#' are skipped; '#' lines of the two
// forms above are annotations.
//
// Record traces where no breaker rejects calls (before adopting one, or
// with the breaker in METRICS_ONLY): a call a breaker rejected has no
// outcome to replay.
#ifndef CIRCUIT_TOOLS_SIM_TRACE_H_
#define CIRCUIT_TOOLS_SIM_TRACE_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace circuit {
namespace sim {

enum class TraceOutcome : uint8_t { kSuccess, kFailure, kIgnored };

// "success", "failure", "ignored".
absl::string_view TraceOutcomeName(TraceOutcome outcome);

struct TraceCall {
  int64_t start_nanos = 0;    // since the trace's time origin (see ParseTimestamp)
  TraceOutcome outcome = TraceOutcome::kSuccess;
  int64_t latency_nanos = 0;  // >= 0
  int64_t retry_after_nanos = 0;  // > 0: a failure that asked for this wait
};

// An interval [start_nanos, end_nanos) on the trace's time line.
struct Period {
  int64_t start_nanos = 0;
  int64_t end_nanos = 0;
};

// The largest timestamp (2^62 ns: the year 2116 counted from the epoch)
// and latency (365 days) a trace may hold, so that a call's end is always
// representable.
inline constexpr int64_t kMaxTimestampNanos = int64_t{1} << 62;
inline constexpr int64_t kMaxLatencyNanos = int64_t{365} * 24 * 3600 * 1'000'000'000;

// ParseTimestamp()
// Nanoseconds from a trace timestamp: a non-negative decimal number of
// seconds (digits past the ninth decimal are dropped) or an RFC 3339 time
// (nanoseconds since the Unix epoch), at most kMaxTimestampNanos.
// InvalidArgumentError saying what is wrong.
absl::StatusOr<int64_t> ParseTimestamp(absl::string_view text);

// ParseLatency()
// Nanoseconds from a latency: a plain non-negative number of milliseconds
// or a duration with its unit ("250us", "1.5s"), at most kMaxLatencyNanos.
// InvalidArgumentError.
absl::StatusOr<int64_t> ParseLatency(absl::string_view text);

// ParseOutcome()
// The outcome a word names (see above), or InvalidArgumentError listing
// the accepted words.
absl::StatusOr<TraceOutcome> ParseOutcome(absl::string_view text);

// ParseTraceLine()
// One call from one line "timestamp,outcome,latency[,retry_after]" (spaces
// around fields allowed). InvalidArgumentError naming the field.
absl::StatusOr<TraceCall> ParseTraceLine(absl::string_view line);

// FormatSeconds()
// Nanoseconds as seconds, without trailing zeros: "12.5", "3", "0.000412".
std::string FormatSeconds(int64_t nanos);

// FormatTraceLine()
// The line ParseTraceLine() reads back to `call`, exactly: seconds with
// nine decimals, the outcome's name, the latency in milliseconds with six,
// and the retry-after in the same form when there is one.
std::string FormatTraceLine(const TraceCall& call);

// TraceReader reads a trace from a stdio stream, a line at a time through
// a large buffer, checking as it goes. Every error names the source and
// line: "calls.csv:1204: the timestamp 12.5 is before the previous line's
// 13.25: a trace is sorted by start time".
//
// Example:
//   circuit::sim::TraceReader reader(file, "calls.csv");
//   circuit::sim::TraceCall call;
//   while (true) {
//     absl::StatusOr<bool> more = reader.Next(&call);
//     if (!more.ok()) return more.status();
//     if (!*more) break;
//     ...
//   }
//
// Not thread-safe. Does not own or close the stream.
class TraceReader {
 public:
  TraceReader(std::FILE* stream, std::string source_name);

  // TraceReader::Next()
  // The next call into *call, true; false at the end of the trace; an error
  // (InvalidArgumentError for the content, the errno's message for a read
  // error) on a bad line, after which the reader stays failed.
  absl::StatusOr<bool> Next(TraceCall* call);

  // The line number of the last line read (1-based).
  int64_t line_number() const { return line_number_; }

  // The "# start" annotation, once read (annotations precede the calls
  // they concern; a "# start" after the first call is an error).
  std::optional<int64_t> start_annotation() const { return start_; }

  // Every "# outage" annotation read so far, in the order read.
  const std::vector<Period>& outage_annotations() const { return outages_; }

 private:
  // The next line without its newline into *line; false at the end.
  absl::StatusOr<bool> ReadLine(absl::string_view* line);
  absl::Status Annotation(absl::string_view line);
  absl::Status Error(absl::string_view message) const;
  absl::Status LineTooLong() const;

  std::FILE* stream_;
  std::string source_name_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unread byte in buffer_
  size_t end_ = 0;    // one past the last valid byte
  bool eof_ = false;
  std::string long_line_;  // a line that did not fit the buffer
  int64_t line_number_ = 0;
  bool seen_call_ = false;
  bool seen_header_or_call_ = false;
  int64_t last_start_ = 0;
  std::optional<int64_t> start_;
  std::vector<Period> outages_;
  absl::Status failed_;
};

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_TRACE_H_
