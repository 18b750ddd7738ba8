// Checks a concurrent History of one circuit::Breaker against a sequential
// model of its state machine (include/circuit/breaker.h, docs/design.md).
//
// The checker only concludes what the history soundly shows (see history.h
// for what an Event's tickets and observations mean):
//
//   * an Observation with a state, a rejected permit (its generation and
//     rejected_state() come from one load of the state word) and Metrics()
//     each pin the state of one generation;
//   * an admitted permit's generation was current when it was admitted, in a
//     state that admits that kind of permit;
//   * if a.after < b.before, a happens-before b: every generation b reads is
//     at least every generation a read, and a's effects precede b's;
//   * a resolution whose pre-observation already shows a later generation
//     was certainly stale; one whose post-observation still shows the
//     permit's generation certainly was not; anything else may be either;
//   * an operator control produced exactly one generation in the window
//     (pre.generation, post.generation];
//   * the coordinator's calls are made by one thread, so its changes of
//     sharing are ordered: an event that began after one ended and ended
//     before the next began read that sharing; one that overlaps a change
//     may have read either side of it. A transition its Follow(), Reopen()
//     or SetSharing() can make may be the coordinator's if it lies in that
//     call's window (pre.generation, post.generation];
//   * a transition record (the harness's listener, on the thread that made
//     the transition) names the event that made it and its cause.
//
// Everything else (which of two overlapping operations went first, the
// generations nobody observed) is left open: a check fails only when NO
// sequential execution of the state machine is consistent with the history.
#ifndef CIRCUIT_TESTS_HISTORY_CHECKER_H_
#define CIRCUIT_TESTS_HISTORY_CHECKER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tests/history/history.h"

namespace circuit {
namespace history {

// The names of the checks, as they appear in Violation::check.
inline constexpr absl::string_view kMalformed = "malformed-history";
inline constexpr absl::string_view kOneStatePerGeneration = "one-state-per-generation";
inline constexpr absl::string_view kLegalTransition = "legal-transition";
inline constexpr absl::string_view kTransitionCause = "transition-cause";
inline constexpr absl::string_view kTrialInHalfOpen = "trial-only-in-half-open";
inline constexpr absl::string_view kAdmittedState = "admitted-only-when-closed";
inline constexpr absl::string_view kRejectedState = "rejected-only-when-open";
inline constexpr absl::string_view kHalfOpenHasTrial = "half-open-starts-with-a-trial";
inline constexpr absl::string_view kTrialsInFlight = "trials-in-flight";
inline constexpr absl::string_view kTrialsPerGeneration = "trials-per-generation";
inline constexpr absl::string_view kTrialOutcomes = "trial-outcomes-per-generation";
inline constexpr absl::string_view kMonotonic = "monotonic-generation-and-clock";
inline constexpr absl::string_view kOperatorLanded = "operator-control-landed";
inline constexpr absl::string_view kStaleCount = "stale-count";
inline constexpr absl::string_view kSlowCount = "slow-count";
inline constexpr absl::string_view kCounters = "counters";
inline constexpr absl::string_view kLiveness = "liveness-after-quiescence";
inline constexpr absl::string_view kStuckOpen = "open-past-its-deadline";
inline constexpr absl::string_view kHalfOpenPastDeadline = "half-open-past-its-deadline";
// The shared hold (internal::SharedControl, design.md section 13).
inline constexpr absl::string_view kOwnTransitionWhileShared = "no-own-transition-while-shared";
inline constexpr absl::string_view kTrialsWithinLentSlots = "trials-within-lent-slots";
inline constexpr absl::string_view kTransitionRecord = "transition-record";
inline constexpr absl::string_view kHoldResult = "shared-hold-result";
// Per-probe deadlines (half_open_probe_timeout): a reap that only a trial
// not yet past its deadline could have been (a slot reclaimed, a reopen, a
// transition made by an event that counted no trial outcome); a transition
// made by the late outcome of a trial that was certainly reaped.
inline constexpr absl::string_view kProbeReapedEarly = "probe-reaped-before-its-deadline";
inline constexpr absl::string_view kLateReapedOutcome = "late-outcome-of-a-reaped-trial";
// Slow start (slow_start_duration, /tmp/spec/slow_start.md): a call shed
// (rejected as CLOSED) in a generation that no trials' verdict closed; a
// call admitted at the ramp's first instant (admitted fraction certainly
// 0); a call shed once the ramp was certainly over; a shed call's
// retry_after() that is not the ramp's end minus the clock it asked at; a
// transition made by a shed call; an admitted share over the ramp's draws
// outside what the fractions allow (a bound that cannot flake, see
// checker.cc).
inline constexpr absl::string_view kShedOutsideRamp = "shed-only-in-a-ramp";
inline constexpr absl::string_view kRampFirstInstant = "nothing-admitted-at-the-ramps-start";
inline constexpr absl::string_view kShedAfterRamp = "all-admitted-once-the-ramp-is-over";
inline constexpr absl::string_view kShedRetry = "shed-retry-is-the-ramps-end";
inline constexpr absl::string_view kShedChangedState = "shed-changes-nothing";
inline constexpr absl::string_view kRampShare = "ramp-admitted-share";
// consecutive_failures_to_open: N failures of a CLOSED generation counted
// with no success among them, and the generation still current after.
inline constexpr absl::string_view kMissedTrip = "consecutive-failures-trip";
// The latency-percentile trip (latency_percentile): a LATENCY_PERCENTILE
// transition that is not CLOSED -> OPEN made by the outcome of a normal
// permit of that CLOSED generation, whose threshold is not the configured
// one rounded up to its bin, whose value is not a bin above it, or that
// the calls which may have been counted into its window (fewer than
// minimum_calls, too few in the value's bin or above, none that can lie
// in that bin) cannot explain; a second judgment of one (generation,
// bucket); a window that had to trip and did not.
inline constexpr absl::string_view kLatencyTrip = "latency-trip-cause";
inline constexpr absl::string_view kLatencyOncePerBucket = "latency-judged-once-per-bucket";
inline constexpr absl::string_view kMissedLatencyTrip = "latency-trip-when-due";
// The system clock (History::system_clock; design.md section 7, "OPEN: a
// coarse reading per judged rejection"). An OPEN generation the breaker
// entered by its own trip ends at its deadline on CLOCK_MONOTONIC_COARSE,
// judged there on one of each thread's rejections in
// kRejectionsPerClockRead (every one on a thread past the own stripes):
// a trial of the HALF_OPEN after it admitted in an event that ended before
// the deadline can have come (OPEN ended early); more than
// kRejectionsPerClockRead - 1 of one thread's calls (more than 0 on a
// thread without a stripe of its own) rejected as that OPEN after its
// deadline had certainly come and been stored, and before anything ended
// it (OPEN ended too late).
inline constexpr absl::string_view kOpenEndsEarly = "open-never-ends-early";
inline constexpr absl::string_view kOpenEndsLate = "open-ends-late-by-at-most-15-calls-a-thread";

struct Violation {
  std::string check;
  std::string detail;
};

struct CheckerOptions {
  // config.h: "Never more than [half_open_trial_calls] trials are admitted
  // per HALF_OPEN period." The breaker gives a released, ignored or dropped
  // trial's slot back (design.md: in flight + successes + failures <= T), so
  // the default check is "admitted minus handed back <= T". Set this to
  // read config.h literally and also count the trials handed back.
  bool strict_trial_admission = false;
  // Slow start: from 5cbcac8 to e84520e gate.cc's branch for a ramp whose
  // end is not stored (yet) rejected the call without counting it in
  // Metrics().shed (README.md, "Bug found"; f8dc182 counts it); the
  // default check bounds
  // `shed` between the calls shed certainly after the store and all calls
  // shed. Set this to read breaker.h ("Calls rejected while CLOSED by slow
  // start's ramp") literally: `shed` equals every call rejected as CLOSED.
  bool strict_shed_count = false;
  // The system clock: a thread with a stripe of its own judges one of its
  // rejections in this many while OPEN (design.md section 7;
  // internal::kRejectionsPerClockRead, which history_test checks against
  // this, so that a library built with another value fails here).
  uint32_t rejections_per_clock_read = 16;
  // Details kept per check (every violation is counted).
  size_t max_details_per_check = 10;
};

// The checks of the system clock, counted over one history or summed over
// several (CheckStats::system_clock). OPEN generations the breaker entered
// by its own trip whose trials were timed against the earliest deadline
// they can have (open-never-ends-early), and the smallest margin by which
// such a trial's event ended past it (ns on the coarse clock; -1: none);
// OPEN generations whose late rejections were counted (the record's ticket
// and reading known, and the event that ended it, if any); the
// (generation, thread) pairs where that thread was rejected as OPEN at
// least once past the deadline (and of them, those of threads with a
// stripe of their own), the rejections so counted, and the most of one
// thread in one generation (open-ends-late-by-at-most-15-calls-a-thread);
// by count, the pairs of own-stripe threads with that many. And the
// rejections as OPEN, past the deadline or not, of threads past the own
// stripes in those generations (after the record, before their end):
// each judged, so none may come past the deadline.
struct SystemClockStats {
  uint64_t open_ends_timed = 0;
  uint64_t open_end_trials_timed = 0;
  int64_t open_end_min_margin = -1;
  uint64_t open_periods_paced = 0;
  uint64_t late_rejection_periods = 0;
  uint64_t late_own_stripe_periods = 0;
  uint64_t late_rejections = 0;
  uint64_t late_rejections_max = 0;
  std::map<uint64_t, uint64_t> late_rejections_by_count;
  uint64_t unowned_open_rejections = 0;

  // True if any OPEN period was timed or paced.
  bool any() const { return open_ends_timed > 0 || open_periods_paced > 0; }
  // Adds another history's: counts summed, the most and the smallest
  // margin kept.
  void Add(const SystemClockStats& other);
};

struct CheckStats {
  uint64_t events = 0;
  uint64_t acquires = 0;
  uint64_t admitted = 0;
  uint64_t rejected = 0;
  uint64_t trials = 0;
  uint64_t resolutions = 0;
  uint64_t operator_controls = 0;
  uint64_t generations = 0;                          // highest generation + 1
  uint64_t observed_generations = 0;                 // generations whose state is known
  uint64_t transitions = 0;                          // (g, g+1) pairs with both states known
  uint64_t operator_transitions = 0;                 // ... that an operator control may have made
  std::map<std::string, uint64_t> transition_kinds;  // "CLOSED->OPEN" -> count
  uint64_t causes_checked = 0;                       // automatic transitions whose cause was found
  int max_trials_in_flight = 0;
  // HALF_OPEN generations that admitted more than half_open_trial_calls
  // trials in all, because some were handed back.
  uint64_t generations_over_trial_calls = 0;
  uint64_t stale_certain = 0;
  uint64_t stale_uncertain = 0;
  uint64_t slow_certain = 0;
  uint64_t slow_uncertain = 0;
  uint64_t deadline_checks = 0;         // OPEN rejections tested against a published deadline
  uint64_t open_durations_checked = 0;  // OPEN -> HALF_OPEN timed against open_duration
  // ... of which the OPEN was entered from HALF_OPEN with only the
  // half_open_max_duration deadline to date its start.
  uint64_t open_durations_from_half_open_deadline = 0;
  // HALF_OPEN -> OPEN that no trial outcome explains: the half_open_max_duration
  // deadline made them; and those of them at whose moment a trial slot was
  // certainly free (fewer than half_open_max_concurrent trials and fewer
  // than half_open_trial_calls taking part).
  uint64_t timeout_reopens = 0;
  uint64_t timeout_reopens_with_free_slots = 0;
  // Events tested against a published, passed HALF_OPEN deadline.
  uint64_t half_open_deadline_checks = 0;
  // CLOSED -> OPEN at whose moment no failure and no possibly slow call was
  // in flight: a success (or an admission serving an owed fold) decided it;
  // and those with no admission in flight either: a success decided it.
  uint64_t trips_without_failure_in_flight = 0;
  uint64_t trips_by_a_success = 0;
  // HALF_OPEN -> CLOSED after a trial that certainly failed (or was slow,
  // when slow counts) was counted: only S < K allows it.
  uint64_t closes_after_a_failed_trial = 0;

  // The shared hold: the coordinator's calls (Claim, SetSharing, Follow,
  // Reopen, Lend); the transition records by cause; the breaker's own
  // transitions made in an event certainly not shared, and in one that
  // overlapped a change of sharing; HALF_OPEN -> OPEN made by SetSharing()
  // leaving kShared; trials admitted certainly under kShared, checked
  // against the slots lent, and those of them that can only have taken the
  // last slot lent; calls rejected by HALF_OPEN certainly under kShared;
  // OPEN -> HALF_OPEN timed against the period the coordinator gave.
  uint64_t coordinator_actions = 0;
  std::map<std::string, uint64_t> record_causes;
  uint64_t own_transitions_unshared = 0;
  uint64_t own_transitions_racing = 0;
  uint64_t leave_reopens = 0;
  uint64_t shared_trials_checked = 0;
  uint64_t shared_trials_on_last_slot = 0;
  uint64_t shared_half_open_rejections = 0;
  uint64_t shared_open_periods_timed = 0;
  // OPEN periods timed from the FailureRetryAfter() that asked for them.
  uint64_t retry_after_periods_timed = 0;

  // Per-probe deadlines (half_open_probe_timeout). Trials that may have
  // been reaped (past their deadline before their own resolution), and the
  // reaps the history certainly shows (a lower bound on
  // Metrics().probe_timeouts); trial admissions that only a reap can
  // explain (more trials certainly held than half_open_max_concurrent);
  // HALF_OPEN -> OPEN (or a by-rate verdict) that only a reaped trial
  // counted as failed explains; transitions whose record names an event
  // that counted no trial outcome of that generation (made by a reap);
  // outcomes of trials certainly reaped (stale), and those of trials that
  // may have been.
  uint64_t trials_maybe_reaped = 0;
  uint64_t reaps_certain = 0;
  uint64_t slots_reclaimed_by_reaps = 0;
  uint64_t reap_verdicts = 0;
  uint64_t recorded_reap_transitions = 0;
  uint64_t late_outcomes_certainly_reaped = 0;
  uint64_t late_outcomes_maybe_reaped = 0;

  // Slow start (slow_start_duration). Calls rejected as CLOSED (shed), and
  // those of them that certainly found the ramp's end stored (their
  // generation closed by a trials' verdict whose event had returned, and
  // still current after them); the ramps timed (CLOSED generations a
  // trials' verdict certainly made, the closer's clock bounded); acquires
  // certainly at the ramp's first instant (fraction 0), and certainly past
  // its end; shed calls whose retry was matched to the ramp's end; the
  // random draws of ramps (acquires with a fraction certainly stored and
  // possibly strictly between 0 and 1), those admitted, and the sums of
  // their fractions' lower and upper bounds; ramps seen to end (a call
  // past the end); CLOSED -> OPEN certainly before the ramp's end;
  // outcomes of calls admitted during a ramp, resolved in the same
  // generation after its gate was certainly cleared (fresh: not stale).
  // (shed_before_store, below: those whose retry shows they read no end.)
  uint64_t shed_seen = 0;
  uint64_t shed_after_store = 0;
  uint64_t ramps = 0;
  uint64_t ramp_first_instant_checks = 0;
  uint64_t ramp_over_checks = 0;
  uint64_t shed_retries_checked = 0;
  // Shed calls whose retry shows they read no stored end (now + ramp, not
  // the stored end): shed before the closer stored it.
  uint64_t shed_before_store = 0;
  uint64_t ramp_draws = 0;
  uint64_t ramp_draws_admitted = 0;
  double ramp_draws_fraction_lo = 0;
  double ramp_draws_fraction_hi = 0;
  uint64_t ramps_ended = 0;
  uint64_t ramp_trips = 0;
  uint64_t ramp_outcomes_after_gate = 0;
  // consecutive_failures_to_open: runs of N failures (no success among
  // them) after which the generation had to be over.
  uint64_t consecutive_runs_checked = 0;
  // The latency-percentile trip. LATENCY_PERCENTILE transitions recorded,
  // and those whose window the history explains (latency-trip-cause); of
  // them, those for which an earlier judgment of the same (generation,
  // bucket) was certain and none of another key can have come between
  // (latency-judged-once-per-bucket); CLOSED generations with a judgment
  // that had to trip (latency-trip-when-due), and the smallest window
  // (calls certainly counted) such a judgment was shown to hold.
  uint64_t latency_trips = 0;
  uint64_t latency_trips_checked = 0;
  uint64_t latency_once_checks = 0;
  uint64_t latency_due_checks = 0;
  uint64_t latency_due_min_window = 0;
  // The system clock (SystemClockStats).
  SystemClockStats system_clock;
  // The most a listener's CLOCK_MONOTONIC reading was ahead of its
  // CLOCK_MONOTONIC_COARSE one, read just before (TransitionRecord::mono,
  // coarse): how far the coarse clock lags (a figure; the checks read the
  // coarse clock, and need no bound on it).
  int64_t coarse_lag_max = 0;
};

struct CheckResult {
  std::vector<Violation> violations;  // at most max_details_per_check per check
  std::map<std::string, uint64_t> violation_counts;
  CheckStats stats;

  bool ok() const { return violation_counts.empty(); }
  uint64_t violation_count() const;
  bool Has(absl::string_view check) const { return violation_counts.count(std::string(check)); }
  // One paragraph: the stats, then every violation kept.
  std::string Summary() const;
};

CheckResult CheckHistory(const History& history, const CheckerOptions& options = {});

}  // namespace history
}  // namespace circuit

#endif  // CIRCUIT_TESTS_HISTORY_CHECKER_H_
