// The ready-made fallbacks (circuit/fallbacks.h), each through a real
// breaker on a FakeClock, opened by failures: fallback::Value() and
// fallback::OriginalError() on a rejection and on a failure; LastGoodCache's
// freshness, its annotated miss, its eviction order and bound, its configs
// and concurrent use; DeferredQueue's bound, its refusal, its FIFO order,
// its configs and concurrent producers and consumers.
#include "circuit/fallbacks.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace circuit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Quote {
  int cents = 0;
  std::string source;
  bool operator==(const Quote& other) const {
    return cents == other.cents && source == other.source;
  }
};

// A breaker named "quotes" on a FakeClock, with the default trip: five
// failures in a row.
class FallbacksTest : public testing::Test {
 protected:
  FallbacksTest() {
    BreakerConfig config;
    config.name = "quotes";
    config.clock = &clock_;
    breaker_ = Breaker::Create(config).value();
  }

  // Opens the breaker with five failed calls (no fallback).
  void OpenWithFailures() {
    for (int i = 0; i < 5; ++i) {
      ASSERT_FALSE(breaker_->Call([] { return absl::UnavailableError("quote service down"); }).ok());
    }
    ASSERT_EQ(breaker_->state(), State::kOpen);
  }

  FakeClock clock_;
  std::unique_ptr<Breaker> breaker_;
};

// ---- fallback::Value() -------------------------------------------------------

using ValueTest = FallbacksTest;

TEST_F(ValueTest, IsReturnedWhenTheBreakerRejectsAndFnNeverRuns) {
  OpenWithFailures();
  int runs = 0;
  auto get_quote = [&](const std::string& id) -> absl::StatusOr<Quote> {
    ++runs;
    return Quote{100, id};
  };
  const absl::StatusOr<Quote> quote =
      breaker_->Call(get_quote, fallback::Value(Quote{0, "default"}), std::string("AAPL"));
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_EQ(*quote, (Quote{0, "default"}));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(breaker_->Metrics().rejected, 1u);
}

TEST_F(ValueTest, IsReturnedWhenTheCallFailsWithAStatusOrThrows) {
  const auto fallback = fallback::Value(Quote{0, "default"});
  const absl::StatusOr<Quote> failed = breaker_->Call(
      [](const std::string&) -> absl::StatusOr<Quote> { return absl::InternalError("bad"); },
      fallback, std::string("AAPL"));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(*failed, (Quote{0, "default"}));

  const absl::StatusOr<Quote> threw = breaker_->Call(
      [](const std::string&) -> Quote { throw std::runtime_error("socket closed"); }, fallback,
      std::string("AAPL"));
  ASSERT_TRUE(threw.ok()) << threw.status();
  EXPECT_EQ(*threw, (Quote{0, "default"}));
  EXPECT_EQ(breaker_->Metrics().failures, 2u);
  EXPECT_EQ(fallback.value(), (Quote{0, "default"})) << "each call gets a copy";
}

TEST_F(ValueTest, IsNotUsedWhenTheCallSucceeds) {
  const absl::StatusOr<Quote> quote =
      breaker_->Call([](const std::string& id) { return Quote{250, id}; },
                     fallback::Value(Quote{0, "default"}), std::string("MSFT"));
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_EQ(*quote, (Quote{250, "MSFT"}));
}

TEST_F(ValueTest, ConvertsToWhatCallReturnsAndIgnoresMoveOnlyArguments) {
  OpenWithFailures();
  // A string literal for a std::string result.
  const absl::StatusOr<std::string> name =
      breaker_->Call([] { return std::string("live"); }, fallback::Value("n/a"));
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "n/a");
  // OK for an absl::Status result: the failure is handled.
  EXPECT_TRUE(breaker_->Call([] { return absl::InternalError("x"); },
                             fallback::Value(absl::OkStatus()))
                  .ok());
  // A move-only argument the fallback never looks at.
  const absl::StatusOr<int> size = breaker_->Call(
      [](std::unique_ptr<int> p) { return *p; }, fallback::Value(-1), std::make_unique<int>(7));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, -1);
}

// ---- fallback::OriginalError() ------------------------------------------------

using OriginalErrorTest = FallbacksTest;

TEST_F(OriginalErrorTest, GivesTheBreakersRejectionUnchanged) {
  OpenWithFailures();
  const absl::StatusOr<Quote> quote = breaker_->Call(
      [](const std::string& id) -> absl::StatusOr<Quote> { return Quote{1, id}; },
      fallback::OriginalError(), std::string("AAPL"));
  ASSERT_FALSE(quote.ok());
  EXPECT_TRUE(IsRejection(quote.status())) << quote.status();
  EXPECT_THAT(std::string(quote.status().message()), HasSubstr("'quotes' is OPEN"));
  EXPECT_FALSE(FallbackFailureReason(quote.status()).has_value())
      << "passed on as it is, not reported as a failed fallback: " << quote.status();
  // The same status a permit's rejection gives (the clock has not moved).
  const Permit rejected = breaker_->TryAcquire();
  ASSERT_FALSE(rejected);
  EXPECT_EQ(quote.status(), rejected.RejectionStatus());
}

TEST_F(OriginalErrorTest, GivesTheDependencysErrorUnchanged) {
  const absl::StatusOr<Quote> quote = breaker_->Call(
      [](const std::string& id) -> absl::StatusOr<Quote> {
        return absl::NotFoundError(absl::StrCat("no quote for ", id));
      },
      fallback::OriginalError(), std::string("ZZZZ"));
  EXPECT_EQ(quote.status(), absl::NotFoundError("no quote for ZZZZ"));
  EXPECT_FALSE(IsRejection(quote.status()));

  const absl::Status sent = breaker_->Call(
      [](int) { return absl::DeadlineExceededError("slow ack"); }, fallback::OriginalError(), 3);
  EXPECT_EQ(sent, absl::DeadlineExceededError("slow ack"));

  const absl::StatusOr<int> threw = breaker_->Call(
      []() -> int { throw std::runtime_error("socket closed"); }, fallback::OriginalError());
  EXPECT_EQ(threw.status().code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(std::string(threw.status().message()), HasSubstr("socket closed"));
  EXPECT_EQ(breaker_->Metrics().failures, 3u);
}

// ---- LastGoodCache ------------------------------------------------------------

class LastGoodCacheTest : public FallbacksTest {
 protected:
  template <typename Key = std::string, typename Value = Quote>
  std::unique_ptr<LastGoodCache<Key, Value>> MakeCache(size_t max_entries,
                                                       absl::Duration max_age = absl::Minutes(1)) {
    LastGoodCacheConfig config;
    config.max_entries = max_entries;
    config.max_age = max_age;
    config.clock = &clock_;
    absl::StatusOr<std::unique_ptr<LastGoodCache<Key, Value>>> cache =
        LastGoodCache<Key, Value>::Create(config);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return std::move(cache).value();
  }
};

TEST_F(LastGoodCacheTest, ServesTheLastGoodValueOnFailureAndOnRejection) {
  auto cache = MakeCache(16);
  bool down = false;
  int fetches = 0;
  auto get_quote = [&](const std::string& id) -> absl::StatusOr<Quote> {
    ++fetches;
    if (down) return absl::UnavailableError("quote service down");
    return Quote{100 + fetches, id};
  };
  const absl::StatusOr<Quote> live =
      breaker_->Call(cache->Remembering(get_quote), cache->Fallback(), std::string("AAPL"));
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, (Quote{101, "AAPL"}));

  down = true;
  for (int i = 0; i < 5; ++i) {  // failures: served from the cache, and they open the breaker
    const absl::StatusOr<Quote> served =
        breaker_->Call(cache->Remembering(get_quote), cache->Fallback(), std::string("AAPL"));
    ASSERT_TRUE(served.ok()) << served.status();
    EXPECT_EQ(*served, (Quote{101, "AAPL"})) << "failure " << i;
  }
  ASSERT_EQ(breaker_->state(), State::kOpen);
  EXPECT_EQ(fetches, 6);

  const absl::StatusOr<Quote> rejected =
      breaker_->Call(cache->Remembering(get_quote), cache->Fallback(), std::string("AAPL"));
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(*rejected, (Quote{101, "AAPL"}));
  EXPECT_EQ(fetches, 6) << "a rejected call never runs fn";
  EXPECT_EQ(breaker_->Metrics().rejected, 1u);
}

TEST_F(LastGoodCacheTest, RemembersOnlyOkResultsAndPlainValues) {
  auto cache = MakeCache(16);
  auto failing = cache->Remembering([](const std::string&) -> absl::StatusOr<Quote> {
    return absl::InternalError("bad");
  });
  EXPECT_FALSE(failing("AAPL").ok());
  EXPECT_FALSE(cache->Get("AAPL").has_value());
  EXPECT_EQ(cache->size(), 0u);

  auto plain = cache->Remembering([](const std::string& id) { return Quote{42, id}; });
  static_assert(std::is_same_v<decltype(plain(std::string())), Quote>);
  EXPECT_EQ(plain("MSFT"), (Quote{42, "MSFT"}));
  EXPECT_EQ(cache->Get("MSFT"), (Quote{42, "MSFT"}));
  EXPECT_FALSE(cache->Get("AAPL").has_value());
}

TEST_F(LastGoodCacheTest, ServesAValueUpToMaxAgeAndNeverAfter) {
  auto cache = MakeCache(16, absl::Minutes(1));
  cache->Remember("AAPL", Quote{101, "AAPL"});
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(cache->Get("AAPL"), (Quote{101, "AAPL"})) << "exactly max_age old is still fresh";
  clock_.Advance(absl::Nanoseconds(1));
  EXPECT_FALSE(cache->Get("AAPL").has_value());
  EXPECT_EQ(cache->size(), 0u) << "a stale entry is erased when looked up";

  cache->Remember("AAPL", Quote{102, "AAPL"});  // a rewrite starts its age again
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(cache->Get("AAPL"), (Quote{102, "AAPL"}));
}

TEST_F(LastGoodCacheTest, AStaleValueIsNotServedAndTheRejectionComesBackAnnotated) {
  auto cache = MakeCache(16, absl::Minutes(1));
  cache->Remember("AAPL", Quote{101, "AAPL"});
  clock_.Advance(absl::Seconds(61));
  OpenWithFailures();
  int fetches = 0;
  const absl::StatusOr<Quote> quote = breaker_->Call(
      cache->Remembering([&](const std::string& id) -> absl::StatusOr<Quote> {
        ++fetches;
        return Quote{1, id};
      }),
      cache->Fallback(), std::string("AAPL"));
  ASSERT_FALSE(quote.ok()) << "a stale value was served: " << quote->cents;
  EXPECT_EQ(fetches, 0);
  const absl::Status& status = quote.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("no fresh value was cached for the key"));
  EXPECT_THAT(message, HasSubstr("the one held was 1m1s old, over max_age 1m"));
  EXPECT_THAT(message, HasSubstr("'quotes' is OPEN"));
  // Breaker::Call() reports the fallback's own status as a failed fallback,
  // and keeps the rejection it fell back from.
  const std::optional<absl::Status> reason = FallbackFailureReason(status);
  ASSERT_TRUE(reason.has_value()) << status;
  EXPECT_TRUE(IsRejection(*reason)) << *reason;
  // The annotation kept the rejection's payload.
  EXPECT_TRUE(IsRejection(status)) << status;
}

TEST_F(LastGoodCacheTest, AMissKeepsTheReasonsCodeMessageAndPayloads) {
  auto cache = MakeCache(16);
  auto fallback = cache->Fallback();
  absl::Status reason = absl::NotFoundError("no quote for ZZZZ");
  reason.SetPayload("example.com/trace", absl::Cord("abc"));
  const absl::StatusOr<Quote> miss = fallback(reason, "ZZZZ");
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(miss.status().message(),
            "no quote for ZZZZ; no fresh value was cached for the key (none held: never "
            "remembered, evicted or expired)");
  EXPECT_EQ(miss.status().GetPayload("example.com/trace"), absl::Cord("abc"));

  cache->Remember("ZZZZ", Quote{5, "ZZZZ"});
  const absl::StatusOr<Quote> hit = fallback(reason, "ZZZZ");
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(*hit, (Quote{5, "ZZZZ"}));

  // An OK reason (Breaker::Call() never gives one) still makes an error.
  const absl::StatusOr<Quote> ok_reason = fallback(absl::OkStatus(), "none");
  EXPECT_EQ(ok_reason.status().code(), absl::StatusCode::kUnknown);
}

TEST_F(LastGoodCacheTest, EvictsTheLeastRecentlyWrittenAtMaxEntries) {
  auto cache = MakeCache(3);
  cache->Remember("a", Quote{1, "a"});
  cache->Remember("b", Quote{2, "b"});
  cache->Remember("c", Quote{3, "c"});
  cache->Remember("a", Quote{11, "a"});  // a is now the most recently written
  EXPECT_EQ(cache->size(), 3u);
  cache->Remember("d", Quote{4, "d"});
  EXPECT_EQ(cache->size(), 3u);
  EXPECT_FALSE(cache->Get("b").has_value()) << "b was the least recently written";
  EXPECT_EQ(cache->Get("a"), (Quote{11, "a"}));
  EXPECT_EQ(cache->Get("c"), (Quote{3, "c"}));
  EXPECT_EQ(cache->Get("d"), (Quote{4, "d"}));
  cache->Remember("e", Quote{5, "e"});
  EXPECT_FALSE(cache->Get("c").has_value()) << "reading c did not make it recent";
  EXPECT_TRUE(cache->Get("a").has_value());
  EXPECT_TRUE(cache->Get("d").has_value());
  EXPECT_TRUE(cache->Get("e").has_value());
  EXPECT_EQ(cache->size(), 3u);
}

TEST_F(LastGoodCacheTest, KeepsExactlyTheLastMaxEntriesWrittenAcrossShards) {
  auto cache = MakeCache<int, int>(100);
  for (int key = 0; key < 1000; ++key) cache->Remember(key, key * 10);
  EXPECT_EQ(cache->size(), 100u);
  int held = 0;
  for (int key = 0; key < 1000; ++key) {
    const std::optional<int> value = cache->Get(key);
    if (key >= 900) {
      EXPECT_EQ(value, key * 10) << "key " << key;
    } else {
      EXPECT_FALSE(value.has_value()) << "key " << key << " outlived 100 later writes";
    }
    held += value.has_value() ? 1 : 0;
  }
  EXPECT_EQ(held, 100);
}

TEST_F(LastGoodCacheTest, AnOrderedKeyWithoutAHashWorksTheSame) {
  using Key = std::pair<int, int>;  // no std::hash: a std::map, one shard
  auto cache = MakeCache<Key, int>(2);
  cache->Remember({1, 1}, 11);
  cache->Remember({2, 2}, 22);
  cache->Remember({1, 1}, 111);
  cache->Remember({3, 3}, 33);
  EXPECT_FALSE(cache->Get({2, 2}).has_value());
  EXPECT_EQ(cache->Get({1, 1}), 111);
  EXPECT_EQ(cache->Get({3, 3}), 33);
  const absl::StatusOr<int> served = breaker_->Call(
      [](const Key&) -> absl::StatusOr<int> { return absl::InternalError("down"); },
      cache->Fallback(), Key{3, 3});
  EXPECT_EQ(served.value_or(-1), 33);
}

TEST_F(LastGoodCacheTest, AnInfiniteMaxAgeNeverGoesStale) {
  auto cache = MakeCache(4, absl::InfiniteDuration());
  cache->Remember("AAPL", Quote{1, "AAPL"});
  clock_.Advance(absl::Hours(24 * 365 * 200));
  EXPECT_EQ(cache->Get("AAPL"), (Quote{1, "AAPL"}));
}

TEST_F(LastGoodCacheTest, UsesTheSystemClockByDefault) {
  LastGoodCacheConfig config;  // clock: nullptr
  auto cache = LastGoodCache<std::string, int>::Create(config).value();
  cache->Remember("k", 7);
  EXPECT_EQ(cache->Get("k"), 7) << "fresh for the default minute";
}

TEST_F(LastGoodCacheTest, RejectsInvalidConfigsNamingTheField) {
  using Cache = LastGoodCache<std::string, int>;
  LastGoodCacheConfig config;
  config.max_entries = 0;
  EXPECT_EQ(Cache::Create(config).status(),
            absl::InvalidArgumentError("LastGoodCacheConfig.max_entries must be >= 1, got 0"));
  config.max_entries = 1;
  config.max_age = absl::ZeroDuration();
  EXPECT_EQ(Cache::Create(config).status(),
            absl::InvalidArgumentError("LastGoodCacheConfig.max_age must be >= 1ns, got 0"));
  config.max_age = absl::Seconds(-1);
  EXPECT_EQ(ValidateLastGoodCacheConfig(config),
            absl::InvalidArgumentError("LastGoodCacheConfig.max_age must be >= 1ns, got -1s"));
  config.max_age = absl::Nanoseconds(1);
  EXPECT_TRUE(Cache::Create(config).ok());
}

// What a concurrent writer stores: enough to tell whose write it was.
struct Written {
  int writer = 0;
  int key = 0;
  int iteration = 0;
};

TEST_F(LastGoodCacheTest, ConcurrentRememberAndGetSeeOnlyValuesWrittenForTheKey) {
  constexpr int kThreads = 8;
  constexpr int kKeysPerThread = 16;
  constexpr int kIterations = 2000;
  auto cache = MakeCache<std::string, Written>(kThreads * kKeysPerThread);
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const int key = i % kKeysPerThread;
        cache->Remember(absl::StrCat(t, "/", key), Written{t, key, i});
        // Read another thread's key: a value, if any, must be one written for it.
        const int other = (t + 1 + i) % kThreads;
        const std::optional<Written> seen = cache->Get(absl::StrCat(other, "/", key));
        if (seen.has_value() && (seen->writer != other || seen->key != key)) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  EXPECT_EQ(cache->size(), static_cast<size_t>(kThreads * kKeysPerThread));
  // Each key has one writer: its last write is what the cache holds.
  for (int t = 0; t < kThreads; ++t) {
    for (int key = 0; key < kKeysPerThread; ++key) {
      const std::optional<Written> held = cache->Get(absl::StrCat(t, "/", key));
      ASSERT_TRUE(held.has_value()) << t << "/" << key;
      EXPECT_EQ(held->iteration, kIterations - kKeysPerThread + key) << t << "/" << key;
    }
  }
}

TEST_F(LastGoodCacheTest, ConcurrentWritersOfNewKeysNeverLeaveMoreThanMaxEntries) {
  constexpr int kThreads = 8;
  constexpr int kKeysPerThread = 1000;
  constexpr size_t kMaxEntries = 64;
  auto cache = MakeCache<int, int>(kMaxEntries);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeysPerThread; ++i) {
        const int key = t * kKeysPerThread + i;
        cache->Remember(key, -key);
        (void)cache->Get(key - 1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(cache->size(), kMaxEntries);
  size_t held = 0;
  for (int key = 0; key < kThreads * kKeysPerThread; ++key) {
    const std::optional<int> value = cache->Get(key);
    if (!value.has_value()) continue;
    ++held;
    EXPECT_EQ(*value, -key);
  }
  EXPECT_EQ(held, kMaxEntries);
  // Which 64 keys remain is up to the scheduler; the order of eviction is
  // checked single-threaded above.
}

// ---- DeferredQueue ------------------------------------------------------------

class DeferredQueueTest : public FallbacksTest {
 protected:
  template <typename Request = std::string>
  std::unique_ptr<DeferredQueue<Request>> MakeQueue(size_t capacity,
                                                    std::string name = "quote-refresh") {
    DeferredQueueConfig config;
    config.name = std::move(name);
    config.capacity = capacity;
    absl::StatusOr<std::unique_ptr<DeferredQueue<Request>>> queue =
        DeferredQueue<Request>::Create(config);
    EXPECT_TRUE(queue.ok()) << queue.status();
    return std::move(queue).value();
  }
};

TEST_F(DeferredQueueTest, AcceptsUpToCapacityThenRefusesWithResourceExhausted) {
  auto queue = MakeQueue(2);
  OpenWithFailures();
  int sent = 0;
  auto refresh = [&](const std::string&) {
    ++sent;
    return absl::OkStatus();
  };
  EXPECT_TRUE(breaker_->Call(refresh, queue->Fallback(), std::string("A")).ok());
  EXPECT_TRUE(breaker_->Call(refresh, queue->Fallback(), std::string("B")).ok());
  const absl::Status full = breaker_->Call(refresh, queue->Fallback(), std::string("C"));
  EXPECT_EQ(sent, 0);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  const std::string message(full.message());
  EXPECT_THAT(message, HasSubstr("deferred queue 'quote-refresh' is full: 2 of 2 requests waiting"));
  EXPECT_THAT(message, HasSubstr("not deferred after: UNAVAILABLE: circuit breaker 'quotes'"));
  const std::optional<absl::Status> reason = FallbackFailureReason(full);
  ASSERT_TRUE(reason.has_value()) << full;
  EXPECT_TRUE(IsRejection(*reason)) << *reason;

  // Called alone, the exact message.
  auto fallback = queue->Fallback();
  EXPECT_EQ(fallback(absl::NotFoundError("no route"), "D"),
            absl::ResourceExhaustedError("deferred queue 'quote-refresh' is full: 2 of 2 "
                                         "requests waiting; not deferred after: NOT_FOUND: "
                                         "no route"));
  const DeferredQueueMetrics m = queue->Metrics();
  EXPECT_EQ(m.accepted, 2u);
  EXPECT_EQ(m.rejected_full, 2u);
  EXPECT_EQ(m.popped, 0u);
  EXPECT_EQ(m.size, 2u);
  EXPECT_EQ(m.capacity, 2u);
  EXPECT_EQ(queue->size(), 2u);
  EXPECT_EQ(queue->capacity(), 2u);
  EXPECT_EQ(queue->name(), "quote-refresh");
}

TEST_F(DeferredQueueTest, DefersAFailedCallsRequestButNotASuccessfulOnes) {
  auto queue = MakeQueue(8);
  auto refresh = [](const std::string& id) {
    return id == "bad" ? absl::UnavailableError("down") : absl::OkStatus();
  };
  EXPECT_TRUE(breaker_->Call(refresh, queue->Fallback(), std::string("good")).ok());
  EXPECT_EQ(queue->size(), 0u);
  EXPECT_TRUE(breaker_->Call(refresh, queue->Fallback(), std::string("bad")).ok())
      << "accepted for later";
  EXPECT_EQ(queue->TryPop(), "bad");
  EXPECT_EQ(breaker_->Metrics().failures, 1u);
}

TEST_F(DeferredQueueTest, DrainsOldestFirstUpToMax) {
  auto queue = MakeQueue<int>(10);
  auto fallback = queue->Fallback();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(fallback(absl::UnavailableError("down"), i).ok());
  std::vector<int> drained;
  EXPECT_EQ(queue->Drain([&](int request) { drained.push_back(request); }, 3), 3u);
  EXPECT_THAT(drained, ElementsAre(1, 2, 3));
  EXPECT_EQ(queue->TryPop(), 4);
  EXPECT_EQ(queue->Drain([&](int request) { drained.push_back(request); }, 10), 1u);
  EXPECT_THAT(drained, ElementsAre(1, 2, 3, 5));
  EXPECT_FALSE(queue->TryPop().has_value());
  EXPECT_EQ(queue->Drain([&](int request) { drained.push_back(request); }, 10), 0u);
  const DeferredQueueMetrics m = queue->Metrics();
  EXPECT_EQ(m.accepted, 5u);
  EXPECT_EQ(m.popped, 5u);
  EXPECT_EQ(m.size, 0u);
}

TEST_F(DeferredQueueTest, DrainsFnMayDeferToTheSameQueueAgain) {
  auto queue = MakeQueue<int>(4);
  OpenWithFailures();
  auto send = [](int) { return absl::OkStatus(); };
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(breaker_->Call(send, queue->Fallback(), i).ok());
  // The worker retries through the breaker, which is still open: each
  // request goes back into the queue, in order, and Drain() stops at max.
  const size_t drained = queue->Drain(
      [&](int request) { EXPECT_TRUE(breaker_->Call(send, queue->Fallback(), request).ok()); },
      queue->size());
  EXPECT_EQ(drained, 3u);
  std::vector<int> left;
  while (std::optional<int> request = queue->TryPop()) left.push_back(*request);
  EXPECT_THAT(left, ElementsAre(1, 2, 3));
}

TEST_F(DeferredQueueTest, AMoveOnlyRequestIsMovedIn) {
  auto queue = MakeQueue<std::unique_ptr<int>>(1);
  OpenWithFailures();
  const absl::Status accepted =
      breaker_->Call([](const std::unique_ptr<int>&) { return absl::OkStatus(); },
                     queue->Fallback(), std::make_unique<int>(42));
  EXPECT_TRUE(accepted.ok()) << accepted;
  std::optional<std::unique_ptr<int>> request = queue->TryPop();
  ASSERT_TRUE(request.has_value());
  ASSERT_NE(*request, nullptr);
  EXPECT_EQ(**request, 42);
}

TEST_F(DeferredQueueTest, RejectsInvalidConfigsNamingTheField) {
  DeferredQueueConfig config;
  config.capacity = 0;
  EXPECT_EQ(DeferredQueue<int>::Create(config).status(),
            absl::InvalidArgumentError("DeferredQueueConfig.capacity must be >= 1, got 0"));
  config.capacity = 1;
  config.name = "";
  EXPECT_EQ(DeferredQueue<int>::Create(config).status(),
            absl::InvalidArgumentError("DeferredQueueConfig.name must be non-empty, got \"\""));
  config.name = "q";
  EXPECT_TRUE(DeferredQueue<int>::Create(config).ok());
}

// A request from a concurrent producer: who sent it, and its number there.
struct Sent {
  int producer = 0;
  int sequence = 0;
};

TEST_F(DeferredQueueTest, ConcurrentProducersLoseNothingAndCountsAddUp) {
  constexpr int kProducers = 8;
  constexpr int kAttempts = 250;
  constexpr size_t kCapacity = 1000;
  auto queue = MakeQueue<Sent>(kCapacity);
  OpenWithFailures();
  auto send = [](const Sent&) { return absl::OkStatus(); };
  std::vector<int> accepted(kProducers, 0);
  std::vector<int> refused(kProducers, 0);
  std::vector<int> other(kProducers, 0);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAttempts; ++i) {
        const absl::Status status = breaker_->Call(send, queue->Fallback(), Sent{p, i});
        if (status.ok()) {
          ++accepted[p];
        } else if (status.code() == absl::StatusCode::kResourceExhausted) {
          ++refused[p];
        } else {
          ++other[p];
        }
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  uint64_t accepted_total = 0;
  uint64_t refused_total = 0;
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_EQ(other[p], 0) << "producer " << p;
    accepted_total += static_cast<uint64_t>(accepted[p]);
    refused_total += static_cast<uint64_t>(refused[p]);
  }
  EXPECT_EQ(accepted_total, kCapacity);
  EXPECT_EQ(refused_total, uint64_t{kProducers * kAttempts} - kCapacity);
  const DeferredQueueMetrics m = queue->Metrics();
  EXPECT_EQ(m.accepted, accepted_total);
  EXPECT_EQ(m.rejected_full, refused_total);
  EXPECT_EQ(m.size, kCapacity);

  // Every accepted request is there once, each producer's in its order.
  std::vector<int> next(kProducers, 0);
  std::vector<int> count(kProducers, 0);
  const size_t drained = queue->Drain(
      [&](Sent sent) {
        EXPECT_GE(sent.sequence, next[sent.producer]) << "producer " << sent.producer;
        next[sent.producer] = sent.sequence + 1;
        ++count[sent.producer];
      },
      kCapacity + 1);
  EXPECT_EQ(drained, kCapacity);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(count[p], accepted[p]) << "producer " << p;
}

TEST_F(DeferredQueueTest, ConcurrentProducersAndAConsumerLoseAndDuplicateNothing) {
  constexpr int kProducers = 4;
  constexpr int kAttempts = 2000;
  auto queue = MakeQueue<Sent>(64);
  OpenWithFailures();
  auto send = [](const Sent&) { return absl::OkStatus(); };
  std::vector<int> accepted(kProducers, 0);
  std::vector<std::set<int>> accepted_sequences(kProducers);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAttempts; ++i) {
        if (breaker_->Call(send, queue->Fallback(), Sent{p, i}).ok()) {
          ++accepted[p];
          accepted_sequences[p].insert(i);
        }
      }
    });
  }
  std::vector<std::vector<int>> consumed(kProducers);
  std::atomic<bool> producing{true};
  std::thread consumer([&] {
    auto take = [&](Sent sent) { consumed[sent.producer].push_back(sent.sequence); };
    // acquire: pairs with the release store below, made after every
    // producer joined, so the last Drain() sees every request deferred.
    while (producing.load(std::memory_order_acquire)) queue->Drain(take, 16);
    queue->Drain(take, queue->size());
  });
  for (std::thread& producer : producers) producer.join();
  producing.store(false, std::memory_order_release);
  consumer.join();

  uint64_t accepted_total = 0;
  for (int p = 0; p < kProducers; ++p) {
    accepted_total += static_cast<uint64_t>(accepted[p]);
    // Consumed in each producer's order, each once, exactly the accepted ones.
    EXPECT_TRUE(std::is_sorted(consumed[p].begin(), consumed[p].end())) << "producer " << p;
    EXPECT_EQ(std::set<int>(consumed[p].begin(), consumed[p].end()), accepted_sequences[p])
        << "producer " << p;
    EXPECT_EQ(consumed[p].size(), static_cast<size_t>(accepted[p])) << "producer " << p;
  }
  const DeferredQueueMetrics m = queue->Metrics();
  EXPECT_EQ(m.accepted, accepted_total);
  EXPECT_EQ(m.popped, accepted_total);
  EXPECT_EQ(m.size, 0u);
  EXPECT_EQ(m.accepted + m.rejected_full, uint64_t{kProducers * kAttempts});
}

}  // namespace
}  // namespace circuit
