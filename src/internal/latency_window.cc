// File: src/internal/latency_window.cc
// The latency-percentile trip's window; see latency_window.h.
#include "latency_window.h"

#include <algorithm>
#include <cstdint>

namespace circuit {
namespace internal {

namespace {
constexpr uint64_t kCallsMask = (uint64_t{1} << 30) - 1;
constexpr int kBinShift = 30;
constexpr int kGenShift = 38;
}  // namespace

LatencyWindow::LatencyWindow(const BreakerConfig& config, const StripeSet* stripes)
    : stripes_(stripes),
      bucket_nanos_(std::max<int64_t>(
          1, absl::ToInt64Nanoseconds(config.window_duration / config.window_buckets))),
      slots_(int64_t{config.window_buckets} + 1),
      minimum_calls_(static_cast<uint64_t>(config.minimum_calls)),
      percentile_(config.latency_percentile),
      // A fraction of a nanosecond rounds up, as the bin does: 1000.5 ns
      // is over 1 us, in force as 1.125 us.
      threshold_bin_(CallDurationBucket(absl::ToInt64Nanoseconds(
          absl::Ceil(config.latency_percentile_threshold, absl::Nanoseconds(1))))),
      ring_keys_(std::make_unique<uint64_t[]>(static_cast<size_t>(slots_))),
      ring_(std::make_unique<uint64_t[]>(static_cast<size_t>(slots_) * kCallDurationBuckets)),
      now_counts_(std::make_unique<uint64_t[]>(kCallDurationBuckets)) {}

bool LatencyWindow::JudgeIfDue(uint32_t gen, int64_t now, Trip* trip) noexcept {
  const uint64_t epoch = static_cast<uint64_t>(now < 0 ? 0 : now) / static_cast<uint64_t>(bucket_nanos_);
  const uint64_t key = Key(gen, epoch);
  // relaxed: a hint; the judgment itself is ordered by judging_.
  if (judged_.load(std::memory_order_relaxed) == key) return false;
  // Tried once, never waited for; a load first so that the callers of a
  // bucket's first instants do not all write the flag's line.
  // acquire: the ring as the last holder left it.
  if (judging_.load(std::memory_order_relaxed) ||
      judging_.exchange(true, std::memory_order_acquire)) {
    return false;
  }
  bool tripped = false;
  // Under the flag, again: a judge of the same key may have just finished.
  if (judged_.load(std::memory_order_relaxed) != key) {
    tripped = JudgeLocked(gen, epoch, key, trip);
    // relaxed: see above.
    judged_.store(key, std::memory_order_relaxed);
  }
  // release: the ring as this holder leaves it, for the next.
  judging_.store(false, std::memory_order_release);
  return tripped;
}

bool LatencyWindow::JudgeLocked(uint32_t gen, uint64_t epoch, uint64_t key,
                                Trip* trip) noexcept {
  uint64_t* const now_counts = now_counts_.get();
  stripes_->SumLatency(now_counts);
  const int64_t slot = static_cast<int64_t>(epoch % static_cast<uint64_t>(slots_));
  if (ring_keys_[static_cast<size_t>(slot)] != key) {
    std::copy(now_counts, now_counts + kCallDurationBuckets, Snapshot(slot));
    ring_keys_[static_cast<size_t>(slot)] = key;
  }
  // The window's start: the oldest snapshot of this generation among the
  // last window_buckets + 1 buckets (this one's is there, just taken).
  const uint64_t span = static_cast<uint64_t>(slots_ - 1);
  const uint64_t first = epoch >= span ? epoch - span : 0;
  const uint64_t* start = Snapshot(slot);
  for (uint64_t e = first; e <= epoch; ++e) {
    const int64_t s = static_cast<int64_t>(e % static_cast<uint64_t>(slots_));
    if (ring_keys_[static_cast<size_t>(s)] == Key(gen, e)) {
      start = Snapshot(s);
      break;
    }
  }
  uint64_t calls = 0;
  for (int i = 0; i < kCallDurationBuckets; ++i) {
    // Cumulative sums only grow; a torn read (a call counted into one sum
    // and not the other) cannot make a bin negative: clamp anyway.
    now_counts[i] = now_counts[i] >= start[i] ? now_counts[i] - start[i] : 0;
    calls += now_counts[i];
  }
  const int bin = CallDurationPercentileBin(now_counts, calls, percentile_);
  // relaxed: a statistic for Snapshot(), one word so it is never torn.
  last_.store((uint64_t{gen} << kGenShift) | (static_cast<uint64_t>(bin + 1) << kBinShift) |
                  std::min(calls, kCallsMask),
              std::memory_order_relaxed);
  if (calls < minimum_calls_ || bin <= threshold_bin_) return false;
  const int last_finite = static_cast<int>(kCallDurationBoundNanos.size()) - 1;
  trip->percentile_seconds =
      static_cast<double>(kCallDurationBoundNanos[static_cast<size_t>(std::min(bin, last_finite))]) /
      1e9;
  return true;
}

LatencyWindow::View LatencyWindow::Last(uint32_t gen) const noexcept {
  // relaxed: see JudgeLocked().
  const uint64_t last = last_.load(std::memory_order_relaxed);
  View view;
  if (last == 0 || static_cast<uint32_t>(last >> kGenShift) != gen) return view;
  view.judged = true;
  view.calls = last & kCallsMask;
  view.bin = static_cast<int>((last >> kBinShift) & 0xFF) - 1;
  return view;
}

}  // namespace internal
}  // namespace circuit
