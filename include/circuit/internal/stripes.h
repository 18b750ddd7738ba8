// File: circuit/internal/stripes.h
// Per-thread counter stripes: how a success in CLOSED avoids writing any
// cache line another thread writes.
//
// Threads are numbered process-wide, lowest free number first, by
// ThisThreadSlot(); the number is released when the thread exits. A breaker
// with S exclusive stripes gives thread n < S stripe n to itself alone (its
// own stripe), so its counters are advanced by one non-locked
// read-modify-write instruction (SignalSafeIncrement()): no locked
// instruction, no shared line. Threads numbered S and above share
// kSharedStripes overflow stripes and use fetch_add, which is correct but
// contended; size `BreakerConfig::stripes` to the number of threads that
// call the breaker.
//
// Readers (Metrics(), the rate window) sum every stripe with relaxed loads:
// a sum is exact once the writers have stopped and approximate (missing
// in-flight increments) while they run, like the kernel's percpu_counter.
//
// Signal handlers: the call path may run in a signal handler on a thread
// that was itself inside a call (design.md section 8). The handler runs
// between two instructions of the interrupted call, so
//   * every update of an own stripe is one instruction (a load and a store
//     would overwrite what a handler added between them);
//   * the own stripe's cached time bucket is one word (a handler sees the
//     old bucket or the new one, never half of each);
//   * a thread being registered reads as kOverflowSlot, so a handler that
//     interrupts the registration counts into the shared stripes instead of
//     claiming a second number.
// The call path is therefore async-signal-safe once the thread has made one
// call outside a handler; that first call registers a thread_local
// destructor, which may allocate.
//
// A stripe, 128-byte aligned (x86-64 prefetches cache lines in pairs):
//   words 0..kNumCounters-1  the counters below
//   kCachedBucket            the owner's current time bucket (a time window
//                            only; own stripes only), packed into one word:
//    63                        b  b-1              0
//   +---------------------------+-------------------+
//   |  epoch (64 - b bits)      | bucket index (b)  |   b = index_bits_
//   +---------------------------+-------------------+
//                            An epoch too large for 64 - b bits is stored
//                            truncated: the bucket it names then ends in the
//                            past, so every call recomputes it (correct,
//                            slower; with buckets of at least 1 ms and at
//                            most 1000 of them, as BreakerConfig requires,
//                            that takes 2^54 ms).
//   then window_buckets words, one per time bucket:
//    63               40 39                                  0
//   +-------------------+-------------------------------------+
//   |  epoch tag (24 b) |        calls in the bucket (40 b)   |
//   +-------------------+-------------------------------------+
//   A bucket whose tag is not the epoch being read counts as empty, so a
//   bucket is reset by the first call of its new epoch, not by a sweeper.
//
// Time buckets and late callers: a tag is the epoch of the call that reset
// the bucket, read from a monotonic clock before the reset, and a call
// resets a bucket only to an epoch it read from the clock after loading the
// bucket (see AddToBucket()). So a tag is never newer than the epoch of a
// reading taken after loading it: a bucket whose tag differs from that epoch
// is older, and resetting it erases nothing a current window counts. A
// caller delayed between its clock reading and its count (preempted, or
// interrupted by a handler) never resets a bucket back to its stale epoch:
// it counts into the bucket of the current time, later than the one it read
// by at most its delay. No call is lost and none erases another.
#ifndef CIRCUIT_INTERNAL_STRIPES_H_
#define CIRCUIT_INTERNAL_STRIPES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/functional/function_ref.h"

namespace circuit {
namespace internal {

// ---- Thread numbering ----------------------------------------------------

inline constexpr int kMaxThreadSlots = 4096;
inline constexpr int kOverflowSlot = 1 << 30;

// RegisterThisThread()
// Claims the lowest free number for the calling thread and returns it
// (kOverflowSlot when none is free). While it runs the thread's number reads
// kOverflowSlot, so a signal handler that interrupts it uses the shared
// stripes; if a handler registered the thread just before, returns the
// handler's number. Lock-free; may allocate (the first use of a
// thread_local with a destructor): not for a signal handler.
int RegisterThisThread();

// The calling thread's number: -1 until registered, kOverflowSlot while
// registering, when no number was free (more than kMaxThreadSlots live
// threads) or once the thread is exiting. Written only by its own thread
// (and by signal handlers running on it); an atomic so that a handler may
// read it (a relaxed load is a plain load).
inline thread_local std::atomic<int> tls_thread_slot{-1};

// ThisThreadSlot()
// The calling thread's number, registering the thread on its first call.
// Async-signal-safe once the thread has called it outside a handler.
inline int ThisThreadSlot() {
  // relaxed: only this thread (and its handlers) writes the word.
  int slot = tls_thread_slot.load(std::memory_order_relaxed);
  if (ABSL_PREDICT_FALSE(slot < 0)) slot = RegisterThisThread();
  return slot;
}

// ---- One-instruction updates ---------------------------------------------
// An own stripe's words are written only by the thread that owns the stripe
// (and by signal handlers running on that thread); other threads only load
// them, to sum them. An update of such a word therefore needs no lock
// prefix (no other core writes the line) but must be a single instruction:
// a signal handler can run between any two instructions of the thread it
// interrupts, and an update split into a load and a store would overwrite
// whatever the handler added in between. An interrupt is taken between
// instructions, never inside one, so on x86-64 a non-locked `add` or
// `cmpxchg` on memory is safe against a handler on the same thread, and
// costs what a load plus a store costs (no lock, no fence). Readers on
// other threads see the word before or after it, never torn (an aligned
// 8-byte access is atomic); for them the update is a relaxed store.
//
// Other architectures, and ThreadSanitizer (which cannot see inline asm and
// would miss the write), get relaxed atomic read-modify-writes instead:
// correct against handlers and threads alike, but locked.
#if defined(__SANITIZE_THREAD__)
#define CIRCUIT_INTERNAL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIRCUIT_INTERNAL_TSAN 1
#endif
#endif

#if defined(__x86_64__) && !defined(CIRCUIT_INTERNAL_TSAN)
#define CIRCUIT_INTERNAL_NONLOCKED_RMW 1
#endif

#ifdef CIRCUIT_INTERNAL_NONLOCKED_RMW
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t) &&
                  alignof(std::atomic<uint64_t>) == alignof(uint64_t),
              "the asm below addresses the atomic's storage as a uint64_t");
#endif

// SignalSafeIncrement()
// Adds 1 to `word` (wrapping) in one instruction. REQUIRES: only the calling
// thread and its signal handlers write `word`, unless the build has no
// CIRCUIT_INTERNAL_NONLOCKED_RMW. Relaxed: orders nothing else.
inline void SignalSafeIncrement(std::atomic<uint64_t>& word) {
#ifdef CIRCUIT_INTERNAL_NONLOCKED_RMW
  asm volatile("addq $1, %0" : "+m"(*reinterpret_cast<uint64_t*>(&word)) : : "cc");
#else
  word.fetch_add(1, std::memory_order_relaxed);
#endif
}

// SignalSafeCompareExchange()
// If `word` holds `expected`, writes `desired` and returns true; otherwise
// leaves it and returns false. One instruction; same REQUIRES as
// SignalSafeIncrement(). Also a compiler barrier (the asm clobbers memory);
// relaxed for the hardware.
inline bool SignalSafeCompareExchange(std::atomic<uint64_t>& word, uint64_t expected,
                                      uint64_t desired) {
#ifdef CIRCUIT_INTERNAL_NONLOCKED_RMW
  bool exchanged;
  asm volatile("cmpxchgq %3, %1"
               : "=@ccz"(exchanged), "+m"(*reinterpret_cast<uint64_t*>(&word)), "+a"(expected)
               : "r"(desired)
               : "memory");
  return exchanged;
#else
  return word.compare_exchange_strong(expected, desired, std::memory_order_relaxed,
                                      std::memory_order_relaxed);
#endif
}

// ---- Stripes ---------------------------------------------------------------

enum Counter : int {
  kPermitted = 0,  // permits issued (every kind but DISABLED's)
  kRejected,       // TryAcquire() that returned no permit
  kSuccesses,      // resolved as success (slow ones included)
  kFailures,       // resolved as failure
  kIgnored,        // resolved as ignored
  kReleased,       // dropped or released unresolved
  kSlow,           // successes and failures that took >= slow_call_duration
  kStale,          // outcomes dropped because the generation had moved on
  kWindowCalls,    // outcomes counted into a count window (its positions)
  kNumCounters,
  kCachedBucket = kNumCounters,  // see the layout above
  kNumHeaderWords,
};

inline constexpr int kSharedStripes = 4;
inline constexpr int kBucketTagBits = 24;
inline constexpr int kBucketCountBits = 40;
inline constexpr uint64_t kBucketCountMask = (uint64_t{1} << kBucketCountBits) - 1;
inline constexpr uint64_t kBucketTagMask = (uint64_t{1} << kBucketTagBits) - 1;
static_assert(kBucketTagBits + kBucketCountBits == 64, "bucket fields fill the word");

inline constexpr uint64_t BucketWord(uint64_t epoch, uint64_t calls) {
  return ((epoch & kBucketTagMask) << kBucketCountBits) | (calls & kBucketCountMask);
}
inline constexpr bool BucketHoldsEpoch(uint64_t word, uint64_t epoch) {
  return (word >> kBucketCountBits) == (epoch & kBucketTagMask);
}

// One thread's view of its stripe.
struct StripeRef {
  std::atomic<uint64_t>* words;
  bool exclusive;

  // StripeRef::Add()
  // Adds 1 to counter `c`. Async-signal-safe. relaxed: a statistic; whoever
  // needs an ordered view (the rate window, a trip) orders itself on the
  // state word.
  void Add(int c) const {
    std::atomic<uint64_t>& word = words[c];
    if (exclusive) {
      // Only this thread (and its handlers) writes this word: one
      // non-locked instruction is exact.
      SignalSafeIncrement(word);
    } else {
      word.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

class StripeSet {
 public:
  // `exclusive` stripes plus kSharedStripes; `buckets` time buckets each of
  // `bucket_nanos` (0 buckets for no time window).
  StripeSet(int exclusive, int buckets, int64_t bucket_nanos);
  ~StripeSet();
  StripeSet(const StripeSet&) = delete;
  StripeSet& operator=(const StripeSet&) = delete;

  StripeRef ForThisThread() const {
    const int slot = ThisThreadSlot();
    if (ABSL_PREDICT_TRUE(slot < exclusive_)) return {Stripe(slot), true};
    return {Stripe(exclusive_ + (slot & (kSharedStripes - 1))), false};
  }

  // The calling thread's own stripe, without registering it: false (and
  // `*stripe` untouched) for a thread not yet numbered or numbered past
  // the exclusive stripes. Calls nothing.
  bool OwnStripe(StripeRef* stripe) const {
    // relaxed: see ThisThreadSlot().
    const int slot = tls_thread_slot.load(std::memory_order_relaxed);
    if (static_cast<unsigned>(slot) >= static_cast<unsigned>(exclusive_)) return false;
    *stripe = {Stripe(slot), true};
    return true;
  }

  // Sum of counter `c` over every stripe (relaxed loads; see above).
  uint64_t Sum(int c) const;

  // StripeSet::AddToBucket()
  // Counts one call into the time bucket of `coarse_now` (nanoseconds, on
  // the caller's time scale). If that bucket holds another epoch, calls
  // `read_coarse_now` for a fresh reading on the same scale (at most a few
  // times a bucket per stripe, never on the common path) and counts the
  // call at the fresh epoch: into the same bucket, reset if it was older,
  // or into the bucket of the fresh epoch (see "Time buckets and late
  // callers" above). Never erases a count of the current window.
  // REQUIRES: `coarse_now` and `read_coarse_now()` read the same monotonic
  // clock on the same scale.
  // Returns the epoch the call was counted in (the fresh one, for a late
  // caller). Lock-free, never allocates; async-signal-safe if
  // `read_coarse_now` is.
  uint64_t AddToBucket(StripeRef stripe, int64_t coarse_now,
                   absl::FunctionRef<int64_t()> read_coarse_now) const;

  // Calls in the buckets of epochs [first_epoch, last_epoch], summed over
  // stripes. Requires last_epoch - first_epoch < buckets.
  uint64_t SumBuckets(uint64_t first_epoch, uint64_t last_epoch) const;

  uint64_t EpochOf(int64_t coarse_now) const {
    return static_cast<uint64_t>(coarse_now) / static_cast<uint64_t>(bucket_nanos_);
  }
  int buckets() const { return buckets_; }

 private:
  std::atomic<uint64_t>* Stripe(int i) const { return words_ + i * stride_words_; }

  // The slow path of AddToBucket(): the bucket of `epoch` held another
  // epoch when last loaded.
  uint64_t CountAtFreshEpoch(StripeRef stripe, uint64_t epoch,
                         absl::FunctionRef<int64_t()> read_coarse_now) const;

  static_assert((kSharedStripes & (kSharedStripes - 1)) == 0, "power of two");

  const int exclusive_;
  const int buckets_;
  const int64_t bucket_nanos_;
  const int stripe_count_;
  const int index_bits_;        // b in kCachedBucket: bits of a bucket index
  const uint64_t index_mask_;   // (1 << index_bits_) - 1
  const size_t stride_words_;  // words per stripe, a multiple of 16 (128 B)
  std::atomic<uint64_t>* words_;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_STRIPES_H_
