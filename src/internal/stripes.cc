// File: src/internal/stripes.cc
// Thread numbering and the stripe set's slow paths (allocation, sums, time
// buckets, the per-CPU atomic fallbacks). See circuit/internal/stripes.h for the layout.
#include "circuit/internal/stripes.h"

#include <atomic>
#include <cstdint>
#include <new>

#include "absl/base/attributes.h"
#include "circuit/call_durations.h"

#include "circuit/internal/cas_stats.h"
#include "circuit/internal/percpu.h"
#include "circuit/internal/percpu_arena.h"

namespace circuit {
namespace internal {
namespace {

// ---- Thread numbering ------------------------------------------------------
// A bitmap of taken numbers. A thread claims the lowest clear bit with a CAS
// (lock-free; once per thread) and clears it when it exits.
constexpr int kSlotWords = kMaxThreadSlots / 64;
std::atomic<uint64_t> g_taken_slots[kSlotWords];

int ClaimSlot() {
  for (int w = 0; w < kSlotWords; ++w) {
    // relaxed: a hint; the CAS below decides.
    uint64_t bits = g_taken_slots[w].load(std::memory_order_relaxed);
    while (bits != ~uint64_t{0}) {
      const int bit = __builtin_ctzll(~bits);
      // acquire: pairs with the release in ReleaseSlot(), so this thread sees
      // every counter write the previous owner of the number made.
      if (g_taken_slots[w].compare_exchange_weak(bits, bits | (uint64_t{1} << bit),
                                                 std::memory_order_acquire,
                                                 std::memory_order_relaxed)) {
        return w * 64 + bit;
      }
    }
  }
  return kOverflowSlot;
}

void ReleaseSlot(int slot) {
  // release: publishes this thread's plain counter stores to the next owner.
  g_taken_slots[slot / 64].fetch_and(~(uint64_t{1} << (slot % 64)), std::memory_order_release);
}

// Gives the number back when the thread exits. Later uses from other
// thread_local destructors of the same thread count per CPU.
struct SlotOwner {
  int slot = -1;
  ~SlotOwner() {
    // Stop using the number first, then give it back: a handler that runs
    // in between counts per CPU, never into a stripe that the number's
    // next owner may already be writing without a lock.
    // relaxed: only this thread (and its handlers) reads the word.
    tls_thread_slot.store(kOverflowSlot, std::memory_order_relaxed);
    // Keeps the compiler from sinking the store below the release.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (slot >= 0 && slot != kOverflowSlot) ReleaseSlot(slot);
  }
};

thread_local SlotOwner t_slot_owner;

}  // namespace

// The number goes -1 -> kOverflowSlot -> n: a handler that interrupts the
// registration reads kOverflowSlot and counts per CPU (exact, as any
// thread past the own stripes) instead of registering a second time, which would claim a
// second number and leak one of them.
int RegisterThisThread() {
  int unregistered = -1;
  // One instruction, so there is no gap between the test and the mark: a
  // handler that registered the thread before it makes it fail, and we use
  // the handler's number. relaxed: only this thread (and its handlers)
  // reads or writes the word.
  if (!tls_thread_slot.compare_exchange_strong(unregistered, kOverflowSlot,
                                               std::memory_order_relaxed)) {
    return unregistered;
  }
  // The mark must be in place before the compiler lets anything below run.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const int slot = ClaimSlot();
  // The first use of t_slot_owner registers its destructor: may allocate.
  t_slot_owner.slot = slot;
  // The owner holds the number before anyone uses it.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  tls_thread_slot.store(slot, std::memory_order_relaxed);
  return slot;
}

// ---- Stripes -----------------------------------------------------------------

namespace {
constexpr size_t kStripeAlign = 128;
constexpr size_t kWordsPerLine = kStripeAlign / sizeof(uint64_t);

// Bits to hold a bucket index in [0, buckets): b in kCachedBucket.
int IndexBits(int buckets) {
  int bits = 0;
  while (bits < 31 && (int64_t{1} << bits) < buckets) ++bits;
  return bits;
}

// The duration histogram's words: the buckets, then the sum.
constexpr size_t kDurationWords = kCallDurationBuckets + 1;

size_t BlockWords(int buckets, bool durations, bool latency) {
  return kNumHeaderWords + static_cast<size_t>(buckets) + (durations ? kDurationWords : 0) +
         (latency ? kCallDurationBuckets : 0);
}

size_t StrideWords(int buckets, bool durations, bool latency) {
  const size_t words = BlockWords(buckets, durations, latency);
  return (words + kWordsPerLine - 1) / kWordsPerLine * kWordsPerLine;
}

std::atomic<uint64_t>* CpuBlock(std::atomic<uint64_t>* cpu0_block, int cpu) {
  return cpu0_block + static_cast<size_t>(cpu) * kPerCpuRegionWords;
}
}  // namespace

void StripeRef::AddPerCpu(std::atomic<uint64_t>* cpu0_block, StripeKind kind, int c) {
  AddToCpuBlock(cpu0_block, kind, c);
}

ABSL_ATTRIBUTE_NOINLINE void StripeRef::AddAtomically(std::atomic<uint64_t>* cpu0_block,
                                                      StripeKind kind, int c) {
  const int cpus = g_percpu_cpus.load(std::memory_order_relaxed);
  // kPerCpu here: this thread's rseq area is not registered (or its CPU id
  // is past the count), and the CPU blocks of kRseq take no atomic add on
  // their counters: the shared region.
  const int cpu = kind == StripeKind::kPerCpuAtomic ? CurrentCpuForAtomic(cpus) : cpus;
  if (cpu == cpus) NoteSharedStripeWrite();
  CpuBlock(cpu0_block, cpu)[c].fetch_add(1, std::memory_order_relaxed);
}

std::atomic<uint64_t>* StripeRef::BucketBlock() const {
  const int cpus = g_percpu_cpus.load(std::memory_order_relaxed);
  int cpu = cpus;
#if defined(CIRCUIT_INTERNAL_HAVE_RSEQ)
  if (kind == StripeKind::kPerCpu) {
    const int32_t rseq_cpu = RseqCpu();
    if (rseq_cpu >= 0 && rseq_cpu < cpus) cpu = rseq_cpu;
  }
#endif
  if (kind == StripeKind::kPerCpuAtomic) cpu = CurrentCpuForAtomic(cpus);
  if (cpu == cpus) NoteSharedStripeWrite();
  return CpuBlock(words, cpu);
}

StripeSet::StripeSet(int own, int buckets, int64_t bucket_nanos, bool durations, bool latency)
    : own_(own),
      buckets_(buckets),
      durations_(durations),
      latency_(latency),
      bucket_nanos_(bucket_nanos > 0 ? bucket_nanos : 1),
      cpus_(PerCpuArena::Get().cpus()),
      percpu_kind_(PerCpu().mode == PerCpuMode::kRseq ? StripeKind::kPerCpu
                                                      : StripeKind::kPerCpuAtomic),
      index_bits_(IndexBits(buckets)),
      index_mask_((uint64_t{1} << index_bits_) - 1),
      stride_words_(StrideWords(buckets, durations, latency)),
      block_words_(BlockWords(buckets, durations, latency)),
      words_(nullptr),
      percpu_(PerCpuArena::Get().Allocate(block_words_)) {
  if (own_ > 0) {
    const size_t words = stride_words_ * static_cast<size_t>(own_);
    void* memory = ::operator new(words * sizeof(std::atomic<uint64_t>),
                                  std::align_val_t{kStripeAlign});
    words_ = static_cast<std::atomic<uint64_t>*>(memory);
    for (size_t i = 0; i < words; ++i) new (&words_[i]) std::atomic<uint64_t>(0);
  }
}

StripeSet::~StripeSet() {
  if (words_ != nullptr) {
    ::operator delete(static_cast<void*>(words_), std::align_val_t{kStripeAlign});
  }
  PerCpuArena::Get().Free(percpu_, block_words_);
}

size_t StripeSet::BytesFor(int own, int buckets, int cpus, bool durations, bool latency) {
  return (static_cast<size_t>(own) * StrideWords(buckets, durations, latency) +
          (static_cast<size_t>(cpus) + 1) * BlockWords(buckets, durations, latency)) *
         sizeof(uint64_t);
}

void StripeSet::AddDuration(StripeRef stripe, int64_t nanos) const {
  const uint64_t positive = nanos > 0 ? static_cast<uint64_t>(nanos) : 0;
  const size_t bucket = DurationsOffset() + static_cast<size_t>(CallDurationBucket(nanos));
  const size_t sum = DurationsOffset() + kCallDurationBuckets;
  if (stripe.kind == StripeKind::kOwn) {
    // Only this thread (and its handlers) writes the stripe: one
    // non-locked instruction each, as for the counters.
    SignalSafeIncrement(stripe.words[bucket]);
    SignalSafeAdd(stripe.words[sum], positive);
    return;
  }
  // A CPU's block: threads of that CPU (and any that moved off it) update
  // these words atomically, as the time buckets. relaxed: a statistic.
  std::atomic<uint64_t>* const words = stripe.BucketBlock();
  words[bucket].fetch_add(1, std::memory_order_relaxed);
  words[sum].fetch_add(positive, std::memory_order_relaxed);
}

void StripeSet::SumBins(size_t first, uint64_t* counts, uint64_t* after) const {
  for (int i = 0; i < kCallDurationBuckets; ++i) counts[i] = 0;
  if (after != nullptr) *after = 0;
  ForEachCopy([&](std::atomic<uint64_t>* words) {
    // relaxed: a statistic (see the header).
    for (int i = 0; i < kCallDurationBuckets; ++i) {
      counts[i] += words[first + static_cast<size_t>(i)].load(std::memory_order_relaxed);
    }
    if (after != nullptr) {
      *after += words[first + kCallDurationBuckets].load(std::memory_order_relaxed);
    }
  });
}

uint64_t StripeSet::SumDurations(uint64_t* counts) const {
  if (!durations_) {
    for (int i = 0; i < kCallDurationBuckets; ++i) counts[i] = 0;
    return 0;
  }
  uint64_t sum;
  SumBins(DurationsOffset(), counts, &sum);
  return sum;
}

size_t StripeSet::LatencyOffset() const {
  return DurationsOffset() + (durations_ ? kDurationWords : 0);
}

void StripeSet::AddLatency(StripeRef stripe, int bin) const {
  const size_t word = LatencyOffset() + static_cast<size_t>(bin);
  if (stripe.kind == StripeKind::kOwn) {
    SignalSafeIncrement(stripe.words[word]);  // as AddDuration()
    return;
  }
  // relaxed: a statistic, as AddDuration()'s.
  stripe.BucketBlock()[word].fetch_add(1, std::memory_order_relaxed);
}

void StripeSet::SumLatency(uint64_t* counts) const {
  if (!latency_) {
    for (int i = 0; i < kCallDurationBuckets; ++i) counts[i] = 0;
    return;
  }
  SumBins(LatencyOffset(), counts);
}

uint64_t StripeSet::Sum(int c) const {
  uint64_t sum = 0;
  // relaxed: a statistic (see the header).
  ForEachCopy([&](std::atomic<uint64_t>* words) { sum += words[c].load(std::memory_order_relaxed); });
  return sum;
}

uint64_t StripeSet::AddToBucket(StripeRef stripe, int64_t coarse_now,
                            absl::FunctionRef<int64_t()> read_coarse_now) const {
  const uint64_t buckets = static_cast<uint64_t>(buckets_);
  uint64_t epoch;
  uint64_t index;
  if (stripe.kind == StripeKind::kOwn) {
    std::atomic<uint64_t>* const words = stripe.words;
    // The owner caches its current bucket, so the division runs once a
    // bucket. The cache is one word: a handler that updates it between our
    // load and our store leaves a whole (epoch, index) pair, its own or
    // ours, never its epoch with our index. A cached epoch newer than
    // `coarse_now` (a handler read the clock after us) is still at most
    // now: the call lands in that later bucket. relaxed: only this thread
    // (and its handlers) reads or writes the cache.
    const uint64_t cached = words[kCachedBucket].load(std::memory_order_relaxed);
    epoch = cached >> index_bits_;
    index = cached & index_mask_;
    if (static_cast<uint64_t>(coarse_now) >=
        (epoch + 1) * static_cast<uint64_t>(bucket_nanos_)) {
      epoch = EpochOf(coarse_now);
      index = epoch % buckets;
      words[kCachedBucket].store((epoch << index_bits_) | index, std::memory_order_relaxed);
    }
    std::atomic<uint64_t>& bucket = words[kNumHeaderWords + index];
    // relaxed: only this thread (and its handlers) writes the bucket;
    // readers sum it loosely.
    if (ABSL_PREDICT_TRUE(BucketHoldsEpoch(bucket.load(std::memory_order_relaxed), epoch))) {
      // One instruction. A handler that resets the bucket between the load
      // and the add resets it to a newer epoch (see CountAtFreshEpoch());
      // the add then counts this call in that later bucket: nothing lost.
      SignalSafeIncrement(bucket);
      return epoch;
    }
    return CountAtFreshEpoch(words, /*exclusive=*/true, epoch, read_coarse_now);
  }
  // A CPU's block: threads of that CPU (and any that moved off it since
  // choosing it) update its buckets with atomic operations.
  std::atomic<uint64_t>* const words = stripe.BucketBlock();
  epoch = EpochOf(coarse_now);
  index = epoch % buckets;
  std::atomic<uint64_t>& bucket = words[kNumHeaderWords + index];
  // relaxed: a statistic. Another thread that resets the bucket between
  // the load and the add resets it to a newer epoch, where the add then
  // counts this call, as above.
  if (ABSL_PREDICT_TRUE(BucketHoldsEpoch(bucket.load(std::memory_order_relaxed), epoch))) {
    bucket.fetch_add(1, std::memory_order_relaxed);
    return epoch;
  }
  return CountAtFreshEpoch(words, /*exclusive=*/false, epoch, read_coarse_now);
}

// The bucket of `epoch` held another epoch: an older one, which this call
// resets, or, if the caller is late, a newer one, which must be kept.
// Telling them apart by comparing the 24-bit tags would be wrong (a tag's
// age can wrap), so the clock decides: the bucket is loaded, then the clock
// read. Every tag was read from the same monotonic clock before the reset
// that wrote it, and that reset happens-before our load (release/acquire
// below; on an own stripe the writer is this thread or a handler that ran
// on it before the load). So the tag is at most the fresh epoch:
//   tag == fresh  -> count into it (the call lands in the newer bucket);
//   tag != fresh  -> the bucket is older than the window ending now, in
//                    which fresh's bucket holds no other epoch: resetting
//                    it to (fresh, 1) erases nothing current;
//   fresh's bucket is another one -> choose again, in that bucket.
// The reset is a compare-exchange: if the word changed since the load
// (another thread, a handler), the loop loads and judges again.
uint64_t StripeSet::CountAtFreshEpoch(std::atomic<uint64_t>* words, bool exclusive,
                                      uint64_t epoch,
                                      absl::FunctionRef<int64_t()> read_coarse_now) const {
  const uint64_t buckets = static_cast<uint64_t>(buckets_);
  for (;;) {
    std::atomic<uint64_t>& bucket = words[kNumHeaderWords + epoch % buckets];
    // acquire: pairs with the release of the reset that wrote the tag (the
    // fetch_adds since continue its release sequence), so the clock reading
    // below is no earlier than the one that produced the tag. It also keeps
    // the compiler from reading the clock before the load, which is what
    // matters against a handler on this thread.
    const uint64_t old = bucket.load(std::memory_order_acquire);
    if (BucketHoldsEpoch(old, epoch)) {
      // relaxed: see AddToBucket().
      if (exclusive) {
        SignalSafeIncrement(bucket);
      } else {
        bucket.fetch_add(1, std::memory_order_relaxed);
      }
      return epoch;
    }
    const uint64_t fresh = EpochOf(read_coarse_now());
    if (fresh != epoch) {
      // Time has moved on since the caller's reading (or since our last
      // try): count at the fresh epoch, whose bucket must be loaded again
      // (and, if it holds another epoch, the clock read after that load).
      epoch = fresh;
      continue;
    }
    // The tag is older than `epoch` (see above): reset.
    const uint64_t reset = BucketWord(epoch, 1);
    if (exclusive) {
      // One non-locked instruction: fails if a handler changed the word.
      if (SignalSafeCompareExchange(bucket, old, reset)) return epoch;
    } else {
      uint64_t expected = old;
      // release: publishes the clock reading behind the tag to the acquire
      // above in any thread that later judges this bucket. failure
      // relaxed: the loop loads again with acquire.
      if (bucket.compare_exchange_strong(expected, reset, std::memory_order_release,
                                         std::memory_order_relaxed)) {
        return epoch;
      }
    }
    NoteCasFailure();
  }
}

uint64_t StripeSet::SumBuckets(uint64_t first_epoch, uint64_t last_epoch) const {
  uint64_t sum = 0;
  for (uint64_t epoch = first_epoch; epoch <= last_epoch; ++epoch) {
    const size_t index = kNumHeaderWords + epoch % static_cast<uint64_t>(buckets_);
    ForEachCopy([&](std::atomic<uint64_t>* words) {
      // relaxed: a statistic (see the header).
      const uint64_t word = words[index].load(std::memory_order_relaxed);
      if (BucketHoldsEpoch(word, epoch)) sum += word & kBucketCountMask;
    });
  }
  return sum;
}

}  // namespace internal
}  // namespace circuit
