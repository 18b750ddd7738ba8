// File: src/grpc/interceptor.cc
// BreakerInterceptor: what happens to one call. gRPC creates one per call
// (BreakerInterceptorFactory::CreateClientInterceptor()), owned by the
// call's ClientContext, and runs Intercept() on each batch of the call's
// operations:
//
//   batch (hook points)            admitted call         rejected call
//   PRE_SEND_INITIAL_METADATA      choose the breaker, TryAcquire():
//                                  Proceed(), timed      Hijack()
//   PRE_SEND_MESSAGE (a later      -                     FailHijackedSendMessage():
//     Write())                                           Write() returns false
//   PRE_RECV_MESSAGE               (not seen)            FailHijackedRecvMessage():
//                                                        Read() returns false
//   PRE_RECV_STATUS                (not seen)            the status and the trailer
//   POST_RECV_STATUS               resolve the permit    (nothing to resolve)
//   PRE_SEND_CANCEL                remember the cancel   -
//
// PRE_RECV_* batches reach only a hijacking interceptor: they stand in for
// what the network would have delivered.
#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/grpc/interceptor.h"
#include "circuit/permit.h"
#include "circuit/registry.h"

namespace circuit {
namespace grpc {

using ::grpc::experimental::InterceptionHookPoints;
using ::grpc::experimental::InterceptorBatchMethods;

namespace {

::grpc::string_ref Ref(absl::string_view text) { return {text.data(), text.size()}; }

// The retry pushback's milliseconds in `trailers`, if `key` is there with
// a non-negative integer (gRFC A6: negative or unparsable means "do not
// retry", which says nothing about when to come back).
std::optional<int64_t> PushbackMillis(
    const std::multimap<::grpc::string_ref, ::grpc::string_ref>* trailers,
    const std::string& key) {
  if (key.empty() || trailers == nullptr) return std::nullopt;
  const auto found = trailers->find(Ref(key));
  if (found == trailers->end()) return std::nullopt;
  int64_t millis = 0;
  if (!absl::SimpleAtoi(absl::string_view(found->second.data(), found->second.size()), &millis) ||
      millis < 0) {
    return std::nullopt;
  }
  return millis;
}

// kRetryAfterMetadataKey's value for a rejected permit.
std::string RetryAfterMillis(const Permit& rejected) {
  const absl::Duration wait = rejected.retry_after();
  if (wait == absl::InfiniteDuration()) return "-1";
  return absl::StrCat(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
}

}  // namespace

class BreakerInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  BreakerInterceptor(const BreakerInterceptorFactory& factory,
                     ::grpc::experimental::ClientRpcInfo* info)
      : factory_(factory), method_(info->method() != nullptr ? info->method() : "") {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_CANCEL)) {
      // relaxed: a flag read at POST_RECV_STATUS, which gRPC delivers after
      // the cancel it caused; if the call ended first, its status stands.
      cancelled_.store(true, std::memory_order_relaxed);
      return;  // a cancel's batch is never delayed: returning proceeds
    }
    bool hijack = false;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      hijack = Start(methods);
    } else if (hijacked_ &&
               methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      methods->FailHijackedSendMessage();  // a stream's later Write()
    }
    if (hijacked_) {
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_RECV_MESSAGE)) {
        methods->FailHijackedRecvMessage();
      }
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_RECV_STATUS)) {
        *methods->GetRecvStatus() = hijack_status_;
        if (!retry_after_.empty()) {
          // string_refs into this object: it lives as long as the
          // ClientContext whose trailers they are.
          methods->GetRecvTrailingMetadata()->emplace(Ref(kRetryAfterMetadataKey),
                                                      Ref(retry_after_));
        }
      }
    } else if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      Finish(methods);
    }
    if (hijack) {
      methods->Hijack();
    } else {
      methods->Proceed();
    }
  }

 private:
  // Chooses the breaker and asks for a permit. Returns true when the call
  // is to be hijacked (rejected, or no breaker could be had), with
  // hijack_status_ (and retry_after_) set.
  bool Start(InterceptorBatchMethods* methods) {
    const BreakerInterceptorOptions& options = factory_.options_;
    Breaker* breaker = options.breaker;
    if (breaker == nullptr) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      std::string name;
      if (metadata != nullptr && !options.breaker_metadata_key.empty()) {
        const auto range = metadata->equal_range(options.breaker_metadata_key);
        if (range.first != range.second) {
          name = range.first->second;
          metadata->erase(range.first, range.second);  // never sent
        }
      }
      if (name.empty()) name = options.key(CallInfo{method_, options.target, metadata});
      if (name.empty()) return false;  // unguarded, by the key's choice
      absl::StatusOr<std::shared_ptr<Breaker>> found = options.registry->GetOrCreate(name);
      if (!found.ok()) {
        // A registry whose defaults are invalid guards nothing: the call
        // fails with the reason rather than go on unguarded unnoticed.
        hijacked_ = true;
        hijack_status_ = ::grpc::Status(
            ::grpc::StatusCode::INTERNAL,
            absl::StrCat("circuit: no breaker \"", name, "\" for ", method_, ": ",
                         found.status().message()));
        return true;
      }
      held_ = *std::move(found);
      breaker = held_.get();
    }
    permit_ = breaker->TryAcquire();
    if (permit_) {
      started_ = std::chrono::steady_clock::now();
      return false;
    }
    hijacked_ = true;
    hijack_status_ = ::grpc::Status(::grpc::StatusCode::UNAVAILABLE,
                                    std::string(permit_.RejectionStatus().message()));
    retry_after_ = RetryAfterMillis(permit_);
    return true;
  }

  // Resolves the permit from the call's final status.
  void Finish(InterceptorBatchMethods* methods) {
    if (!permit_) return;  // unguarded
    const absl::Duration took = absl::FromChrono(std::chrono::steady_clock::now() - started_);
    const ::grpc::Status& status = *methods->GetRecvStatus();
    const ::grpc::StatusCode code = status.error_code();
    if (code == ::grpc::StatusCode::CANCELLED && cancelled_.load(std::memory_order_relaxed)) {
      permit_.Release();  // the caller gave up: no word on the dependency
      return;
    }
    if (code != ::grpc::StatusCode::OK) {
      if (std::optional<int64_t> millis = PushbackMillis(
              methods->GetRecvTrailingMetadata(), factory_.options_.retry_pushback_key)) {
        permit_.FailureRetryAfter(absl::Milliseconds(*millis), took);
        return;
      }
    }
    if ((factory_.failure_mask_ >> static_cast<int>(code)) & 1) {
      permit_.Failure(took);
    } else {
      permit_.Success(took);
    }
  }

  const BreakerInterceptorFactory& factory_;
  // The method name as gRPC gives it: valid while the call starts, which is
  // when Start() reads it.
  const absl::string_view method_;
  // The registry's breaker, held for the call. Declared before permit_,
  // which must be destroyed (released) while its breaker lives.
  std::shared_ptr<Breaker> held_;
  Permit permit_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> cancelled_{false};  // set from TryCancel()'s thread
  bool hijacked_ = false;
  ::grpc::Status hijack_status_;  // what a hijacked call ends with
  std::string retry_after_;       // kRetryAfterMetadataKey's value
};

::grpc::experimental::Interceptor* BreakerInterceptorFactory::CreateClientInterceptor(
    ::grpc::experimental::ClientRpcInfo* info) {
  return new BreakerInterceptor(*this, info);
}

}  // namespace grpc
}  // namespace circuit
