// File: src/fallback_failure.cc
// A fallback that failed, reported with both errors (Breaker::Call(fn,
// fallback, ...); circuit/internal/call.h).
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "circuit/breaker.h"
#include "circuit/internal/call.h"

namespace circuit {
namespace {
// The reason, as "<code number> <message>"; and, when the reason was a
// rejection, its rejection payload under its own URL again (so that the
// reason rebuilt by FallbackFailureReason() is still IsRejection()).
constexpr absl::string_view kReasonPayload = "circuit.dev/fallback-reason";
constexpr absl::string_view kReasonPayloadsPrefix = "circuit.dev/fallback-reason/";
}  // namespace

namespace internal {

absl::Status FallbackFailure(const absl::Status& fallback_status, const absl::Status& reason) {
  absl::Status status(fallback_status.code(),
                      absl::StrCat("fallback failed: ", fallback_status.message(),
                                   "; the call had failed with: ", reason.ToString()));
  fallback_status.ForEachPayload([&status](absl::string_view url, const absl::Cord& payload) {
    status.SetPayload(url, payload);
  });
  status.SetPayload(kReasonPayload, absl::Cord(absl::StrCat(static_cast<int>(reason.code()), " ",
                                                            reason.message())));
  reason.ForEachPayload([&status](absl::string_view url, const absl::Cord& payload) {
    status.SetPayload(absl::StrCat(kReasonPayloadsPrefix, url), payload);
  });
  return status;
}

}  // namespace internal

std::optional<absl::Status> FallbackFailureReason(const absl::Status& status) {
  const auto payload = status.GetPayload(kReasonPayload);  // absl::optional<absl::Cord>
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  const size_t space = text.find(' ');
  int code = 0;
  if (space == std::string::npos || !absl::SimpleAtoi(text.substr(0, space), &code) ||
      code <= 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return std::nullopt;
  }
  absl::Status reason(static_cast<absl::StatusCode>(code), text.substr(space + 1));
  status.ForEachPayload([&reason](absl::string_view url, const absl::Cord& value) {
    if (absl::ConsumePrefix(&url, kReasonPayloadsPrefix)) reason.SetPayload(url, value);
  });
  return reason;
}

}  // namespace circuit
