// File: src/internal/latency_window.h
// The latency-percentile trip's window (BreakerConfig::latency_percentile),
// judged once a bucket, never per call.
//
// Durations are counted by the callers into the stripes' latency histogram
// (StripeSet::AddLatency(): one add on the caller's own stripe or its CPU's
// block), cumulative and never reset. The window is the difference of two
// sums: whoever first judges a (generation, bucket) sums the stripes and
// keeps that sum in a ring of window_buckets + 1 snapshots; the window
// judged at bucket E is the calls counted between the snapshot of bucket
// E - window_buckets (or, if the generation started later, its first
// snapshot) and now, i.e. the window_buckets buckets just completed, plus
// the calls of E already counted (a few, as the judge runs at E's first
// outcome, before that outcome counts itself).
//
// Generations: only calls admitted in the CLOSED (or METRICS_ONLY)
// generation current at their outcome are counted (Breaker::RecordLatency()),
// and a generation's window starts at its own first snapshot, so no call of
// an earlier state is judged in a later one. A snapshot is keyed by
// (generation, bucket); the generation is compared for equality only.
//
// Judging takes judging_, a flag tried once and never waited for: a caller
// that finds it taken returns (the holder is judging; if it judges an
// older key, the next outcome judges this one). The ring and the scratch
// sum are the holder's alone, passed on by judging_'s acquire/release.
// judged_ (the key last judged) is read by every outcome with a relaxed
// load and written once a bucket: a read-mostly line.
//
// last_, what the last judgment found, for Snapshot():
//  63                 38 37        30 29                                0
// +---------------------+------------+-----------------------------------+
// | generation (26 b)   | bin + 1    |  calls in the window (30 b,       |
// |                     | (0: none)  |  saturating at 2^30 - 1)          |
// +---------------------+------------+-----------------------------------+
#ifndef CIRCUIT_SRC_INTERNAL_LATENCY_WINDOW_H_
#define CIRCUIT_SRC_INTERNAL_LATENCY_WINDOW_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "circuit/call_durations.h"
#include "circuit/config.h"
#include "circuit/internal/stripes.h"

namespace circuit {
namespace internal {

class LatencyWindow {
 public:
  // `stripes` (built with `latency`) must outlive the window.
  LatencyWindow(const BreakerConfig& config, const StripeSet* stripes);
  LatencyWindow(const LatencyWindow&) = delete;
  LatencyWindow& operator=(const LatencyWindow&) = delete;

  // What a judgment found over the threshold.
  struct Trip {
    double percentile_seconds = 0;  // the percentile's bin bound (100 s past it)
  };

  // LatencyWindow::JudgeIfDue()
  // Judges the window of generation `gen` at `now` (ElapsedNanos()) if no
  // one has judged its (generation, bucket) yet and no judge is running.
  // Returns true, with `*trip`, when the window holds at least
  // minimum_calls calls and its percentile is above the threshold. Call it
  // before counting the caller's own call. Never blocks, never allocates.
  bool JudgeIfDue(uint32_t gen, int64_t now, Trip* trip) noexcept;

  // What the last judgment found, if it judged `gen`.
  struct View {
    bool judged = false;   // a judgment of `gen` exists
    uint64_t calls = 0;    // calls in its window (saturating at 2^30 - 1)
    int bin = -1;          // the percentile's bin; -1: no call
  };
  View Last(uint32_t gen) const noexcept;

  // The threshold's bin and its bound (the threshold rounded up).
  int threshold_bin() const { return threshold_bin_; }
  absl::Duration effective_threshold() const { return CallDurationBound(threshold_bin_); }

 private:
  static constexpr int kEpochBits = 38;
  static uint64_t Key(uint32_t gen, uint64_t epoch) {
    return (uint64_t{gen} << kEpochBits) | ((epoch + 1) & ((uint64_t{1} << kEpochBits) - 1));
  }
  uint64_t* Snapshot(int64_t slot) const {
    return ring_.get() + static_cast<size_t>(slot) * kCallDurationBuckets;
  }
  // Requires judging_. `key`: Key(gen, epoch).
  bool JudgeLocked(uint32_t gen, uint64_t epoch, uint64_t key, Trip* trip) noexcept;

  const StripeSet* const stripes_;
  const int64_t bucket_nanos_;
  const int64_t slots_;  // window_buckets + 1
  const uint64_t minimum_calls_;
  const double percentile_;
  const int threshold_bin_;

  alignas(128) std::atomic<uint64_t> judged_{0};  // Key() of the last judgment; 0: none
  std::atomic<uint64_t> last_{0};                  // see the header
  std::atomic<bool> judging_{false};

  // The holder's: the ring's keys and snapshots, and the scratch sum.
  alignas(128) std::unique_ptr<uint64_t[]> ring_keys_;
  std::unique_ptr<uint64_t[]> ring_;
  std::unique_ptr<uint64_t[]> now_counts_;
};

}  // namespace internal
}  // namespace circuit

#endif  // CIRCUIT_SRC_INTERNAL_LATENCY_WINDOW_H_
