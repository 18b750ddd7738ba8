// File: circuit/deferred_queue.h
// `circuit::DeferredQueue<Request>` takes the requests of failed or
// rejected calls to process later, up to a bound: one of the ready-made
// fallbacks of circuit/fallbacks.h (which includes this header, and says
// how Breaker::Call() reports a fallback's failure).
#ifndef CIRCUIT_DEFERRED_QUEUE_H_
#define CIRCUIT_DEFERRED_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace circuit {

namespace internal {

// DeferredQueue's refusal: ResourceExhaustedError naming the queue, its
// size and capacity, and the reason the request was to be deferred for.
absl::Status DeferredQueueFull(absl::string_view name, size_t size, size_t capacity,
                               const absl::Status& reason);

}  // namespace internal

struct DeferredQueueConfig {
  // Names the queue in its errors. Default: "deferred". Must be non-empty.
  std::string name = "deferred";

  // Requests held at most; the fallback refuses more with
  // ResourceExhaustedError. Default: 1024. Must be >= 1. Nothing is
  // allocated up front: memory grows with the requests held. Larger rides
  // out longer outages, and the worker then has more old work to do.
  size_t capacity = 1024;
};

// ValidateDeferredQueueConfig()
// Returns OK, or InvalidArgumentError naming the first bad field and value:
// "DeferredQueueConfig.capacity must be >= 1, got 0".
absl::Status ValidateDeferredQueueConfig(const DeferredQueueConfig& config);

// A snapshot of a DeferredQueue's counters, taken under its lock:
// accepted == popped + size, exactly.
struct DeferredQueueMetrics {
  uint64_t accepted = 0;       // requests the fallback took
  uint64_t rejected_full = 0;  // requests the fallback refused: the queue was full
  uint64_t popped = 0;         // requests handed out by TryPop() and Drain()
  size_t size = 0;             // requests waiting
  size_t capacity = 0;
};

// DeferredQueue<Request>
// A bounded FIFO queue of requests to process later. Its Fallback() takes a
// failed or rejected call's request and answers OK ("accepted for later"),
// or ResourceExhaustedError when the queue is full; a worker takes the
// requests out with TryPop() or Drain(). Request is movable.
//
// Example:
//   auto queue = circuit::DeferredQueue<Order>::Create(config).value();
//   // fn returns absl::Status (or void): OK if sent or deferred.
//   absl::Status accepted = breaker->Call(SendOrder, queue->Fallback(), order);
//   // The worker, every few seconds:
//   queue->Drain([&](Order order) { ... }, 100);
//
// Cost: one std::mutex guards the queue. Only failed and rejected calls
// (the fallback) and the worker take it, never a successful call.
//
// Thread safety: every member may be called concurrently; Drain()'s fn runs
// outside the lock, so it may defer to the same queue again.
template <typename Request>
class DeferredQueue {
 public:
  static_assert(std::is_move_constructible_v<Request>,
                "DeferredQueue moves requests in and out: Request must be movable");

  // DeferredQueue::Create()
  // Validates `config` (ValidateDeferredQueueConfig()) and builds an empty
  // queue.
  static absl::StatusOr<std::unique_ptr<DeferredQueue>> Create(DeferredQueueConfig config) {
    absl::Status valid = ValidateDeferredQueueConfig(config);
    if (!valid.ok()) return valid;
    return std::unique_ptr<DeferredQueue>(new DeferredQueue(std::move(config)));
  }

  DeferredQueue(const DeferredQueue&) = delete;
  DeferredQueue& operator=(const DeferredQueue&) = delete;

  // DeferredQueue::Fallback()
  // A fallback `(const absl::Status& reason, Request request) ->
  // absl::Status`: appends `request` and returns OK (the caller's request
  // is accepted for later), or, when the queue holds `capacity` requests,
  // drops it and returns ResourceExhaustedError "deferred queue '<name>' is
  // full: <size> of <capacity> requests waiting; not deferred after:
  // <reason's code>: <reason's message>". For fn returning absl::Status or
  // void. Breaker::Call() hands it a copy of a copyable request, and moves a
  // move-only one passed as an rvalue in.
  auto Fallback() {
    return [this](const absl::Status& reason, Request request) -> absl::Status {
      return Defer(reason, std::move(request));
    };
  }

  // DeferredQueue::TryPop()
  // The oldest request, removed; nullopt when empty. Never blocks for more
  // than the lock.
  std::optional<Request> TryPop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (requests_.empty()) return std::nullopt;
    std::optional<Request> request(std::move(requests_.front()));
    requests_.pop_front();
    ++popped_;
    return request;
  }

  // DeferredQueue::Drain()
  // Pops up to `max` requests, oldest first, and calls `fn(std::move(request))`
  // for each, outside the lock (one lock per request). Returns how many were
  // handed to fn. If fn throws, the request it was given is gone and the
  // exception reaches the caller; the rest stay queued. A fn that defers
  // requests to this queue again should pass a bounded `max` (size(), say).
  template <typename Fn>
  size_t Drain(Fn&& fn, size_t max) {
    size_t drained = 0;
    while (drained < max) {
      std::optional<Request> request = TryPop();
      if (!request.has_value()) break;
      ++drained;
      std::invoke(fn, std::move(*request));
    }
    return drained;
  }

  // Requests waiting now (may be outdated as soon as it returns).
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

  size_t capacity() const { return config_.capacity; }
  absl::string_view name() const { return config_.name; }

  // DeferredQueue::Metrics()
  // The counters, consistent with each other (taken under the lock).
  DeferredQueueMetrics Metrics() const {
    std::lock_guard<std::mutex> lock(mu_);
    DeferredQueueMetrics metrics;
    metrics.accepted = accepted_;
    metrics.rejected_full = rejected_full_;
    metrics.popped = popped_;
    metrics.size = requests_.size();
    metrics.capacity = config_.capacity;
    return metrics;
  }

 private:
  explicit DeferredQueue(DeferredQueueConfig config) : config_(std::move(config)) {}

  absl::Status Defer(const absl::Status& reason, Request&& request) {
    size_t waiting = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (requests_.size() < config_.capacity) {
        requests_.push_back(std::move(request));
        ++accepted_;
        return absl::OkStatus();
      }
      ++rejected_full_;
      waiting = requests_.size();
    }
    // The message is built outside the lock: it allocates.
    return internal::DeferredQueueFull(config_.name, waiting, config_.capacity, reason);
  }

  const DeferredQueueConfig config_;
  mutable std::mutex mu_;
  std::deque<Request> requests_;  // guarded by mu_; front: the oldest
  uint64_t accepted_ = 0;         // guarded by mu_
  uint64_t rejected_full_ = 0;    // guarded by mu_
  uint64_t popped_ = 0;           // guarded by mu_
};

}  // namespace circuit

#endif  // CIRCUIT_DEFERRED_QUEUE_H_
