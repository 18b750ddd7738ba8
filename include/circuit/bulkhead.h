// File: circuit/bulkhead.h
// `circuit::Bulkhead` limits the calls in flight to one dependency, so that
// a slow dependency holds at most `max_concurrent` of a service's threads
// (or connections, or memory) instead of all of them. Where a breaker stops
// calls to a dependency that fails, a bulkhead stops a dependency that is
// slow from taking everything down with it; they compose (see Call()).
//
// Example:
//   circuit::BulkheadConfig config;
//   config.name = "payments";
//   config.max_concurrent = 16;
//   auto bulkhead = circuit::Bulkhead::Create(config).value();
//
//   // Slots: RAII, given back when the slot is destroyed.
//   if (circuit::BulkheadSlot slot = bulkhead->TryAcquire()) {
//     CallPayments();
//   } else {
//     return slot.RejectionStatus();   // kResourceExhausted, no exception
//   }
//
//   // Wrapped, with a breaker: the call runs only if both admit it.
//   absl::StatusOr<Quote> quote = bulkhead->Call(*breaker, [&] { return GetQuote(id); });
//
// The slot word, one atomic 64-bit word:
//    63                   40 39                  20 19                   0
//   +-----------------------+----------------------+----------------------+
//   | callers waiting (24 b)| most in flight (20 b)| calls in flight (20 b)|
//   +-----------------------+----------------------+----------------------+
// Taking a slot is one compare-and-swap of the word (in flight + 1, if
// below max_concurrent, and the most in flight raised with it); giving one
// back is one fetch_sub, which also tells the giver whether anyone waits.
// max_concurrent is at most 1'000'000 < 2^20, and at most 2^24 - 1 callers
// wait at once (a caller that would be one more is refused without
// waiting). Neither takes a lock. Only with
// max_wait > 0 and the bulkhead full does a caller wait, on a mutex and a
// condition variable; a giver that finds waiters takes the mutex to wake
// one. So a bulkhead that is not full costs two atomic read-modify-writes
// of one shared line a call: unlike a breaker's CLOSED success it is a
// shared write by nature (every caller must see every other's slot), but
// one without a lock (BM_Bulkhead_* in docs/benchmarks.md, beside a
// std::mutex bulkhead).
//
// Threads: every member is thread-safe. A slot may be given back on another
// thread than the one that took it (moved there). The bulkhead must
// outlive its slots.
#ifndef CIRCUIT_BULKHEAD_H_
#define CIRCUIT_BULKHEAD_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/internal/call.h"

namespace circuit {

struct BulkheadConfig {
  // Names the bulkhead in rejections and metrics. Default: "bulkhead".
  std::string name = "bulkhead";
  // Calls in flight at once. Default: 25. Must be 1..1'000'000.
  int max_concurrent = 25;
  // How long Acquire() (and Call()) wait for a slot when the bulkhead is
  // full; 0 rejects at once. TryAcquire() never waits. Default: 0.
  // Must be 0..1 hour.
  absl::Duration max_wait = absl::ZeroDuration();
};

// ValidateBulkheadConfig()
// OK, or InvalidArgumentError naming the first bad field and its value.
absl::Status ValidateBulkheadConfig(const BulkheadConfig& config);

// Lifetime counters, exact once calls stop (read one after another while
// they run).
struct BulkheadMetrics {
  int max_concurrent = 0;
  uint32_t in_flight = 0;      // slots taken now
  uint32_t max_in_flight = 0;  // the most taken at once so far (since Create())
  uint32_t waiting = 0;        // callers waiting for a slot now
  uint64_t rejected = 0;       // calls refused (full, after any wait)
  uint64_t waited = 0;         // calls that waited (admitted or not)
  absl::Duration wait_time = absl::ZeroDuration();  // summed over them
};

class Bulkhead;

// The right to one call in flight; given back when destroyed, released or
// moved over. False when the bulkhead refused it.
class BulkheadSlot {
 public:
  BulkheadSlot() = default;
  BulkheadSlot(BulkheadSlot&& other) noexcept
      : bulkhead_(std::exchange(other.bulkhead_, nullptr)),
        admitted_(std::exchange(other.admitted_, false)),
        waited_(other.waited_),
        in_flight_(other.in_flight_) {}
  BulkheadSlot& operator=(BulkheadSlot&& other) noexcept {
    if (this != &other) {
      Release();
      bulkhead_ = std::exchange(other.bulkhead_, nullptr);
      admitted_ = std::exchange(other.admitted_, false);
      waited_ = other.waited_;
      in_flight_ = other.in_flight_;
    }
    return *this;
  }
  BulkheadSlot(const BulkheadSlot&) = delete;
  BulkheadSlot& operator=(const BulkheadSlot&) = delete;
  ~BulkheadSlot() { Release(); }

  // True if a slot was taken (and not yet given back).
  explicit operator bool() const { return admitted_; }
  // True if the bulkhead refused it (false for an empty slot).
  bool rejected() const { return bulkhead_ != nullptr && !admitted_; }

  // Gives the slot back now (idempotent; nothing for a refused one).
  void Release() noexcept;

  // BulkheadSlot::RejectionStatus()
  // kResourceExhausted naming the bulkhead, the calls in flight when it
  // refused, the limit and the wait, with a payload IsBulkheadRejection()
  // recognises. OK for a slot that was taken.
  absl::Status RejectionStatus() const;

 private:
  friend class Bulkhead;
  BulkheadSlot(const Bulkhead* bulkhead, bool admitted, uint32_t in_flight, bool waited = false)
      : bulkhead_(bulkhead), admitted_(admitted), waited_(waited), in_flight_(in_flight) {}

  const Bulkhead* bulkhead_ = nullptr;
  bool admitted_ = false;
  bool waited_ = false;     // refused after waiting max_wait
  uint32_t in_flight_ = 0;  // refused: the calls in flight it saw
};

// IsBulkheadRejection()
// True if `status` is a BulkheadSlot::RejectionStatus().
bool IsBulkheadRejection(const absl::Status& status);

class Bulkhead {
 public:
  // Bulkhead::Create()
  // Validates `config` (ValidateBulkheadConfig()) and builds an empty
  // bulkhead.
  static absl::StatusOr<std::unique_ptr<Bulkhead>> Create(BulkheadConfig config);

  // Bulkhead::~Bulkhead()
  // Aborts with a message naming the bulkhead if a slot is still taken (a
  // slot given back later would write freed memory), as Breaker does.
  ~Bulkhead();
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // Bulkhead::TryAcquire()
  // A slot if one is free, else a refused one, at once. One CAS (retried
  // only when another caller changed the word in between); never blocks or
  // allocates.
  [[nodiscard]] BulkheadSlot TryAcquire() noexcept;

  // Bulkhead::Acquire()
  // As TryAcquire(), but when the bulkhead is full waits up to
  // config().max_wait for a slot to be given back (never longer: the
  // deadline is taken when the call starts). Slots are not handed out in
  // arrival order: a caller arriving as a slot frees may take it before
  // one that waited.
  [[nodiscard]] BulkheadSlot Acquire();

  // Bulkhead::Call(fn)
  // Runs fn() in a slot (Acquire()): returns the rejection status if none,
  // else fn's result as Breaker::Call() returns it (void and absl::Status
  // become absl::Status, T and absl::StatusOr<T> absl::StatusOr<T>). The
  // slot is given back however fn ends (a return, an exception).
  template <typename F>
  auto Call(F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>>;

  // Bulkhead::Call(breaker, fn)
  // A bulkhead in front of a breaker: takes a slot first, then calls
  // breaker.Call(fn) in it. A call the bulkhead refuses never reaches the
  // breaker (the breaker counts nothing for it); a call the breaker
  // rejects gives its slot back at once; the slot is given back whatever
  // happens. Returns the bulkhead's rejection, the breaker's, or fn's
  // result.
  template <typename F>
  auto Call(Breaker& breaker, F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>>;

  // Bulkhead::Call(breaker, fn, fallback, args...)
  // As Breaker::Call(fn, fallback, args...) behind this bulkhead: a call
  // the bulkhead refuses goes to the fallback with the bulkhead's
  // rejection as its reason (the breaker counts nothing for it); otherwise
  // breaker.Call(fn, fallback, args...) runs in the slot.
  template <typename F, typename Fallback, typename... Args>
  auto Call(Breaker& breaker, F&& fn, Fallback&& fallback, Args&&... args)
      -> internal::CallResultT<internal::ArgsResultT<F, Args...>>;

  BulkheadMetrics Metrics() const;
  absl::string_view name() const { return config_.name; }
  const BulkheadConfig& config() const { return config_; }

 private:
  friend class BulkheadSlot;
  explicit Bulkhead(BulkheadConfig config);

  static constexpr int kCountBits = 20;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr int kPeakShift = kCountBits;
  static constexpr int kWaitersShift = 2 * kCountBits;
  static constexpr uint64_t kOneWaiter = uint64_t{1} << kWaitersShift;
  static constexpr uint32_t kMaxWaiters = (1u << (64 - kWaitersShift)) - 1;
  static uint32_t InFlightOf(uint64_t word) { return static_cast<uint32_t>(word & kCountMask); }
  static uint32_t PeakOf(uint64_t word) {
    return static_cast<uint32_t>((word >> kPeakShift) & kCountMask);
  }
  static uint32_t WaitersOf(uint64_t word) { return static_cast<uint32_t>(word >> kWaitersShift); }

  // One CAS attempt loop: true and the slot if one was free.
  bool TryTake(uint32_t* in_flight_seen) noexcept;
  // Gives a slot back; wakes a waiter if the word says there is one.
  void GiveBack() const noexcept;
  // Acquire()'s wait, out of line.
  BulkheadSlot AcquireWaiting();

  const BulkheadConfig config_;
  const uint32_t max_concurrent_;

  // The slot word (drawn above). Every update is a read-modify-write, so
  // the word's modification order alone decides who gets a free slot and
  // whether a giver sees a waiter (see AcquireWaiting()); the word guards
  // no other memory.
  alignas(128) mutable std::atomic<uint64_t> slots_{0};
  // Counted only on the refused and waiting paths, on a line of their own.
  alignas(128) std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> waited_{0};
  std::atomic<int64_t> wait_nanos_{0};
  // Waiting only (max_wait > 0, bulkhead full). std::mutex rather than
  // absl::Mutex: ThreadSanitizer sees its happens-before (Debian's Abseil
  // is not built with TSan annotations).
  mutable std::mutex wait_mu_;
  mutable std::condition_variable slot_freed_;
};

// ---- Inline definitions --------------------------------------------------

inline void BulkheadSlot::Release() noexcept {
  if (admitted_) {
    admitted_ = false;
    bulkhead_->GiveBack();
  }
}

namespace internal {
// The slot word this thread expects to find at its next take (of any
// bulkhead): what the word was after its last take, less its own slot.
// Per thread, trivially constructed: no TLS guard.
inline thread_local uint64_t tls_bulkhead_word_guess = 0;
}  // namespace internal

inline bool Bulkhead::TryTake(uint32_t* in_flight_seen) noexcept {
  // The first CAS guesses the word instead of loading it. A load would
  // fetch a contended line shared and the CAS fetch it again exclusive:
  // two transfers. A CAS that fails fetches it exclusive once and returns
  // the word, and the retry finds both in this core's cache. A wrong guess
  // costs a failed CAS, never a wrong answer: the bulkhead is judged full
  // only on a word read from it (loaded, or returned by a failed CAS).
  uint64_t word = internal::tls_bulkhead_word_guess;
  // relaxed: see slots_. A failed CAS reloads the word and tries again.
  if (ABSL_PREDICT_FALSE(InFlightOf(word) >= max_concurrent_)) {
    word = slots_.load(std::memory_order_relaxed);
  }
  uint64_t desired;
  for (;;) {
    const uint32_t in_flight = InFlightOf(word);
    if (ABSL_PREDICT_FALSE(in_flight >= max_concurrent_)) {
      *in_flight_seen = in_flight;
      return false;
    }
    desired = word + 1;
    if (ABSL_PREDICT_FALSE(in_flight + 1 > PeakOf(word))) {
      desired += uint64_t{1} << kPeakShift;  // the most in flight: one more
    }
    if (ABSL_PREDICT_TRUE(slots_.compare_exchange_weak(word, desired, std::memory_order_relaxed,
                                                       std::memory_order_relaxed))) {
      break;
    }
  }
  internal::tls_bulkhead_word_guess = desired - 1;
  *in_flight_seen = InFlightOf(desired);
  return true;
}

inline BulkheadSlot Bulkhead::TryAcquire() noexcept {
  uint32_t in_flight;
  if (ABSL_PREDICT_TRUE(TryTake(&in_flight))) return BulkheadSlot(this, true, in_flight);
  // relaxed: a statistic.
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return BulkheadSlot(this, false, in_flight);
}

inline BulkheadSlot Bulkhead::Acquire() {
  if (config_.max_wait <= absl::ZeroDuration()) return TryAcquire();
  uint32_t in_flight;
  if (ABSL_PREDICT_TRUE(TryTake(&in_flight))) return BulkheadSlot(this, true, in_flight);
  return AcquireWaiting();
}

inline void Bulkhead::GiveBack() const noexcept {
  // relaxed: see slots_.
  const uint64_t before = slots_.fetch_sub(1, std::memory_order_relaxed);
  if (ABSL_PREDICT_FALSE(WaitersOf(before) != 0)) {
    // Under the mutex: a waiter either has not yet tried again (it holds
    // the mutex from registering to waiting) and will see the free slot,
    // or is waiting and gets the notification.
    std::lock_guard<std::mutex> lock(wait_mu_);
    slot_freed_.notify_one();
  }
}

template <typename F>
auto Bulkhead::Call(F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  using Result = internal::CallResultT<R>;
  BulkheadSlot slot = Acquire();
  if (!slot) return Result(slot.RejectionStatus());
  if constexpr (std::is_void_v<R>) {
    fn();
    return absl::OkStatus();
  } else {
    return Result(fn());
  }
}

template <typename F>
auto Bulkhead::Call(Breaker& breaker, F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>> {
  // breaker.Call(fn) already returns a status type, which Call() passes on.
  return Call([&breaker, &fn] { return breaker.Call(fn); });
}

template <typename F, typename Fallback, typename... Args>
auto Bulkhead::Call(Breaker& breaker, F&& fn, Fallback&& fallback, Args&&... args)
    -> internal::CallResultT<internal::ArgsResultT<F, Args...>> {
  using Result = internal::CallResultT<internal::ArgsResultT<F, Args...>>;
  BulkheadSlot slot = Acquire();
  if (!slot) {
    return internal::RunFallback<Result>(fallback, slot.RejectionStatus(),
                                         std::forward<Args>(args)...);
  }
  return breaker.Call(fn, fallback, std::forward<Args>(args)...);
}

}  // namespace circuit

#endif  // CIRCUIT_BULKHEAD_H_
