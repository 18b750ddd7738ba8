// File: src/permit.cc
// What a rejected permit says about its rejection.
#include "circuit/permit.h"

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"

namespace circuit {
namespace {
// The payload that marks a breaker's rejection: its value is the state
// name and the retry delay in milliseconds (-1: until reset).
constexpr absl::string_view kRejectionPayload = "circuit.dev/rejection";
}  // namespace

absl::Duration Permit::retry_after() const {
  if (!rejected()) return absl::ZeroDuration();
  if (time_nanos_ < 0) return absl::InfiniteDuration();
  return absl::Nanoseconds(time_nanos_);
}

absl::Status Permit::RejectionStatus() const {
  if (breaker_ == nullptr) {
    return absl::FailedPreconditionError("empty permit: it was default-constructed or moved from");
  }
  if (!rejected()) return absl::OkStatus();
  std::string message;
  switch (rejected_state_) {
    case State::kOpen:
      message = absl::StrCat("circuit breaker '", breaker_->name(), "' is OPEN; retry in ",
                             absl::FormatDuration(retry_after()));
      break;
    case State::kHalfOpen:
      message = absl::StrCat("circuit breaker '", breaker_->name(),
                             "' is HALF_OPEN and every trial slot is taken; retry shortly");
      break;
    default:
      message = absl::StrCat("circuit breaker '", breaker_->name(), "' is ",
                             StateName(rejected_state_), " until an operator resets it");
      break;
  }
  absl::Status status = absl::UnavailableError(message);
  const int64_t retry_ms = time_nanos_ < 0 ? -1 : time_nanos_ / 1'000'000;
  status.SetPayload(kRejectionPayload,
                    absl::Cord(absl::StrCat(StateName(rejected_state_), " ", retry_ms)));
  return status;
}

bool IsRejection(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kRejectionPayload).has_value();
}

}  // namespace circuit
