// File: circuit/internal/stripes.h
// Counter stripes: how a success in CLOSED avoids writing any cache line a
// thread on another CPU writes, whatever the number of calling threads.
//
// Two kinds of stripe, one scheme:
//   * own stripes. Threads are numbered process-wide, lowest free number
//     first, by ThisThreadSlot(); the number is released when the thread
//     exits. A breaker with S own stripes gives thread n < S stripe n to
//     itself alone, so its counters are advanced by one non-locked
//     read-modify-write instruction (SignalSafeIncrement()): no locked
//     instruction, no shared line. The cheapest add there is (0.1 ns here).
//   * per-CPU blocks (circuit/internal/percpu.h). Every other thread, at
//     any number, counts into the block of the CPU it runs on, with a
//     restartable sequence (one non-locked add, restarted by the kernel if
//     the thread moves; 0.4 ns here) or, where there is none, fetch_add on
//     that CPU's block. A block's line is written only from its CPU.
// So no calling thread falls onto a line that threads on other CPUs write;
// memory per breaker is S x 128 B plus (CPUs + 1) x (80 B + 8 B a time
// bucket), bounded by the CPU count, not the thread count
// (BreakerConfig::stripes says how S is chosen).
//
// Readers (Metrics(), the rate window) sum every stripe and every CPU's
// block with relaxed loads: a sum is exact once the writers have stopped and
// approximate (missing in-flight increments) while they run, like the
// kernel's percpu_counter.
//
// Signal handlers: the call path may run in a signal handler on a thread
// that was itself inside a call (design.md section 8). The handler runs
// between two instructions of the interrupted call, so
//   * every update of an own stripe is one instruction (a load and a store
//     would overwrite what a handler added between them);
//   * the own stripe's cached time bucket is one word (a handler sees the
//     old bucket or the new one, never half of each);
//   * a restartable sequence interrupted by a signal is restarted before
//     the handler runs (the kernel moves it to its abort address);
//   * a thread being registered reads as kOverflowSlot, so a handler that
//     interrupts the registration counts into the per-CPU blocks instead of
//     claiming a second number.
// The call path is therefore async-signal-safe once the thread has made one
// call outside a handler; that first call registers a thread_local
// destructor, which may allocate.
//
// An own stripe, 128-byte aligned (x86-64 prefetches cache lines in pairs),
// and a per-CPU block (packed: only its CPU writes its region) share one
// layout:
//   words 0..kNumCounters-1  the counters below
//   kCachedBucket            the owner's current time bucket (a time window
//                            only; own stripes only; a breaker with no time
//                            window counts slow start's shed calls here,
//                            and a time window in kWindowCalls: see
//                            Breaker::shed_counter_), packed into one word:
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
//   then, with call durations recorded (BreakerConfig::record_call_durations),
//   kCallDurationBuckets words, the calls per duration bucket
//   (circuit/call_durations.h), and one word, the sum of their durations in
//   nanoseconds (wrapping after 584 years of summed call time).
//   then, with the latency-percentile trip (BreakerConfig::latency_percentile),
//   kCallDurationBuckets words again: the same bins, counting only the
//   outcomes of calls admitted in the CLOSED generation current at their
//   outcome (the trip's window must not see an older state's calls; the
//   lifetime histogram above counts every call). Cumulative, never reset:
//   the window is the difference of two sums (src/internal/latency_window.h).
//   In a per-CPU block the buckets are updated with atomic operations only
//   (a thread may move to another CPU between choosing the block and the
//   update, and several threads of one CPU may be inside an update), the
//   counters with the restartable add. The duration words of a per-CPU
//   block are updated atomically too (only breakers that record durations
//   write them, on a path that has read a clock already).
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
#include "circuit/internal/cas_stats.h"
#include "circuit/internal/percpu.h"

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
// read it (a relaxed load is a plain load). Threads numbered at or past a
// breaker's own stripes count per CPU.
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

// SignalSafeAdd()
// Adds `delta` to `word` (wrapping) in one instruction; as
// SignalSafeIncrement().
inline void SignalSafeAdd(std::atomic<uint64_t>& word, uint64_t delta) {
#ifdef CIRCUIT_INTERNAL_NONLOCKED_RMW
  asm volatile("addq %1, %0" : "+m"(*reinterpret_cast<uint64_t*>(&word)) : "er"(delta) : "cc");
#else
  word.fetch_add(delta, std::memory_order_relaxed);
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

// Where a thread counts.
enum class StripeKind : uint8_t {
  kOwn,         // its own stripe: one non-locked add
  kPerCpu,      // its CPU's block, with a restartable sequence
  kPerCpuAtomic,  // its CPU's block (as sched_getcpu() says), fetch_add
};

// One thread's view of where it counts.
struct StripeRef {
  // kOwn: the stripe. Per-CPU: CPU 0's block (CPU c's is
  // `+ c * kPerCpuRegionWords`; CPU PerCpu().cpus's is the shared region).
  std::atomic<uint64_t>* words;
  StripeKind kind;

  // StripeRef::Add()
  // Adds 1 to counter `c`. Async-signal-safe. relaxed: a statistic; whoever
  // needs an ordered view (the rate window, a trip) orders itself on the
  // state word.
  void Add(int c) const {
    if (ABSL_PREDICT_TRUE(kind == StripeKind::kOwn)) {
      // Only this thread (and its handlers) writes this word: one
      // non-locked instruction is exact.
      SignalSafeIncrement(words[c]);
    } else {
      AddPerCpu(words, kind, c);
    }
  }

  // StripeRef::AddInlined()
  // Add() with the restartable sequence inline: for paths that are out of
  // line already (the outcome's), where it saves threads past the own
  // stripes a call without growing callers' code.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void AddInlined(int c) const {
    if (ABSL_PREDICT_TRUE(kind == StripeKind::kOwn)) {
      SignalSafeIncrement(words[c]);
    } else {
      AddToCpuBlock(words, kind, c);
    }
  }

  // The block this thread's CPU counts time buckets into (per-CPU kinds;
  // the thread may have moved by the time it is used, which atomic updates
  // tolerate).
  std::atomic<uint64_t>* BucketBlock() const;

 private:
  // The per-CPU kinds' add, out of line: the restartable sequence is kept
  // out of every inlined call path (it would push the owners' path out of
  // line), at the cost of one call for threads past the own stripes. Falls
  // back to fetch_add on the block of the CPU sched_getcpu() reports (the
  // shared region if it reports none, or for a kPerCpu thread whose rseq
  // area is not registered: kPerCpu blocks take no atomic add). Static,
  // taking the fields by value, so that the caller need not keep the
  // StripeRef in memory for it.
  static void AddPerCpu(std::atomic<uint64_t>* cpu0_block, StripeKind kind, int c);
  // The per-CPU add itself, which AddPerCpu() and AddInlined() share: the
  // restartable sequence where there is one, else AddAtomically().
  ABSL_ATTRIBUTE_ALWAYS_INLINE static void AddToCpuBlock(std::atomic<uint64_t>* cpu0_block,
                                                         StripeKind kind, int c) {
#if defined(CIRCUIT_INTERNAL_HAVE_RSEQ)
    if (ABSL_PREDICT_TRUE(kind == StripeKind::kPerCpu) &&
        RseqIncrement(cpu0_block, g_percpu_cpus.load(std::memory_order_relaxed), c)) {
      return;
    }
#endif
    AddAtomically(cpu0_block, kind, c);
  }
  // AddPerCpu()'s fallback, out of line again so that the restartable path
  // saves no register.
  static void AddAtomically(std::atomic<uint64_t>* cpu0_block, StripeKind kind, int c);
};

class StripeSet {
 public:
  // `own` stripes (0..1024) and one block a CPU; `buckets` time buckets each
  // of `bucket_nanos` (0 buckets for no time window); `durations`: room for
  // the call-duration histogram; `latency`: room for the latency window's.
  StripeSet(int own, int buckets, int64_t bucket_nanos, bool durations = false,
            bool latency = false);
  ~StripeSet();
  StripeSet(const StripeSet&) = delete;
  StripeSet& operator=(const StripeSet&) = delete;

  StripeRef ForThisThread() const {
    const int slot = ThisThreadSlot();
    if (ABSL_PREDICT_TRUE(slot < own_)) return {Stripe(slot), StripeKind::kOwn};
    return {percpu_, percpu_kind_};
  }

  // The calling thread's own stripe, without registering it: false (and
  // `*stripe` untouched) for a thread not yet numbered or numbered past
  // the own stripes. Calls nothing.
  bool OwnStripe(StripeRef* stripe) const {
    // relaxed: see ThisThreadSlot().
    const int slot = tls_thread_slot.load(std::memory_order_relaxed);
    if (static_cast<unsigned>(slot) >= static_cast<unsigned>(own_)) return false;
    *stripe = {Stripe(slot), StripeKind::kOwn};
    return true;
  }

  // Bytes this set holds: its own stripes plus its per-CPU block in every
  // region (CPUs + 1), for `own` stripes, `buckets` time buckets, `cpus`
  // CPUs and, if `durations` and `latency`, the two duration histograms.
  static size_t BytesFor(int own, int buckets, int cpus, bool durations = false,
                         bool latency = false);
  size_t bytes() const { return BytesFor(own_, buckets_, cpus_, durations_, latency_); }

  // StripeSet::AddDuration()
  // Counts one call of `nanos` into the duration histogram, in `stripe`.
  // REQUIRES: the set was built with `durations`. Async-signal-safe.
  void AddDuration(StripeRef stripe, int64_t nanos) const;
  // The histogram summed over every stripe and CPU: `counts` gets
  // kCallDurationBuckets values; returns the summed nanoseconds. Zeros
  // without `durations`.
  uint64_t SumDurations(uint64_t* counts) const;

  // StripeSet::AddLatency()
  // Counts one call into bin `bin` of the latency window's histogram, in
  // `stripe`. REQUIRES: the set was built with `latency`. Async-signal-safe.
  void AddLatency(StripeRef stripe, int bin) const;
  // The latency histogram summed over every stripe and CPU into `counts`
  // (kCallDurationBuckets values); zeros without `latency`.
  void SumLatency(uint64_t* counts) const;

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
  // stripes and CPUs. Requires last_epoch - first_epoch < buckets.
  uint64_t SumBuckets(uint64_t first_epoch, uint64_t last_epoch) const;

  uint64_t EpochOf(int64_t coarse_now) const {
    return static_cast<uint64_t>(coarse_now) / static_cast<uint64_t>(bucket_nanos_);
  }
  int buckets() const { return buckets_; }
  int64_t bucket_nanos() const { return bucket_nanos_; }
  int own() const { return own_; }

 private:
  std::atomic<uint64_t>* Stripe(int i) const {
    return words_ + static_cast<size_t>(i) * stride_words_;
  }
  // Every place counter words live: each own stripe, then each CPU's block
  // and the shared region's.
  template <typename Fn>
  void ForEachCopy(Fn fn) const {
    for (int i = 0; i < own_; ++i) fn(Stripe(i));
    for (int cpu = 0; cpu <= cpus_; ++cpu) {
      fn(percpu_ + static_cast<size_t>(cpu) * kPerCpuRegionWords);
    }
  }

  // The slow path of AddToBucket(): the bucket of `epoch` held another
  // epoch when last loaded. `words`: the stripe or block counted into;
  // `exclusive`: only this thread (and its handlers) writes it.
  uint64_t CountAtFreshEpoch(std::atomic<uint64_t>* words, bool exclusive, uint64_t epoch,
                             absl::FunctionRef<int64_t()> read_coarse_now) const;

  const int own_;
  const int buckets_;
  const bool durations_;
  const bool latency_;
  const int64_t bucket_nanos_;
  const int cpus_;
  const StripeKind percpu_kind_;
  const int index_bits_;        // b in kCachedBucket: bits of a bucket index
  const uint64_t index_mask_;   // (1 << index_bits_) - 1
  const size_t stride_words_;  // words per own stripe, a multiple of 16 (128 B)
  const size_t block_words_;   // words per CPU block: kNumHeaderWords + buckets (+ durations)
  // The first duration word in a stripe or block: kNumHeaderWords + buckets.
  size_t DurationsOffset() const { return kNumHeaderWords + static_cast<size_t>(buckets_); }
  // The first latency word: after the duration words, if any.
  size_t LatencyOffset() const;
  // The kCallDurationBuckets words from `first` on, summed over every copy
  // into `counts`: either histogram's bins; and, if `after` is not null,
  // the word after them (the durations' sum) into `*after`, in the same
  // pass.
  void SumBins(size_t first, uint64_t* counts, uint64_t* after = nullptr) const;
  std::atomic<uint64_t>* words_;   // own stripes (null if none)
  std::atomic<uint64_t>* percpu_;  // CPU 0's block in the per-CPU arena
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_INTERNAL_STRIPES_H_
