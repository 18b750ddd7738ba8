// File: src/async.cc
// The out-of-line half of circuit/async.h: how one async call is resolved
// by whichever of its handles claims it first, and how an exception
// resolves a permit (for CallAsync() and CallFuture() alike).
#include "circuit/async.h"

#include <exception>

#include "absl/status/status.h"
#include "circuit/breaker.h"
#include "circuit/classify.h"
#include "circuit/permit.h"

namespace circuit {
namespace internal {

bool RecordException(Breaker& breaker, Permit& permit, const std::exception_ptr& error) noexcept {
  // Breaker::Call() resolves through the private ResolveAs(); the public
  // members it maps to count the same (a success, a failure, an ignored
  // call), only without the exception in the listeners' CallEvent.
  switch (breaker.Classify(error)) {
    case Outcome::kSuccess:
      return permit.Success();
    case Outcome::kIgnored:
      return permit.Ignore();
    case Outcome::kFailure:
      break;
  }
  return permit.Failure();
}

bool AsyncCall::Complete(const absl::Status& status) noexcept {
  return Claim() && permit_.Record(status);
}

bool AsyncCall::Complete(const absl::Status& status, absl::Duration took) noexcept {
  return Claim() && permit_.Record(status, took);
}

bool AsyncCall::Ignore() noexcept { return Claim() && permit_.Ignore(); }

bool AsyncCall::Release() noexcept { return Claim() && permit_.Release(); }

bool AsyncCall::Threw(Breaker& breaker, const std::exception_ptr& error) noexcept {
  return Claim() && RecordException(breaker, permit_, error);
}

}  // namespace internal
}  // namespace circuit
