// File: circuit/internal/stripes.h
// Per-thread counter stripes: how a success in CLOSED avoids writing any
// cache line another thread writes.
//
// Threads are numbered process-wide, lowest free number first, by
// ThisThreadSlot(); the number is released when the thread exits. A breaker
// with S exclusive stripes gives thread n < S stripe n to itself alone, so
// its counters are advanced with a relaxed load and a relaxed store: no
// locked instruction, no shared line. Threads numbered S and above share
// kSharedStripes overflow stripes and use fetch_add, which is correct but
// contended; size `BreakerConfig::stripes` to the number of threads that
// call the breaker.
//
// Readers (Metrics(), the rate window) sum every stripe with relaxed loads:
// a sum is exact once the writers have stopped and approximate (missing
// in-flight increments) while they run, like the kernel's percpu_counter.
//
// A stripe, 128-byte aligned (x86-64 prefetches cache lines in pairs):
//   words 0..kNumCounters-1  the counters below
//   kEpoch, kEpochEnd, kBucketIndex
//                            the owner's cached current time bucket (a
//                            time window only; exclusive stripes only)
//   then window_buckets words, one per time bucket:
//    63               40 39                                  0
//   +-------------------+-------------------------------------+
//   |  epoch tag (24 b) |        calls in the bucket (40 b)   |
//   +-------------------+-------------------------------------+
//   A bucket whose tag is not the epoch being read counts as empty, so a
//   bucket is reset by the first call of its new epoch, not by a sweeper.
#ifndef CIRCUIT_INTERNAL_STRIPES_H_
#define CIRCUIT_INTERNAL_STRIPES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"

namespace circuit {
namespace internal {

// ---- Thread numbering ----------------------------------------------------

// The calling thread's number, or kOverflowSlot when none is free (more
// than kMaxThreadSlots live threads) or the thread is exiting.
inline constexpr int kMaxThreadSlots = 4096;
inline constexpr int kOverflowSlot = 1 << 30;

int RegisterThisThread();

inline thread_local int tls_thread_slot = -1;

inline int ThisThreadSlot() {
  int slot = tls_thread_slot;
  if (ABSL_PREDICT_FALSE(slot < 0)) slot = RegisterThisThread();
  return slot;
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
  kEpoch = kNumCounters,  // see the layout above
  kEpochEnd,
  kBucketIndex,
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

  // Adds 1 to counter `c`. relaxed: a statistic; whoever needs an ordered
  // view (the rate window, a trip) orders itself on the state word.
  void Add(int c) const {
    std::atomic<uint64_t>& word = words[c];
    if (exclusive) {
      // Only this thread writes this word: a load and a store are exact.
      word.store(word.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
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

  // Sum of counter `c` over every stripe (relaxed loads; see above).
  uint64_t Sum(int c) const;

  // Counts one call into the time bucket of `coarse_now`.
  void AddToBucket(StripeRef stripe, int64_t coarse_now) const;

  // Calls in the buckets of epochs [first_epoch, last_epoch], summed over
  // stripes. Requires last_epoch - first_epoch < buckets.
  uint64_t SumBuckets(uint64_t first_epoch, uint64_t last_epoch) const;

  uint64_t EpochOf(int64_t coarse_now) const {
    return static_cast<uint64_t>(coarse_now) / static_cast<uint64_t>(bucket_nanos_);
  }
  int buckets() const { return buckets_; }

 private:
  std::atomic<uint64_t>* Stripe(int i) const { return words_ + i * stride_words_; }

  static_assert((kSharedStripes & (kSharedStripes - 1)) == 0, "power of two");

  const int exclusive_;
  const int buckets_;
  const int64_t bucket_nanos_;
  const int stripe_count_;
  const size_t stride_words_;  // words per stripe, a multiple of 16 (128 B)
  std::atomic<uint64_t>* words_;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_STRIPES_H_
