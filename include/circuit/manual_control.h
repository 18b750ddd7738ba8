// File: circuit/manual_control.h
// `circuit::ManualControl` is one lever over many breakers: an operator
// isolates a whole region of dependencies at once (every breaker forced
// OPEN), or takes them out of the way (every breaker DISABLED: every call
// permitted, nothing recorded), and later hands them all back. Each breaker
// says who forced it (Breaker::ForcedBy(): "<control>: <reason>"), so a
// dashboard or a health check can tell an incident's isolation from a trip.
//
// Example:
//   circuit::ManualControl eu_west("eu-west isolation");
//   eu_west.Add(registry.GetOrCreate("payments-eu-west").value());
//   eu_west.Add(registry.GetOrCreate("ledger-eu-west").value());
//   ...
//   eu_west.ForceOpen("INC-4211: region failing over");  // every call rejected
//   payments->ForcedBy();  // "eu-west isolation: INC-4211: region failing over"
//   eu_west.Release();     // back to CLOSED, each that is still as it left it
//
// Rules:
// - A breaker added while the control is engaged is forced at once; one
//   added after Release() is left as it is.
// - Release() resets (to CLOSED) only the breakers whose last operator
//   action was this control's: one that another operator, another control
//   or Breaker::Reset() moved since is left alone.
// - The control holds its breakers weakly: a breaker may be destroyed while
//   attached (it is skipped and dropped).
// - Levers may be pulled from any thread, and from a transition listener of
//   a breaker the control is forcing (the listener runs on the lever's
//   thread; the lever's lock is recursive). Levers on one control are
//   serialised; on the breakers themselves they are ordinary operator
//   transitions (Breaker::ForceOpen() and friends, cause OPERATOR), so the
//   hot path pays nothing for a control.
//
// Thread-safe.
#ifndef CIRCUIT_MANUAL_CONTROL_H_
#define CIRCUIT_MANUAL_CONTROL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "circuit/state.h"

namespace circuit {

class Breaker;

class ManualControl {
 public:
  // `name` names the control in each breaker's ForcedBy().
  explicit ManualControl(std::string name);
  // Leaves the breakers as they are (an engaged control's breakers stay
  // forced: Release() first to hand them back).
  ~ManualControl();

  ManualControl(const ManualControl&) = delete;
  ManualControl& operator=(const ManualControl&) = delete;

  // ManualControl::Add()
  // Attaches `breaker` (a null one is ignored, a second Add() of the same
  // breaker does nothing); forces it at once if the control is engaged.
  void Add(std::shared_ptr<Breaker> breaker);

  // ManualControl::Remove()
  // Detaches `breaker` without changing its state; false if not attached.
  bool Remove(const Breaker& breaker);

  // ManualControl::ForceOpen() / Disable()
  // Engages the control: every attached breaker goes to FORCED_OPEN
  // (rejects every call) or DISABLED (permits every call, records nothing),
  // and reports "<name>: <reason>" from ForcedBy(). Pulling the other lever
  // while engaged switches every breaker to it.
  void ForceOpen(absl::string_view reason);
  void Disable(absl::string_view reason);

  // ManualControl::Release()
  // Disengages: every attached breaker still in the state this control put
  // it in goes back to CLOSED (Breaker::Reset()); the others are left as
  // they are. Returns how many were reset.
  size_t Release();

  // The lever engaged: State::kForcedOpen, State::kDisabled, or
  // State::kClosed when released (or never engaged).
  State engaged() const;
  const std::string& name() const { return name_; }
  // Attached breakers still alive.
  size_t size() const;

 private:
  struct Member {
    std::weak_ptr<Breaker> breaker;
    const Breaker* address = nullptr;  // identity, for Remove() and Add()
    bool forced = false;               // this control forced it ...
    uint32_t generation = 0;           // ... into this generation
  };

  // Engages `to` with `reason` and forces every attached breaker.
  void Pull(State to, absl::string_view reason);
  // Forces `breaker` into the engaged state, if any, and notes the
  // generation it forced. REQUIRES: levers_ held.
  void ForceOne(Breaker& breaker);
  // The live members, dropping the dead.
  std::vector<std::shared_ptr<Breaker>> Live();

  const std::string name_;
  // Serialises the levers (ForceOpen(), Disable(), Release(), Add()).
  // Recursive: a transition listener may pull a lever of the control that
  // is forcing its breaker, on the same thread.
  std::recursive_mutex levers_;
  // Guards what follows; held only briefly, never while calling a breaker.
  mutable std::mutex mu_;
  State engaged_ = State::kClosed;
  std::string reason_;
  std::vector<Member> members_;
};

}  // namespace circuit

#endif  // CIRCUIT_MANUAL_CONTROL_H_
