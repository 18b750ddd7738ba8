// File: src/state.cc
#include "circuit/state.h"

namespace circuit {

absl::string_view StateName(State state) {
  switch (state) {
    case State::kClosed:
      return "CLOSED";
    case State::kOpen:
      return "OPEN";
    case State::kHalfOpen:
      return "HALF_OPEN";
    case State::kForcedOpen:
      return "FORCED_OPEN";
    case State::kDisabled:
      return "DISABLED";
    case State::kMetricsOnly:
      return "METRICS_ONLY";
  }
  return "UNKNOWN";
}

}  // namespace circuit
