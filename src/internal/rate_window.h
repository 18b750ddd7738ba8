// File: src/internal/rate_window.h
// The failure-rate and slow-call-rate window, off the success path.
//
// Successes never come here: they only advance the caller's own stripe
// (a count of window calls, or a time bucket). A failure or a slow call
// publishes itself in a pending word and then asks for a fold: one thread at
// a time (whoever wins `folding_`) drains the pending words into an event
// log, sums the stripes to learn how many calls the window holds, and judges
// the two rates. A thread that finds another folding leaves its request
// behind and returns at once; the folder loops until no request is left
// unserved, so no caller ever waits for another. A folder serves at most
// kMaxFoldRounds rounds: if requests are still arriving then (a storm of
// failures on many threads), it stops and says so (FoldResult::owed), and the
// breaker sets the state word's window bit, so that the next call of any kind
// (an admission or a success) serves the rest with Fold(). Every event is
// folded by the first fold that starts after it is published, and no folder
// works for ever.
//
// Times (`now`) are coarse-clock nanoseconds since the breaker's creation
// (Breaker::ElapsedNanos()), never negative whatever the clock's origin.
//
// The event log holds (position, failures, slow calls):
//   count window: position = calls recorded when the event was folded (the
//                 sum of the stripes' window-call counters); an event stays
//                 while position > calls_now - window_size.
//   time window:  position = the coarse-clock bucket (epoch) of the fold; an
//                 event stays while its epoch is one of the last
//                 window_buckets.
// With calls completing one at a time each fold holds exactly one event at
// exactly its call's position, so the window is exact; concurrency blurs
// positions by the calls in flight (see circuit/breaker.h).
//
// pending_failures_ and pending_slow_, one word each:
//  63                       38 37                                        0
// +---------------------------+-------------------------------------------+
// |   generation (26 bits)    |            events (38 bits)               |
// +---------------------------+-------------------------------------------+
// Invariant: the events belong to the full generation in the top bits.
// Generations are only compared for equality with the state word's current
// one: an event of the current generation replaces a non-empty word of any
// other (whose window is gone), an event of any other generation is dropped,
// and a fold keeps only the events of the current generation. So no number
// of transitions can make an old event pass for a new one (up to the state
// word's own 2^26 wrap).
#ifndef CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_
#define CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "circuit/config.h"
#include "circuit/internal/state_word.h"
#include "circuit/internal/stripes.h"

namespace circuit {
namespace internal {

inline constexpr int kPendingCountBits = 38;
static_assert(kPendingCountBits + kGenBits == 64, "pending fields fill the word");

// What a fold found. `trip_gen`: the generation (always the current one)
// whose window crossed a threshold, or -1. `owed`: the folder stopped after
// kMaxFoldRounds with requests unserved; the caller must make sure a later
// call runs Fold() (the state word's owed bit). `wants_successes`: the
// window holds failures or slow calls but fewer than minimum_calls calls,
// so a success may decide it; the caller must send successes to Fold()
// (the state word's want bit) until a fold says otherwise.
struct FoldResult {
  int64_t gen = -1;  // the generation the (last) fold judged
  int64_t trip_gen = -1;
  bool owed = false;
  bool wants_successes = false;
  // When tripping: which rate, and its value (percent).
  bool slow_rate_tripped = false;
  double rate = 0;
};

class RateWindow {
 public:
  // `stripes`, `state` (the breaker's state word, read to learn the
  // current generation) and `judged` (where a time window publishes its
  // last judgment: (epoch << 1) | holds failures or slow calls) must
  // outlive the window.
  RateWindow(const BreakerConfig& config, const StripeSet* stripes,
             const std::atomic<uint64_t>* state, std::atomic<uint64_t>* judged);
  RateWindow(const RateWindow&) = delete;
  RateWindow& operator=(const RateWindow&) = delete;

  // RateWindow::Rebase()
  // Marks where the window of generation `gen` starts. Called before the CAS
  // that moves the breaker from generation `from_gen` into CLOSED or
  // METRICS_ONLY at `gen`; does nothing once the state word has left
  // `from_gen` (that CAS is bound to fail, and a later generation's start
  // may already be recorded). Events of any other generation are from a
  // window that is gone and are dropped.
  void Rebase(uint32_t from_gen, uint32_t gen, int64_t now) noexcept;

  // RateWindow::Record()
  // Publishes one event of generation `gen` (a call already counted in the
  // caller's stripe) and folds. Never blocks.
  FoldResult Record(uint32_t gen, bool failure, bool slow, int64_t now) noexcept;

  // RateWindow::Fold()
  // Asks for a fold without an event: serves what an earlier folder left
  // owed, and judges the window as it is now (a success that was counted
  // in the caller's stripe may have brought it to minimum_calls). Never
  // blocks.
  FoldResult Fold(int64_t now) noexcept;

  // A folder serves at most this many rounds (see above). 16: a round sums
  // the stripes, so a folder's caller pays at most 16 sums for the others.
  static constexpr int kMaxFoldRounds = 16;

  // RateWindow::Read()
  // The window of generation `gen` as of `now`: calls (from the stripes),
  // and the failures and slow calls of the event log still inside it (what
  // has aged out by `now` is dropped here, not only by the next fold).
  // Takes no lock: the log is read under a seqlock that only the folder
  // writes (a few retries while a fold runs; `exact` is false if every
  // retry met one, and the counts are then those of a torn read, bounded
  // but approximate). The events of outcomes not yet folded (a fold in
  // progress) are not seen. Allocates nothing.
  struct View {
    uint64_t calls = 0;
    uint64_t failures = 0;
    uint64_t slow = 0;
    bool exact = true;
    // A time window: the epochs it spans as of `now`, [first_epoch,
    // last_epoch] (first_epoch > last_epoch: none yet); the window's own
    // start bounds them. -1, -2 for a count window.
    int64_t first_epoch = -1;
    int64_t last_epoch = -2;
  };
  View Read(uint32_t gen, int64_t now) const noexcept;

 private:
  // One entry of the event log. Atomics only so that Read() may load them
  // under the seqlock (log_seq_); the folder is their only writer.
  struct Event {
    std::atomic<int64_t> position{0};
    std::atomic<uint32_t> failures{0};
    std::atomic<uint32_t> slow{0};
  };

  // Adds one event of generation `gen` to `word`; false if `gen` has passed.
  bool Publish(std::atomic<uint64_t>& word, uint32_t gen) noexcept;
  // Drains `word`; the events it held if they are of generation `gen`.
  uint64_t Drain(std::atomic<uint64_t>& word, uint32_t gen) noexcept;
  uint32_t CurrentGen() const noexcept;
  FoldResult RequestFold(int64_t now) noexcept;
  FoldResult FoldLocked(int64_t now) noexcept;  // requires folding_
  // The part of a fold that writes the log, inside Begin/EndLogWrite().
  FoldResult FoldLockedWriting(uint32_t gen, uint64_t failures, uint64_t slow,
                               int64_t now) noexcept;
  // Where a window starts: the window calls recorded before it (count
  // window), or its first epoch and the calls already in it (time window).
  struct Base {
    int64_t calls = 0;
    int64_t epoch = 0;
  };
  static constexpr uint32_t kWriting = ~uint32_t{0};  // base_gen_ mid-write

  Base CurrentBase(int64_t now) const noexcept;
  // Where the window stands as of `now`: the calls recorded (count window:
  // the stripes' window-call sum) or the epoch (time window). An event's
  // position is this at its fold.
  int64_t PositionNow(int64_t now) const noexcept;
  // The calls of a window that starts at `base`, as of `position`.
  int64_t CallsAt(const Base& base, int64_t position) const noexcept;
  // A consistent snapshot of the last Rebase(), or false if one is being
  // written.
  bool ReadBase(uint32_t* gen, Base* base) const noexcept;
  void ResetLog(uint32_t gen, const Base& base) noexcept;
  void Evict(int64_t oldest_kept) noexcept;
  void Append(int64_t position, uint32_t failures, uint32_t slow) noexcept;

  const bool time_based_;
  const int64_t window_size_;
  const int64_t buckets_;
  const int64_t minimum_calls_;
  const double failure_threshold_;
  const double slow_threshold_;
  const StripeSet* const stripes_;
  const std::atomic<uint64_t>* const state_;
  std::atomic<uint64_t>* const judged_;

  // Written by failing and slow callers (shared, off the success path).
  alignas(128) std::atomic<uint64_t> pending_failures_{0};
  std::atomic<uint64_t> pending_slow_{0};
  std::atomic<uint64_t> fold_requests_{0};
  std::atomic<bool> folding_{false};

  // Where the window of generation base_gen_ starts (see Rebase()), under
  // a seqlock whose sequence word is base_gen_ itself (kWriting while a
  // Rebase() writes). Generation 0 is never rebased: its window starts at
  // zero.
  alignas(128) std::atomic<uint32_t> base_gen_{0};
  std::atomic<int64_t> base_calls_{0};
  std::atomic<int64_t> base_epoch_{0};

  // The event log. Written only by the folder (the thread holding
  // folding_, which passes it on with folding_'s acquire/release), inside a
  // seqlock for Read(): log_seq_ is odd while a fold modifies the log. The
  // folder's own loads are relaxed (it is the only writer); its stores are
  // release and Read()'s loads acquire, so that a reader that sees a new
  // value also sees the odd sequence before it (no fences: ThreadSanitizer
  // does not model them). The totals are the folder's alone.
  // Helpers: the folder's relaxed load and release store.
  template <typename T>
  static T Get(const std::atomic<T>& a) noexcept {
    return a.load(std::memory_order_relaxed);
  }
  template <typename T>
  static void Put(std::atomic<T>& a, T value) noexcept {
    a.store(value, std::memory_order_release);
  }
  void BeginLogWrite() noexcept;
  void EndLogWrite() noexcept;

  alignas(128) std::atomic<uint64_t> log_seq_{0};
  std::atomic<bool> log_open_{false};  // false until the first fold
  std::atomic<uint32_t> log_gen_{0};   // the generation the log is for
  std::atomic<int64_t> log_base_calls_{0};
  std::atomic<int64_t> log_base_epoch_{0};
  std::atomic<int64_t> head_{0};  // next slot to write
  std::atomic<int64_t> size_{0};
  std::unique_ptr<Event[]> log_;
  const int64_t capacity_;
  uint64_t failures_in_window_ = 0;
  uint64_t slow_in_window_ = 0;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_
