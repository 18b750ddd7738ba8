// File: circuit/internal/async_call.h
// How circuit/async.h works: the state one async call's handles share, and
// the deferred function behind a CallFuture() future. The API never names
// these.
#ifndef CIRCUIT_INTERNAL_ASYNC_CALL_H_
#define CIRCUIT_INTERNAL_ASYNC_CALL_H_

#include <atomic>
#include <exception>
#include <future>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/internal/call.h"
#include "circuit/permit.h"

namespace circuit {
namespace internal {

// AsyncCall: one CallAsync() call, as every handle to it (the Completion,
// its SharedCompletions, CallAsync() itself while start runs) sees it,
// through a std::shared_ptr.
//
// Invariant: permit_ is resolved only by the one caller that won Claim();
// whoever drops the last reference destroys it, which releases it if
// nobody did (Permit's destructor).
class AsyncCall {
 public:
  explicit AsyncCall(Permit permit) noexcept : permit_(std::move(permit)) {}

  // Each claims the call, then resolves the permit as Permit's member of
  // the same name; false, doing nothing, if the call was already claimed.
  bool Complete(const absl::Status& status) noexcept;
  bool Complete(const absl::Status& status, absl::Duration took) noexcept;
  bool Ignore() noexcept;
  bool Release() noexcept;
  // What start threw, classified as Breaker::Call() classifies exceptions.
  bool Threw(Breaker& breaker, const std::exception_ptr& error) noexcept;

 private:
  bool Claim() noexcept {
    // relaxed: the exchange alone picks the one winner (a single location
    // has a single modification order), and only the winner touches
    // permit_. The winner's writes to it reach the permit's destructor
    // through shared_ptr's count, whose last decrement acquires; what the
    // starting thread wrote before handing a Completion over reaches the
    // completing thread through that hand-off (a queue, a thread start).
    return !claimed_.exchange(true, std::memory_order_relaxed);
  }

  Permit permit_;
  std::atomic<bool> claimed_{false};
};

// Resolves `permit` from an exception as Breaker::Call() does:
// config.exception_is_ignored, then config.exception_is_failure (a
// classifier that throws says "failure"). Returns as Permit::Success().
bool RecordException(Breaker& breaker, Permit& permit, const std::exception_ptr& error) noexcept;

template <typename T>
struct StdFuture : std::false_type {};
template <typename T>
struct StdFuture<std::future<T>> : std::true_type {
  using value_type = T;
};

// A ready future holding `result`.
template <typename R>
std::future<R> ReadyFuture(R result) {
  std::promise<R> promise;
  promise.set_value(std::move(result));
  return promise.get_future();
}

// The function a CallFuture() future defers: waits for the inner future,
// records its outcome, returns it as Breaker::Call() would.
template <typename T>
class DeferredOutcome {
 public:
  using Result = CallResultT<T>;

  DeferredOutcome(Breaker& breaker, Permit permit, std::future<T> inner) noexcept
      : breaker_(&breaker), inner_(std::move(inner)), permit_(std::move(permit)) {}

  Result operator()() {
    // Only the wait is inside the try: classification and recording are
    // noexcept, as in Breaker::Call().
    std::exception_ptr error;
    if constexpr (std::is_void_v<T>) {
      try {
        inner_.get();
      } catch (...) {
        error = std::current_exception();
      }
      if (!error) {
        permit_.Success();
        return absl::OkStatus();
      }
    } else {
      using Value = std::decay_t<T>;
      std::optional<Value> value;
      try {
        value.emplace(inner_.get());
      } catch (...) {
        error = std::current_exception();
      }
      if (!error) {
        if constexpr (std::is_same_v<Value, absl::Status> || IsStatusOr<Value>::value) {
          permit_.Record(StatusOf(*value));
        } else {
          permit_.Success();
        }
        return Result(std::move(*value));
      }
    }
    RecordException(*breaker_, permit_, error);
    std::rethrow_exception(error);
  }

 private:
  Breaker* breaker_;
  std::future<T> inner_;
  // Declared last, so destroyed first: a future dropped without get()
  // releases its permit before inner_'s destructor (which blocks for a
  // std::async(std::launch::async) future) runs.
  Permit permit_;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_ASYNC_CALL_H_
