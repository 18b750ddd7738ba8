// File: tools/sim/trace.cc
// The trace format of trace.h: parsing a line, formatting one, and reading
// a stream of them with the line numbers errors need.
#include "trace.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace circuit {
namespace sim {
namespace {

// A non-negative decimal "123" or "123.456" as an integer count of
// 10^-scale_digits units (fractional digits past scale_digits are dropped:
// below a nanosecond). False if it is not such a number or overflows.
bool ParseScaledDecimal(absl::string_view text, int scale_digits, int64_t* out) {
  if (text.empty()) return false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t scale = 1;
  for (int i = 0; i < scale_digits; ++i) scale *= 10;
  size_t i = 0;
  int64_t whole = 0;
  bool any_digit = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const int digit = text[i] - '0';
    if (whole > (kMax / scale - digit) / 10) return false;
    whole = whole * 10 + digit;
    any_digit = true;
  }
  int64_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int64_t unit = scale;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      unit /= 10;
      fraction += (text[i] - '0') * unit;
      any_digit = true;
    }
  }
  if (i != text.size() || !any_digit) return false;
  *out = whole * scale + fraction;
  return true;
}

absl::Status Invalid(absl::string_view field, absl::string_view text,
                     absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", field, " '", absl::CHexEscape(text), "': ", expected));
}

}  // namespace

absl::string_view TraceOutcomeName(TraceOutcome outcome) {
  switch (outcome) {
    case TraceOutcome::kSuccess:
      return "success";
    case TraceOutcome::kFailure:
      return "failure";
    case TraceOutcome::kIgnored:
      return "ignored";
  }
  return "unknown";
}

absl::StatusOr<int64_t> ParseTimestamp(absl::string_view text) {
  int64_t nanos;
  if (ParseScaledDecimal(text, 9, &nanos)) {
    if (nanos > kMaxTimestampNanos) return Invalid("timestamp", text, "after the year 2116");
    return nanos;
  }
  if (absl::StrContains(text, 'T')) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
      const absl::Duration since_epoch = time - absl::UnixEpoch();
      if (since_epoch >= absl::ZeroDuration() &&
          since_epoch <= absl::Nanoseconds(kMaxTimestampNanos)) {
        return absl::ToInt64Nanoseconds(since_epoch);
      }
      return Invalid("timestamp", text, "before 1970 or after 2116");
    }
    return Invalid("timestamp", text, absl::StrCat("not an RFC 3339 time (", error, ")"));
  }
  return Invalid("timestamp", text,
                 "expected seconds as a non-negative decimal number (e.g. 12.5) or an RFC 3339 "
                 "time (e.g. 2026-11-30T10:00:00.25Z)");
}

absl::StatusOr<int64_t> ParseLatency(absl::string_view text) {
  int64_t nanos;
  absl::Duration duration;
  if (ParseScaledDecimal(text, 6, &nanos)) {  // milliseconds
    if (nanos > kMaxLatencyNanos) return Invalid("latency", text, "longer than 365 days");
    return nanos;
  }
  if (!text.empty() && text[0] != '-' && absl::ParseDuration(text, &duration) &&
      duration >= absl::ZeroDuration() && duration < absl::InfiniteDuration()) {
    if (duration > absl::Nanoseconds(kMaxLatencyNanos)) {
      return Invalid("latency", text, "longer than 365 days");
    }
    return absl::ToInt64Nanoseconds(duration);
  }
  return Invalid("latency", text,
                 "expected non-negative milliseconds (e.g. 12.5) or a duration with its unit "
                 "(e.g. 250us, 1.5s)");
}

absl::StatusOr<TraceOutcome> ParseOutcome(absl::string_view text) {
  // The common spellings first, exactly, before folding case.
  if (text == "success" || text == "ok") return TraceOutcome::kSuccess;
  if (text == "failure" || text == "error") return TraceOutcome::kFailure;
  const std::string word = absl::AsciiStrToLower(text);
  if (word == "success" || word == "ok") return TraceOutcome::kSuccess;
  if (word == "failure" || word == "error" || word == "fail" || word == "timeout") {
    return TraceOutcome::kFailure;
  }
  if (word == "ignored") return TraceOutcome::kIgnored;
  return Invalid("outcome", text,
                 "expected success, ok, failure, error, fail, timeout or ignored");
}

absl::StatusOr<TraceCall> ParseTraceLine(absl::string_view line) {
  absl::string_view fields[4];
  int n = 0;
  for (absl::string_view field : absl::StrSplit(line, ',')) {
    if (n == 4) {
      return absl::InvalidArgumentError(
          "more than 4 fields: expected timestamp,outcome,latency[,retry_after]");
    }
    fields[n++] = absl::StripAsciiWhitespace(field);
  }
  if (n < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(n, n == 1 ? " field" : " fields", ": expected timestamp,outcome,latency"));
  }
  TraceCall call;
  absl::StatusOr<int64_t> start = ParseTimestamp(fields[0]);
  if (!start.ok()) return start.status();
  call.start_nanos = *start;
  absl::StatusOr<TraceOutcome> outcome = ParseOutcome(fields[1]);
  if (!outcome.ok()) return outcome.status();
  call.outcome = *outcome;
  absl::StatusOr<int64_t> latency = ParseLatency(fields[2]);
  if (!latency.ok()) return latency.status();
  call.latency_nanos = *latency;
  if (n == 4 && !fields[3].empty()) {
    absl::StatusOr<int64_t> retry_after = ParseLatency(fields[3]);
    if (!retry_after.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retry_after: ", absl::StripPrefix(retry_after.status().message(), "bad latency ")));
    }
    if (call.outcome != TraceOutcome::kFailure) {
      return absl::InvalidArgumentError("a retry_after on a call that did not fail");
    }
    call.retry_after_nanos = *retry_after;
  }
  return call;
}

std::string FormatSeconds(int64_t nanos) {
  const char* sign = nanos < 0 ? "-" : "";
  const uint64_t magnitude =
      nanos < 0 ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  std::string text = absl::StrFormat("%s%d.%09d", sign, magnitude / 1'000'000'000,
                                     magnitude % 1'000'000'000);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string FormatTraceLine(const TraceCall& call) {
  std::string line =
      absl::StrFormat("%d.%09d,%s,%d.%06d", call.start_nanos / 1'000'000'000,
                      call.start_nanos % 1'000'000'000, TraceOutcomeName(call.outcome),
                      call.latency_nanos / 1'000'000, call.latency_nanos % 1'000'000);
  if (call.retry_after_nanos > 0) {
    absl::StrAppendFormat(&line, ",%d.%06d", call.retry_after_nanos / 1'000'000,
                          call.retry_after_nanos % 1'000'000);
  }
  return line;
}

// ---- TraceReader ------------------------------------------------------------

namespace {
// 1 MiB: a read costs a system call per about 30,000 lines.
constexpr size_t kBufferSize = size_t{1} << 20;
// A line longer than this is not a trace line.
constexpr size_t kMaxLineLength = 4096;
}  // namespace

TraceReader::TraceReader(std::FILE* stream, std::string source_name)
    : stream_(stream), source_name_(std::move(source_name)), buffer_(kBufferSize) {}

absl::Status TraceReader::Error(absl::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat(source_name_, ":", line_number_, ": ", message));
}

absl::Status TraceReader::LineTooLong() const {
  return Error(absl::StrCat("a line longer than ", kMaxLineLength,
                            " bytes: not a trace (timestamp,outcome,latency a line)"));
}

absl::StatusOr<bool> TraceReader::ReadLine(absl::string_view* line) {
  while (true) {
    const char* begin = buffer_.data() + begin_;
    const void* newline = std::memchr(begin, '\n', end_ - begin_);
    if (newline != nullptr) {
      const size_t length = static_cast<const char*>(newline) - begin;
      begin_ += length + 1;
      *line = absl::string_view(begin, length);
      break;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      *line = absl::string_view(begin, end_ - begin_);  // a last line without '\n'
      begin_ = end_;
      break;
    }
    // Move the partial line to the front and fill the rest.
    std::memmove(buffer_.data(), begin, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (end_ > kMaxLineLength) {
      ++line_number_;
      return LineTooLong();
    }
    const size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, stream_);
    end_ += got;
    if (got == 0) {
      if (std::ferror(stream_)) {
        return absl::ErrnoToStatus(errno, absl::StrCat(source_name_, ": read failed"));
      }
      eof_ = true;
    }
  }
  ++line_number_;
  if (line->size() > kMaxLineLength) return LineTooLong();
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);  // CRLF files
  return true;
}

absl::Status TraceReader::Annotation(absl::string_view line) {
  // line is "# word args..." with the '#' already checked.
  std::vector<absl::string_view> words =
      absl::StrSplit(line.substr(1), ' ', absl::SkipWhitespace());
  if (words.empty()) return absl::OkStatus();
  if (words[0] == "start") {
    if (words.size() != 2) return Error("expected '# start TIMESTAMP'");
    if (seen_call_) return Error("'# start' must come before the first call");
    absl::StatusOr<int64_t> start = ParseTimestamp(words[1]);
    if (!start.ok()) return Error(start.status().message());
    start_ = *start;
    return absl::OkStatus();
  }
  if (words[0] == "outage") {
    if (words.size() != 3) return Error("expected '# outage START END' (timestamps)");
    absl::StatusOr<int64_t> start = ParseTimestamp(words[1]);
    if (!start.ok()) return Error(start.status().message());
    absl::StatusOr<int64_t> end = ParseTimestamp(words[2]);
    if (!end.ok()) return Error(end.status().message());
    if (*end <= *start) return Error("an outage must end after it starts");
    outages_.push_back(Period{*start, *end});
  }
  return absl::OkStatus();  // any other comment
}

absl::StatusOr<bool> TraceReader::Next(TraceCall* call) {
  if (!failed_.ok()) return failed_;
  while (true) {
    absl::string_view line;
    absl::StatusOr<bool> more = ReadLine(&line);
    if (!more.ok()) {
      failed_ = more.status();
      return failed_;
    }
    if (!*more) return false;
    // The fast case first: a call line starts with a digit.
    if (line.empty() || !(line[0] >= '0' && line[0] <= '9')) {
      const absl::string_view stripped = absl::StripAsciiWhitespace(line);
      if (stripped.empty()) continue;
      if (stripped[0] == '#') {
        failed_ = Annotation(stripped);
        if (!failed_.ok()) return failed_;
        continue;
      }
      if (!seen_header_or_call_ && absl::StartsWithIgnoreCase(stripped, "timestamp")) {
        seen_header_or_call_ = true;  // the header line
        continue;
      }
    }
    absl::StatusOr<TraceCall> parsed = ParseTraceLine(line);
    if (!parsed.ok()) {
      failed_ = Error(parsed.status().message());
      return failed_;
    }
    if (seen_call_ && parsed->start_nanos < last_start_) {
      failed_ = Error(absl::StrCat(
          "the timestamp ", FormatSeconds(parsed->start_nanos),
          " is before the previous line's ", FormatSeconds(last_start_),
          ": a trace is sorted by start time (sort -t, -k1,1g)"));
      return failed_;
    }
    if (start_.has_value() && parsed->start_nanos < *start_) {
      failed_ = Error("a call before the '# start' annotation's time");
      return failed_;
    }
    seen_call_ = true;
    seen_header_or_call_ = true;
    last_start_ = parsed->start_nanos;
    *call = *parsed;
    return true;
  }
}

}  // namespace sim
}  // namespace circuit
