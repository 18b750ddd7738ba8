// File: src/internal/rate_window.h
// The failure-rate and slow-call-rate window, off the success path.
//
// Successes never come here: they only advance the caller's own stripe
// (a count of window calls, or a time bucket). A failure or a slow call
// publishes itself in `pending_` and then asks for a fold: one thread at a
// time (whoever wins `folding_`) drains `pending_` into an event log, sums
// the stripes to learn how many calls the window holds, and judges the two
// rates. A thread that finds another folding leaves its request behind and
// returns at once; the folder loops until no request is left unserved, so
// no event waits for a later failure and no caller ever waits for another.
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
// pending_:
//  63        50 49                    25 24                     0
// +------------+------------------------+------------------------+
// | gen tag    |  failures (25 b)       |  slow calls (25 b)     |
// | (14 b)     |                        |                        |
// +------------+------------------------+------------------------+
// Invariant: counts belong to the generation whose low 14 bits are the tag;
// an event of a newer generation replaces them (the older window is gone),
// an event of an older generation is dropped.
#ifndef CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_
#define CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "circuit/config.h"
#include "circuit/internal/stripes.h"

namespace circuit {
namespace internal {

inline constexpr int kPendingTagBits = 14;
inline constexpr int kPendingCountBits = 25;
inline constexpr uint32_t kPendingTagMask = (1u << kPendingTagBits) - 1;
static_assert(kPendingTagBits + 2 * kPendingCountBits == 64, "pending fields fill the word");

class RateWindow {
 public:
  // `stripes` must outlive the window.
  RateWindow(const BreakerConfig& config, const StripeSet* stripes);
  RateWindow(const RateWindow&) = delete;
  RateWindow& operator=(const RateWindow&) = delete;

  // RateWindow::Rebase()
  // Marks where the window of generation `gen` starts. Called before the CAS
  // that moves the breaker into CLOSED or METRICS_ONLY at `gen`. Events of
  // any other generation are from a window that is gone and are dropped.
  void Rebase(uint32_t gen, int64_t coarse_now) noexcept;

  // RateWindow::Record()
  // Publishes one event of generation `gen` (a call already counted in the
  // caller's stripe) and folds. Returns the low 14 bits of a generation whose
  // window crossed a threshold during the fold, or -1. Never blocks.
  int Record(uint32_t gen, bool failure, bool slow, int64_t coarse_now) noexcept;

 private:
  struct Event {
    int64_t position;
    uint32_t failures;
    uint32_t slow;
  };

  bool Publish(uint32_t tag, bool failure, bool slow) noexcept;
  int FoldLocked(int64_t coarse_now) noexcept;  // requires folding_
  // Where a window starts: the window calls recorded before it (count
  // window), or its first epoch and the calls already in it (time window).
  struct Base {
    int64_t calls = 0;
    int64_t epoch = 0;
  };
  static constexpr uint32_t kWriting = ~uint32_t{0};  // base_gen_ mid-write

  Base CurrentBase(int64_t coarse_now) const noexcept;
  // A consistent snapshot of the last Rebase(), or false if one is being
  // written.
  bool ReadBase(uint32_t* gen, Base* base) const noexcept;
  void ResetLog(uint32_t gen, bool rebased, const Base& base) noexcept;
  void Evict(int64_t oldest_kept) noexcept;
  void Append(int64_t position, uint32_t failures, uint32_t slow) noexcept;

  const bool time_based_;
  const int64_t window_size_;
  const int64_t buckets_;
  const int64_t minimum_calls_;
  const double failure_threshold_;
  const double slow_threshold_;
  const StripeSet* const stripes_;

  // Written by failing and slow callers (shared, off the success path).
  alignas(128) std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> fold_requests_{0};
  std::atomic<bool> folding_{false};

  // Where the window of generation base_gen_ starts (see Rebase()), under
  // a seqlock whose sequence word is base_gen_ itself (kWriting while a
  // Rebase() writes). Generation 0 is never rebased: its window starts at
  // zero.
  alignas(128) std::atomic<uint32_t> base_gen_{0};
  std::atomic<int64_t> base_calls_{0};
  std::atomic<int64_t> base_epoch_{0};

  // Owned by the folder (the thread holding folding_), which passes them on
  // with folding_'s acquire/release.
  alignas(128) bool log_open_ = false;  // false until the first fold
  uint32_t log_gen_ = 0;                // the generation the log is for
  bool log_rebased_ = false;            // its start came from Rebase()
  int64_t log_base_calls_ = 0;
  int64_t log_base_epoch_ = 0;
  std::unique_ptr<Event[]> log_;
  int64_t capacity_;
  int64_t head_ = 0;  // next slot to write
  int64_t size_ = 0;
  uint64_t failures_in_window_ = 0;
  uint64_t slow_in_window_ = 0;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_SRC_INTERNAL_RATE_WINDOW_H_
