// File: circuit/internal/call.h
// Type plumbing for Breaker::Call(): what a call returns once wrapped, how
// a result is turned into a status, and how a fallback is invoked. The API
// never names these.
#ifndef CIRCUIT_INTERNAL_CALL_H_
#define CIRCUIT_INTERNAL_CALL_H_

#include <cstdlib>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace circuit {
namespace internal {

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// What Call() returns for a callable returning R:
//   absl::Status       -> absl::Status
//   absl::StatusOr<T>  -> absl::StatusOr<T>
//   void               -> absl::Status
//   T                  -> absl::StatusOr<T>
template <typename R>
struct CallResult {
  using type = absl::StatusOr<R>;
};
template <>
struct CallResult<void> {
  using type = absl::Status;
};
template <>
struct CallResult<absl::Status> {
  using type = absl::Status;
};
template <typename T>
struct CallResult<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};
template <typename R>
using CallResultT = typename CallResult<std::decay_t<R>>::type;

// The status a result carries: its own for Status and StatusOr, OK otherwise.
template <typename R>
const absl::Status& StatusOf(const R& result) {
  if constexpr (std::is_same_v<R, absl::Status>) {
    return result;
  } else if constexpr (IsStatusOr<R>::value) {
    return result.status();
  } else {
    static const absl::Status* const kOk = new absl::Status();
    return *kOk;
  }
}

// How Call() hands its arguments on (the rule is documented at
// Breaker::Call() in circuit/breaker.h): a callable gets every argument as
// an lvalue, the object the caller passed, if it accepts them so; else as
// they were passed, so that an argument passed as an rvalue (a move-only one
// taken by value, a `T&&` parameter) is moved in.
template <typename G, typename... Args>
inline constexpr bool kTakesLvalues = std::is_invocable_v<G&, Args&...>;

// What `g` returns when called with `args` by that rule.
template <typename G, typename... Args>
using ArgsResultT =
    typename std::conditional_t<kTakesLvalues<G, Args...>, std::invoke_result<G&, Args&...>,
                                std::invoke_result<G&, Args&&...>>::type;

// Calls `g` with `args` by that rule.
template <typename G, typename... Args>
decltype(auto) InvokeWithArgs(G& g, Args&&... args) {
  if constexpr (kTakesLvalues<G, Args...>) {
    return std::invoke(g, args...);
  } else {
    return std::invoke(g, std::forward<Args>(args)...);
  }
}

// Whether `fallback(reason, args...)` or `fallback(args...)` can be called,
// by that rule.
template <typename Fallback, typename... Args>
inline constexpr bool kIsFallback =
    std::is_invocable_v<Fallback&, const absl::Status&, Args&...> ||
    std::is_invocable_v<Fallback&, const absl::Status&, Args&&...> ||
    std::is_invocable_v<Fallback&, Args&...> || std::is_invocable_v<Fallback&, Args&&...>;

// Invokes a fallback with the rejection or failure reason and the call's
// arguments, or with the arguments alone, whichever it accepts (the reason
// first), each argument handed on by the rule above.
template <typename Fallback, typename... Args>
decltype(auto) InvokeFallback(Fallback& fallback, const absl::Status& reason, Args&&... args) {
  if constexpr (kTakesLvalues<Fallback, const absl::Status&, Args...>) {
    return std::invoke(fallback, reason, args...);
  } else if constexpr (std::is_invocable_v<Fallback&, const absl::Status&, Args&&...>) {
    return std::invoke(fallback, reason, std::forward<Args>(args)...);
  } else if constexpr (kTakesLvalues<Fallback, Args...>) {
    return std::invoke(fallback, args...);
  } else {
    return std::invoke(fallback, std::forward<Args>(args)...);
  }
}

// FallbackFailure()
// `fallback_status` (the fallback's own error) marked as a failed fallback:
// its code and payloads, the message "fallback failed: <its message>; the
// call had failed with: <reason>", and `reason` kept in a payload for
// circuit::FallbackFailureReason() (circuit/breaker.h).
absl::Status FallbackFailure(const absl::Status& fallback_status, const absl::Status& reason);

// What Call() returns when it falls back: the fallback's result converted to
// `Result` (what Call() returns for fn's result type), or OK when the
// fallback returns void and Call() returns absl::Status (fn returns void or
// absl::Status): a fallback that returns nothing has handled the failure.
// A failing status from the fallback becomes FallbackFailure(), unless it
// is the reason itself (fallback::OriginalError() passes it on).
template <typename Result, typename Fallback, typename... Args>
Result RunFallback(Fallback& fallback, const absl::Status& reason, Args&&... args) {
  static_assert(kIsFallback<Fallback, Args...>,
                "a fallback takes (const absl::Status& reason, args...) or (args...)");
  if constexpr (kIsFallback<Fallback, Args...>) {
    using FallbackResult =
        decltype(InvokeFallback(fallback, reason, std::forward<Args>(args)...));
    if constexpr (std::is_void_v<FallbackResult>) {
      static_assert(std::is_same_v<Result, absl::Status>,
                    "a fallback may return void only when fn returns void or absl::Status; "
                    "for fn returning T or absl::StatusOr<T>, return T or absl::StatusOr<T>");
      InvokeFallback(fallback, reason, std::forward<Args>(args)...);
      return absl::OkStatus();
    } else {
      static_assert(std::is_constructible_v<Result, FallbackResult>,
                    "the fallback's result must convert to what Call() returns for fn's "
                    "result (absl::Status for void and absl::Status, absl::StatusOr<T> for T "
                    "and absl::StatusOr<T>)");
      Result result(InvokeFallback(fallback, reason, std::forward<Args>(args)...));
      const absl::Status& status = StatusOf(result);
      // A fallback that fails (but does not just pass the reason on) is
      // reported as such, carrying both errors.
      if (ABSL_PREDICT_FALSE(!status.ok()) && status != reason) {
        return Result(FallbackFailure(status, reason));
      }
      return result;
    }
  } else {
    std::abort();  // unreachable: the static_assert above has failed
  }
}

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_CALL_H_
