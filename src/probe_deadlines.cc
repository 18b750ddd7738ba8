// File: src/probe_deadlines.cc
// Per-probe deadlines in HALF_OPEN (BreakerConfig::half_open_probe_timeout):
// each trial holds a probe slot stamped with its deadline, and a trial that
// outlives it is reaped by whoever next looks (a call that finds no trial
// slot free, state(), Snapshot()), so a probe that never comes back cannot
// keep the breaker in HALF_OPEN. The slot entry's layout and the invariants
// that make a claim always succeed are drawn in circuit/breaker.h.
#include <cstdint>

#include "circuit/breaker.h"
#include "circuit/internal/cas_stats.h"

namespace circuit {

using internal::GenOf;
using internal::InFlightOf;
using internal::StateOf;

namespace {

// An entry's generation, compared with the state word's (27 bits).
uint32_t EntryGen(uint64_t entry) { return static_cast<uint32_t>(entry >> 37); }

}  // namespace

void Breaker::ClaimProbeSlot(Permit& permit) noexcept {
  const uint32_t gen = permit.generation_;
  // Rounded up to a millisecond: a trial is never reaped before its
  // timeout. At least 1, so that an entry is never 0 (free).
  const int64_t deadline_nanos = ElapsedNanos(CoarseNowNanos()) + probe_timeout_nanos_;
  uint64_t deadline_ms =
      static_cast<uint64_t>((deadline_nanos + 999'999) / 1'000'000) & kProbeDeadlineMask;
  if (deadline_ms == 0) deadline_ms = 1;  // once every 4.3 years: 1 ms late
  const uint64_t entry = (uint64_t{gen} << kProbeDeadlineBits) | deadline_ms;
  const int slots = config_.half_open_max_concurrent;
  for (int i = 0; i < slots; ++i) {
    std::atomic<uint64_t>& slot = probe_slots_[i];
    // acquire: pairs with the claim (or free) that wrote it, so the state
    // word loaded next is at least as new as that entry's generation.
    uint64_t seen = slot.load(std::memory_order_acquire);
    while (seen == 0 || EntryGen(seen) != gen) {
      if (seen != 0) {
        // Another generation's trial left it (it never resolved). Taken
        // only if that generation is over: neither ours nor the current
        // one (which is at least the entry's, by the acquire above), so a
        // trial admitted late in an old generation cannot take the slot
        // of a newer one's trial.
        const uint32_t current = GenOf(state_.load(std::memory_order_acquire));
        if (EntryGen(seen) == current) break;
        if (current != gen) return;  // our generation is over: no deadline
      }
      // acq_rel: acquire as above; release publishes the entry to the
      // reaper and to the trial of another generation that may take it.
      if (slot.compare_exchange_weak(seen, entry, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        permit.probe_slot_ = static_cast<uint8_t>(i + 1);
        permit.probe_entry_ = entry;
        return;
      }
      internal::NoteCasFailure();
    }
  }
  // Unreachable while the invariant holds (the current generation's
  // entries never outnumber its other trials in flight). Were it broken,
  // the trial would run without a deadline rather than be refused.
}

bool Breaker::FreeProbeSlot(const Permit& permit) noexcept {
  uint64_t expected = permit.probe_entry_;
  // release: orders the free before the CAS that hands the in-flight
  // count back (see the invariant); acquire on failure is not needed: the
  // trial is then simply over.
  return probe_slots_[permit.probe_slot_ - 1].compare_exchange_strong(
      expected, 0, std::memory_order_release, std::memory_order_relaxed);
}

uint64_t Breaker::ReapExpiredProbes(uint64_t word) noexcept {
  if (StateOf(word) != State::kHalfOpen || InFlightOf(word) == 0) return word;
  const uint32_t gen = GenOf(word);
  const uint64_t now_ms =
      static_cast<uint64_t>(ElapsedNanos(CoarseNowNanos()) / 1'000'000) & kProbeDeadlineMask;
  const int slots = config_.half_open_max_concurrent;
  bool reaped = false;
  for (int i = 0; i < slots; ++i) {
    std::atomic<uint64_t>& slot = probe_slots_[i];
    // acquire: pairs with the claim that wrote the entry.
    uint64_t entry = slot.load(std::memory_order_acquire);
    if (entry == 0 || EntryGen(entry) != gen) continue;
    // Past the deadline, modulo 2^37 ms: now - deadline is "non-negative"
    // when under half the range (a timeout is at most 365 days).
    const uint64_t since = (now_ms - (entry & kProbeDeadlineMask)) & kProbeDeadlineMask;
    if (since >= (kProbeDeadlineMask >> 1)) continue;  // not yet due
    // Whoever wins this CAS reaps the trial: the trial itself (resolving,
    // it frees the same entry) or one reaper, never two.
    // acq_rel: acquire as above; release orders the free before the
    // in-flight count's CAS below, as the trial's own free is.
    if (!slot.compare_exchange_strong(entry, 0, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      continue;
    }
    reaped = true;
    // relaxed: a statistic.
    probe_timeouts_.fetch_add(1, std::memory_order_relaxed);
    if (config_.half_open_probe_timeout_outcome == ProbeTimeoutOutcome::kFailure) {
      OnTrialOutcome(gen, Outcome::kFailure, /*slow=*/false);
    } else {
      ReturnTrialSlot(gen);
    }
  }
  // acquire: see TryAcquire().
  return reaped ? state_.load(std::memory_order_acquire) : word;
}

uint64_t Breaker::ApplyHalfOpenLimits(uint64_t word) const noexcept {
  Breaker* const self = const_cast<Breaker*>(this);  // see ApplyHalfOpenDeadline()
  if (half_open_limited_) word = ApplyHalfOpenDeadline(word);
  if (probe_slots_) word = self->ReapExpiredProbes(word);
  return word;
}

}  // namespace circuit
