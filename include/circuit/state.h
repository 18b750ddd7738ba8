// File: circuit/state.h
// The states a `circuit::Breaker` can be in, and their names.
//
//   kClosed       calls flow; outcomes fill the window; thresholds may trip it.
//   kOpen         calls are rejected until the open duration has passed.
//   kHalfOpen     a bounded number of trial calls probe the dependency.
//   kForcedOpen   every call is rejected until Reset().
//   kDisabled     every call is permitted and nothing is recorded.
//   kMetricsOnly  every call is permitted and recorded; the breaker never trips.
//
// The last three are entered only by an operator (Breaker::ForceOpen(),
// Disable(), MetricsOnly()) and left only by Breaker::Reset().
#ifndef CIRCUIT_STATE_H_
#define CIRCUIT_STATE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace circuit {

enum class State : uint8_t {
  kClosed = 0,
  kOpen = 1,
  kHalfOpen = 2,
  kForcedOpen = 3,
  kDisabled = 4,
  kMetricsOnly = 5,
};

// The number of states: every State's value is below it.
inline constexpr int kNumStates = 6;

// StateName()
// Returns "CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED" or
// "METRICS_ONLY"; "UNKNOWN" for a value outside the enum.
absl::string_view StateName(State state);

}  // namespace circuit

#endif  // CIRCUIT_STATE_H_
