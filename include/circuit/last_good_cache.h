// File: circuit/last_good_cache.h
// `circuit::LastGoodCache<Key, Value>` remembers the last good value of a
// call per key and serves it as the call's fallback while it is fresh:
// one of the ready-made fallbacks of circuit/fallbacks.h (which includes
// this header, and says how Breaker::Call() reports a fallback's failure).
#ifndef CIRCUIT_LAST_GOOD_CACHE_H_
#define CIRCUIT_LAST_GOOD_CACHE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/clock.h"
#include "circuit/internal/call.h"

namespace circuit {

struct LastGoodCacheConfig {
  // Keys remembered at most. Writing a new key into a full cache evicts the
  // least recently written one (reads do not count: a value read often but
  // not refreshed goes first). Default: 1024. Must be >= 1. Each entry costs
  // the key and the value plus about 100 B of map and list nodes.
  size_t max_entries = 1024;

  // The oldest value served: a value written longer ago than this is stale,
  // never served again, and erased when looked up. Default: 1 min. Must be
  // >= 1ns; absl::InfiniteDuration(): never stale. Longer serves more calls
  // while the dependency is down, with older data.
  absl::Duration max_age = absl::Minutes(1);

  // Where the cache reads the time of a write and the age of a value
  // (Clock::NowNanos()). nullptr: SystemClock(). Must outlive the cache.
  // Tests inject a circuit::FakeClock (circuit/fake_clock.h).
  const Clock* clock = nullptr;
};

// ValidateLastGoodCacheConfig()
// Returns OK, or InvalidArgumentError naming the first bad field and value:
// "LastGoodCacheConfig.max_entries must be >= 1, got 0".
absl::Status ValidateLastGoodCacheConfig(const LastGoodCacheConfig& config);

namespace internal {

// Whether std::hash<Key> is enabled: LastGoodCache then keeps a Key in a
// std::unordered_map in one of 16 shards, else in a std::map in one shard.
template <typename Key, typename = void>
struct IsStdHashable : std::false_type {};
template <typename Key>
struct IsStdHashable<Key, std::void_t<decltype(std::hash<Key>{}(std::declval<const Key&>()))>>
    : std::true_type {};

// LastGoodCache's miss: `reason` with its code and payloads, its message
// followed by "; no fresh value was cached for the key (...)", saying why:
// none held, or the one held is `stale_age` old (over `max_age`). An OK
// reason becomes kUnknown (a StatusOr cannot hold an OK status).
absl::Status LastGoodCacheMiss(const absl::Status& reason,
                               std::optional<absl::Duration> stale_age, absl::Duration max_age);

}  // namespace internal

// LastGoodCache<Key, Value>
// Remembers the last good value per key, and serves it as the fallback
// while it is fresh. Bounded in entries (the least recently written goes
// first) and in age (max_age). Key is hashable (std::hash<Key>, ==) or
// ordered (<); Value is copyable (Get() and the fallback return copies).
//
// Example:
//   auto cache = circuit::LastGoodCache<std::string, Quote>::Create(config).value();
//   // fn returns Quote or absl::StatusOr<Quote>; an OK result is remembered.
//   absl::StatusOr<Quote> q = breaker->Call(cache->Remembering(GetQuote),
//                                           cache->Fallback(), id);
//   // Without the wrapper: cache->Remember(id, quote) after each success.
//
// Cost (not benchmarked here): Remember() runs once per successful
// call, which the breaker alone completes without a lock. It reads the clock
// (CLOCK_MONOTONIC by default: about 20-40 ns, circuit/clock.h), takes the
// std::mutex of one of 16 shards chosen by the key's hash (calls for keys
// in other shards do not wait for it), and increments a write counter every
// Remember() shares: one cache line that threads writing at once pass
// between them. Writing a key the cache does not hold into a full cache
// also evicts: it reads 16 words and takes one more shard's lock, under a
// lock only evictions take. Get() and the fallback take one shard's lock
// and copy the value under it. A Key without std::hash is kept in a
// std::map in a single shard: one lock for every key.
//
// Bounds: at most max_entries entries once every Remember() has returned
// (one more per Remember() still evicting). The least recently written
// entry is evicted first, exactly, when writes do not race; under
// concurrent Remember()s, an entry rewritten while an eviction looks for the
// oldest may be passed over for the next-oldest.
//
// Thread safety: every member may be called concurrently. A Get() that runs
// after a Remember() of the same key has returned (happens-after it) sees
// that value or a later one, unless it has since been evicted or gone
// stale.
template <typename Key, typename Value>
class LastGoodCache {
 public:
  static_assert(std::is_copy_constructible_v<Value>,
                "LastGoodCache returns copies of the values it holds: Value must be copyable");

  // LastGoodCache::Create()
  // Validates `config` (ValidateLastGoodCacheConfig()) and builds an empty
  // cache. Allocates the 16 shards here (about 2 KiB); entries are
  // allocated as keys are written.
  static absl::StatusOr<std::unique_ptr<LastGoodCache>> Create(LastGoodCacheConfig config) {
    absl::Status valid = ValidateLastGoodCacheConfig(config);
    if (!valid.ok()) return valid;
    return std::unique_ptr<LastGoodCache>(new LastGoodCache(config));
  }

  LastGoodCache(const LastGoodCache&) = delete;
  LastGoodCache& operator=(const LastGoodCache&) = delete;

  // LastGoodCache::Remember()
  // Holds `value` as the last good value for `key`, written now: it is
  // served until max_age from now. Rewriting a key makes it the most
  // recently written. Writing a new key into a full cache evicts the least
  // recently written entry. Call it after each successful call (or wrap fn
  // with Remembering()).
  void Remember(const Key& key, Value value) {
    const int64_t now = clock_->NowNanos();
    Shard& shard = ShardFor(key);
    size_t size_after = 0;
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      // relaxed: only orders the writes for eviction. Taken under the
      // shard's lock, so the writes to one shard get increasing numbers in
      // lock order (the lock orders the increments, and increments of one
      // atomic are totally ordered); across shards the counter's single
      // order is the write order eviction compares.
      const uint64_t seq = next_write_seq_.fetch_add(1, std::memory_order_relaxed);
      auto found = shard.entries.find(key);
      if (found != shard.entries.end()) {
        Entry& entry = found->second;
        entry.value = std::move(value);
        entry.written_nanos = now;
        entry.written->seq = seq;
        shard.order.splice(shard.order.end(), shard.order, entry.written);
        PublishOldestLocked(shard);
      } else {
        auto inserted = shard.entries.emplace(key, Entry{std::move(value), now, {}}).first;
        inserted->second.written = shard.order.insert(shard.order.end(), Written{seq, &inserted->first});
        PublishOldestLocked(shard);
        // release: publishes the oldest-write hint just stored to
        // EvictOldest()'s acquire load of size_ (every later change of
        // size_ is an RMW, so it carries this release on): an entry the
        // evictor counts is an entry whose shard it sees non-empty.
        size_after = size_.fetch_add(1, std::memory_order_release) + 1;
      }
    }
    if (size_after > max_entries_) EvictOldest();
  }

  // LastGoodCache::Get()
  // The last good value for `key` if it was written at most max_age ago,
  // else nullopt (none held, evicted, or stale; a stale entry is erased
  // here). Reading does not make an entry more recent.
  std::optional<Value> Get(const Key& key) const { return Find(key).value; }

  // LastGoodCache::Remembering()
  // Wraps `fn` (called as `fn(key)`, through a const reference, and
  // returning Value or absl::StatusOr<Value>): the callable returned calls
  // fn(key), remembers an OK result for `key`, and returns the result
  // unchanged. What fn throws passes through, remembering nothing.
  template <typename Fn>
  auto Remembering(Fn fn) {
    using Result = std::decay_t<std::invoke_result_t<const Fn&, const Key&>>;
    static_assert(std::is_same_v<Result, Value> || std::is_same_v<Result, absl::StatusOr<Value>>,
                  "Remembering(fn): fn(key) must return Value or absl::StatusOr<Value>");
    return [this, fn = std::move(fn)](const Key& key) -> Result {
      Result result = std::invoke(fn, key);
      if constexpr (std::is_same_v<Result, Value>) {
        Remember(key, result);
      } else if (result.ok()) {
        Remember(key, *result);
      }
      return result;
    };
  }

  // LastGoodCache::Fallback()
  // A fallback `(const absl::Status& reason, const Key& key) ->
  // absl::StatusOr<Value>`: the fresh last good value for `key`, else
  // `reason` with its code and payloads (so IsRejection() still holds for a
  // rejection) and its message followed by "; no fresh value was cached for
  // the key (...)", saying whether one was held and how old it was. For
  // fn returning Value or absl::StatusOr<Value>.
  auto Fallback() const {
    return [this](const absl::Status& reason, const Key& key) -> absl::StatusOr<Value> {
      Lookup found = Find(key);
      if (found.value.has_value()) return std::move(*found.value);
      return internal::LastGoodCacheMiss(reason, found.stale_age, config_.max_age);
    };
  }

  // LastGoodCache::size()
  // Entries held, stale ones included until looked up or evicted. One
  // relaxed load: may be outdated as soon as it returns.
  size_t size() const {
    // relaxed: a statistic; nothing is read on the strength of it.
    return size_.load(std::memory_order_relaxed);
  }

  const LastGoodCacheConfig& config() const { return config_; }

 private:
  static constexpr bool kHashed = internal::IsStdHashable<Key>::value;
  // 16 shards: a lock per 1/16 of the keys, so that threads writing
  // different keys rarely wait; 2 KiB a cache. Eviction reads one word per
  // shard, so more shards make a full cache's new keys dearer.
  static constexpr int kShardBits = kHashed ? 4 : 0;
  static constexpr size_t kShards = size_t{1} << kShardBits;
  // oldest_seq of an empty shard: above every write's number.
  static constexpr uint64_t kNoEntry = std::numeric_limits<uint64_t>::max();

  // A write, in its shard's write order: its number from next_write_seq_,
  // and the key (in the entry's map node, which never moves).
  struct Written {
    uint64_t seq;
    const Key* key;
  };
  struct Entry {
    Value value;
    int64_t written_nanos;                          // clock_->NowNanos() when written
    typename std::list<Written>::iterator written;  // its place in Shard::order
  };
  using Map = std::conditional_t<kHashed, std::unordered_map<Key, Entry>, std::map<Key, Entry>>;

  // 128 B apart: x86-64 prefetches cache lines in pairs, so one shard's lock
  // never shares a prefetched pair with another's (the members take about
  // 128 B with a std::unordered_map).
  // Invariant: `order` holds one Written per entry, sorted by seq, the least
  // recently written first (seqs are taken under `mu`, so in lock order).
  // Invariant: oldest_seq == order.front().seq, or kNoEntry when empty,
  // whenever `mu` is free.
  struct alignas(128) Shard {
    std::mutex mu;
    Map entries;               // guarded by mu
    std::list<Written> order;  // guarded by mu
    // Written under mu, read by EvictOldest() without it as a hint, which
    // it checks under mu.
    std::atomic<uint64_t> oldest_seq{kNoEntry};
  };

  struct Lookup {
    std::optional<Value> value;               // fresh: the value
    std::optional<absl::Duration> stale_age;  // stale: how old it was
  };

  explicit LastGoodCache(const LastGoodCacheConfig& config)
      : config_(config),
        clock_(config.clock != nullptr ? config.clock : SystemClock()),
        max_entries_(config.max_entries),
        // Saturates: InfiniteDuration() is INT64_MAX ns, older than any age.
        max_age_nanos_(absl::ToInt64Nanoseconds(config.max_age)) {}

  Shard& ShardFor(const Key& key) const {
    if constexpr (kShards == 1) {
      return shards_[0];
    } else {
      // Fibonacci hashing: libstdc++ hashes an integer to itself, so the
      // hash's low bits alone would put keys 16 apart in one shard; the
      // product's top bits depend on all of them.
      const uint64_t mixed =
          static_cast<uint64_t>(std::hash<Key>{}(key)) * uint64_t{0x9E3779B97F4A7C15};
      return shards_[static_cast<size_t>(mixed >> (64 - kShardBits))];
    }
  }

  Lookup Find(const Key& key) const {
    const int64_t now = clock_->NowNanos();
    Shard& shard = ShardFor(key);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto found = shard.entries.find(key);
    if (found == shard.entries.end()) return Lookup{};
    // Modulo 2^64, exact for a monotonic clock whatever its origin. A write
    // that read the clock after this thread did (it reached the lock first)
    // is younger than zero: fresh.
    const int64_t age = static_cast<int64_t>(static_cast<uint64_t>(now) -
                                             static_cast<uint64_t>(found->second.written_nanos));
    if (age <= max_age_nanos_) return Lookup{found->second.value, std::nullopt};
    Lookup stale{std::nullopt, absl::Nanoseconds(age)};
    EraseLocked(shard, found);
    return stale;
  }

  // Erases `entry` from `shard`, whose lock the caller holds.
  void EraseLocked(Shard& shard, typename Map::iterator entry) const {
    shard.order.erase(entry->second.written);
    shard.entries.erase(entry);
    PublishOldestLocked(shard);
    // release: as in Remember() (the RMW carries the release sequence on).
    size_.fetch_sub(1, std::memory_order_release);
  }

  // Stores `shard`'s oldest write for EvictOldest(); the caller holds its lock.
  static void PublishOldestLocked(Shard& shard) {
    // relaxed: a hint, checked under the lock before anything is evicted;
    // the size_ RMW that follows an insert publishes it (see Remember()).
    shard.oldest_seq.store(shard.order.empty() ? kNoEntry : shard.order.front().seq,
                           std::memory_order_relaxed);
  }

  // EvictOldest()
  // Evicts the least recently written entries until size_ <= max_entries_.
  // Called by a Remember() whose insert took size_ over. Evictions take
  // eviction_mu_ first, then one shard's lock (never the other way round),
  // so two never race for one entry or overshoot the bound.
  void EvictOldest() {
    std::lock_guard<std::mutex> evicting(eviction_mu_);
    // acquire: pairs with the release of each insert's increment, so every
    // entry counted here has its shard's hint visible (below kNoEntry,
    // unless erased since, which lowers size_ again).
    while (size_.load(std::memory_order_acquire) > max_entries_) {
      size_t victim = kShards;
      uint64_t victim_seq = kNoEntry;
      for (size_t i = 0; i < kShards; ++i) {
        // relaxed: a hint, checked under the shard's lock below.
        const uint64_t seq = shards_[i].oldest_seq.load(std::memory_order_relaxed);
        if (seq < victim_seq) {
          victim = i;
          victim_seq = seq;
        }
      }
      if (victim == kShards) continue;  // the entries counted were erased since: look again
      Shard& shard = shards_[victim];
      std::lock_guard<std::mutex> lock(shard.mu);
      // Rewritten or erased since the hint was read: another shard may now
      // hold the oldest write; look again.
      if (shard.order.empty() || shard.order.front().seq != victim_seq) continue;
      EraseLocked(shard, shard.entries.find(*shard.order.front().key));
    }
  }

  const LastGoodCacheConfig config_;
  const Clock* const clock_;
  const size_t max_entries_;
  const int64_t max_age_nanos_;

  // Entries held, over all shards: changed under the shard lock of the
  // entry inserted or erased, always by an RMW.
  mutable std::atomic<size_t> size_{0};
  // The number of the next write (Remember()), for eviction's order.
  std::atomic<uint64_t> next_write_seq_{0};
  // Serializes evictions (EvictOldest()); taken before a shard's lock.
  std::mutex eviction_mu_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace circuit

#endif  // CIRCUIT_LAST_GOOD_CACHE_H_
