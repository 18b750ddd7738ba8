// File: src/internal/rate_window.cc
#include "rate_window.h"

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
                       const std::atomic<uint64_t>* state, std::atomic<uint64_t>* judged)
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
      judged_(judged),
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
    const FoldResult round_result = FoldLocked(now);
    result.gen = round_result.gen;
    if (round_result.trip_gen >= 0) {
      result.trip_gen = round_result.trip_gen;
      result.slow_rate_tripped = round_result.slow_rate_tripped;
      result.rate = round_result.rate;
    }
    result.wants_successes = round_result.wants_successes;  // the latest round's view
    folding_.store(false, std::memory_order_seq_cst);
    if (fold_requests_.load(std::memory_order_seq_cst) == seen) return result;
  }
  // Requests arrived during the last round, and their requesters may have
  // returned because this thread held folding_: hand them to the next call.
  result.owed = true;
  return result;
}

void RateWindow::BeginLogWrite() noexcept {
  // relaxed: the release stores of the log that follow order it before
  // them for any reader that sees one of them.
  log_seq_.store(Get(log_seq_) + 1, std::memory_order_relaxed);
}

void RateWindow::EndLogWrite() noexcept {
  // release: a reader that sees the even sequence sees the whole write.
  log_seq_.store(Get(log_seq_) + 1, std::memory_order_release);
}

void RateWindow::ResetLog(uint32_t gen, const Base& base) noexcept {
  Put(log_open_, true);
  Put(log_gen_, gen);
  Put(head_, int64_t{0});
  Put(size_, int64_t{0});
  failures_in_window_ = 0;
  slow_in_window_ = 0;
  Put(log_base_calls_, base.calls);
  Put(log_base_epoch_, base.epoch);
}

void RateWindow::Evict(int64_t newest_dropped) noexcept {
  int64_t size = Get(size_);
  const int64_t head = Get(head_);
  while (size > 0) {
    const int64_t tail = (head - size + capacity_) % capacity_;
    const Event& oldest = log_[static_cast<size_t>(tail)];
    if (Get(oldest.position) > newest_dropped) break;
    failures_in_window_ -= Get(oldest.failures);
    slow_in_window_ -= Get(oldest.slow);
    --size;
  }
  Put(size_, size);
}

void RateWindow::Append(int64_t position, uint32_t failures, uint32_t slow) noexcept {
  failures_in_window_ += failures;
  slow_in_window_ += slow;
  if (Get(size_) > 0) {
    Event& newest = log_[static_cast<size_t>((Get(head_) - 1 + capacity_) % capacity_)];
    if (Get(newest.position) == position) {  // same position or bucket: merge
      Put(newest.failures, Get(newest.failures) + failures);
      Put(newest.slow, Get(newest.slow) + slow);
      return;
    }
  }
  if (Get(size_) == capacity_) {  // cannot happen (see capacity_), but never overrun
    Evict(Get(log_[static_cast<size_t>(Get(head_))].position));
  }
  Event& slot = log_[static_cast<size_t>(Get(head_))];
  Put(slot.position, position);
  Put(slot.failures, failures);
  Put(slot.slow, slow);
  Put(head_, (Get(head_) + 1) % capacity_);
  Put(size_, Get(size_) + 1);
}

int64_t RateWindow::PositionNow(int64_t now) const noexcept {
  return time_based_ ? static_cast<int64_t>(stripes_->EpochOf(now))
                     : static_cast<int64_t>(stripes_->Sum(kWindowCalls));
}

int64_t RateWindow::CallsAt(const Base& base, int64_t position) const noexcept {
  if (!time_based_) return std::max<int64_t>(0, std::min(window_size_, position - base.calls));
  const int64_t first = std::max(position - buckets_ + 1, base.epoch);
  if (first > position) return 0;
  int64_t calls = static_cast<int64_t>(
      stripes_->SumBuckets(static_cast<uint64_t>(first), static_cast<uint64_t>(position)));
  if (first == base.epoch) calls -= base.calls;
  return std::max<int64_t>(0, calls);
}

RateWindow::View RateWindow::Read(uint32_t gen, int64_t now) const noexcept {
  View view;
  // Positions at or before this have left the window as of now.
  const int64_t position = PositionNow(now);
  const int64_t newest_dropped = position - (time_based_ ? buckets_ : window_size_);
  constexpr int kTries = 8;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    // acquire: pairs with EndLogWrite()'s release.
    const uint64_t before = log_seq_.load(std::memory_order_acquire);
    view = View{};
    Base base;
    bool have_log = false;
    if (before % 2 == 0) {
      // acquire (each): pairs with the folder's release stores, so that a
      // value from a later write comes with that write's odd sequence,
      // seen below.
      have_log = log_open_.load(std::memory_order_acquire) &&
                 log_gen_.load(std::memory_order_acquire) == gen;
      if (have_log) {
        base.calls = log_base_calls_.load(std::memory_order_acquire);
        base.epoch = log_base_epoch_.load(std::memory_order_acquire);
        const int64_t head = head_.load(std::memory_order_acquire);
        const int64_t size = std::min(size_.load(std::memory_order_acquire), capacity_);
        for (int64_t i = 0; i < size; ++i) {
          const Event& e =
              log_[static_cast<size_t>(((head - 1 - i) % capacity_ + capacity_) % capacity_)];
          if (e.position.load(std::memory_order_acquire) <= newest_dropped) break;
          view.failures += e.failures.load(std::memory_order_acquire);
          view.slow += e.slow.load(std::memory_order_acquire);
        }
      }
    }
    // relaxed: ordered after the acquire loads above.
    const bool consistent = before % 2 == 0 && log_seq_.load(std::memory_order_relaxed) == before;
    if (!consistent && attempt + 1 < kTries) continue;
    view.exact = consistent;
    if (!have_log) {
      // No failure or slow call in this generation's window yet: its start
      // is the one Rebase() recorded (or, if it gave way, unknown: count
      // from the stripes' beginning, capped by the window).
      uint32_t base_gen;
      if (!ReadBase(&base_gen, &base) || base_gen != gen) base = Base{};
    }
    view.calls = static_cast<uint64_t>(CallsAt(base, position));
    if (time_based_) {
      view.first_epoch = std::max(position - buckets_ + 1, base.epoch);
      view.last_epoch = position;
    }
    return view;
  }
  return view;
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

FoldResult RateWindow::FoldLocked(int64_t now) noexcept {
  // Only the current generation's window can trip, and only its events are
  // kept: the drained events of any other generation are dropped.
  const uint32_t gen = CurrentGen();
  const uint64_t failures = Drain(pending_failures_, gen);
  const uint64_t slow = Drain(pending_slow_, gen);
  const bool events = failures != 0 || slow != 0;
  if (!Get(log_open_) || Get(log_gen_) != gen) {
    // A window with no failure or slow call yet: nothing to judge, and
    // nothing for successes to come back for (an older window's judgment
    // is withdrawn). relaxed: see FoldLockedWriting().
    if (!events) {
      if (time_based_ && (judged_->load(std::memory_order_relaxed) & 1) != 0) {
        judged_->store(0, std::memory_order_relaxed);
      }
      FoldResult nothing;
      nothing.gen = gen;
      return nothing;
    }
  }
  BeginLogWrite();
  FoldResult result = FoldLockedWriting(gen, failures, slow, now);
  EndLogWrite();
  result.gen = gen;
  return result;
}

FoldResult RateWindow::FoldLockedWriting(uint32_t gen, uint64_t failures, uint64_t slow,
                                         int64_t now) noexcept {
  const bool events = failures != 0 || slow != 0;
  if (!Get(log_open_) || Get(log_gen_) != gen) {
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

  // Where this fold's events stand: the calls recorded (count window) or
  // the epoch (time window); what is at or before the window's far edge
  // leaves it.
  const int64_t position = PositionNow(now);
  Evict(position - (time_based_ ? buckets_ : window_size_));
  if (events) Append(position, static_cast<uint32_t>(failures), static_cast<uint32_t>(slow));
  const int64_t calls =
      CallsAt(Base{Get(log_base_calls_), Get(log_base_epoch_)}, position);
  if (time_based_) {
    // Tell successes in later epochs to come back (see Breaker's
    // window_judged_): only a change is written. relaxed: a hint; what a
    // success then does is a fold, ordered by folding_.
    const bool held = failures_in_window_ != 0 || slow_in_window_ != 0;
    const uint64_t judged = (static_cast<uint64_t>(position) << 1) | (held ? 1 : 0);
    if (judged_->load(std::memory_order_relaxed) != judged) {
      judged_->store(judged, std::memory_order_relaxed);
    }
  }
  FoldResult result;
  if (calls < minimum_calls_ || calls <= 0) {
    // Short of the minimum: the success that reaches it may decide.
    result.wants_successes = failures_in_window_ != 0 || slow_in_window_ != 0;
    return result;
  }
  const double denominator = static_cast<double>(calls);
  const bool failure_trip =
      failure_threshold_ > 0 &&
      static_cast<double>(failures_in_window_) * 100.0 >= failure_threshold_ * denominator;
  const bool slow_trip =
      slow_threshold_ > 0 &&
      static_cast<double>(slow_in_window_) * 100.0 >= slow_threshold_ * denominator;
  if (failure_trip || slow_trip) {
    result.trip_gen = gen;
    result.slow_rate_tripped = !failure_trip;
    result.rate = static_cast<double>(failure_trip ? failures_in_window_ : slow_in_window_) *
                  100.0 / denominator;
  }
  return result;
}

}  // namespace internal
}  // namespace circuit
