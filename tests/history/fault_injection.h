// Fault injection for the deadline race (README.md, "Bug found"), without
// touching src/.
//
// Breaker::AfterTransition() runs after a transition's CAS and, before it
// stores the new generation's deadline, calls two functions that live in
// shared libraries and are therefore reached through the dynamic linker:
//   std::pow()                  (OpenDurationNanos(), on the way into OPEN)
//   absl::ToInt64Nanoseconds()  (on the way into HALF_OPEN)
// fault_injection.cc defines both in the test binary, which interposes them
// for the breaker; each forwards to the real function, after optionally
//   * parking the calling thread (Hold...OnThisThread()) until Release(), to
//     replay one exact interleaving, or
//   * yielding the CPU a number of times at random (SetRandomDelay()), to
//     let the stress harness find the interleaving by itself.
//
// Only for the test binary that compiles fault_injection.cc into itself.
#ifndef CIRCUIT_TESTS_HISTORY_FAULT_INJECTION_H_
#define CIRCUIT_TESTS_HISTORY_FAULT_INJECTION_H_

namespace circuit {
namespace history {
namespace fault {

// The next std::pow() on this thread parks until Release().
void HoldNextPowOnThisThread();
// The next absl::ToInt64Nanoseconds() on this thread parks until Release().
void HoldNextToNanosOnThisThread();
// True once a thread is parked in either.
bool SomeoneIsHeld();
// Lets the parked thread go (and any later one).
void Release();
// Resets the hold machinery for the next scenario.
void ResetHolds();

// Each interposed call, on any thread, yields `yields` times with
// probability per_mille / 1000. 0 turns it off.
void SetRandomDelay(int per_mille, int yields);

}  // namespace fault
}  // namespace history
}  // namespace circuit

#endif  // CIRCUIT_TESTS_HISTORY_FAULT_INJECTION_H_
