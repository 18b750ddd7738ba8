// File: src/manual_control.cc
// One lever over many breakers (circuit/manual_control.h): each pull is an
// ordinary operator transition on every attached breaker, made outside the
// members' lock (the transition's listeners run there), with the control's
// name and reason recorded as the forcer.
#include "circuit/manual_control.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "circuit/breaker.h"

namespace circuit {

ManualControl::ManualControl(std::string name) : name_(std::move(name)) {}

ManualControl::~ManualControl() = default;

std::vector<std::shared_ptr<Breaker>> ManualControl::Live() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Breaker>> live;
  std::vector<Member> kept;
  for (Member& m : members_) {
    if (std::shared_ptr<Breaker> b = m.breaker.lock()) {
      live.push_back(std::move(b));
      kept.push_back(std::move(m));
    }
  }
  members_ = std::move(kept);
  return live;
}

void ManualControl::ForceOne(Breaker& breaker) {
  State to;
  std::string by;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (engaged_ == State::kClosed) return;
    to = engaged_;
    by = absl::StrCat(name_, ": ", reason_);
  }
  const uint32_t generation = breaker.ForceBy(to, std::move(by));
  std::lock_guard<std::mutex> lock(mu_);
  for (Member& m : members_) {
    if (m.address == &breaker) {
      m.forced = true;
      m.generation = generation;
    }
  }
}

void ManualControl::Add(std::shared_ptr<Breaker> breaker) {
  if (breaker == nullptr) return;
  std::lock_guard<std::recursive_mutex> levers(levers_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Member& m : members_) {
      if (m.address == breaker.get() && !m.breaker.expired()) return;
    }
    Member member;
    member.breaker = breaker;
    member.address = breaker.get();
    members_.push_back(std::move(member));
  }
  ForceOne(*breaker);
}

bool ManualControl::Remove(const Breaker& breaker) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->address == &breaker) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

void ManualControl::Pull(State to, absl::string_view reason) {
  std::lock_guard<std::recursive_mutex> levers(levers_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    engaged_ = to;
    reason_ = std::string(reason);
  }
  for (const std::shared_ptr<Breaker>& breaker : Live()) ForceOne(*breaker);
}

void ManualControl::ForceOpen(absl::string_view reason) { Pull(State::kForcedOpen, reason); }

void ManualControl::Disable(absl::string_view reason) { Pull(State::kDisabled, reason); }

size_t ManualControl::Release() {
  std::lock_guard<std::recursive_mutex> levers(levers_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    engaged_ = State::kClosed;
    reason_.clear();
  }
  size_t reset = 0;
  for (const std::shared_ptr<Breaker>& breaker : Live()) {
    bool forced = false;
    uint32_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Member& m : members_) {
        if (m.address != breaker.get()) continue;
        forced = m.forced;
        generation = m.generation;
        m.forced = false;
      }
    }
    // Only if this control's force is still the breaker's latest word.
    if (forced && breaker->ResetIfGeneration(generation)) ++reset;
  }
  return reset;
}

State ManualControl::engaged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return engaged_;
}

size_t ManualControl::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t alive = 0;
  for (const Member& m : members_) alive += m.breaker.expired() ? 0 : 1;
  return alive;
}

}  // namespace circuit
