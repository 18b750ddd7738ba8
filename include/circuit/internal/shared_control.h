// File: circuit/internal/shared_control.h
// The distributed mode's hold on a breaker (circuit/sharing.h): what a
// coordinator (circuit/redis/shared.h) reads from a breaker it shares, and
// the few things it does to it. Nothing here is on the call path: the
// coordinator's sync thread calls these once per sync.
//
// Under Sharing::kShared the breaker records as usual but leaves its
// decisions to the shared state: its own trips, the end of OPEN and the
// verdict on HALF_OPEN's trials wait for the coordinator, which Follow()s
// the shared state and Lend()s the HALF_OPEN trial slots the shared store
// granted this instance. Under kDegraded and kLocal the breaker decides
// alone, from its own window, as any breaker.
//
// Internal: for circuit's distributed mode only.
#ifndef CIRCUIT_INTERNAL_SHARED_CONTROL_H_
#define CIRCUIT_INTERNAL_SHARED_CONTROL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "circuit/breaker.h"
#include "circuit/sharing.h"
#include "circuit/state.h"

namespace circuit {
namespace internal {

// What a coordinator pushes: lifetime counts (so a push is idempotent: the
// store keeps the last counts it saw from each instance and adds the
// difference) and the state word's view of the moment.
struct LocalCounts {
  State state = State::kClosed;
  uint32_t generation = 0;
  uint64_t calls = 0;     // successes + failures
  uint64_t failures = 0;
  uint64_t slow = 0;
  uint64_t rejected = 0;
  uint32_t consecutive_failures = 0;  // the run now (this generation's)
  // HALF_OPEN (0 elsewhere): the trials of this generation.
  uint32_t trials_in_flight = 0;
  uint32_t trial_successes = 0;  // judged by S of K: a slow trial is a failure
  uint32_t trial_failures = 0;
  uint32_t trial_slow = 0;
};

class SharedControl {
 public:
  static Sharing sharing(const Breaker& breaker);

  // SharedControl::SetSharing()
  // Changes the breaker's sharing and, if it changed, tells its transition
  // listeners (SharingEvent, with `reason`). Leaving kShared (to kDegraded
  // or kLocal) hands the decisions back to the breaker: a HALF_OPEN whose
  // verdict the shared store was to give reopens with no wait (cause
  // SHARED), so the next call starts the breaker's own trials; a CLOSED
  // breaker judges its window and its consecutive run at once, and trips
  // if they hold a trip condition (the shared state held those trips back).
  static void SetSharing(Breaker& breaker, Sharing to, const absl::Status& reason);

  // Takes a breaker for a coordinator: kLocal -> kDegraded (alone until the
  // store answers), telling its listeners. False if it is shared already.
  static bool Claim(Breaker& breaker);

  // Sums the stripes (O(stripes)) and reads the state word.
  static LocalCounts Read(const Breaker& breaker);

  // SharedControl::Follow()
  // Moves the breaker into `to` (CLOSED, OPEN or HALF_OPEN) at its next
  // generation, cause SHARED, unless it is there already or in an
  // operator's state (FORCED_OPEN, DISABLED, METRICS_ONLY: the operator's
  // word stands; returns false). Into OPEN, `open_nanos` is the period
  // left and value/threshold the shared trip's. Sets *generation to the
  // generation the breaker is in after.
  static bool Follow(Breaker& breaker, State to, int64_t open_nanos, double value,
                     double threshold, uint32_t* generation);

  // Moves an OPEN generation `generation` to the next one, still OPEN, for
  // `open_nanos`: the shared breaker reopened between two syncs.
  static bool Reopen(Breaker& breaker, uint32_t generation, int64_t open_nanos, double value,
                     double threshold);

  // SharedControl::Lend()
  // Lets HALF_OPEN generation `generation` start up to `slots` trials in
  // all (the shared store's grant to this instance). Only ever raises it;
  // does nothing unless the breaker is HALF_OPEN at that generation.
  static void Lend(Breaker& breaker, uint32_t generation, uint32_t slots);

 private:
  // Leaving kShared: a HALF_OPEN reopens with no wait; a CLOSED breaker
  // judges its window and its run, whose trips the shared state held back.
  static void TakeBackDecisions(Breaker& breaker);
  // Tells the breaker's transition listeners of a change of sharing.
  static void Announce(Breaker& breaker, Sharing from, Sharing to, const absl::Status& reason);

 public:
  // The trials HALF_OPEN generation `generation` was lent (0 if none).
  static uint32_t Lent(const Breaker& breaker, uint32_t generation) {
    return breaker.SharedTrialSlots(generation);
  }
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_SHARED_CONTROL_H_
