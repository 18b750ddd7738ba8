// File: src/listener_set.cc
// Subscribing, cancelling and delivering (circuit/internal/listener_set.h),
// and the events' names (circuit/events.h).
#include "circuit/internal/listener_set.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>

#include "circuit/events.h"

namespace circuit {

absl::string_view TransitionCauseName(TransitionCause cause) {
  switch (cause) {
    case TransitionCause::kConsecutiveFailures:
      return "CONSECUTIVE_FAILURES";
    case TransitionCause::kFailureRate:
      return "FAILURE_RATE";
    case TransitionCause::kSlowCallRate:
      return "SLOW_CALL_RATE";
    case TransitionCause::kTrialFailures:
      return "TRIAL_FAILURES";
    case TransitionCause::kTrialFailureRate:
      return "TRIAL_FAILURE_RATE";
    case TransitionCause::kTrialSlowCallRate:
      return "TRIAL_SLOW_CALL_RATE";
    case TransitionCause::kHalfOpenTimeout:
      return "HALF_OPEN_TIMEOUT";
    case TransitionCause::kOpenPeriodOver:
      return "OPEN_PERIOD_OVER";
    case TransitionCause::kTrialsSucceeded:
      return "TRIALS_SUCCEEDED";
    case TransitionCause::kOperator:
      return "OPERATOR";
    case TransitionCause::kShared:
      return "SHARED";
    case TransitionCause::kRetryAfter:
      return "RETRY_AFTER";
    case TransitionCause::kLatencyPercentile:
      return "LATENCY_PERCENTILE";
  }
  return "UNKNOWN";
}

absl::string_view SharingName(Sharing sharing) {
  switch (sharing) {
    case Sharing::kLocal:
      return "LOCAL";
    case Sharing::kShared:
      return "SHARED";
    case Sharing::kDegraded:
      return "DEGRADED";
  }
  return "UNKNOWN";
}

absl::string_view CallOutcomeName(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kSuccess:
      return "SUCCESS";
    case CallOutcome::kFailure:
      return "FAILURE";
    case CallOutcome::kIgnored:
      return "IGNORED";
    case CallOutcome::kRejected:
      return "REJECTED";
  }
  return "UNKNOWN";
}

Subscription::Subscription(Subscription&& other) noexcept
    : set_(std::move(other.set_)), entry_(std::move(other.entry_)) {
  other.set_.reset();
  other.entry_.reset();
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Cancel();
    set_ = std::move(other.set_);
    entry_ = std::move(other.entry_);
    other.set_.reset();
    other.entry_.reset();
  }
  return *this;
}

void Subscription::Cancel() {
  if (entry_ == nullptr) return;
  if (std::shared_ptr<internal::ListenerSet> set = set_.lock()) set->Cancel(entry_);
  set_.reset();
  entry_.reset();
}

namespace internal {
namespace {
// The entries whose listener this thread is running now (innermost last),
// so that a Cancel() from inside a listener does not wait for itself.
thread_local std::vector<const ListenerEntry*> tls_delivering;
}  // namespace

Subscription ListenerSet::Add(std::shared_ptr<BreakerListener> listener, uint32_t mask) {
  auto entry = std::make_shared<ListenerEntry>();
  entry->listener = std::move(listener);
  entry->mask = mask & kAllEvents;
  if (entry->listener == nullptr || entry->mask == 0) return Subscription();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto next = std::make_shared<List>(*list_);
    next->push_back(entry);
    list_ = std::move(next);
    // relaxed: counts, read as hints (see has_transition_listeners()).
    if (entry->mask & kTransitionEvents) transition_listeners_.fetch_add(1, std::memory_order_relaxed);
    if (entry->mask & kCallEvents &&
        call_listeners_->fetch_add(1, std::memory_order_relaxed) == 0) {
      for (const FlagBit& f : flag_bits_) f.flags->fetch_or(f.bit, std::memory_order_relaxed);
    }
  }
  return Subscription(weak_from_this(), std::move(entry));
}

void ListenerSet::Cancel(const std::shared_ptr<ListenerEntry>& entry) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto next = std::make_shared<List>();
    next->reserve(list_->size());
    for (const auto& e : *list_) {
      if (e != entry) next->push_back(e);
    }
    if (next->size() == list_->size()) return;  // cancelled already
    list_ = std::move(next);
    if (entry->mask & kTransitionEvents) transition_listeners_.fetch_sub(1, std::memory_order_relaxed);
    if (entry->mask & kCallEvents &&
        call_listeners_->fetch_sub(1, std::memory_order_relaxed) == 1) {
      for (const FlagBit& f : flag_bits_) {
        f.flags->fetch_and(static_cast<uint8_t>(~f.bit), std::memory_order_relaxed);
      }
    }
  }
  entry->cancelled.store(true);  // seq_cst: see ListenerEntry
  // A delivery that took the old list may still be calling the listener:
  // wait for it, unless it is this very thread's (a listener cancelling
  // itself, or one further out on this thread's stack).
  const int own = static_cast<int>(
      std::count(tls_delivering.begin(), tls_delivering.end(), entry.get()));
  while (entry->in_flight.load() > own) std::this_thread::yield();
}

std::shared_ptr<const ListenerSet::List> ListenerSet::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return list_;
}

template <typename Event, typename Call>
void ListenerSet::Deliver(uint32_t mask, const Event& event, Call call) noexcept {
  const std::shared_ptr<const List> list = Current();
  for (const auto& entry : *list) {
    if ((entry->mask & mask) == 0) continue;
    entry->in_flight.fetch_add(1);  // seq_cst: see ListenerEntry
    if (!entry->cancelled.load()) {
      tls_delivering.push_back(entry.get());
      try {
        call(*entry->listener, event);
      } catch (...) {
        // relaxed: a statistic.
        errors_.fetch_add(1, std::memory_order_relaxed);
      }
      tls_delivering.pop_back();
    }
    entry->in_flight.fetch_sub(1);
  }
}

void ListenerSet::DeliverTransition(const TransitionEvent& event) noexcept {
  Deliver(kTransitionEvents, event,
          [](BreakerListener& listener, const TransitionEvent& e) { listener.OnTransition(e); });
}

void ListenerSet::DeliverCall(const CallEvent& event) noexcept {
  Deliver(kCallEvents, event,
          [](BreakerListener& listener, const CallEvent& e) { listener.OnCall(e); });
}

void ListenerSet::DeliverSharing(const SharingEvent& event) noexcept {
  Deliver(kTransitionEvents, event,
          [](BreakerListener& listener, const SharingEvent& e) { listener.OnSharing(e); });
}

}  // namespace internal
}  // namespace circuit
