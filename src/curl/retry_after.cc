// File: src/curl/retry_after.cc
// ParseRetryAfter(): delta-seconds, then the three HTTP-date forms of
// RFC 9110 section 5.6.7, each read by a cursor that accepts exactly the
// grammar's characters (HTTP-date is case-sensitive and always GMT).
#include "circuit/curl/retry_after.h"

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace circuit {
namespace curl {
namespace {

constexpr absl::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr absl::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr absl::string_view kLongDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};

// Reads a value left to right. Each member returns false when the text
// does not match; the parse then gives up on this form.
class Cursor {
 public:
  explicit Cursor(absl::string_view text) : rest_(text) {}

  bool done() const { return rest_.empty(); }

  bool Literal(absl::string_view literal) {
    if (rest_.substr(0, literal.size()) != literal) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }

  // Exactly `count` ASCII digits.
  bool Digits(int count, int* value) {
    if (rest_.size() < static_cast<size_t>(count)) return false;
    int v = 0;
    for (int i = 0; i < count; ++i) {
      const char c = rest_[static_cast<size_t>(i)];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    rest_.remove_prefix(static_cast<size_t>(count));
    *value = v;
    return true;
  }

  // One of `names`; `*index` is its position.
  template <size_t N>
  bool OneOf(const absl::string_view (&names)[N], int* index) {
    for (size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) {
        *index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }

  // time-of-day = hour ":" minute ":" second, each 2DIGIT.
  bool TimeOfDay(int* hour, int* minute, int* second) {
    return Digits(2, hour) && Literal(":") && Digits(2, minute) && Literal(":") &&
           Digits(2, second);
  }

 private:
  absl::string_view rest_;
};

// A date that exists (not 31 Feb) and a time within the day; a leap
// second (60) is allowed, as the grammar allows it, and read as :59.
std::optional<absl::Time> MakeTime(int year, int month, int day, int hour, int minute, int second) {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const absl::CivilDay civil_day(year, month, day);
  if (civil_day.year() != year || civil_day.month() != month || civil_day.day() != day) {
    return std::nullopt;  // normalized: the date does not exist
  }
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second == 60 ? 59 : second),
      absl::UTCTimeZone());
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<absl::Time> ParseImfFixdate(absl::string_view text) {
  Cursor in(text);
  int day_name = 0, day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!in.OneOf(kDays, &day_name) || !in.Literal(", ") || !in.Digits(2, &day) || !in.Literal(" ") ||
      !in.OneOf(kMonths, &month) || !in.Literal(" ") || !in.Digits(4, &year) || !in.Literal(" ") ||
      !in.TimeOfDay(&hour, &minute, &second) || !in.Literal(" GMT") || !in.done()) {
    return std::nullopt;
  }
  return MakeTime(year, month + 1, day, hour, minute, second);
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year more
// than 50 years ahead of `now` belongs to the century before.
std::optional<absl::Time> ParseRfc850(absl::string_view text, absl::Time now) {
  Cursor in(text);
  int day_name = 0, day = 0, month = 0, yy = 0, hour = 0, minute = 0, second = 0;
  if (!in.OneOf(kLongDays, &day_name) || !in.Literal(", ") || !in.Digits(2, &day) ||
      !in.Literal("-") || !in.OneOf(kMonths, &month) || !in.Literal("-") || !in.Digits(2, &yy) ||
      !in.Literal(" ") || !in.TimeOfDay(&hour, &minute, &second) || !in.Literal(" GMT") ||
      !in.done()) {
    return std::nullopt;
  }
  const int this_year = static_cast<int>(absl::ToCivilYear(now, absl::UTCTimeZone()).year());
  int year = this_year - this_year % 100 + yy;
  if (year > this_year + 50) year -= 100;
  return MakeTime(year, month + 1, day, hour, minute, second);
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (a one-digit day after a space).
std::optional<absl::Time> ParseAsctime(absl::string_view text) {
  Cursor in(text);
  int day_name = 0, day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!in.OneOf(kDays, &day_name) || !in.Literal(" ") || !in.OneOf(kMonths, &month) ||
      !in.Literal(" ")) {
    return std::nullopt;
  }
  if (!(in.Literal(" ") ? in.Digits(1, &day) : in.Digits(2, &day))) return std::nullopt;
  if (!in.Literal(" ") || !in.TimeOfDay(&hour, &minute, &second) || !in.Literal(" ") ||
      !in.Digits(4, &year) || !in.done()) {
    return std::nullopt;
  }
  return MakeTime(year, month + 1, day, hour, minute, second);
}

// delta-seconds = 1*DIGIT; a count past kMaxRetryAfter stops there (and
// cannot overflow).
std::optional<absl::Duration> ParseDeltaSeconds(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  const int64_t cap = absl::ToInt64Seconds(kMaxRetryAfter);
  int64_t seconds = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (seconds <= cap) seconds = seconds * 10 + (c - '0');
  }
  return absl::Seconds(seconds < cap ? seconds : cap);
}

absl::string_view TrimSpacesAndTabs(absl::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = TrimSpacesAndTabs(value);
  if (std::optional<absl::Duration> delta = ParseDeltaSeconds(value)) return delta;
  std::optional<absl::Time> date = ParseImfFixdate(value);
  if (!date) date = ParseRfc850(value, now);
  if (!date) date = ParseAsctime(value);
  if (!date) return std::nullopt;
  const absl::Duration wait = *date - now;
  if (wait <= absl::ZeroDuration()) return absl::ZeroDuration();
  return wait < kMaxRetryAfter ? wait : kMaxRetryAfter;
}

}  // namespace curl
}  // namespace circuit
