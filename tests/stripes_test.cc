// File: tests/stripes_test.cc
// circuit::internal::StripeSet on its own: the counters, the time buckets of
// own stripes and per-CPU blocks, the per-CPU arena, and the
// one-instruction updates that make the own stripe safe against a signal
// handler on the same thread (tests/signal_test.cc interrupts them for
// real, restartable sequences included).
//
// A stripe set built with 0 own stripes puts every thread on its CPU's
// block; one built with kMaxThreadSlots own stripes gives every thread its
// own.
#include "circuit/internal/stripes.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "circuit/fake_clock.h"
#include "circuit/internal/percpu.h"
#include "circuit/internal/percpu_arena.h"
#include "gtest/gtest.h"

namespace circuit {
namespace internal {
namespace {

constexpr int kNoOwn = 0;
constexpr int kOwn = kMaxThreadSlots;

// What AddToBucket() calls for a fresh reading.
auto ReadClock(const FakeClock& clock) {
  return [&clock] { return clock.CoarseNowNanos(); };
}

// ---- One-instruction updates -------------------------------------------------

TEST(SignalSafeUpdateTest, IncrementAddsOne) {
  std::atomic<uint64_t> word{41};
  SignalSafeIncrement(word);
  EXPECT_EQ(word.load(), 42u);
  word.store(~uint64_t{0});
  SignalSafeIncrement(word);
  EXPECT_EQ(word.load(), 0u);  // wraps like fetch_add
}

TEST(SignalSafeUpdateTest, CompareExchangeWritesOnlyOnAMatch) {
  std::atomic<uint64_t> word{7};
  EXPECT_FALSE(SignalSafeCompareExchange(word, 6, 100));
  EXPECT_EQ(word.load(), 7u);
  EXPECT_TRUE(SignalSafeCompareExchange(word, 7, 100));
  EXPECT_EQ(word.load(), 100u);
}

// ---- Counters --------------------------------------------------------------------

TEST(StripeSetTest, SumAddsEveryThreadsCounters) {
  for (const int exclusive : {kNoOwn, 2, kOwn}) {
    StripeSet stripes(exclusive, 0, 0);
    constexpr int kThreads = 4;
    constexpr int kAdds = 100'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kAdds; ++i) stripes.ForThisThread().Add(kSuccesses);
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(stripes.Sum(kSuccesses), uint64_t{kThreads} * kAdds) << exclusive;
    EXPECT_EQ(stripes.Sum(kFailures), 0u);
  }
}

TEST(StripeSetTest, ThisThreadGetsAnOwnStripeOrItsCpusBlock) {
  EXPECT_TRUE(StripeSet(kOwn, 0, 0).ForThisThread().kind == StripeKind::kOwn);
  EXPECT_FALSE(StripeSet(kNoOwn, 0, 0).ForThisThread().kind == StripeKind::kOwn);
}

#if defined(__linux__) && defined(__x86_64__) && !defined(CIRCUIT_INTERNAL_PERCPU_TSAN)
TEST(PerCpuTest, ThisMachineCountsWithRestartableSequences) {
  // Debian 12's glibc (2.36) registers an rseq area for every thread: a
  // silent fall back to fetch_add would cost every thread past the own
  // stripes a locked add per counter.
  EXPECT_EQ(PerCpu().mode, PerCpuMode::kRseq);
  EXPECT_EQ(StripeSet(kNoOwn, 0, 0).ForThisThread().kind, StripeKind::kPerCpu);
  EXPECT_GE(RseqCpu(), 0);
  EXPECT_LT(RseqCpu(), PerCpu().cpus);
}
#endif

TEST(PerCpuTest, ManyMoreThreadsThanCpusLoseNoCount) {
  // 32 threads on however few CPUs: preempted and migrated in the middle of
  // their adds, which the kernel restarts.
  StripeSet stripes(kNoOwn, 0, 0);
  constexpr int kThreads = 32;
  constexpr int kAdds = 200'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        stripes.ForThisThread().Add(kSuccesses);
        if (i % 1024 == t) std::this_thread::yield();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(stripes.Sum(kSuccesses), uint64_t{kThreads} * kAdds);
}

TEST(PerCpuTest, OwnStripesAndCpuBlocksTogetherLoseNoCount) {
  // Two own stripes, eight threads: the first two to register own one (the
  // main thread may hold one already), the rest count per CPU.
  StripeSet stripes(2, 0, 0);
  constexpr int kThreads = 8;
  constexpr int kAdds = 100'000;
  std::atomic<int> own{0};
  std::atomic<int> registered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      if (stripes.ForThisThread().kind == StripeKind::kOwn) own.fetch_add(1);
      // Every thread holds its number until all have one: no number is
      // given back and taken again by a later thread.
      registered.fetch_add(1);
      while (registered.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kAdds; ++i) {
        stripes.ForThisThread().Add(kPermitted);
        stripes.ForThisThread().Add(kFailures);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(own.load(), 2);
  EXPECT_EQ(stripes.Sum(kPermitted), uint64_t{kThreads} * kAdds);
  EXPECT_EQ(stripes.Sum(kFailures), uint64_t{kThreads} * kAdds);
}

TEST(PerCpuArenaTest, AReusedBlockStartsAtZeroOnEveryCpu) {
  // A set counts on this thread's CPU, then is destroyed; the next set of
  // the same shape reuses its block and must not inherit the counts.
  for (int round = 0; round < 3; ++round) {
    StripeSet stripes(kNoOwn, 7, 1000);
    EXPECT_EQ(stripes.Sum(kSuccesses), 0u) << "round " << round;
    EXPECT_EQ(stripes.SumBuckets(0, 6), 0u) << "round " << round;
    for (int i = 0; i < 10; ++i) stripes.ForThisThread().Add(kSuccesses);
    stripes.AddToBucket(stripes.ForThisThread(), 0, [] { return int64_t{0}; });
    EXPECT_EQ(stripes.Sum(kSuccesses), 10u);
    EXPECT_EQ(stripes.SumBuckets(0, 0), 1u);
  }
}

TEST(PerCpuArenaTest, ManySetsShareChunksAndGiveTheirBlocksBack) {
  PerCpuArena& arena = PerCpuArena::Get();
  const PerCpuArena::Usage before = arena.usage();
  {
    std::vector<std::unique_ptr<StripeSet>> sets;
    for (int i = 0; i < 1000; ++i) sets.push_back(std::make_unique<StripeSet>(kNoOwn, 0, 0));
    const PerCpuArena::Usage during = arena.usage();
    // 1000 blocks of 10 words (80 B) in every region: a chunk (64 KiB a
    // region) holds 819, so at most two more chunks.
    EXPECT_EQ(during.block_bytes - before.block_bytes,
              size_t{1000} * 80 * (static_cast<size_t>(arena.cpus()) + 1));
    EXPECT_LE(during.chunks - before.chunks, 2u);
    EXPECT_EQ(sets.front()->bytes(), StripeSet::BytesFor(0, 0, arena.cpus()));
  }
  const PerCpuArena::Usage after = arena.usage();
  EXPECT_EQ(after.block_bytes, before.block_bytes);
  {
    // The same shapes again: the freed blocks are reused, no new chunk.
    std::vector<std::unique_ptr<StripeSet>> sets;
    for (int i = 0; i < 1000; ++i) sets.push_back(std::make_unique<StripeSet>(kNoOwn, 0, 0));
    EXPECT_EQ(arena.usage().chunks, after.chunks);
  }
}

TEST(StripeSetTest, BytesForCountsOwnStripesAndEveryCpusBlock) {
  // 2 own stripes of 128 B, 3 CPU blocks (2 CPUs + shared) of 80 B.
  EXPECT_EQ(StripeSet::BytesFor(2, 0, 2), size_t{2 * 128 + 3 * 80});
  // 60 buckets: an own stripe of 70 words rounds up to 80 (640 B, five
  // 128-byte lines); a CPU block is 70 words (560 B), 64 CPUs + shared.
  EXPECT_EQ(StripeSet::BytesFor(1, 60, 64), size_t{640 + 65 * 560});
}

// ---- Time buckets ----------------------------------------------------------------
// Buckets of 1000 ns: time t falls in epoch t / 1000, bucket epoch % buckets.

constexpr int64_t kBucketNanos = 1000;

TEST(StripeSetTest, BucketsCountCallsPerEpoch) {
  for (const int exclusive : {kNoOwn, kOwn}) {
    FakeClock clock(5000);
    StripeSet stripes(exclusive, 4, kBucketNanos);
    const auto add = [&] {
      stripes.AddToBucket(stripes.ForThisThread(), clock.CoarseNowNanos(), ReadClock(clock));
    };
    add();
    add();
    clock.Advance(absl::Nanoseconds(1000));  // epoch 6
    add();
    clock.Advance(absl::Nanoseconds(999));  // still epoch 6
    add();
    EXPECT_EQ(stripes.SumBuckets(5, 5), 2u) << exclusive;
    EXPECT_EQ(stripes.SumBuckets(6, 6), 2u) << exclusive;
    EXPECT_EQ(stripes.SumBuckets(3, 6), 4u) << exclusive;
    EXPECT_EQ(stripes.SumBuckets(7, 7), 0u) << exclusive;
  }
}

TEST(StripeSetTest, FirstCallOfANewEpochResetsTheBucketItReuses) {
  for (const int exclusive : {kNoOwn, kOwn}) {
    FakeClock clock(5000);
    StripeSet stripes(exclusive, 2, kBucketNanos);
    const auto add = [&] {
      stripes.AddToBucket(stripes.ForThisThread(), clock.CoarseNowNanos(), ReadClock(clock));
    };
    add();
    add();                                   // epoch 5: bucket 1 holds (5, 2)
    clock.Advance(absl::Nanoseconds(2000));  // epoch 7: bucket 1 again
    add();
    EXPECT_EQ(stripes.SumBuckets(7, 7), 1u) << exclusive;
    EXPECT_EQ(stripes.SumBuckets(6, 7), 1u) << exclusive;
    EXPECT_EQ(stripes.SumBuckets(5, 5), 0u) << exclusive;  // overwritten, out of the window
  }
}

// A caller that read the clock in epoch 4, then was delayed while epoch 5
// began and another call was counted in the same bucket (one bucket: every
// epoch uses it). Resetting the bucket to epoch 4 would erase that call.
TEST(StripeSetTest, SharedStripeDelayedCallerErasesNoNewerCall) {
  FakeClock clock(5000);
  StripeSet stripes(kNoOwn, 1, kBucketNanos);
  const StripeRef stripe = stripes.ForThisThread();
  ASSERT_FALSE(stripe.kind == StripeKind::kOwn);
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));  // counted in epoch 5
  stripes.AddToBucket(stripe, 4000, ReadClock(clock));  // read the clock in epoch 4
  EXPECT_EQ(stripes.SumBuckets(5, 5), 2u);
}

// The same with epochs e and e + buckets sharing bucket 1 of 2.
TEST(StripeSetTest, SharedStripeDelayedCallerErasesNoCallAWindowNewer) {
  FakeClock clock(7000);
  StripeSet stripes(kNoOwn, 2, kBucketNanos);
  const StripeRef stripe = stripes.ForThisThread();
  stripes.AddToBucket(stripe, 7000, ReadClock(clock));  // epoch 7, bucket 1
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));  // epoch 5, bucket 1: lands in 7
  EXPECT_EQ(stripes.SumBuckets(7, 7), 2u);
  EXPECT_EQ(stripes.SumBuckets(6, 7), 2u);
}

// When time has moved on to an epoch in another bucket, the delayed call is
// counted there, and the newer bucket it would have reset keeps its call.
TEST(StripeSetTest, SharedStripeDelayedCallerLandsInTheCurrentBucket) {
  FakeClock clock(9000);
  StripeSet stripes(kNoOwn, 4, kBucketNanos);
  const StripeRef stripe = stripes.ForThisThread();
  stripes.AddToBucket(stripe, 9000, ReadClock(clock));  // epoch 9, bucket 1
  clock.Advance(absl::Nanoseconds(1000));     // now epoch 10, bucket 2
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));  // epoch 5, bucket 1
  EXPECT_EQ(stripes.SumBuckets(9, 9), 1u);
  EXPECT_EQ(stripes.SumBuckets(10, 10), 1u);
  EXPECT_EQ(stripes.SumBuckets(7, 10), 2u);
}

// A delayed caller whose bucket still holds its own epoch just adds to it.
TEST(StripeSetTest, SharedStripeDelayedCallerCountsInItsEpochWhileTheBucketHoldsIt) {
  FakeClock clock(5000);
  StripeSet stripes(kNoOwn, 4, kBucketNanos);
  const StripeRef stripe = stripes.ForThisThread();
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));
  clock.Advance(absl::Nanoseconds(1000));
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));  // read the clock in epoch 5
  EXPECT_EQ(stripes.SumBuckets(5, 5), 2u);
  EXPECT_EQ(stripes.SumBuckets(6, 6), 0u);
}

// The own stripe caches its epoch and bucket: a call with an older time
// than the cache (a handler interrupted it after its clock read, say) is
// counted in the cached, newer bucket.
TEST(StripeSetTest, OwnStripeCallOlderThanItsCacheCountsInTheNewerBucket) {
  FakeClock clock(7000);
  StripeSet stripes(kOwn, 2, kBucketNanos);
  const StripeRef stripe = stripes.ForThisThread();
  ASSERT_TRUE(stripe.kind == StripeKind::kOwn);
  stripes.AddToBucket(stripe, 7000, ReadClock(clock));
  stripes.AddToBucket(stripe, 5000, ReadClock(clock));
  EXPECT_EQ(stripes.SumBuckets(7, 7), 2u);
}

// The cache packs the epoch above the bucket index; an epoch too large for
// what is left is never cached, every call recomputes, and counts stay right.
TEST(StripeSetTest, OwnStripeCountsRightWhenTheEpochIsTooLargeToCache) {
  for (const int64_t bucket_nanos : {int64_t{1}, int64_t{1000}}) {
    const int64_t start = int64_t{1} << 62;
    FakeClock clock(start);
    StripeSet stripes(kOwn, 1000, bucket_nanos);
    const StripeRef stripe = stripes.ForThisThread();
    for (int i = 0; i < 10; ++i) {
      stripes.AddToBucket(stripe, clock.CoarseNowNanos(), ReadClock(clock));
      stripes.AddToBucket(stripe, clock.CoarseNowNanos(), ReadClock(clock));
      clock.Advance(absl::Nanoseconds(bucket_nanos));
    }
    const uint64_t first = stripes.EpochOf(start);
    EXPECT_EQ(stripes.SumBuckets(first, first), 2u) << bucket_nanos;
    EXPECT_EQ(stripes.SumBuckets(first, first + 9), 20u) << bucket_nanos;
  }
}

// Threads on shared stripes count calls and reset buckets concurrently while
// the clock moves; with no bucket reused, the window holds every call.
TEST(StripeSetTest, ConcurrentSharedStripeCallsAreAllCounted) {
  FakeClock clock(1'000'000);
  StripeSet stripes(kNoOwn, 1000, kBucketNanos);
  const uint64_t first = stripes.EpochOf(clock.CoarseNowNanos());
  constexpr int kThreads = 4;
  constexpr int kAdds = 200'000;
  std::atomic<bool> done{false};
  std::thread mover([&] {
    for (int i = 0; i < 900 && !done.load(std::memory_order_relaxed); ++i) {
      clock.Advance(absl::Nanoseconds(kBucketNanos));
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAdds; ++i) {
        stripes.AddToBucket(stripes.ForThisThread(), clock.CoarseNowNanos(), ReadClock(clock));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  done.store(true, std::memory_order_relaxed);
  mover.join();
  const uint64_t last = stripes.EpochOf(clock.CoarseNowNanos());
  ASSERT_LT(last - first, 1000u);
  EXPECT_EQ(stripes.SumBuckets(first, last), uint64_t{kThreads} * kAdds);
}

}  // namespace
}  // namespace internal
}  // namespace circuit
