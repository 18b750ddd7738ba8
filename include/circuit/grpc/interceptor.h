// File: circuit/grpc/interceptor.h
// `circuit::grpc::BreakerInterceptorFactory` puts a circuit breaker in front
// of every call a gRPC channel makes: a gRPC client interceptor
// (::grpc::experimental::ClientInterceptorFactoryInterface) for unary and
// streaming calls, from sync, async (CompletionQueue) and callback stubs
// alike. A call the breaker rejects never reaches the network: it ends at
// once with UNAVAILABLE and the retry delay in its trailing metadata. A call
// it admits is judged by its final status and timed for slow-call
// detection.
//
// Example:
//   circuit::Registry registry(defaults);   // outlives the channel
//   circuit::grpc::BreakerInterceptorOptions options;
//   options.registry = &registry;           // a breaker per method (default)
//   std::vector<std::unique_ptr<
//       ::grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
//   interceptors.push_back(
//       circuit::grpc::BreakerInterceptorFactory::Create(options).value());
//   std::shared_ptr<::grpc::Channel> channel =
//       ::grpc::experimental::CreateCustomChannelWithInterceptors(
//           "payments:443", credentials, ::grpc::ChannelArguments(),
//           std::move(interceptors));
//   auto stub = payments::Payments::NewStub(channel);
//
//   ::grpc::ClientContext context;
//   ::grpc::Status status = stub->Charge(&context, request, &reply);
//   if (std::optional<absl::Duration> wait = circuit::grpc::RejectionRetryAfter(context)) {
//     ...   // rejected by the breaker, without a network call; retry after *wait
//   }
//
// A call's life through the interceptor:
//   starts          the breaker is chosen (BreakerInterceptorOptions::registry
//                   and key, or breaker) and asked for a permit
//     rejected      the call is hijacked: nothing is sent, it ends with
//                   Status(UNAVAILABLE, <the rejection's message>) and the
//                   trailing metadata kRetryAfterMetadataKey; a stream's
//                   Read() and Write() return false
//     admitted      the call goes on, timed from here
//   final status    code in failure_codes: Failure(took); a non-OK status
//                   carrying the retry pushback trailer:
//                   FailureRetryAfter(pushback, took), which opens the
//                   breaker for that long; any other code: Success(took)
//   cancelled       (ClientContext::TryCancel()) the permit is released:
//                   no outcome, and a half-open trial slot is handed back
//   never finished  the permit is released when the ClientContext is
//                   destroyed
// A streaming call's outcome is its final status, and its duration the
// whole stream's, from start to that status.
//
// Lifetimes: the breaker or registry must outlive every ClientContext used
// on the channel (a permit is held by its call's ClientContext, and must not
// outlive its breaker). Breakers from a registry are held by the call, so
// one Remove()d meanwhile stays valid.
//
// Thread safety: the factory may be used by any number of channels and
// calls at once. Per call, the interceptor runs where gRPC runs it (the
// caller's thread, a completion queue's, a callback thread); a call's
// breaker permit is acquired once and resolved once.
//
// Cost: on top of the breaker's own, an allocation (gRPC creates one
// interceptor object per call), two reads of the steady clock, and with a
// registry one lookup (a shared lock and a std::shared_ptr copy); see
// BM_Grpc_UnaryWithBreaker in bench/grpc_bench.cc.
#ifndef CIRCUIT_GRPC_INTERCEPTOR_H_
#define CIRCUIT_GRPC_INTERCEPTOR_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/registry.h"

namespace circuit {
namespace grpc {

// The trailing metadata a rejected call ends with: the milliseconds until
// the breaker admits a trial call, rounded up, in decimal ("0" when
// HALF_OPEN with every trial slot taken: one may free up at any time;
// "-1" when FORCED_OPEN: an operator holds it open, there is no time to
// give, as gRPC's own retry pushback says "do not retry" with a negative
// value). Read it back with RejectionRetryAfter().
inline constexpr absl::string_view kRetryAfterMetadataKey = "circuit-retry-after-ms";

// What a key function (BreakerInterceptorOptions::key) knows of a call.
struct CallInfo {
  // The full method name, "/package.Service/Method".
  absl::string_view method;
  // BreakerInterceptorOptions::target: gRPC does not tell an interceptor
  // the channel's target, so the factory is told it.
  absl::string_view target;
  // The call's initial metadata as the caller set it
  // (ClientContext::AddMetadata()), before it is sent.
  const std::multimap<std::string, std::string>* metadata = nullptr;
};

// Names the registry's breaker for a call; an empty name leaves the call
// unguarded.
using BreakerKey = std::function<std::string(const CallInfo&)>;

// KeyByMethod() / KeyByTarget() / KeyByTargetAndMethod()
// Key functions: one breaker per method ("/pkg.Service/Method"), per
// target ("payments:443"), or per target and method
// ("payments:443/pkg.Service/Method").
BreakerKey KeyByMethod();
BreakerKey KeyByTarget();
BreakerKey KeyByTargetAndMethod();

struct BreakerInterceptorOptions {
  // ---- Which breaker guards a call (set exactly one of the two) ----------

  // Every call through the channel. Not owned; must outlive every call.
  Breaker* breaker = nullptr;

  // The registry's breaker named key(call), created on first use from the
  // registry's defaults or override. Not owned; must outlive every call.
  // Costs a registry lookup per call (see Registry's thread safety).
  Registry* registry = nullptr;

  // With `registry`: the breaker's name for a call. Default: KeyByMethod().
  BreakerKey key = KeyByMethod();

  // With `registry`: a call whose initial metadata holds this key is
  // guarded by the breaker its value names, whatever `key` says
  // (ClientContext::AddMetadata("circuit-breaker", "payments-bulk")), and
  // the entry is removed before the call is sent: the server never sees
  // it. Must be lowercase, as gRPC's metadata keys. Empty: off.
  // Default: "circuit-breaker".
  std::string breaker_metadata_key = "circuit-breaker";

  // With `registry`: passed to `key` as CallInfo::target, typically the
  // channel's target. Default: empty.
  std::string target;

  // ---- Which outcomes count as failures ----------------------------------

  // Final status codes that count as failures of the dependency; every
  // other code counts as a success (it answered: INVALID_ARGUMENT,
  // NOT_FOUND, PERMISSION_DENIED are the caller's business, not a sign of
  // the dependency's health). Default: DEADLINE_EXCEEDED and UNAVAILABLE.
  // Adding INTERNAL, UNKNOWN or RESOURCE_EXHAUSTED suits a dependency that
  // reports overload or crashes that way.
  std::vector<::grpc::StatusCode> failure_codes = {::grpc::StatusCode::DEADLINE_EXCEEDED,
                                                   ::grpc::StatusCode::UNAVAILABLE};

  // A trailing metadata entry by which the server asks clients to back off
  // for a number of milliseconds. A call that fails (any non-OK status,
  // listed in failure_codes or not; RESOURCE_EXHAUSTED typically) with a
  // non-negative value counts as a failure and opens the breaker for that
  // long (Permit::FailureRetryAfter()); a negative or unparsable value is
  // ignored. Empty: off. Default: "grpc-retry-pushback-ms", gRPC's own
  // (gRFC A6).
  std::string retry_pushback_key = "grpc-retry-pushback-ms";
};

// BreakerInterceptorFactory
// Creates the per-call interceptors; give it to
// ::grpc::experimental::CreateCustomChannelWithInterceptors().
class BreakerInterceptorFactory : public ::grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  // BreakerInterceptorFactory::Create()
  // Validates `options`: InvalidArgumentError naming the field when both or
  // neither of breaker and registry are set, when registry is set without
  // a key, or when a metadata key is not lowercase.
  static absl::StatusOr<std::unique_ptr<BreakerInterceptorFactory>> Create(
      BreakerInterceptorOptions options);

  // Called by gRPC for every call on the channel.
  ::grpc::experimental::Interceptor* CreateClientInterceptor(
      ::grpc::experimental::ClientRpcInfo* info) override;

  const BreakerInterceptorOptions& options() const { return options_; }

  // ---------------------------------------------------------------------
  // End of the public interface.
 private:
  friend class BreakerInterceptor;  // src/grpc/interceptor.cc: one per call

  BreakerInterceptorFactory(BreakerInterceptorOptions options, uint32_t failure_mask)
      : options_(std::move(options)), failure_mask_(failure_mask) {}

  const BreakerInterceptorOptions options_;
  // Bit c set: status code c is in options_.failure_codes (codes are 0..16).
  const uint32_t failure_mask_;
};

// RejectionRetryAfter()
// For a call that has finished: if the breaker rejected it, the wait its
// kRetryAfterMetadataKey trailer gives (zero when HALF_OPEN, infinite when
// FORCED_OPEN); nullopt for a call that reached the server, or has not
// finished. Reads ClientContext::GetServerTrailingMetadata().
std::optional<absl::Duration> RejectionRetryAfter(const ::grpc::ClientContext& context);

}  // namespace grpc
}  // namespace circuit

#endif  // CIRCUIT_GRPC_INTERCEPTOR_H_
