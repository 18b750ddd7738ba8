// File: src/permit.cc
// What a rejected permit says about its rejection.
#include "circuit/permit.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"

namespace circuit {
namespace {
// The payload that marks a breaker's rejection: its value is the state name
// and the exact retry delay, "<STATE> <nanoseconds>ns" ("OPEN 200000963ns",
// "HALF_OPEN 0ns"), or "<STATE> inf" until an operator resets it; both
// parse with absl::ParseDuration().
constexpr absl::string_view kRejectionPayload = "circuit.dev/rejection";

// RetryDelayForPeople()
// The retry delay as the message prints it, rounded to what a person reads
// (the payload keeps it exact): to the nearest second from 10 s ("30s",
// "1m30s"), to the nearest millisecond below ("200ms", "1.5s"), and never
// below 1 ms, so a delay a few microseconds long does not read "0s".
std::string RetryDelayForPeople(absl::Duration delay) {
  const absl::Duration unit =
      delay >= absl::Seconds(10) ? absl::Seconds(1) : absl::Milliseconds(1);
  const absl::Duration rounded = absl::Floor(delay + unit / 2, unit);
  return absl::FormatDuration(std::max(rounded, absl::Milliseconds(1)));
}
}  // namespace

absl::Duration Permit::retry_after() const {
  if (!rejected()) return absl::ZeroDuration();
  const int64_t nanos = breaker_->RetryNanosNow(*this);
  if (nanos < 0) return absl::InfiniteDuration();
  return absl::Nanoseconds(nanos);
}

absl::Status Permit::RejectionStatus() const {
  if (breaker_ == nullptr) {
    return absl::FailedPreconditionError("empty permit: it was default-constructed or moved from");
  }
  if (!rejected()) return absl::OkStatus();
  const absl::Duration retry = retry_after();  // one reading for both
  std::string message;
  switch (rejected_state_) {
    case State::kOpen:
      message = absl::StrCat("circuit breaker '", breaker_->name(), "' is OPEN; retry in ",
                             RetryDelayForPeople(retry));
      break;
    case State::kHalfOpen:
      message = absl::StrCat("circuit breaker '", breaker_->name(),
                             "' is HALF_OPEN and every trial slot is taken; retry shortly");
      break;
    case State::kClosed:
      message = absl::StrCat("circuit breaker '", breaker_->name(),
                             "' is CLOSED and shed this call (slow start's ramp after recovery, "
                             "or adaptive throttling); retry in ",
                             RetryDelayForPeople(retry));
      break;
    default:
      message = absl::StrCat("circuit breaker '", breaker_->name(), "' is ",
                             StateName(rejected_state_), " until an operator resets it");
      break;
  }
  absl::Status status = absl::UnavailableError(message);
  status.SetPayload(kRejectionPayload,
                    absl::Cord(absl::StrCat(StateName(rejected_state_), " ",
                                            retry == absl::InfiniteDuration()
                                                ? std::string("inf")
                                                : absl::StrCat(absl::ToInt64Nanoseconds(retry),
                                                               "ns"))));
  return status;
}

bool IsRejection(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kRejectionPayload).has_value();
}

std::optional<absl::Duration> RejectionRetryAfter(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return std::nullopt;
  const auto payload = status.GetPayload(kRejectionPayload);  // absl::optional<absl::Cord>
  if (!payload.has_value()) return std::nullopt;
  // "<STATE> <retry>": <retry> is "inf" or "<nanoseconds>ns".
  const std::string text(*payload);
  const size_t space = text.rfind(' ');
  if (space == std::string::npos) return std::nullopt;
  absl::string_view retry = absl::string_view(text).substr(space + 1);
  if (retry == "inf") return absl::InfiniteDuration();
  int64_t nanos = 0;
  if (!absl::ConsumeSuffix(&retry, "ns")) return std::nullopt;
  if (!absl::SimpleAtoi(retry, &nanos) || nanos < 0) return std::nullopt;
  return absl::Nanoseconds(nanos);
}

}  // namespace circuit
