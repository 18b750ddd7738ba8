// File: circuit/internal/breaker_call.h
// The definitions of Breaker's wrapper templates (Call(),
// CallWithClassifier(), CallOrThrow()), declared and documented in
// circuit/breaker.h, which includes this file at its end. They run the
// callable, classify its status, result or exception, resolve the permit,
// and run the fallback, outside the callable's try. Include
// circuit/breaker.h, not this.
#ifndef CIRCUIT_INTERNAL_BREAKER_CALL_H_
#define CIRCUIT_INTERNAL_BREAKER_CALL_H_

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "circuit/breaker.h"
#include "circuit/internal/call.h"
#include "circuit/open_error.h"

namespace circuit {

template <typename R, typename IsFailure>
Outcome Breaker::ClassifyResult(const R& result, IsFailure& result_is_failure) const noexcept {
  if constexpr (std::is_same_v<R, absl::Status> || internal::IsStatusOr<R>::value) {
    const Outcome outcome = Classify(internal::StatusOf(result));
    if (outcome != Outcome::kSuccess) return outcome;
  }
  try {
    return result_is_failure(result) ? Outcome::kFailure : Outcome::kSuccess;
  } catch (...) {
    return Outcome::kFailure;  // a classifier that throws says "failure"
  }
}

// Every form of Call() and CallWithClassifier() ends here: `fallback` is a
// NoFallback when the caller gave none, `result_is_failure` a NoClassifier.
template <typename F, typename IsFailure, typename Fallback, typename... Args>
auto Breaker::CallWithClassifier(F&& fn, IsFailure&& result_is_failure, Fallback&& fallback,
                                 Args&&... args)
    -> internal::CallResultT<internal::ArgsResultT<F, Args...>> {
  using R = internal::ArgsResultT<F, Args...>;
  using Result = internal::CallResultT<R>;
  constexpr bool kHasFallback = !std::is_same_v<std::decay_t<Fallback>, NoFallback>;
  static_assert(!std::is_void_v<R> || std::is_same_v<std::decay_t<IsFailure>, NoClassifier>,
                "CallWithClassifier() classifies fn's result: fn must return one "
                "(for a void callable, use Call())");

  Permit permit = TryAcquire();
  if (!permit) {
    absl::Status reason = permit.RejectionStatus();
    if constexpr (kHasFallback) {
      return internal::RunFallback<Result>(fallback, reason, std::forward<Args>(args)...);
    } else {
      return Result(std::move(reason));
    }
  }
  // Only the callable runs inside a try; classification (noexcept), the
  // outcome and the fallback run outside it, so the fallback runs at most
  // once and what it throws reaches the caller, never taken for the call's.
  // The arguments are forwarded to fn and again to the fallback: each takes
  // them as lvalues if it can (internal::InvokeWithArgs()), so only a
  // callable that cannot moves out of them.
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    try {
      internal::InvokeWithArgs(fn, std::forward<Args>(args)...);
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) {
      permit.Success();
      return absl::OkStatus();
    }
  } else {
    std::optional<std::decay_t<R>> result;
    try {
      result.emplace(internal::InvokeWithArgs(fn, std::forward<Args>(args)...));
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) {
      const Outcome outcome = ClassifyResult(*result, result_is_failure);
      if constexpr (std::is_same_v<std::decay_t<R>, absl::Status> ||
                    internal::IsStatusOr<std::decay_t<R>>::value) {
        ResolveAs(permit, outcome, kNotMeasured, &internal::StatusOf(*result));
      } else {
        ResolveAs(permit, outcome);
      }
      if constexpr (kHasFallback) {
        if (outcome == Outcome::kFailure) {
          const absl::Status& status = internal::StatusOf(*result);
          return internal::RunFallback<Result>(
              fallback, status.ok() ? absl::UnknownError("result classified as a failure") : status,
              std::forward<Args>(args)...);
        }
      }
      return Result(std::move(*result));
    }
  }
  const Outcome outcome = Classify(error);
  ResolveAs(permit, outcome, kNotMeasured, nullptr, &error);
  if constexpr (kHasFallback) {
    if (outcome == Outcome::kFailure) {
      return internal::RunFallback<Result>(fallback, ExceptionReason(error),
                                           std::forward<Args>(args)...);
    }
  }
  std::rethrow_exception(error);
}

template <typename F>
auto Breaker::Call(F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>> {
  return CallWithClassifier(std::forward<F>(fn), NoClassifier(), NoFallback());
}

template <typename F, typename Fallback, typename... Args>
auto Breaker::Call(F&& fn, Fallback&& fallback, Args&&... args)
    -> internal::CallResultT<internal::ArgsResultT<F, Args...>> {
  return CallWithClassifier(std::forward<F>(fn), NoClassifier(), std::forward<Fallback>(fallback),
                            std::forward<Args>(args)...);
}

template <typename F, typename IsFailure>
auto Breaker::CallWithClassifier(F&& fn, IsFailure&& result_is_failure)
    -> internal::CallResultT<std::invoke_result_t<F&>> {
  return CallWithClassifier(std::forward<F>(fn), std::forward<IsFailure>(result_is_failure),
                            NoFallback());
}

template <typename F>
auto Breaker::CallOrThrow(F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  Permit permit = TryAcquire();
  if (!permit) {
    throw OpenError(config_.name, permit.rejected_state(), permit.retry_after(),
                    std::string(permit.RejectionStatus().message()));
  }
  NoClassifier none;
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      permit.Success();
    } else {
      R result = fn();
      ResolveAs(permit, ClassifyResult(result, none));
      return result;
    }
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    ResolveAs(permit, Classify(error), kNotMeasured, nullptr, &error);
    throw;
  }
}

}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_BREAKER_CALL_H_
