// File: tests/test_breakers.h
// Helpers the breaker suites share: build a breaker from a config (failing
// the test if the config is invalid), and drive it with admitted calls that
// succeed or fail. Tests only.
#ifndef CIRCUIT_TESTS_TEST_BREAKERS_H_
#define CIRCUIT_TESTS_TEST_BREAKERS_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/events.h"
#include "gtest/gtest.h"

namespace circuit {
namespace testing_breakers {

// A breaker for `config`, which must be valid.
inline std::unique_ptr<Breaker> Make(const BreakerConfig& config) {
  absl::StatusOr<std::unique_ptr<Breaker>> breaker = Breaker::Create(config);
  EXPECT_TRUE(breaker.ok()) << breaker.status();
  return std::move(breaker).value();
}

// `n` admitted calls resolved as failures; fails the test if one is rejected.
inline void Fail(Breaker& breaker, int n = 1) {
  for (int i = 0; i < n; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "failure " << i << " rejected in " << StateName(breaker.state());
    permit.Failure();
  }
}

// `n` admitted calls resolved as successes; fails the test if one is rejected.
inline void Succeed(Breaker& breaker, int n = 1) {
  for (int i = 0; i < n; ++i) {
    Permit permit = breaker.TryAcquire();
    ASSERT_TRUE(permit) << "success " << i << " rejected in " << StateName(breaker.state());
    permit.Success();
  }
}

// Every transition a breaker delivers, in order (subscribe it with
// Breaker::Subscribe()).
class Transitions : public BreakerListener {
 public:
  void OnTransition(const TransitionEvent& e) override { events.push_back(e); }
  std::vector<TransitionEvent> events;
};

// A fixture's share: builds breakers and records the transitions of the
// last one built in `transitions` (building another moves the
// subscription to it).
struct RecordsTransitions {
  std::unique_ptr<Breaker> Build(const BreakerConfig& config) {
    auto breaker = Make(config);
    subscription = breaker->Subscribe(transitions);
    return breaker;
  }

  std::shared_ptr<Transitions> transitions = std::make_shared<Transitions>();
  Subscription subscription;
};

}  // namespace testing_breakers
}  // namespace circuit

#endif  // CIRCUIT_TESTS_TEST_BREAKERS_H_
