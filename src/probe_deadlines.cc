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

constexpr int kStampTagBits = 27;
constexpr uint64_t kStampTagMask = (uint64_t{1} << kStampTagBits) - 1;

}  // namespace

void Breaker::ClaimProbeSlot(Permit& permit) noexcept {
  const uint32_t gen = permit.generation_;
  // relaxed: a stamp only has to differ from every other; the RMW's
  // atomicity gives that. 1..2^37-1: an entry is never 0 (free).
  const uint64_t stamp =
      probe_claims_.fetch_add(1, std::memory_order_relaxed) % kProbeFieldMask + 1;
  const uint64_t entry = (uint64_t{gen} << kProbeFieldBits) | stamp;
  // Rounded up to a millisecond: a trial is never reaped before its
  // timeout.
  const int64_t deadline_nanos = ElapsedNanos(CoarseNowNanos()) + probe_timeout_nanos_;
  const uint64_t deadline_ms =
      static_cast<uint64_t>((deadline_nanos + 999'999) / 1'000'000) & kProbeFieldMask;
  const uint64_t deadline = ((stamp & kStampTagMask) << kProbeFieldBits) | deadline_ms;
  const int slots = config_.half_open_max_concurrent;
  for (int i = 0; i < slots; ++i) {
    std::atomic<uint64_t>& slot = probe_slots_[i];
    // acquire: pairs with the claim (or free) that wrote it, so the state
    // word loaded next is at least as new as that entry's generation.
    uint64_t seen = slot.load(std::memory_order_acquire);
    while (seen == 0 || ProbeEntryGen(seen) != gen) {
      if (seen != 0) {
        // Another generation's trial left it (it never resolved). Taken
        // only if that generation is over: neither ours nor the current
        // one (which is at least the entry's, by the acquire above), so a
        // trial admitted late in an old generation cannot take the slot
        // of a newer one's trial.
        const uint32_t current = GenOf(state_.load(std::memory_order_acquire));
        if (ProbeEntryGen(seen) == current) break;
        if (current != gen) return;  // our generation is over: no deadline
      }
      // acq_rel: acquire as above; release publishes the entry to the
      // reaper and to the trial of another generation that may take it.
      if (slot.compare_exchange_weak(seen, entry, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        // release: a reaper that reads this deadline under our stamp has
        // seen our entry first (acquire on both).
        probe_deadlines_[i].store(deadline, std::memory_order_release);
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
  if (permit.probe_slot_ == 0) return true;
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
  // How far ahead of now a deadline that is not yet due can be: the
  // timeout, rounded up, plus the rounding of now down.
  const uint64_t horizon_ms = static_cast<uint64_t>((probe_timeout_nanos_ + 999'999) / 1'000'000) + 1;
  const int slots = config_.half_open_max_concurrent;
  for (int i = 0; i < slots; ++i) {
    std::atomic<uint64_t>& slot = probe_slots_[i];
    // acquire: pairs with the claim that wrote the entry, so the deadline
    // word loaded next is at least as new as that claim's.
    uint64_t entry = slot.load(std::memory_order_acquire);
    if (entry == 0 || ProbeEntryGen(entry) != gen) continue;
    // acquire: pairs with the claim's release store of it.
    const uint64_t deadline = probe_deadlines_[i].load(std::memory_order_acquire);
    // Another claim's deadline: this one has not stored its own yet (it
    // was claimed just now), so it is not due.
    if ((deadline >> kProbeFieldBits) != (entry & kStampTagMask)) continue;
    // The clock is read here, after the entry and its deadline: the claim
    // read it before publishing them (the acquires above order that read
    // before this one), so now is at least the claim's now and a deadline
    // not yet due is at most horizon_ms ahead. A reading taken before the
    // loop could predate a claim made since (a reaper preempted between
    // the two), and the compare below, modulo 2^37, would take that
    // claim's deadline, more than horizon_ms ahead of the stale reading,
    // for one long past: it reaped a live trial before its deadline (the
    // history checker's probe-timeout configs, about once in 1,000
    // histories).
    const uint64_t now_ms =
        static_cast<uint64_t>(ElapsedNanos(CoarseNowNanos()) / 1'000'000) & kProbeFieldMask;
    const uint64_t ahead = ((deadline & kProbeFieldMask) - now_ms) & kProbeFieldMask;
    if (ahead != 0 && ahead <= horizon_ms) continue;  // not yet due
    // Whoever wins this CAS reaps the trial: the trial itself (resolving,
    // it frees the same entry) or one reaper, never two.
    // acq_rel: acquire as above; release orders the free before the
    // in-flight count's CAS below, as the trial's own free is.
    if (!slot.compare_exchange_strong(entry, 0, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      continue;
    }
    // relaxed: a statistic.
    probe_timeouts_.fetch_add(1, std::memory_order_relaxed);
    if (config_.half_open_probe_timeout_outcome == ProbeTimeoutOutcome::kFailure) {
      OnTrialOutcome(gen, Outcome::kFailure, /*slow=*/false);
    } else {
      ReturnTrialSlot(gen);
    }
    // A failed trial may have ended the generation: its other trials are
    // then stale, not due (they will never be reaped, only replaced).
    // acquire: see TryAcquire().
    word = state_.load(std::memory_order_acquire);
    if (GenOf(word) != gen || StateOf(word) != State::kHalfOpen) return word;
  }
  // acquire: see TryAcquire().
  return state_.load(std::memory_order_acquire);
}

uint64_t Breaker::ApplyHalfOpenLimits(uint64_t word) const noexcept {
  Breaker* const self = const_cast<Breaker*>(this);  // see ApplyHalfOpenDeadline()
  if (half_open_limited_) word = ApplyHalfOpenDeadline(word);
  if (probe_slots_) word = self->ReapExpiredProbes(word);
  return word;
}

}  // namespace circuit
