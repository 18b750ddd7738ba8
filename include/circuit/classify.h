// File: circuit/classify.h
// Which outcomes count as failures. A breaker classifies three things:
//
//   an absl::Status    `BreakerConfig::status_is_failure` (default: any
//                      non-OK status); helpers below build common ones;
//   an exception       `BreakerConfig::exception_is_ignored` (neither
//                      success nor failure) is asked first, then
//                      `BreakerConfig::exception_is_failure` (default: every
//                      exception); an exception that is neither counts as a
//                      success ("expected exceptions", as a business error
//                      that says nothing about the dependency's health);
//   a result value     a predicate given to Breaker::Call() per call, since
//                      its type is the callable's.
//
// Example:
//   config.status_is_failure = circuit::FailOnCodes(
//       {absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded});
//   config.exception_is_failure =
//       circuit::ExceptionIsAnyOf<std::system_error, TimeoutError>();
//   config.exception_is_ignored = circuit::ExceptionIsAnyOf<Cancelled>();
//
// A classifier that throws is treated as having said "failure": the permit is
// resolved all the same and no half-open slot leaks.
#ifndef CIRCUIT_CLASSIFY_H_
#define CIRCUIT_CLASSIFY_H_

#include <exception>
#include <functional>
#include <initializer_list>
#include <vector>

#include "absl/status/status.h"

namespace circuit {

// What a resolved permit reports. kIgnored counts toward neither rate.
enum class Outcome : uint8_t { kSuccess, kFailure, kIgnored };

using StatusClassifier = std::function<bool(const absl::Status&)>;
using ExceptionClassifier = std::function<bool(const std::exception_ptr&)>;

// FailOnCodes()
// A status classifier that counts exactly `codes` as failures (OK never is).
inline StatusClassifier FailOnCodes(std::initializer_list<absl::StatusCode> codes) {
  std::vector<absl::StatusCode> list(codes);
  return [list](const absl::Status& status) {
    for (absl::StatusCode code : list) {
      if (status.code() == code && code != absl::StatusCode::kOk) return true;
    }
    return false;
  };
}

// FailExceptCodes()
// A status classifier that counts every non-OK status as a failure except
// `codes` (for example kNotFound, kInvalidArgument: the caller's fault).
inline StatusClassifier FailExceptCodes(std::initializer_list<absl::StatusCode> codes) {
  std::vector<absl::StatusCode> list(codes);
  return [list](const absl::Status& status) {
    if (status.ok()) return false;
    for (absl::StatusCode code : list) {
      if (status.code() == code) return false;
    }
    return true;
  };
}

// ExceptionIsAnyOf<E...>()
// An exception classifier that matches exceptions of type E (or derived from
// it) for any of the listed types.
template <typename... E>
ExceptionClassifier ExceptionIsAnyOf() {
  static_assert(sizeof...(E) > 0, "name at least one exception type");
  return [](const std::exception_ptr& error) {
    if (!error) return false;
    bool matched = false;
    // One rethrow per listed type; this runs only when a call threw.
    auto match = [&](auto* tag) {
      using Type = std::remove_pointer_t<decltype(tag)>;
      if (matched) return;
      try {
        std::rethrow_exception(error);
      } catch (const Type&) {
        matched = true;
      } catch (...) {
      }
    };
    (match(static_cast<E*>(nullptr)), ...);
    return matched;
  };
}

// AnyException() / NoException()
// The two trivial exception classifiers.
inline ExceptionClassifier AnyException() {
  return [](const std::exception_ptr& error) { return error != nullptr; };
}
inline ExceptionClassifier NoException() {
  return [](const std::exception_ptr&) { return false; };
}

}  // namespace circuit

#endif  // CIRCUIT_CLASSIFY_H_
