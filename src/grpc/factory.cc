// File: src/grpc/factory.cc
// BreakerInterceptorFactory's construction (validating its options), the
// key functions that choose a registry's breaker for a call, and
// RejectionRetryAfter(), which reads a rejection's trailer back. What
// happens to each call is in interceptor.cc.
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/grpc/interceptor.h"

namespace circuit {
namespace grpc {
namespace {

// gRPC's status codes are 0 (OK) .. 16 (UNAUTHENTICATED): one bit each.
constexpr int kMaxStatusCode = 16;

// gRPC sends metadata keys lowercase; a key with a capital would never match.
bool IsLowercase(absl::string_view key) {
  for (char c : key) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

BreakerKey KeyByMethod() {
  return [](const CallInfo& call) { return std::string(call.method); };
}

BreakerKey KeyByTarget() {
  return [](const CallInfo& call) { return std::string(call.target); };
}

BreakerKey KeyByTargetAndMethod() {
  return [](const CallInfo& call) { return absl::StrCat(call.target, call.method); };
}

absl::StatusOr<std::unique_ptr<BreakerInterceptorFactory>> BreakerInterceptorFactory::Create(
    BreakerInterceptorOptions options) {
  if ((options.breaker == nullptr) == (options.registry == nullptr)) {
    return absl::InvalidArgumentError(
        "BreakerInterceptorOptions: set exactly one of breaker and registry, got " +
        std::string(options.breaker == nullptr ? "neither" : "both"));
  }
  if (options.registry != nullptr && !options.key) {
    return absl::InvalidArgumentError(
        "BreakerInterceptorOptions.key must be set with a registry, got an empty function");
  }
  if (!IsLowercase(options.breaker_metadata_key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("BreakerInterceptorOptions.breaker_metadata_key must be lowercase, got \"",
                     options.breaker_metadata_key, "\""));
  }
  if (!IsLowercase(options.retry_pushback_key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("BreakerInterceptorOptions.retry_pushback_key must be lowercase, got \"",
                     options.retry_pushback_key, "\""));
  }
  uint32_t failure_mask = 0;
  for (::grpc::StatusCode code : options.failure_codes) {
    const int value = static_cast<int>(code);
    if (value <= 0 || value > kMaxStatusCode) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BreakerInterceptorOptions.failure_codes must hold codes 1..16 (OK is never a "
          "failure), got ",
          value));
    }
    failure_mask |= uint32_t{1} << value;
  }
  return std::unique_ptr<BreakerInterceptorFactory>(
      new BreakerInterceptorFactory(std::move(options), failure_mask));
}

std::optional<absl::Duration> RejectionRetryAfter(const ::grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto found = trailers.find(::grpc::string_ref(kRetryAfterMetadataKey.data(),
                                                      kRetryAfterMetadataKey.size()));
  if (found == trailers.end()) return std::nullopt;
  int64_t millis = 0;
  if (!absl::SimpleAtoi(absl::string_view(found->second.data(), found->second.size()), &millis)) {
    return std::nullopt;
  }
  if (millis < 0) return absl::InfiniteDuration();
  return absl::Milliseconds(millis);
}

}  // namespace grpc
}  // namespace circuit
