// File: circuit/curl/retry_after.h
// `circuit::curl::ParseRetryAfter()` reads an HTTP Retry-After value, the
// wait a 429 or 503 response asks for, in either form RFC 9110 allows:
// delta-seconds ("120") or an HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT",
// and the two obsolete date forms every recipient must accept). It is a
// pure function of the value and the time given, so that what counts as a
// valid Retry-After is decided, and tested, in one place.
//
// Example:
//   std::optional<absl::Duration> wait =
//       circuit::curl::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", absl::Now());
//   if (wait && *wait > absl::ZeroDuration()) permit.FailureRetryAfter(*wait);
//   else permit.Failure();  // no usable wait: a plain failure
//
// Thread safety: a pure function; call it from anywhere.
#ifndef CIRCUIT_CURL_RETRY_AFTER_H_
#define CIRCUIT_CURL_RETRY_AFTER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace circuit {
namespace curl {

// The longest wait ParseRetryAfter() returns: a longer one (a server's
// mistake, or a date years ahead) is cut to this. A day: any breaker's
// max_open_duration caps it further (circuit/config.h).
inline constexpr absl::Duration kMaxRetryAfter = absl::Hours(24);

// ParseRetryAfter()
// The wait `value` asks for, as seen at `now`, or nullopt when `value` is
// neither form (garbage: the caller then counts a plain failure).
//   delta-seconds  one or more ASCII digits, nothing else ("-1", "1.5",
//                  "5s" are garbage); "0" is a wait of zero.
//   HTTP-date      IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
//                  "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year more
//                  than 50 years ahead of `now` is in the past century, as
//                  RFC 9110 says), or asctime "Sun Nov  6 08:49:37 1994".
//                  Always GMT. Its day name is checked for spelling, not
//                  against the date. A date at or before `now` is a wait of
//                  zero.
// Leading and trailing spaces and tabs are ignored. The result is within
// [0, kMaxRetryAfter].
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace curl
}  // namespace circuit

#endif  // CIRCUIT_CURL_RETRY_AFTER_H_
