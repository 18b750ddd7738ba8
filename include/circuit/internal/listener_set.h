// File: circuit/internal/listener_set.h
// A breaker's listeners (circuit/events.h): a copy-on-write list under a
// mutex that is held only to copy or replace the list, never while a
// listener runs, and per-entry counts of deliveries in progress, so that
// Cancel() can wait for them.
#ifndef CIRCUIT_INTERNAL_LISTENER_SET_H_
#define CIRCUIT_INTERNAL_LISTENER_SET_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "circuit/events.h"

namespace circuit {
namespace internal {

struct ListenerEntry {
  std::shared_ptr<BreakerListener> listener;
  uint32_t mask = 0;
  // seq_cst, both: a delivery increments `in_flight` then reads
  // `cancelled`; Cancel() sets `cancelled` then reads `in_flight`. One of
  // them sees the other's write: the delivery skips the call, or Cancel()
  // waits for it.
  std::atomic<bool> cancelled{false};
  std::atomic<int> in_flight{0};
};

// Owned by its breaker through a shared_ptr; subscriptions hold a weak_ptr,
// so that one cancelled after the breaker is gone does nothing.
class ListenerSet : public std::enable_shared_from_this<ListenerSet> {
 public:
  // A bit in a byte of flags that a fast path loads anyway.
  struct FlagBit {
    std::atomic<uint8_t>* flags;
    uint8_t bit;
  };
  // `call_listeners`: the breaker's count of subscriptions to call events,
  // which its outcome paths load (relaxed) to decide whether to build one;
  // `flag_bits`: set while that count is not zero (the CLOSED success's
  // view of it, Breaker::success_mode_, and the OPEN rejection's,
  // Breaker::judged_rejections_).
  ListenerSet(std::atomic<uint32_t>* call_listeners, std::array<FlagBit, 2> flag_bits)
      : call_listeners_(call_listeners), flag_bits_(flag_bits) {}

  Subscription Add(std::shared_ptr<BreakerListener> listener, uint32_t mask);
  void Cancel(const std::shared_ptr<ListenerEntry>& entry);

  // Deliver to every current listener with `mask`: a listener that throws
  // is counted in errors() and skipped. Never throw.
  void DeliverTransition(const TransitionEvent& event) noexcept;
  void DeliverCall(const CallEvent& event) noexcept;
  void DeliverSharing(const SharingEvent& event) noexcept;

  bool has_transition_listeners() const {
    // relaxed: a hint; a listener subscribed concurrently with a transition
    // may or may not receive it.
    return transition_listeners_.load(std::memory_order_relaxed) != 0;
  }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  using List = std::vector<std::shared_ptr<ListenerEntry>>;
  std::shared_ptr<const List> Current() const;
  template <typename Event, typename Call>
  void Deliver(uint32_t mask, const Event& event, Call call) noexcept;

  std::atomic<uint32_t>* const call_listeners_;
  const std::array<FlagBit, 2> flag_bits_;
  std::atomic<uint32_t> transition_listeners_{0};
  std::atomic<uint64_t> errors_{0};
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees its
  // happens-before (Debian's Abseil is not built with TSan annotations).
  mutable std::mutex mu_;
  std::shared_ptr<const List> list_ = std::make_shared<const List>();  // guarded by mu_
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_LISTENER_SET_H_
