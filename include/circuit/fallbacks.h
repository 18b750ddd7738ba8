// File: circuit/fallbacks.h
// Ready-made fallbacks for `Breaker::Call(fn, fallback, args...)`: what a
// call returns when the breaker rejects it or the dependency fails.
//
//   fallback::Value(v)          a constant default: a copy of `v`
//   fallback::OriginalError()   the reason itself, unchanged: "no fallback,
//                               surface the error", said explicitly
//   LastGoodCache<Key, Value>   the last good value for the call's key, while
//                               it is younger than max_age
//   DeferredQueue<Request>      takes the request to process later, while
//                               there is room
// The last two have headers of their own (circuit/last_good_cache.h,
// circuit/deferred_queue.h), which this one includes.
//
// Example:
//   // A default quote.
//   absl::StatusOr<Quote> q =
//       breaker->Call(GetQuote, circuit::fallback::Value(Quote{}), id);
//
//   // The last good quote for the id, if at most a minute old.
//   circuit::LastGoodCacheConfig cache_config;
//   cache_config.max_entries = 10'000;
//   cache_config.max_age = absl::Minutes(1);
//   auto cache = circuit::LastGoodCache<std::string, Quote>::Create(cache_config).value();
//   absl::StatusOr<Quote> q = breaker->Call(cache->Remembering(GetQuote),
//                                           cache->Fallback(), id);
//
//   // Orders sent later when the payments breaker is open or the send fails.
//   circuit::DeferredQueueConfig queue_config;
//   queue_config.name = "payments-retry";
//   queue_config.capacity = 1000;
//   auto queue = circuit::DeferredQueue<Order>::Create(queue_config).value();
//   absl::Status accepted = breaker->Call(SendOrder, queue->Fallback(), order);
//   ...  // later, on a worker:
//   queue->Drain([&](Order order) { (void)breaker->Call(SendOrder, queue->Fallback(), order); },
//                queue->size());
//
// Every fallback here takes `(const absl::Status& reason, args...)` and
// knows nothing of breakers: it composes with any Breaker, and with anything
// else that calls a fallback that way. None throws on its own account: a
// fallback that cannot help returns a failing status (what the value it
// copies, or the request it moves, throws still reaches the caller).
//
// How Breaker::Call() reports a fallback's failing status: OriginalError()
// returns the reason itself, which Call() passes on unchanged. Any other
// failing status (a LastGoodCache miss, a full DeferredQueue) comes back as
// "fallback failed: <its message>; the call had failed with: <reason>", with
// its code, and FallbackFailureReason() gives the reason back
// (circuit/breaker.h).
//
// Thread safety: ValueFallback and OriginalErrorFallback hold no mutable
// state. Every member of LastGoodCache and DeferredQueue may be called
// concurrently, and so may the callables they return. The callables point at
// the cache or queue that made them: it must outlive them.
#ifndef CIRCUIT_FALLBACKS_H_
#define CIRCUIT_FALLBACKS_H_

#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "circuit/deferred_queue.h"
#include "circuit/last_good_cache.h"

namespace circuit {

// ---- Constant and pass-through ---------------------------------------------

// ValueFallback<T>
// What fallback::Value(v) returns: a callable that returns a copy of the value
// it holds, whatever the reason and the call's arguments. Copying the value
// is the only thing it does (noexcept when T's copy is).
template <typename T>
class ValueFallback {
 public:
  static_assert(std::is_copy_constructible_v<T>,
                "fallback::Value(v) returns a copy of v on every call: v must be copyable");

  explicit ValueFallback(T v) : value_(std::move(v)) {}

  template <typename... Args>
  T operator()(const absl::Status& /*reason*/, const Args&... /*args*/) const
      noexcept(std::is_nothrow_copy_constructible_v<T>) {
    return value_;
  }

  const T& value() const { return value_; }

 private:
  T value_;
};

// OriginalErrorFallback
// What fallback::OriginalError() returns: a callable that returns the reason
// it was given, unchanged (code, message and payloads; IsRejection() holds
// for it after a rejection). Never throws.
class OriginalErrorFallback {
 public:
  template <typename... Args>
  absl::Status operator()(const absl::Status& reason, const Args&... /*args*/) const noexcept {
    return reason;
  }
};

namespace fallback {

// fallback::Value()
// A constant default: `breaker->Call(fn, fallback::Value(Quote{}), id)`
// returns a copy of the Quote{} when the call is rejected or fails. For fn
// returning T or absl::StatusOr<T>, `v` is a T or converts to one (a
// `const char*` for a std::string); for fn returning absl::Status, `v` is
// an absl::Status (OK: the failure counts as handled).
template <typename T>
ValueFallback<std::decay_t<T>> Value(T&& v) {
  return ValueFallback<std::decay_t<T>>(std::forward<T>(v));
}

// fallback::OriginalError()
// No fallback, said explicitly: the call returns the rejection status
// (kUnavailable, IsRejection() true), the dependency's failing status, or
// kUnknown naming what fn threw, as Call(fn) would, but with the arguments
// Call(fn, fallback, args...) passes on. For fn returning absl::Status,
// absl::StatusOr<T> or T. Breaker::Call() never gives a fallback an OK
// reason; anything else that does gets an OK status back.
inline OriginalErrorFallback OriginalError() { return OriginalErrorFallback(); }

}  // namespace fallback

}  // namespace circuit

#endif  // CIRCUIT_FALLBACKS_H_
