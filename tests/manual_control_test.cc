// circuit::ManualControl: one lever over many breakers, each of which says
// who forced it; Release() hands back only what the control still holds.
#include "circuit/manual_control.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "circuit/breaker.h"
#include "circuit/events.h"
#include "circuit/fake_clock.h"
#include "circuit/registry.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

std::shared_ptr<Breaker> MakeShared(const std::string& name, const Clock* clock = nullptr) {
  BreakerConfig config;
  config.name = name;
  config.clock = clock;
  return std::shared_ptr<Breaker>(Breaker::Create(config).value());
}

TEST(ManualControlTest, OneLeverForcesEveryBreakerAndEachSaysWho) {
  ManualControl region("eu-west isolation");
  auto payments = MakeShared("payments");
  auto ledger = MakeShared("ledger");
  auto other = MakeShared("other");
  region.Add(payments);
  region.Add(ledger);
  region.Add(payments);  // twice: once
  EXPECT_EQ(region.size(), 2u);
  EXPECT_EQ(region.engaged(), State::kClosed);
  EXPECT_EQ(payments->ForcedBy(), "");

  region.ForceOpen("INC-4211");
  EXPECT_EQ(region.engaged(), State::kForcedOpen);
  for (const auto& b : {payments, ledger}) {
    EXPECT_EQ(b->state(), State::kForcedOpen);
    EXPECT_EQ(b->ForcedBy(), "eu-west isolation: INC-4211");
    EXPECT_FALSE(b->TryAcquire());
  }
  EXPECT_EQ(other->state(), State::kClosed);

  region.Disable("draining");  // the other lever, while engaged
  EXPECT_EQ(payments->state(), State::kDisabled);
  EXPECT_EQ(payments->ForcedBy(), "eu-west isolation: draining");
  EXPECT_TRUE(payments->TryAcquire());

  EXPECT_EQ(region.Release(), 2u);
  EXPECT_EQ(region.engaged(), State::kClosed);
  EXPECT_EQ(payments->state(), State::kClosed);
  EXPECT_EQ(payments->ForcedBy(), "");
}

TEST(ManualControlTest, ReleaseLeavesWhatSomeoneElseMovedSince) {
  ManualControl control("maintenance");
  auto kept = MakeShared("kept");
  auto taken = MakeShared("taken");
  auto reset = MakeShared("reset");
  for (const auto& b : {kept, taken, reset}) control.Add(b);
  control.ForceOpen("window");
  taken->Disable();  // another operator took it over
  EXPECT_EQ(taken->ForcedBy(), "operator");
  reset->Reset();    // and this one was handed back already
  EXPECT_EQ(control.Release(), 1u);
  EXPECT_EQ(kept->state(), State::kClosed);
  EXPECT_EQ(taken->state(), State::kDisabled);  // left as the operator set it
  EXPECT_EQ(reset->state(), State::kClosed);
}

TEST(ManualControlTest, ABreakerAddedWhileEngagedIsForcedAtOnceAndTheDeadAreSkipped) {
  ManualControl control("isolation");
  control.ForceOpen("drill");
  auto late = MakeShared("late");
  control.Add(late);
  EXPECT_EQ(late->state(), State::kForcedOpen);
  EXPECT_EQ(late->ForcedBy(), "isolation: drill");
  {
    auto gone = MakeShared("gone");
    control.Add(gone);
  }  // destroyed while attached
  EXPECT_EQ(control.size(), 1u);
  EXPECT_EQ(control.Release(), 1u);
  EXPECT_TRUE(control.Remove(*late));
  EXPECT_FALSE(control.Remove(*late));
  control.ForceOpen("again");  // no longer attached: untouched
  EXPECT_EQ(late->state(), State::kClosed);
  control.Add(nullptr);  // ignored
}

TEST(ManualControlTest, TheRegistrysBreakersAndItsLevers) {
  Registry registry;
  ManualControl control("region");
  control.Add(registry.GetOrCreate("a").value());
  control.Add(registry.GetOrCreate("b").value());
  control.ForceOpen("failover");
  EXPECT_EQ(registry.Find("a")->state(), State::kForcedOpen);
  ASSERT_TRUE(registry.Reset("b"));
  EXPECT_EQ(control.Release(), 1u);
  EXPECT_EQ(registry.Find("a")->state(), State::kClosed);
}

// A listener of a breaker being forced reads the control and pulls one of
// its levers, on the lever's own thread: no deadlock.
class PullsTheLever : public BreakerListener {
 public:
  PullsTheLever(ManualControl* control, std::shared_ptr<Breaker> late)
      : control_(control), late_(std::move(late)) {}
  void OnTransition(const TransitionEvent& e) override {
    if (e.to != State::kForcedOpen || done_) return;
    done_ = true;
    seen_engaged = control_->engaged();
    control_->Add(late_);  // forced at once, from inside the lever
  }
  State seen_engaged = State::kClosed;

 private:
  ManualControl* control_;
  std::shared_ptr<Breaker> late_;
  bool done_ = false;
};

TEST(ManualControlTest, AListenerMayUseTheControlFromInsideALever) {
  ManualControl control("region");
  auto first = MakeShared("first");
  auto late = MakeShared("late");
  auto listener = std::make_shared<PullsTheLever>(&control, late);
  Subscription subscription = first->Subscribe(listener);
  control.Add(first);
  control.ForceOpen("test");
  EXPECT_EQ(listener->seen_engaged, State::kForcedOpen);
  EXPECT_EQ(late->state(), State::kForcedOpen);
  EXPECT_EQ(control.size(), 2u);
}

// Levers, Add() and calls from several threads at once (ThreadSanitizer
// runs this too): every breaker ends in the state of the last lever.
TEST(ManualControlTest, LeversAndCallsFromManyThreads) {
  ManualControl control("stress");
  std::vector<std::shared_ptr<Breaker>> breakers;
  for (int i = 0; i < 8; ++i) breakers.push_back(MakeShared("b" + std::to_string(i)));
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (const auto& b : breakers) {
          Permit p = b->TryAcquire();
          if (p) p.Success();
          (void)b->ForcedBy();
        }
        (void)t;
      }
    });
  }
  std::thread adder([&] {
    for (const auto& b : breakers) control.Add(b);
  });
  for (int i = 0; i < 200; ++i) {
    if (i % 3 == 0) control.ForceOpen("a");
    if (i % 3 == 1) control.Disable("b");
    if (i % 3 == 2) control.Release();
  }
  adder.join();
  control.ForceOpen("last");
  stop = true;
  for (std::thread& t : callers) t.join();
  for (const auto& b : breakers) {
    EXPECT_EQ(b->state(), State::kForcedOpen);
    EXPECT_EQ(b->ForcedBy(), "stress: last");
  }
  EXPECT_EQ(control.Release(), breakers.size());
  for (const auto& b : breakers) EXPECT_EQ(b->state(), State::kClosed);
}

}  // namespace
}  // namespace circuit
