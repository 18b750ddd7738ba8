// File: circuit/async.h
// Asynchronous calls through a breaker: the call is admitted now and its
// outcome recorded later, when the operation finishes, on whatever thread it
// finishes on. Two styles, both built on a Permit (circuit/permit.h):
//
//   CallAsync(breaker, start)   callback style. start(Completion) starts the
//                               operation and hands it the Completion; the
//                               operation calls completion(status) when done,
//                               and the outcome is recorded right then.
//   CallFuture(breaker, start)  future style. start() returns a
//                               std::future<T>; CallFuture() returns a
//                               deferred future whose get() waits for it and
//                               records the outcome then, on get()'s thread.
//
// Prefer the callback style when the completion time matters (slow-call
// detection, the call-duration histogram): its duration ends when the
// operation completes. A CallFuture() duration ends when the caller gets
// round to get(), however long the result waited for it.
//
// Example (callback style):
//   absl::Status started = circuit::CallAsync(*breaker, [&](circuit::Completion done) {
//     client.AsyncGetQuote(id, [done = std::move(done)](absl::StatusOr<Quote> quote) {
//       done(quote.status());                  // classified by the config
//       Deliver(std::move(quote));
//     });
//   });
//   if (!started.ok()) return started;         // the rejection: start never ran
//
// Example (a std::function callback, which must be copyable):
//   circuit::CallAsync(*breaker, [&](circuit::Completion done) {
//     std::function<void(absl::Status)> on_done = std::move(done).Share();
//     legacy_client.Fetch(id, on_done);        // copies on_done at will
//   });
//
// Example (future style):
//   std::future<absl::StatusOr<Quote>> quote =
//       circuit::CallFuture(*breaker, [&] { return client.GetQuoteFuture(id); });
//   ...
//   absl::StatusOr<Quote> q = quote.get();     // the outcome is recorded here
//
// Lifetime: the breaker must outlive every Completion, SharedCompletion and
// not-yet-got CallFuture() future (each holds a permit, and Breaker's
// destructor aborts while a permit is outstanding).
//
// Thread safety: CallAsync() and CallFuture() may be called concurrently,
// as every Breaker member. Neither takes a lock of its own: the only state
// shared between calls is the breaker's. CallAsync() allocates once per admitted
// call (the state a Completion and its shares point to, one
// std::make_shared); a rejection allocates only the rejection status.
// CallFuture()'s futures are the standard library's, with their own shared
// states.
#ifndef CIRCUIT_ASYNC_H_
#define CIRCUIT_ASYNC_H_

#include <atomic>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "circuit/breaker.h"
#include "circuit/internal/async_call.h"
#include "circuit/internal/call.h"
#include "circuit/permit.h"

namespace circuit {

class SharedCompletion;

// ---- Callback style ---------------------------------------------------------

// `circuit::Completion` is the one-shot right to report an async call's
// outcome. CallAsync() hands one to start; the operation calls it once, when
// it finishes, on whichever thread it finishes on.
//
// Lifecycle: a call is resolved at most once, by Complete() (or
// operator()), Ignore() or Release(), through whichever of its handles
// (this Completion, or the SharedCompletions made from it) gets there
// first: that one records and returns true; every later one, on any handle,
// does nothing and returns false. When the last handle of an unresolved
// call is destroyed (CallAsync() itself holds one while start runs), the
// call is released, exactly as a Permit destroyed unresolved: it counts as
// "released" and a half-open trial slot goes back.
// So a callback that is dropped (an operation cancelled, a queue cleared)
// leaks nothing.
//
// Duration: measured by the breaker's own clock from admission (inside
// CallAsync(), before start runs) to Complete(), as for a synchronous
// permit resolved with Permit::Record(status).
//
// Moving: move-only; the moved-from Completion is empty (every member
// returns false). To put one in a std::function, which copies its target,
// Share() it.
//
// Threads: a Completion may be completed, or destroyed, on any thread. It
// is one object: do not use it from two threads at once (give each thread
// its own SharedCompletion). Complete() is not a synchronization point
// between the starting and the completing thread (the hand-off of the
// Completion already is one); a Metrics() that happens after Complete()
// returns counts its outcome.
class Completion {
 public:
  // An empty Completion: every member returns false.
  Completion() = default;
  Completion(Completion&&) noexcept = default;
  Completion& operator=(Completion&&) noexcept = default;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  // Releases the call if this was its last handle and nobody resolved it.
  ~Completion() = default;

  // Completion::Complete() / operator()
  // Records the call's outcome from `status`, classified by
  // BreakerConfig::status_is_failure (default: !ok()), with the duration
  // from admission to now. Returns true if this resolved the call; false
  // if it was already resolved (a second completion does nothing) or this
  // Completion is empty. Const because it changes the call, not the handle:
  // a lambda that captured the Completion need not be mutable. Never blocks,
  // allocates or throws.
  bool Complete(const absl::Status& status) const noexcept;
  bool operator()(const absl::Status& status) const noexcept { return Complete(status); }
  // The same with the call's duration measured by the caller (as
  // Permit::Record(status, took)): no clock read, and the only way an
  // async call is judged slow with SlowCallClock::kCaller.
  bool Complete(const absl::Status& status, absl::Duration took) const noexcept;

  // Completion::Ignore()
  // Resolves the call as ignored: neither success nor failure (a
  // cancellation the dependency is not to blame for). Returns as Complete().
  bool Ignore() const noexcept;

  // Completion::Release()
  // Gives the call back unresolved, as if every handle had been destroyed:
  // for a cancellation that cannot reach every copy of a SharedCompletion.
  // Returns as Complete().
  bool Release() const noexcept;

  // Completion::Share()
  // Turns this Completion into a copyable SharedCompletion for the same
  // call (for std::function and other callers that copy); this Completion
  // is empty afterwards. Every copy reports the same one-shot call: the
  // first to resolve it wins, and the call is released only when the last
  // copy is destroyed unresolved. Called on an rvalue
  // (`std::move(done).Share()`) to show the hand-over. Never allocates.
  SharedCompletion Share() && noexcept;

 private:
  template <typename Start>
  friend absl::Status CallAsync(Breaker& breaker, Start&& start);

  explicit Completion(std::shared_ptr<internal::AsyncCall> call) noexcept
      : call_(std::move(call)) {}

  std::shared_ptr<internal::AsyncCall> call_;
};

// `circuit::SharedCompletion` is a Completion that can be copied: every copy
// refers to the same one-shot call (see Completion for the lifecycle). Made
// by Completion::Share().
//
// Threads: copies may be used on different threads at the same time, and
// may race to complete: exactly one wins. A single SharedCompletion object
// may be called from several threads at once (its members are const), but,
// as any object, not destroyed or assigned while another thread uses it.
class SharedCompletion {
 public:
  // An empty SharedCompletion: every member returns false.
  SharedCompletion() = default;

  // As Completion's members of the same names.
  bool Complete(const absl::Status& status) const noexcept;
  bool operator()(const absl::Status& status) const noexcept { return Complete(status); }
  bool Complete(const absl::Status& status, absl::Duration took) const noexcept;
  bool Ignore() const noexcept;
  bool Release() const noexcept;

 private:
  friend class Completion;
  explicit SharedCompletion(std::shared_ptr<internal::AsyncCall> call) noexcept
      : call_(std::move(call)) {}

  std::shared_ptr<internal::AsyncCall> call_;
};

// CallAsync()
// Asks `breaker` for a permit. If the call is rejected, returns the
// rejection (Permit::RejectionStatus(): kUnavailable, IsRejection() true)
// at once, and start never runs. Otherwise calls `start(Completion)` on
// this thread and returns OK; start starts the operation and hands it the
// Completion, which records the outcome when called (see Completion).
//
// start must take the Completion (by value, or by rvalue reference and
// move from it) and return void: the outcome goes through the Completion.
// A Completion that start neither keeps nor passes on is destroyed, and
// the call released, when start returns.
//
// If start throws, the exception is classified as Breaker::Call() does
// (config.exception_is_ignored, then config.exception_is_failure: by
// default a failure), recorded, and rethrown, whether start destroyed the
// Completion or not, unless the call was already resolved (start, or the
// operation it started, completed it first: that outcome stands). A
// Completion that survives the throw (start stored it before throwing)
// then returns false when called. If the allocation fails, std::bad_alloc
// propagates, start never runs and the call is released.
template <typename Start>
absl::Status CallAsync(Breaker& breaker, Start&& start);

// ---- Future style -----------------------------------------------------------

// CallFuture()
// Asks `breaker` for a permit and, if admitted, calls `start()`, which
// returns a std::future<T> (T: void, absl::Status, absl::StatusOr<U> or a
// plain value). Returns a std::future<R>, R mapped from T as Breaker::Call()
// maps a callable's result:
//   T                   R
//   void                absl::Status (OK when the inner future completes)
//   absl::Status        absl::Status
//   absl::StatusOr<U>   absl::StatusOr<U>
//   U                   absl::StatusOr<U>
//
// Rejected: a ready future holding the rejection status; start never runs.
// Admitted: a deferred future (std::launch::deferred). The outcome is
// recorded exactly when that future's deferred function runs, on the
// thread that runs it: the first get() or wait() on it (wait_for() and
// wait_until() return std::future_status::deferred and run nothing). That
// function waits for the inner future, classifies what it holds as
// Breaker::Call() classifies a result (a status by config.status_is_failure;
// a plain value or void is a success), records it and returns it. An
// exception the inner future holds is classified as Breaker::Call()
// classifies exceptions, recorded, then rethrown from get().
//
// Duration: from admission (before start runs) to the moment get() (or
// wait()) sees the inner future's result, so it includes however long the
// result waited for the caller's get(): a call that finished in 1 ms and
// was got a second later took a second. Use CallAsync() when that matters.
//
// A returned future destroyed without get() or wait() releases the call
// (no outcome; a half-open trial slot goes back), and destroys the inner
// future (which blocks if that is a std::async(std::launch::async) future,
// as std::future's destructor does). If start throws, the exception is
// classified, recorded and rethrown, as by CallAsync(). If start returns an
// invalid future (no shared state), the call is released and the returned
// future holds kFailedPrecondition.
template <typename F>
[[nodiscard]] auto CallFuture(Breaker& breaker, F&& start);

template <typename Start>
absl::Status CallAsync(Breaker& breaker, Start&& start) {
  static_assert(std::is_invocable_v<Start&, Completion>,
                "start must be callable as start(circuit::Completion)");
  static_assert(std::is_void_v<std::invoke_result_t<Start&, Completion>>,
                "start(circuit::Completion) must return void: the operation reports its "
                "outcome through the Completion");
  Permit permit = breaker.TryAcquire();
  if (!permit) return permit.RejectionStatus();
  // CallAsync()'s own reference, held while start runs: if start throws,
  // the call is still here to record, even if the Completion is gone.
  const std::shared_ptr<internal::AsyncCall> call =
      std::make_shared<internal::AsyncCall>(std::move(permit));
  try {
    std::invoke(start, Completion(call));
  } catch (...) {
    call->Threw(breaker, std::current_exception());
    throw;
  }
  return absl::OkStatus();
}

template <typename F>
auto CallFuture(Breaker& breaker, F&& start) {
  using Inner = std::invoke_result_t<F&>;
  static_assert(internal::StdFuture<Inner>::value,
                "start() must return a std::future<T> (by value)");
  using T = typename internal::StdFuture<Inner>::value_type;
  using R = internal::CallResultT<T>;

  Permit permit = breaker.TryAcquire();
  if (!permit) return internal::ReadyFuture<R>(R(permit.RejectionStatus()));
  std::future<T> inner;
  try {
    inner = std::invoke(start);
  } catch (...) {
    internal::RecordException(breaker, permit, std::current_exception());
    throw;
  }
  if (!inner.valid()) {
    permit.Release();
    return internal::ReadyFuture<R>(
        R(absl::FailedPreconditionError("CallFuture(): start() returned an invalid std::future")));
  }
  return std::async(std::launch::deferred,
                    internal::DeferredOutcome<T>(breaker, std::move(permit), std::move(inner)));
}

inline bool Completion::Complete(const absl::Status& status) const noexcept {
  return call_ != nullptr && call_->Complete(status);
}
inline bool Completion::Complete(const absl::Status& status, absl::Duration took) const noexcept {
  return call_ != nullptr && call_->Complete(status, took);
}
inline bool Completion::Ignore() const noexcept { return call_ != nullptr && call_->Ignore(); }
inline bool Completion::Release() const noexcept { return call_ != nullptr && call_->Release(); }
inline SharedCompletion Completion::Share() && noexcept {
  return SharedCompletion(std::move(call_));
}

inline bool SharedCompletion::Complete(const absl::Status& status) const noexcept {
  return call_ != nullptr && call_->Complete(status);
}
inline bool SharedCompletion::Complete(const absl::Status& status,
                                       absl::Duration took) const noexcept {
  return call_ != nullptr && call_->Complete(status, took);
}
inline bool SharedCompletion::Ignore() const noexcept {
  return call_ != nullptr && call_->Ignore();
}
inline bool SharedCompletion::Release() const noexcept {
  return call_ != nullptr && call_->Release();
}

}  // namespace circuit

#endif  // CIRCUIT_ASYNC_H_
