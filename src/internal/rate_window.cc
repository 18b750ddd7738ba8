// File: src/internal/rate_window.cc
#include "src/internal/rate_window.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "circuit/internal/cas_stats.h"
#include "circuit/internal/state_word.h"

namespace circuit {
namespace internal {
namespace {

constexpr int kGenShiftInPending = kPendingCountBits;
constexpr uint64_t kCountMask = (uint64_t{1} << kPendingCountBits) - 1;

uint32_t GenOfPending(uint64_t pending) {
  return static_cast<uint32_t>(pending >> kGenShiftInPending);
}
uint64_t CountOf(uint64_t pending) { return pending & kCountMask; }
uint64_t MakePending(uint32_t gen, uint64_t count) {
  return (uint64_t{gen} << kGenShiftInPending) | count;
}

}  // namespace

RateWindow::RateWindow(const BreakerConfig& config, const StripeSet* stripes,
                       const std::atomic<uint64_t>* state)
    : time_based_(config.window_type == WindowType::kTimeBased),
      window_size_(config.window_size),
      buckets_(config.window_buckets),
      minimum_calls_(config.window_type == WindowType::kCountBased
                         ? std::min(config.minimum_calls, config.window_size)
                         : config.minimum_calls),
      failure_threshold_(config.failure_rate_threshold),
      slow_threshold_(config.slow_call_rate_threshold),
      stripes_(stripes),
      state_(state),
      capacity_(time_based_ ? buckets_ + 1 : window_size_ + 1) {
  log_ = std::make_unique<Event[]>(static_cast<size_t>(capacity_));
}

uint32_t RateWindow::CurrentGen() const noexcept {
  // acquire: pairs with the release of the transition's CAS (see
  // Breaker::TryAcquire()).
  return GenOf(state_->load(std::memory_order_acquire));
}

RateWindow::Base RateWindow::CurrentBase(int64_t now) const noexcept {
  Base base;
  if (time_based_) {
    const uint64_t epoch = stripes_->EpochOf(now);
    base.epoch = static_cast<int64_t>(epoch);
    base.calls = static_cast<int64_t>(stripes_->SumBuckets(epoch, epoch));
  } else {
    base.calls = static_cast<int64_t>(stripes_->Sum(kWindowCalls));
  }
  return base;
}

void RateWindow::Rebase(uint32_t from_gen, uint32_t gen, int64_t now) noexcept {
  const Base base = CurrentBase(now);
  // base_gen_ is the sequence word of a seqlock over the two values: a
  // writer swaps it to kWriting, writes, then stores the generation.
  // relaxed: the CAS below validates it.
  uint32_t seen = base_gen_.load(std::memory_order_relaxed);
  for (;;) {
    // Another writer is at work (a racing transition): give up rather than
    // wait. A fold that finds no base for its generation starts the window
    // where the fold is (FoldLocked()).
    if (seen == kWriting) return;
    // acquire: pairs with the release store of the previous writer, so the
    // state word read below is at least as new as the one it read.
    if (base_gen_.compare_exchange_weak(seen, kWriting, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      break;
    }
    NoteCasFailure();
  }
  // Holding the seqlock, check that the transition this base is for can
  // still happen: the state word must still be at `from_gen`. If it has
  // moved, this thread was preempted between reading the word and here, its
  // CAS will fail, and a later generation's start may already be recorded:
  // put the old sequence back, untouched. Once the check passes, no later
  // generation's Rebase() has written (its writer saw the word past
  // `from_gen`, and the acquire above orders our load after its).
  // Generations compared for equality only: age cannot flip the answer.
  // acquire: see CurrentGen().
  if (GenOf(state_->load(std::memory_order_acquire)) != from_gen) {
    // release: readers that saw kWriting retry; the values are unchanged.
    base_gen_.store(seen, std::memory_order_release);
    return;
  }
  // release (rather than a fence, which ThreadSanitizer does not model): a
  // reader whose acquire load sees one of these values also sees kWriting,
  // or later, when it re-reads base_gen_.
  base_calls_.store(base.calls, std::memory_order_release);
  base_epoch_.store(base.epoch, std::memory_order_release);
  // release: a folder that reads this generation with acquire sees the
  // values above.
  base_gen_.store(gen, std::memory_order_release);
}

bool RateWindow::ReadBase(uint32_t* gen, Base* base) const noexcept {
  // acquire: pairs with the release store at the end of Rebase().
  const uint32_t before = base_gen_.load(std::memory_order_acquire);
  if (before == kWriting) return false;
  // acquire: pairs with the release value stores in Rebase(); if a later
  // writer's value is read here, its kWriting is seen below.
  base->calls = base_calls_.load(std::memory_order_acquire);
  base->epoch = base_epoch_.load(std::memory_order_acquire);
  // relaxed: ordered after the acquire loads above.
  if (base_gen_.load(std::memory_order_relaxed) != before) return false;
  *gen = before;
  return true;
}

bool RateWindow::Publish(std::atomic<uint64_t>& word, uint32_t gen) noexcept {
  // relaxed: the CAS below re-reads on failure.
  uint64_t old = word.load(std::memory_order_relaxed);
  uint64_t desired;
  do {
    if (GenOfPending(old) == gen) {
      // 2^36 events between two folds cannot happen; never carry into the
      // generation bits all the same.
      desired = CountOf(old) == kCountMask ? old : old + 1;
    } else if (CountOf(old) == 0 || CurrentGen() == gen) {
      // An empty word holds nothing to keep. A non-empty word of another
      // generation while ours is current: that window is gone.
      desired = MakePending(gen, 1);
    } else {
      return false;  // our generation has passed
    }
    // seq_cst: ordered before our fold request in the single total order, so
    // a folder that sees the request sees the event (see RequestFold()).
  } while (!word.compare_exchange_weak(old, desired, std::memory_order_seq_cst,
                                       std::memory_order_relaxed) &&
           (NoteCasFailure(), true));
  return true;
}

FoldResult RateWindow::Record(uint32_t gen, bool failure, bool slow,
                              int64_t now) noexcept {
  bool published = false;
  if (failure) published |= Publish(pending_failures_, gen);
  if (slow) published |= Publish(pending_slow_, gen);
  if (!published) return FoldResult{};
  return RequestFold(now);
}

FoldResult RateWindow::Fold(int64_t now) noexcept { return RequestFold(now); }

FoldResult RateWindow::RequestFold(int64_t now) noexcept {
  // seq_cst (both the request and folding_): a folder that releases
  // folding_ and then finds no new request must be sure that every
  // requester that failed to take folding_ had its request counted before.
  fold_requests_.fetch_add(1, std::memory_order_seq_cst);
  FoldResult result;
  for (int round = 0; round < kMaxFoldRounds; ++round) {
    if (folding_.exchange(true, std::memory_order_seq_cst)) return result;
    const uint64_t seen = fold_requests_.load(std::memory_order_seq_cst);
    const int64_t trip_gen = FoldLocked(now);
    if (trip_gen >= 0) result.trip_gen = trip_gen;
    folding_.store(false, std::memory_order_seq_cst);
    if (fold_requests_.load(std::memory_order_seq_cst) == seen) return result;
  }
  // Requests arrived during the last round, and their requesters may have
  // returned because this thread held folding_: hand them to the next call.
  result.owed = true;
  return result;
}

void RateWindow::ResetLog(uint32_t gen, const Base& base) noexcept {
  log_open_ = true;
  log_gen_ = gen;
  head_ = 0;
  size_ = 0;
  failures_in_window_ = 0;
  slow_in_window_ = 0;
  log_base_calls_ = base.calls;
  log_base_epoch_ = base.epoch;
}

void RateWindow::Evict(int64_t newest_dropped) noexcept {
  while (size_ > 0) {
    const int64_t tail = (head_ - size_ + capacity_) % capacity_;
    const Event& oldest = log_[static_cast<size_t>(tail)];
    if (oldest.position > newest_dropped) break;
    failures_in_window_ -= oldest.failures;
    slow_in_window_ -= oldest.slow;
    --size_;
  }
}

void RateWindow::Append(int64_t position, uint32_t failures, uint32_t slow) noexcept {
  failures_in_window_ += failures;
  slow_in_window_ += slow;
  if (size_ > 0) {
    Event& newest = log_[static_cast<size_t>((head_ - 1 + capacity_) % capacity_)];
    if (newest.position == position) {  // same position or bucket: merge
      newest.failures += failures;
      newest.slow += slow;
      return;
    }
  }
  if (size_ == capacity_) {  // cannot happen (see capacity_), but never overrun
    Evict(log_[static_cast<size_t>(head_)].position);
  }
  log_[static_cast<size_t>(head_)] = Event{position, failures, slow};
  head_ = (head_ + 1) % capacity_;
  ++size_;
}

uint64_t RateWindow::Drain(std::atomic<uint64_t>& word, uint32_t gen) noexcept {
  // acquire: pairs with the seq_cst publish, so the drained counts are this
  // fold's to place.
  uint64_t old = word.load(std::memory_order_acquire);
  while (CountOf(old) != 0 &&
         !word.compare_exchange_weak(old, MakePending(GenOfPending(old), 0),
                                     std::memory_order_acq_rel, std::memory_order_acquire)) {
    NoteCasFailure();
  }
  // Events of another generation are from a window that is gone.
  return GenOfPending(old) == gen ? CountOf(old) : 0;
}

int64_t RateWindow::FoldLocked(int64_t now) noexcept {
  // Only the current generation's window can trip, and only its events are
  // kept: the drained events of any other generation are dropped.
  const uint32_t gen = CurrentGen();
  const uint64_t failures = Drain(pending_failures_, gen);
  const uint64_t slow = Drain(pending_slow_, gen);
  if (failures == 0 && slow == 0) return -1;
  if (!log_open_ || log_gen_ != gen) {
    uint32_t base_gen;
    Base base;
    if (ReadBase(&base_gen, &base) && base_gen == gen) {
      ResetLog(gen, base);  // the window recorded by Rebase() for gen
    } else {
      // No record for this generation (its Rebase() gave way to a racing
      // one): the window starts here, with this fold's calls.
      Base here = CurrentBase(now);
      here.calls -= static_cast<int64_t>(std::max(failures, slow));
      ResetLog(gen, here);
    }
  }

  int64_t calls;
  if (!time_based_) {
    const int64_t recorded = static_cast<int64_t>(stripes_->Sum(kWindowCalls));
    Evict(recorded - window_size_);
    Append(recorded, static_cast<uint32_t>(failures), static_cast<uint32_t>(slow));
    calls = std::min(window_size_, recorded - log_base_calls_);
  } else {
    const int64_t epoch = static_cast<int64_t>(stripes_->EpochOf(now));
    Evict(epoch - buckets_);
    Append(epoch, static_cast<uint32_t>(failures), static_cast<uint32_t>(slow));
    const int64_t first = std::max(epoch - buckets_ + 1, log_base_epoch_);
    calls = static_cast<int64_t>(stripes_->SumBuckets(static_cast<uint64_t>(first),
                                                      static_cast<uint64_t>(epoch)));
    if (first == log_base_epoch_) calls -= log_base_calls_;
  }
  if (calls < minimum_calls_ || calls <= 0) return -1;
  const double denominator = static_cast<double>(calls);
  const bool failure_trip =
      failure_threshold_ > 0 &&
      static_cast<double>(failures_in_window_) * 100.0 >= failure_threshold_ * denominator;
  const bool slow_trip =
      slow_threshold_ > 0 &&
      static_cast<double>(slow_in_window_) * 100.0 >= slow_threshold_ * denominator;
  return (failure_trip || slow_trip) ? int64_t{gen} : -1;
}

}  // namespace internal
}  // namespace circuit
