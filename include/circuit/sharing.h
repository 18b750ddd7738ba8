// File: circuit/sharing.h
// Whether a breaker decides alone or follows a state shared with other
// instances of the service (the distributed mode, circuit/redis/shared.h).
//
//   kLocal     the breaker decides alone: every breaker not shared.
//   kShared    a coordinator shares its window and state, and the shared
//              state decides its transitions: the breaker only records
//              (into its own window, pushed to the shared one by the
//              coordinator's background sync) and enforces what the shared
//              state says. Its half-open trials are bounded across all the
//              instances that share it.
//   kDegraded  shared, but the shared store cannot be reached (down, slow,
//              answering garbage): the breaker decides alone, from its own
//              window, until the store answers again.
//
// A breaker is kLocal until a coordinator shares it, and again once the
// coordinator lets it go. The sharing is reported in BreakerSnapshot, to
// listeners (BreakerListener::OnSharing), in Registry::Health() and in the
// Prometheus export.
#ifndef CIRCUIT_SHARING_H_
#define CIRCUIT_SHARING_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace circuit {

enum class Sharing : uint8_t {
  kLocal = 0,
  kShared = 1,
  kDegraded = 2,
};

// SharingName(): "LOCAL", "SHARED", "DEGRADED"; "UNKNOWN" outside the enum.
absl::string_view SharingName(Sharing sharing);

}  // namespace circuit

#endif  // CIRCUIT_SHARING_H_
