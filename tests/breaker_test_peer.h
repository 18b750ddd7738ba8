// File: tests/breaker_test_peer.h
// A test's way into a Breaker's private state, for what the public API
// cannot reach in a unit test's time: crossing hundreds of millions of
// generations. Tests only.
#ifndef CIRCUIT_TESTS_BREAKER_TEST_PEER_H_
#define CIRCUIT_TESTS_BREAKER_TEST_PEER_H_

#include <cstdint>

#include "circuit/breaker.h"
#include "circuit/internal/state_word.h"
#include "circuit/state.h"

namespace circuit {
namespace internal {

class BreakerTestPeer {
 public:
  // BreakerTestPeer::SkipGenerations()
  // One transition into `to` that moves the generation forward by `n` (>= 1)
  // instead of 1, through the breaker's own Publish() (window rebase,
  // deadline, backoff): as if n - 1 transitions had passed that touched
  // nothing but the state word (an outage re-probing OPEN -> HALF_OPEN ->
  // OPEN, or an operator cycling ForceOpen()/Reset() with no calls).
  static void SkipGenerations(Breaker& breaker, State to, uint32_t n) {
    uint64_t word = breaker.state_.load();
    for (;;) {
      const uint64_t desired =
          MakeWord(to, static_cast<uint32_t>((GenOf(word) + n) & kGenMask));
      if (breaker.Publish(word, desired, breaker.CoarseNowNanos())) return;
    }
  }
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_TESTS_BREAKER_TEST_PEER_H_
