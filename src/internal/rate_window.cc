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

constexpr int kSlowShift = 0;
constexpr int kFailureShift = kPendingCountBits;
constexpr int kTagShift = 2 * kPendingCountBits;
constexpr uint64_t kCountMask = (uint64_t{1} << kPendingCountBits) - 1;

// A fold serves every request that arrived while it ran, up to this many
// rounds; past it (a storm of failures on many threads) the leftover events
// stay in pending_ for the next failure's fold, which the storm supplies.
constexpr int kMaxFoldRounds = 16;

uint32_t TagOf(uint64_t pending) { return static_cast<uint32_t>(pending >> kTagShift); }
uint64_t FailuresOf(uint64_t pending) { return (pending >> kFailureShift) & kCountMask; }
uint64_t SlowOf(uint64_t pending) { return (pending >> kSlowShift) & kCountMask; }
uint64_t MakePending(uint32_t tag, uint64_t failures, uint64_t slow) {
  return (uint64_t{tag} << kTagShift) | (failures << kFailureShift) | (slow << kSlowShift);
}

// True if `a` is later than `b` as `bits`-bit serial numbers (RFC 1982).
bool SerialIsNewer(uint32_t a, uint32_t b, int bits) {
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const uint64_t diff = (uint64_t{a} - b) & mask;
  return diff != 0 && diff < (mask + 1) / 2;
}

// True if tag `a` is a later generation than tag `b` (14-bit serial numbers).
bool TagIsNewer(uint32_t a, uint32_t b) { return SerialIsNewer(a, b, kPendingTagBits); }

}  // namespace

RateWindow::RateWindow(const BreakerConfig& config, const StripeSet* stripes)
    : time_based_(config.window_type == WindowType::kTimeBased),
      window_size_(config.window_size),
      buckets_(config.window_buckets),
      minimum_calls_(config.window_type == WindowType::kCountBased
                         ? std::min(config.minimum_calls, config.window_size)
                         : config.minimum_calls),
      failure_threshold_(config.failure_rate_threshold),
      slow_threshold_(config.slow_call_rate_threshold),
      stripes_(stripes),
      capacity_(time_based_ ? buckets_ + 1 : window_size_ + 1) {
  log_ = std::make_unique<Event[]>(static_cast<size_t>(capacity_));
}

RateWindow::Base RateWindow::CurrentBase(int64_t coarse_now) const noexcept {
  Base base;
  if (time_based_) {
    const uint64_t epoch = stripes_->EpochOf(coarse_now);
    base.epoch = static_cast<int64_t>(epoch);
    base.calls = static_cast<int64_t>(stripes_->SumBuckets(epoch, epoch));
  } else {
    base.calls = static_cast<int64_t>(stripes_->Sum(kWindowCalls));
  }
  return base;
}

void RateWindow::Rebase(uint32_t gen, int64_t coarse_now) noexcept {
  const Base base = CurrentBase(coarse_now);
  // base_gen_ is the sequence word of a seqlock over the two values: a
  // writer swaps it to kWriting, writes, then stores the generation.
  // relaxed: the CAS below validates it.
  uint32_t seen = base_gen_.load(std::memory_order_relaxed);
  for (;;) {
    // Another writer is at work (a racing transition), or a later
    // generation's start is already recorded (this thread was preempted
    // between computing and publishing): give up rather than wait or
    // overwrite. A fold that finds no base for its generation starts the
    // window where the fold is (FoldLocked()).
    if (seen == kWriting || SerialIsNewer(seen, gen, kGenBits)) return;
    // relaxed: the release value stores below are ordered after it.
    if (base_gen_.compare_exchange_weak(seen, kWriting, std::memory_order_relaxed,
                                        std::memory_order_relaxed)) {
      break;
    }
    NoteCasFailure();
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

bool RateWindow::Publish(uint32_t tag, bool failure, bool slow) noexcept {
  const uint64_t add_failures = failure ? 1 : 0;
  const uint64_t add_slow = slow ? 1 : 0;
  // relaxed: the CAS below re-reads on failure.
  uint64_t old = pending_.load(std::memory_order_relaxed);
  uint64_t desired;
  do {
    const uint32_t old_tag = TagOf(old);
    const bool empty = FailuresOf(old) == 0 && SlowOf(old) == 0;
    if (old_tag == tag) {
      const uint64_t failures = std::min(FailuresOf(old) + add_failures, kCountMask);
      const uint64_t slow_calls = std::min(SlowOf(old) + add_slow, kCountMask);
      desired = MakePending(tag, failures, slow_calls);
    } else if (empty || TagIsNewer(tag, old_tag)) {
      // An empty word holds nothing to keep, whatever its tag's age (the
      // 14-bit tags are only compared while events wait, i.e. within a few
      // generations); otherwise the older events' window is gone.
      desired = MakePending(tag, add_failures, add_slow);
    } else {
      return false;  // our generation has passed
    }
    // seq_cst: ordered before our fold request in the single total order, so
    // a folder that sees the request sees the event (see Record()).
  } while (!pending_.compare_exchange_weak(old, desired, std::memory_order_seq_cst,
                                           std::memory_order_relaxed) &&
           (NoteCasFailure(), true));
  return true;
}

int RateWindow::Record(uint32_t gen, bool failure, bool slow, int64_t coarse_now) noexcept {
  if (!Publish(gen & kPendingTagMask, failure, slow)) return -1;
  // seq_cst (both the request and folding_): a folder that releases
  // folding_ and then finds no new request must be sure that every
  // requester that failed to take folding_ had its request counted before.
  fold_requests_.fetch_add(1, std::memory_order_seq_cst);
  int verdict = -1;
  for (int round = 0; round < kMaxFoldRounds; ++round) {
    if (folding_.exchange(true, std::memory_order_seq_cst)) return verdict;
    const uint64_t seen = fold_requests_.load(std::memory_order_seq_cst);
    const int tag = FoldLocked(coarse_now);
    if (tag >= 0) verdict = tag;
    folding_.store(false, std::memory_order_seq_cst);
    if (fold_requests_.load(std::memory_order_seq_cst) == seen) break;
  }
  return verdict;
}

void RateWindow::ResetLog(uint32_t gen, bool rebased, const Base& base) noexcept {
  log_open_ = true;
  log_gen_ = gen;
  log_rebased_ = rebased;
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

int RateWindow::FoldLocked(int64_t coarse_now) noexcept {
  // acquire: pairs with the seq_cst publish, so the drained counts are this
  // fold's to place.
  uint64_t pending = pending_.load(std::memory_order_acquire);
  uint32_t tag;
  uint64_t failures;
  uint64_t slow;
  do {
    tag = TagOf(pending);
    failures = FailuresOf(pending);
    slow = SlowOf(pending);
    if (failures == 0 && slow == 0) break;
  } while (!pending_.compare_exchange_weak(pending, MakePending(tag, 0, 0),
                                           std::memory_order_acq_rel,
                                           std::memory_order_acquire) &&
           (NoteCasFailure(), true));
  if (failures == 0 && slow == 0) return -1;
  uint32_t base_gen;
  Base base;
  const bool have_base = ReadBase(&base_gen, &base);
  if (have_base && (base_gen & kPendingTagMask) == tag) {
    // The window recorded by Rebase() for the events' generation.
    if (!log_open_ || !log_rebased_ || log_gen_ != base_gen) ResetLog(base_gen, true, base);
  } else if (have_base && TagIsNewer(base_gen & kPendingTagMask, tag)) {
    return -1;  // a later window has started: the events' window is gone
  } else if (!log_open_ || log_rebased_ || (log_gen_ & kPendingTagMask) != tag) {
    // No record for this generation (a Rebase() gave way to a racing one):
    // the window starts here, with the calls of this fold.
    Base here = CurrentBase(coarse_now);
    here.calls -= static_cast<int64_t>(failures + slow);
    ResetLog(tag, false, here);
  }

  int64_t calls;
  if (!time_based_) {
    const int64_t recorded = static_cast<int64_t>(stripes_->Sum(kWindowCalls));
    Evict(recorded - window_size_);
    Append(recorded, static_cast<uint32_t>(failures), static_cast<uint32_t>(slow));
    calls = std::min(window_size_, recorded - log_base_calls_);
  } else {
    const int64_t epoch = static_cast<int64_t>(stripes_->EpochOf(coarse_now));
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
  return (failure_trip || slow_trip) ? static_cast<int>(tag) : -1;
}

}  // namespace internal
}  // namespace circuit
