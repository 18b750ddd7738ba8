// File: circuit/open_error.h
// `circuit::OpenError` is the exception Breaker::CallOrThrow() throws when the
// breaker rejects a call; the status-returning API returns
// Permit::RejectionStatus() instead, which costs no unwinding. Prefer the
// status form on hot paths: a thrown exception costs microseconds.
#ifndef CIRCUIT_OPEN_ERROR_H_
#define CIRCUIT_OPEN_ERROR_H_

#include <stdexcept>
#include <string>

#include "absl/time/time.h"
#include "circuit/state.h"

namespace circuit {

class OpenError : public std::runtime_error {
 public:
  OpenError(std::string breaker_name, State state, absl::Duration retry_after,
            const std::string& message)
      : std::runtime_error(message),
        breaker_name_(std::move(breaker_name)),
        state_(state),
        retry_after_(retry_after) {}

  const std::string& breaker_name() const { return breaker_name_; }
  // OPEN, HALF_OPEN (no free trial slot) or FORCED_OPEN.
  State state() const { return state_; }
  // See Permit::retry_after().
  absl::Duration retry_after() const { return retry_after_; }

 private:
  std::string breaker_name_;
  State state_;
  absl::Duration retry_after_;
};

}  // namespace circuit

#endif  // CIRCUIT_OPEN_ERROR_H_
