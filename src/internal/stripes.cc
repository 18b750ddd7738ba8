// File: src/internal/stripes.cc
// Thread numbering and the stripe set's slow paths (allocation, sums, time
// buckets). See circuit/internal/stripes.h for the layout.
#include "circuit/internal/stripes.h"

#include <atomic>
#include <cstdint>
#include <new>

#include "circuit/internal/cas_stats.h"

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
// thread_local destructors of the same thread go to the shared stripes.
struct SlotOwner {
  int slot = -1;
  ~SlotOwner() {
    if (slot >= 0 && slot != kOverflowSlot) ReleaseSlot(slot);
    tls_thread_slot = kOverflowSlot;
  }
};

thread_local SlotOwner t_slot_owner;

}  // namespace

int RegisterThisThread() {
  const int slot = ClaimSlot();
  t_slot_owner.slot = slot;
  tls_thread_slot = slot;
  return slot;
}

// ---- Stripes -----------------------------------------------------------------

namespace {
constexpr size_t kStripeAlign = 128;
constexpr size_t kWordsPerLine = kStripeAlign / sizeof(uint64_t);

size_t StrideWords(int buckets) {
  const size_t words = kNumHeaderWords + static_cast<size_t>(buckets);
  return (words + kWordsPerLine - 1) / kWordsPerLine * kWordsPerLine;
}
}  // namespace

StripeSet::StripeSet(int exclusive, int buckets, int64_t bucket_nanos)
    : exclusive_(exclusive),
      buckets_(buckets),
      bucket_nanos_(bucket_nanos > 0 ? bucket_nanos : 1),
      stripe_count_(exclusive + kSharedStripes),
      stride_words_(StrideWords(buckets)) {
  const size_t words = stride_words_ * static_cast<size_t>(stripe_count_);
  void* memory = ::operator new(words * sizeof(std::atomic<uint64_t>),
                                std::align_val_t{kStripeAlign});
  words_ = static_cast<std::atomic<uint64_t>*>(memory);
  for (size_t i = 0; i < words; ++i) new (&words_[i]) std::atomic<uint64_t>(0);
}

StripeSet::~StripeSet() {
  ::operator delete(static_cast<void*>(words_), std::align_val_t{kStripeAlign});
}

uint64_t StripeSet::Sum(int c) const {
  uint64_t sum = 0;
  for (int i = 0; i < stripe_count_; ++i) {
    // relaxed: a statistic (see the header).
    sum += Stripe(i)[c].load(std::memory_order_relaxed);
  }
  return sum;
}

void StripeSet::AddToBucket(StripeRef stripe, int64_t coarse_now) const {
  std::atomic<uint64_t>* const words = stripe.words;
  uint64_t epoch;
  uint64_t index;
  if (stripe.exclusive) {
    // The owner caches its current bucket, so the division runs once a
    // bucket. relaxed: only this thread reads or writes these three words.
    if (static_cast<uint64_t>(coarse_now) < words[kEpochEnd].load(std::memory_order_relaxed)) {
      epoch = words[kEpoch].load(std::memory_order_relaxed);
      index = words[kBucketIndex].load(std::memory_order_relaxed);
    } else {
      epoch = EpochOf(coarse_now);
      index = epoch % static_cast<uint64_t>(buckets_);
      words[kEpoch].store(epoch, std::memory_order_relaxed);
      words[kBucketIndex].store(index, std::memory_order_relaxed);
      words[kEpochEnd].store((epoch + 1) * static_cast<uint64_t>(bucket_nanos_),
                             std::memory_order_relaxed);
    }
    std::atomic<uint64_t>& bucket = words[kNumHeaderWords + index];
    // relaxed: only this thread writes this bucket; readers sum it loosely.
    const uint64_t old = bucket.load(std::memory_order_relaxed);
    bucket.store(BucketHoldsEpoch(old, epoch) ? old + 1 : BucketWord(epoch, 1),
                 std::memory_order_relaxed);
    return;
  }
  epoch = EpochOf(coarse_now);
  index = epoch % static_cast<uint64_t>(buckets_);
  std::atomic<uint64_t>& bucket = words[kNumHeaderWords + index];
  uint64_t old = bucket.load(std::memory_order_relaxed);
  // A shared stripe: a CAS, because the reset of a bucket to a new epoch and
  // the increment must be one step. relaxed: a statistic.
  while (!bucket.compare_exchange_weak(
      old, BucketHoldsEpoch(old, epoch) ? old + 1 : BucketWord(epoch, 1),
      std::memory_order_relaxed, std::memory_order_relaxed)) {
    NoteCasFailure();
  }
}

uint64_t StripeSet::SumBuckets(uint64_t first_epoch, uint64_t last_epoch) const {
  uint64_t sum = 0;
  for (uint64_t epoch = first_epoch; epoch <= last_epoch; ++epoch) {
    const size_t index = kNumHeaderWords + epoch % static_cast<uint64_t>(buckets_);
    for (int i = 0; i < stripe_count_; ++i) {
      // relaxed: a statistic (see the header).
      const uint64_t word = Stripe(i)[index].load(std::memory_order_relaxed);
      if (BucketHoldsEpoch(word, epoch)) sum += word & kBucketCountMask;
    }
  }
  return sum;
}

}  // namespace internal
}  // namespace circuit
