// File: circuit/internal/call.h
// Type plumbing for Breaker::Call(): what a call returns once wrapped, how
// a result is turned into a status, and how a fallback is invoked. The API
// never names these.
#ifndef CIRCUIT_INTERNAL_CALL_H_
#define CIRCUIT_INTERNAL_CALL_H_

#include <type_traits>
#include <utility>

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

// Invokes a fallback with the rejection or failure reason and the call's
// arguments, or with the arguments alone, whichever it accepts.
template <typename Fallback, typename... Args>
decltype(auto) InvokeFallback(Fallback& fallback, const absl::Status& reason, Args&&... args) {
  if constexpr (std::is_invocable_v<Fallback&, const absl::Status&, Args...>) {
    return fallback(reason, std::forward<Args>(args)...);
  } else {
    static_assert(std::is_invocable_v<Fallback&, Args...>,
                  "a fallback takes (const absl::Status& reason, args...) or (args...)");
    return fallback(std::forward<Args>(args)...);
  }
}

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_CALL_H_
