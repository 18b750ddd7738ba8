// File: fuzz/breaker_model.h
// A sequential reference model of circuit::Breaker, written from the
// documentation (include/circuit/*.h and docs/design.md), for the
// differential fuzzer in fuzz/breaker_fuzzer.cc.
//
// The model is single-threaded plain C++: no atomics, no packed words, no
// stripes, no event log. It keeps what the docs describe directly:
//
//   - the state (CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED,
//     METRICS_ONLY) and a 26-bit generation that moves by one on every
//     transition and only then;
//   - the run of consecutive failures of the current generation;
//   - the rate window of the current generation, literally: the last N calls
//     (count window) or the calls of the last window_buckets epochs
//     (epoch = now / (window_duration / window_buckets)), each with its
//     failure and slow flags;
//   - the open deadline (open_duration * multiplier^k, capped at
//     max_open_duration, rounded up to a microsecond), k counting reopens
//     from HALF_OPEN since the last trip from CLOSED or close;
//   - the half-open trials (in flight, successes, failures, slow), judged
//     S of K (half_open_successes_to_close) or by rate, and the
//     half_open_max_duration deadline, set when HALF_OPEN is entered;
//   - slow start (slow_start_duration): the gate that the trials' closing
//     verdict sets, the ramp's end, and the admissions it sheds;
//   - the lifetime counters of BreakerMetrics;
//   - the distributed mode's hold (circuit/internal/shared_control.h): the
//     sharing, and the HALF_OPEN trial slots lent to a generation.
//
// Time comes from the caller (the fuzzer passes the FakeClock's reading), so
// the model and the breaker see the same instants. The model does not model
// open_jitter exactly: with jitter, the open deadline is a range, and the
// caller resolves the ambiguity with what the breaker did (see
// AcquireHint). Everything else is exact: with calls made one at a time the
// breaker documents itself as exact (circuit/breaker.h, "Exactness under
// concurrency").
//
// Readings of the docs that needed the code (noted in fuzz/README.md):
//   - Rates are judged on every outcome of a CLOSED (or METRICS_ONLY)
//     permit of the current generation, a success included (config.h,
//     circuit/internal/state_word.h), never on the mere passing of time.
//     (The breaker skips successes that cannot change the verdict: see
//     fuzz/README.md, bug 6, for the one case it first got wrong.)
//   - An OK status is a success whatever status_is_failure says (Classify()
//     does not ask the classifier about OK; FailOnCodes() says the same).
//   - A released or ignored trial hands its slot back, so more than
//     half_open_trial_calls trials can be admitted in one HALF_OPEN period
//     when some are released (config.h says "never more than this many
//     trials are admitted"; permit.h and design.md say the slot goes back).
//   - half_open_max_duration counts from the start of HALF_OPEN (the
//     deadline is set by the transition, design.md section 3), not from each
//     trial's admission. Past it the breaker is OPEN again, with the new
//     open period (a reopen: backoff) starting at the deadline; but the
//     transition is made by whatever looks first (config.h): TryAcquire(),
//     a trial's outcome, release or ignore, state() and generation(), not
//     Metrics(), which reads the word as it is. The model applies it at
//     exactly those points (ApplyHalfOpenDeadline(); ObserveState() and
//     ObserveGeneration() for state() and generation()), so Metrics() can
//     be compared before them.
//   - slow_call_clock: the fake clock's coarse reading is its precise one,
//     so kAuto, kPrecise and kCoarse judge alike; kCaller judges only the
//     durations passed to Success(took), Failure(took), Record(s, took).
//     A negative `took` counts as 0 (permit.h); otherwise the model compares
//     `took` with slow_call_duration exactly. The breaker rounds a
//     fractional `took` up to a nanosecond (internal::MeasuredNanos()), so a
//     1.5 ns call is slow at 2 ns (fuzz/README.md): the fuzzer passes whole
//     nanoseconds only.
//   - The half-open and bucket durations are taken in whole nanoseconds,
//     truncated, as the breaker keeps them (absl::ToInt64Nanoseconds()); an
//     open period is open_duration * multiplier^k in double nanoseconds,
//     then truncated (OpenDurationNanos()). The slow-call test is not: "a
//     call that takes at least slow_call_duration is slow" compares the
//     call's duration with the configured one exactly (fuzz/README.md,
//     bug 5).
//   - Permit::FailureRetryAfter(wait), wait > 0: a failure counted as any
//     (window, run, metrics) that opens for exactly min(wait,
//     max_open_duration), no backoff or jitter, cause RETRY_AFTER with the
//     seconds as its value: a current CLOSED permit opens (the window's and
//     the run's own trips give way to it), a current trial reopens whatever
//     S of K or the rates say; stale permits, METRICS_ONLY and the shared
//     state open nothing. A wait of zero or less is a plain Failure().
//   - Under Sharing::kShared the breaker records but leaves its decisions
//     to the shared state (circuit/sharing.h): CLOSED never trips (the
//     window and the run still record), an OPEN past its deadline rejects
//     with a retry delay of 0, HALF_OPEN admits a trial only within the
//     slots lent to its generation (as well as the usual bounds), trials
//     are counted but give no verdict, and half_open_max_duration does not
//     apply. Leaving kShared reopens a HALF_OPEN at once (cause SHARED, an
//     open period of 0), and a CLOSED one judges its window and its run at
//     once (the trips the shared state held back; fuzz/README.md, bug 9);
//     then the breaker decides alone again.
//   - The shared state's transitions (SharedControl::Follow(), Reopen(),
//     leaving kShared in HALF_OPEN) open for exactly the period given, with
//     no backoff or jitter, but update the reopen count as any transition
//     into OPEN does: +1 from HALF_OPEN, else back to 0 (a Reopen() from
//     OPEN too). Snapshot() in OPEN then shows the trials if it left
//     HALF_OPEN, else an empty window: the shared window opened it, not
//     this one. A HALF_OPEN entered by Follow() has no
//     half_open_max_duration deadline. Follow() and SetSharing() do not
//     apply a due HALF_OPEN deadline first (they are not among "whatever
//     looks").
//   - Slow start (slow_start_duration > 0; the spec slow_start.md,
//     config.h, src/gate.cc): only a trial verdict's HALF_OPEN -> CLOSED
//     (S of K, by rate, a reaped kFailure's) sets the gate; Reset(),
//     Follow(CLOSED) and every other transition leave the new generation
//     ungated (NewGeneration() clears it). The ramp ends at close time +
//     slow_start_duration, rounded up to a microsecond from the breaker's
//     creation (the deadline word's). A CLOSED admission with the gate set
//     at `now`: at or past the end it clears the gate (same generation) and
//     is admitted; before it, the fraction admitted is f = 1 - (end - now)
//     / ramp (clamped at 0), and the breaker draws at random: f == 0 must
//     reject, 0 < f < 1 may go either way, and the model follows the
//     breaker (AcquireHint, as for jitter). A shed call counts in
//     `rejected` and `shed` only, rejected_state CLOSED, retry_after the
//     time left in the ramp as of when it is asked. Outcomes ignore the
//     gate: a trip during the ramp opens as usual, and a call admitted
//     during the ramp that resolves after it is not stale. Snapshot() in
//     CLOSED with the gate set and now < end shows f (slow_start_admitted)
//     and end - now (slow_start_remaining).
//   - Adaptive throttling (adaptive_throttling, adaptive_throttling_k = K;
//     the spec throttle.md, config.h, src/throttle.cc, src/gate.cc): the
//     breaker keeps its time window even with no rate threshold. The
//     formula p = max(0, (requests - K * accepts) / (requests + 1)) over the
//     window as of `now`: requests = the window's calls + the throttle's
//     rejections (not the calls slow start's ramp shed) counted by bucket
//     over [max(epoch(now) - buckets + 1, the
//     epoch this generation's window started in), epoch(now)]: by bucket,
//     not by generation, so the bucket the window starts in may hold the
//     rejections of the CLOSED generation before it (the model keeps them
//     that way, in throttled_); accepts = calls - failures. Snapshot() in
//     CLOSED shows p, requests and accepts exactly. The p admissions use is
//     the one judged last, tagged with the generation it was judged for:
//     judged after every fold of the window (each failure or slow call; a
//     success that finds the state word's `want` bit, which the success
//     clears before its fold, or whose bucket differs from the one of the
//     last fold that held a failure or slow call (window_judged_, which is
//     not per generation: a fold of a generation with no failure yet
//     clears it); leaving kShared in CLOSED), and by the first gated
//     admission of each bucket (one claim for all generations). The model
//     keeps those words literally (want_, log_for_gen_, judged_epoch_,
//     judged_held_, throttle_gen_, throttle_scaled_, throttle_claim_). A
//     judged p > 0 (as the breaker keeps it, x 2^32 truncated) sets the gate
//     in that generation's CLOSED word; a gated admission that finds no
//     ramp running and p == 0 clears it and is admitted; otherwise it
//     draws twice, the ramp's share r (while ramping) and then 1 - p (while
//     p > 0), which the model cannot draw: a share of 0 (the ramp's f == 0)
//     must reject, else the model follows the breaker, told which draw
//     rejected (AcquireHint::kThrottled when the breaker's
//     Metrics().throttled moved). A rejection: CLOSED, retry the ramp's
//     end (ramping) or the next bucket's start, `rejected` and `shed`; the
//     throttle's also `throttled` and one more request in the current
//     bucket.
//   - The latency-percentile trip (latency_percentile,
//     latency_percentile_threshold; config.h, call_durations.h,
//     src/internal/latency_window.h): the durations of the current CLOSED
//     or METRICS_ONLY generation's normal permits (no trial, no DISABLED
//     call, no stale one) with an outcome and a measured duration (the
//     caller's, else the clock's from admission; none with kCaller and no
//     duration given), each in its log-linear bin (ModelDurationBin()).
//     The window is judged once per (generation, bucket), by the bucket's
//     first such outcome and before that outcome counts itself: over the
//     generation's calls of the last window_buckets buckets (the ring of
//     window_buckets + 1 cumulative snapshots comes to exactly that with
//     one thread and a clock that only moves forward: a generation's first
//     snapshot is taken by its first counted call, before it counts). The
//     nearest rank, ceil(p / 100 x n) with p read as the decimal it was
//     written as (99.9 is 999/10); a CLOSED breaker not under kShared opens
//     (LATENCY_PERCENTILE, the bins' bounds in seconds, 100 s for the +Inf
//     bin) when n >= minimum_calls and the rank's bin is above the
//     threshold's (the first bin whose bound is >= the threshold). The
//     outcome that trips is then stale: it counts in no window or run.
//     Snapshot() in CLOSED and METRICS_ONLY shows the last judgment of the
//     generation (its bin's bound, absent with no call, and its calls),
//     and the threshold's bound in every state.
#ifndef CIRCUIT_FUZZ_BREAKER_MODEL_H_
#define CIRCUIT_FUZZ_BREAKER_MODEL_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "circuit/classify.h"
#include "circuit/config.h"
#include "circuit/sharing.h"
#include "circuit/snapshot.h"
#include "circuit/state.h"

namespace circuit_fuzz {

using circuit::Outcome;
using circuit::Sharing;
using circuit::State;
using circuit::TripCause;

inline constexpr uint32_t kModelGenMask = (uint32_t{1} << 26) - 1;

// The same fields as circuit::BreakerMetrics.
struct ModelMetrics {
  State state = State::kClosed;
  uint32_t generation = 0;
  uint64_t permitted = 0;
  uint64_t rejected = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t ignored = 0;
  uint64_t released = 0;
  uint64_t slow = 0;
  uint64_t stale = 0;
  uint64_t opened = 0;
  uint64_t probe_timeouts = 0;  // trials reaped past half_open_probe_timeout
  uint64_t shed = 0;  // calls the CLOSED gate rejected (ramp or throttle; also in rejected)
  uint64_t throttled = 0;  // of those, the throttle's
  // Transitions by [from][to], as BreakerMetrics::transitions.
  std::array<std::array<uint64_t, circuit::kNumStates>, circuit::kNumStates> transitions{};
};

// What the model knows of one permit.
struct ModelPermit {
  enum class Kind : uint8_t { kNone, kNormal, kTrial, kUntracked, kRejected };
  Kind kind = Kind::kNone;
  bool admitted = false;    // admitted and not yet resolved
  uint32_t generation = 0;  // issued in (or rejected by)
  int64_t start_nanos = 0;  // admitted: when the call started; rejected: when
  State rejected_state = State::kClosed;
  int64_t retry_nanos = 0;  // rejected: nanoseconds until a trial; -1: until reset
  // With open_jitter, a rejection while OPEN knows the retry delay only
  // within [retry_min, retry_max].
  int64_t retry_min = 0;
  int64_t retry_max = 0;
  // A trial under half_open_probe_timeout: the probe slot it claimed (-1:
  // none) and its entry's deadline (ms since the breaker's creation).
  int probe_slot = -1;
  int64_t probe_deadline_ms = 0;
  uint64_t probe_stamp = 0;  // the claim's stamp: freed only while the slot holds it

  bool rejected() const { return kind == Kind::kRejected; }
  bool is_trial() const { return kind == Kind::kTrial; }
  bool empty() const { return kind == Kind::kNone; }
};

// What the model predicts of Breaker::Snapshot() (circuit/snapshot.h).
// The open deadline, and with it open_remaining (and, with jitter, the
// OPEN period), is a range [lo, hi] when the model knows it only as one.
struct ModelSnapshot {
  State state = State::kClosed;
  uint32_t generation = 0;
  uint64_t calls = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t slow_calls = 0;
  std::optional<double> failure_rate;
  std::optional<double> slow_call_rate;
  uint64_t consecutive_failures = 0;
  uint32_t trials_in_flight = 0;
  uint32_t trial_successes = 0;
  uint32_t trial_failures = 0;
  bool open_remaining_infinite = false;  // FORCED_OPEN
  int64_t open_remaining_lo = 0;
  int64_t open_remaining_hi = 0;
  int64_t open_period_lo = 0;
  int64_t open_period_hi = 0;
  TripCause trip_cause = TripCause::kNone;
  double trip_value = 0;
  double trip_threshold = 0;
  uint32_t trip_generation = 0;
  Sharing sharing = Sharing::kLocal;
  // CLOSED during slow start's ramp: the fraction admitted now and the
  // time left (absent and 0 otherwise).
  std::optional<double> slow_start_admitted;
  int64_t slow_start_remaining = 0;
  // CLOSED with adaptive_throttling: the formula's probability as of now
  // and its counts (absent and 0 otherwise).
  std::optional<double> throttle_probability;
  uint64_t throttle_requests = 0;
  uint64_t throttle_accepts = 0;
  // CLOSED or METRICS_ONLY with latency_percentile: the generation's last
  // judgment (its percentile's bin bound, absent with no call; its calls);
  // the threshold in force (its bin's bound) in every state, 0 when off.
  std::optional<absl::Duration> latency_percentile;
  uint64_t latency_percentile_calls = 0;
  absl::Duration latency_percentile_threshold = absl::ZeroDuration();
};

// ---- The call-duration bins (circuit/call_durations.h) ----------------------------

// The finite bounds in nanoseconds, as the header describes them: 1 us,
// then for each decade D = 1 us, 10 us, ... 10 s: 12 bins of D/8 up to
// 2.5 D, 10 of D/4 up to 5 D, 8 of 5D/8 up to 10 D (to 100 s). A duration
// is in the first bin whose bound is >= it, or in the last (+Inf) past
// 100 s: 242 bins.
inline const std::vector<int64_t>& ModelDurationBounds() {
  static const std::vector<int64_t> bounds = [] {
    std::vector<int64_t> b{1'000};
    for (int64_t d = 1'000; d <= int64_t{10'000'000'000}; d *= 10) {
      for (int k = 1; k <= 12; ++k) b.push_back(d + k * (d / 8));
      for (int k = 1; k <= 10; ++k) b.push_back(d * 5 / 2 + k * (d / 4));
      for (int k = 1; k <= 8; ++k) b.push_back(5 * d + k * (5 * d / 8));
    }
    return b;
  }();
  return bounds;
}
inline constexpr int kModelDurationBins = 242;

// The bin of a duration (nanoseconds, >= 0): a linear scan.
inline int ModelDurationBin(int64_t nanos) {
  const std::vector<int64_t>& bounds = ModelDurationBounds();
  int i = 0;
  while (i < static_cast<int>(bounds.size()) && bounds[static_cast<size_t>(i)] < nanos) ++i;
  return i;
}

// The threshold's bin: the first whose bound is >= the threshold, compared
// as durations ("rounded up to its bin's bound").
inline int ModelThresholdBin(absl::Duration threshold) {
  const std::vector<int64_t>& bounds = ModelDurationBounds();
  int i = 0;
  while (i < static_cast<int>(bounds.size()) &&
         absl::Nanoseconds(bounds[static_cast<size_t>(i)]) < threshold) {
    ++i;
  }
  return i;
}

// A bin's bound as Snapshot() shows it (infinite for the last).
inline absl::Duration ModelBinBound(int bin) {
  const std::vector<int64_t>& bounds = ModelDurationBounds();
  return bin < static_cast<int>(bounds.size()) ? absl::Nanoseconds(bounds[static_cast<size_t>(bin)])
                                               : absl::InfiniteDuration();
}

// A bin's bound in seconds as TripReason has it (100 s for the last).
inline double ModelBinSeconds(int bin) {
  const std::vector<int64_t>& bounds = ModelDurationBounds();
  const size_t i = std::min(static_cast<size_t>(bin), bounds.size() - 1);
  return static_cast<double>(bounds[i]) / 1e9;
}

// ---- The documented validation rules ----------------------------------------

// ModelConsecutiveToOpen()
// The consecutive trip as circuit/config.h documents it: the field if set;
// unset, 5 when neither rate threshold is set, else 0 (off).
inline int ModelConsecutiveToOpen(const circuit::BreakerConfig& c) {
  if (c.consecutive_failures_to_open.has_value()) return *c.consecutive_failures_to_open;
  return c.failure_rate_threshold > 0 || c.slow_call_rate_threshold > 0 ? 0 : 5;
}

// ModelBadFields()
// Every field of `c` that breaks a rule written in circuit/config.h
// (durations: ">= 1 ns"; half_open_max_duration: "0 or in 1 ns..365 days").
// Where the header is silent the rule is the code's: the positive durations
// must also be finite (ValidateConfig() says ">= 1ns and finite").
inline std::set<std::string> ModelBadFields(const circuit::BreakerConfig& c) {
  std::set<std::string> bad;
  const absl::Duration inf = absl::InfiniteDuration();
  const absl::Duration zero = absl::ZeroDuration();
  const absl::Duration year = absl::Hours(24 * 365);
  auto positive_finite = [&](absl::Duration d) { return d >= absl::Nanoseconds(1) && d != inf; };
  auto percent = [](double v) { return v >= 0 && v <= 100; };  // NaN fails
  if (c.name.empty()) bad.insert("name");
  if (c.consecutive_failures_to_open.has_value() &&
      (*c.consecutive_failures_to_open < 0 || *c.consecutive_failures_to_open > 1'000'000'000)) {
    bad.insert("consecutive_failures_to_open");
  }
  if (!percent(c.failure_rate_threshold)) bad.insert("failure_rate_threshold");
  if (!percent(c.slow_call_rate_threshold)) bad.insert("slow_call_rate_threshold");
  // Nothing could open it (config.h: "0 turns it off, and then a rate
  // threshold must be set").
  if (ModelConsecutiveToOpen(c) == 0 && c.failure_rate_threshold == 0 &&
      c.slow_call_rate_threshold == 0 && !(c.latency_percentile > 0)) {
    bad.insert("consecutive_failures_to_open");
  }
  if (!positive_finite(c.slow_call_duration)) bad.insert("slow_call_duration");
  if (c.slow_call_clock != circuit::SlowCallClock::kAuto &&
      c.slow_call_clock != circuit::SlowCallClock::kPrecise &&
      c.slow_call_clock != circuit::SlowCallClock::kCoarse &&
      c.slow_call_clock != circuit::SlowCallClock::kCaller) {
    bad.insert("slow_call_clock");
  }
  if (c.window_type != circuit::WindowType::kCountBased &&
      c.window_type != circuit::WindowType::kTimeBased) {
    bad.insert("window_type");
  }
  if (c.window_size < 1 || c.window_size > 1'000'000) bad.insert("window_size");
  if (!positive_finite(c.window_duration)) bad.insert("window_duration");
  if (c.window_buckets < 1 || c.window_buckets > 1000) {
    bad.insert("window_buckets");
  } else if (positive_finite(c.window_duration) &&
             c.window_duration / c.window_buckets < absl::Milliseconds(1)) {
    bad.insert("window_duration");  // the per-bucket rule names window_duration
  }
  if (c.minimum_calls < 1) bad.insert("minimum_calls");
  if (!positive_finite(c.open_duration)) bad.insert("open_duration");
  if (!(c.open_backoff_multiplier >= 1 && c.open_backoff_multiplier <= 1000)) {
    bad.insert("open_backoff_multiplier");
  }
  if (!positive_finite(c.max_open_duration) || c.max_open_duration < c.open_duration ||
      c.max_open_duration > year) {
    bad.insert("max_open_duration");
  }
  if (!(c.open_jitter >= 0 && c.open_jitter < 1)) bad.insert("open_jitter");
  const bool trials_ok = c.half_open_trial_calls >= 1 && c.half_open_trial_calls <= 255;
  if (!trials_ok) bad.insert("half_open_trial_calls");
  if (c.half_open_max_concurrent < 1 || c.half_open_max_concurrent > 255 ||
      (trials_ok && c.half_open_max_concurrent > c.half_open_trial_calls)) {
    bad.insert("half_open_max_concurrent");
  }
  // "Must be 0 or 1..half_open_trial_calls; with half_open_judge_by_rate it
  // must be 0 (the rates decide)."
  if (c.half_open_successes_to_close < 0 ||
      (trials_ok && c.half_open_successes_to_close > c.half_open_trial_calls) ||
      (c.half_open_judge_by_rate && c.half_open_successes_to_close != 0)) {
    bad.insert("half_open_successes_to_close");
  }
  if (c.half_open_judge_by_rate && c.failure_rate_threshold == 0 &&
      c.slow_call_rate_threshold == 0) {
    bad.insert("half_open_judge_by_rate");
  }
  if (c.half_open_max_duration < zero ||
      (c.half_open_max_duration > zero && c.half_open_max_duration < absl::Nanoseconds(1)) ||
      c.half_open_max_duration > year) {
    bad.insert("half_open_max_duration");
  }
  // "0 disables. Must be 0 or in 1ms..365 days."
  if (c.half_open_probe_timeout != zero &&
      !(c.half_open_probe_timeout >= absl::Milliseconds(1) && c.half_open_probe_timeout <= year)) {
    bad.insert("half_open_probe_timeout");
  }
  if (c.half_open_probe_timeout_outcome != circuit::ProbeTimeoutOutcome::kFailure &&
      c.half_open_probe_timeout_outcome != circuit::ProbeTimeoutOutcome::kReleased) {
    bad.insert("half_open_probe_timeout_outcome");
  }
  // "0 disables. ... Must be 0 or in 1ms..1 day."
  if (c.slow_start_duration != zero && !(c.slow_start_duration >= absl::Milliseconds(1) &&
                                         c.slow_start_duration <= absl::Hours(24))) {
    bad.insert("slow_start_duration");
  }
  // "Requires window_type kTimeBased." / "Must be in 1..100." (K is
  // checked whether throttling is on or not.)
  if (c.adaptive_throttling && c.window_type != circuit::WindowType::kTimeBased) {
    bad.insert("adaptive_throttling");
  }
  if (!(c.adaptive_throttling_k >= 1 && c.adaptive_throttling_k <= 100)) {
    bad.insert("adaptive_throttling_k");
  }
  // "Requires window_type kTimeBased. ... Must be in 0..100." / "Required
  // (1 us..100 s) when latency_percentile is set."
  if (!percent(c.latency_percentile)) bad.insert("latency_percentile");
  if (c.latency_percentile > 0) {
    if (c.window_type != circuit::WindowType::kTimeBased) bad.insert("latency_percentile");
    if (!(c.latency_percentile_threshold >= absl::Microseconds(1) &&
          c.latency_percentile_threshold <= absl::Seconds(100))) {
      bad.insert("latency_percentile_threshold");
    }
  }
  if (c.stripes.has_value() && (*c.stripes < 0 || *c.stripes > 1024)) bad.insert("stripes");
  return bad;
}

// ---- The state machine --------------------------------------------------------

class BreakerModel {
 public:
  // `created_at`: the clock's reading when the breaker was created; the
  // breaker keeps deadlines (rounded up to a microsecond) and time buckets
  // from there, whatever the clock's origin.
  explicit BreakerModel(const circuit::BreakerConfig& c, int64_t created_at = 0)
      : base_(created_at),
        consecutive_to_open_(ModelConsecutiveToOpen(c)),
        failure_pct_(c.failure_rate_threshold),
        slow_pct_(c.slow_call_rate_threshold),
        slow_duration_(c.slow_call_duration),
        measure_(c.slow_call_rate_threshold > 0),
        caller_clock_(c.slow_call_clock == circuit::SlowCallClock::kCaller),
        // Adaptive throttling keeps a (time) window even with no threshold.
        window_on_(c.failure_rate_threshold > 0 || c.slow_call_rate_threshold > 0 ||
                   c.adaptive_throttling),
        time_window_(c.window_type == circuit::WindowType::kTimeBased),
        window_size_(c.window_size),
        buckets_(c.window_buckets),
        bucket_nanos_(
            std::max<int64_t>(1, absl::ToInt64Nanoseconds(c.window_duration / c.window_buckets))),
        minimum_calls_(time_window_ ? c.minimum_calls : std::min(c.minimum_calls, c.window_size)),
        open_nanos_d_(absl::ToDoubleNanoseconds(c.open_duration)),
        max_open_nanos_d_(absl::ToDoubleNanoseconds(c.max_open_duration)),
        max_open_nanos_(absl::ToInt64Nanoseconds(c.max_open_duration)),
        multiplier_(c.open_backoff_multiplier),
        jitter_(c.open_jitter),
        max_concurrent_(static_cast<uint32_t>(c.half_open_max_concurrent)),
        trial_calls_(static_cast<uint32_t>(c.half_open_trial_calls)),
        // S of K; 0 means K (every trial must succeed).
        to_close_(c.half_open_successes_to_close > 0
                      ? static_cast<uint32_t>(c.half_open_successes_to_close)
                      : trial_calls_),
        judge_by_rate_(c.half_open_judge_by_rate),
        half_open_max_nanos_(absl::ToInt64Nanoseconds(c.half_open_max_duration)),
        half_open_max_seconds_(absl::ToDoubleSeconds(c.half_open_max_duration)),
        probe_timeout_nanos_(absl::ToInt64Nanoseconds(c.half_open_probe_timeout)),
        probe_released_(c.half_open_probe_timeout_outcome ==
                        circuit::ProbeTimeoutOutcome::kReleased),
        slow_start_nanos_(absl::ToInt64Nanoseconds(c.slow_start_duration)),
        throttling_(c.adaptive_throttling),
        throttle_k_(c.adaptive_throttling_k),
        latency_on_(c.latency_percentile > 0),
        latency_pct_(c.latency_percentile),
        latency_threshold_bin_(latency_on_ ? ModelThresholdBin(c.latency_percentile_threshold)
                                           : 0) {
    // One probe slot per concurrent trial, only with the timeout on.
    if (probe_timeout_nanos_ > 0) probe_slots_.resize(max_concurrent_);
    // The percentile as the decimal it was written as, if it is one.
    for (uint64_t den : {1, 3, 10, 100, 1000, 10000}) {
      const double num = std::round(latency_pct_ * static_cast<double>(den));
      if (latency_on_ && num / static_cast<double>(den) == latency_pct_) {
        latency_num_ = static_cast<uint64_t>(num);
        latency_den_ = den;
        break;
      }
    }
  }


  // The state and generation as the model holds them: what Metrics()
  // reports (a due HALF_OPEN deadline not yet applied).
  State state() const { return state_; }
  uint32_t generation() const { return gen_; }

  // Breaker::state() and Breaker::generation() at time `now`: they apply a
  // due HALF_OPEN deadline first.
  // With half_open_probe_timeout they then reap the trials past their
  // deadlines (ApplyHalfOpenLimits()).
  State ObserveState(int64_t now) {
    ApplyHalfOpenDeadline(now);
    ReapExpiredProbes(now);
    return state_;
  }
  uint32_t ObserveGeneration(int64_t now) {
    ApplyHalfOpenDeadline(now);
    ReapExpiredProbes(now);
    return gen_;
  }
  bool measures_duration() const { return measure_; }
  bool jitter_on() const { return jitter_ > 0; }

  ModelMetrics Metrics() const {
    ModelMetrics m = metrics_;
    m.probe_timeouts = probe_timeouts_;
    m.state = state_;
    m.generation = gen_;
    return m;
  }

  // Times the fuzzer may want to land on exactly (0: none).
  int64_t open_until() const { return state_ == State::kOpen ? open_until_lo_ : 0; }
  int64_t open_until_max() const { return state_ == State::kOpen ? open_until_hi_ : 0; }
  int64_t half_open_until() const { return state_ == State::kHalfOpen ? half_open_until_ : 0; }
  // Slow start: the ramp's end while CLOSED with the gate set (0: none).
  int64_t slow_start_end() const {
    return state_ == State::kClosed && gated_ && has_ramp_ ? ramp_end_ : 0;
  }
  // The gate bit, and the throttle probability judged for the current
  // generation as admissions use it (0 if none), for traces.
  bool gated() const { return gated_; }
  double judged_throttle() const {
    return throttle_gen_ == gen_ ? static_cast<double>(throttle_scaled_) / kTwoTo32 : 0.0;
  }
  int64_t bucket_nanos() const { return bucket_nanos_; }
  int64_t created_at() const { return base_; }
  // The latency-percentile trip: on, its threshold's bound (ns), and the
  // last judgment (for traces).
  bool latency_on() const { return latency_on_; }
  int64_t latency_threshold_nanos() const {
    return absl::ToInt64Nanoseconds(ModelBinBound(latency_threshold_bin_));
  }
  std::string LatencyString() const {
    if (!latency_on_) return "off";
    return absl::StrCat("threshold_bin=", latency_threshold_bin_, " counted=", latency_calls_.size(),
                        " judged=", latency_judged_ ? absl::StrCat(latency_judged_gen_, "/",
                                                                   latency_judged_epoch_)
                                                    : std::string("none"),
                        " last=", latency_last_ ? absl::StrCat("gen ", latency_last_gen_, " calls ",
                                                               latency_last_calls_, " bin ",
                                                               latency_last_bin_)
                                                : std::string("none"));
  }
  int64_t slow_nanos() const { return absl::ToInt64Nanoseconds(slow_duration_); }
  uint32_t trials_in_flight() const { return in_flight_; }
  bool probe_timeouts_on() const { return probe_timeout_nanos_ > 0; }
  // The earliest probe deadline of the current HALF_OPEN generation, as a
  // clock reading (0: none): the first instant a reap takes that trial.
  int64_t next_probe_deadline() const {
    if (state_ != State::kHalfOpen) return 0;
    int64_t best = 0;
    for (const ProbeEntry& e : probe_slots_) {
      if (!e.used || e.gen != gen_) continue;
      const int64_t at = base_ + e.deadline_ms * 1'000'000;
      if (best == 0 || at < best) best = at;
    }
    return best;
  }

  // What the breaker did, for the one decision the model cannot make alone:
  // whether an OPEN breaker with jitter has reached its deadline.
  // kThrottled: rejected by the throttle's draw (the gate's second).
  enum class AcquireHint { kNone, kAdmitted, kRejected, kThrottled };

  // BreakerModel::Acquire()
  // Breaker::TryAcquire() at time `now`.
  ModelPermit Acquire(int64_t now, AcquireHint hint = AcquireHint::kNone) {
    bool reaped = false;
    for (;;) {
      switch (state_) {
        case State::kClosed:
        case State::kMetricsOnly:
          if (gated_) {
            // The gate (only ever set in CLOSED: slow start's ramp, or a
            // judged throttle probability > 0). The throttle is judged
            // first if no gated admission has in this bucket. With no ramp
            // running and p == 0 the admission clears the gate and is
            // admitted; else a draw at r * (1 - p), which the model cannot
            // make: a share of 0 (f == 0) rejects, else the breaker's
            // answer is followed (the comparison checks its rejection).
            const bool ramping = has_ramp_ && now < ramp_end_;
            const double throttle = throttling_ ? ThrottleNow(now) : 0.0;
            if (!ramping && throttle == 0) {
              gated_ = false;
            } else {
              // The ramp's draw, then the throttle's; the breaker said
              // which rejected, if one did.
              bool shed_by_ramp = false;
              if (ramping) {
                const double r = RampAdmitted(now);
                const bool passed =
                    r > 0 && (hint == AcquireHint::kAdmitted || hint == AcquireHint::kThrottled);
                if (r > 0) NoteDraw(r, passed);
                shed_by_ramp = !passed;
              }
              bool throttled = false;
              if (!shed_by_ramp && throttle > 0) {
                const bool passed = hint == AcquireHint::kAdmitted;
                NoteDraw(1.0 - throttle, passed);
                throttled = !passed;
              }
              if (shed_by_ramp || throttled) {
                ++metrics_.shed;
                if (throttled) {
                  ++metrics_.throttled;
                  AddThrottled(now);
                }
                // Back at the ramp's end, or (throttled) when p is next
                // judged: the next bucket.
                const int64_t retry = ramping ? ramp_end_ - now : NextBucketNanos(now);
                return Reject(now, retry, retry, retry);
              }
            }
          }
          ++metrics_.permitted;
          return Admit(ModelPermit::Kind::kNormal, now);
        case State::kDisabled: {
          ModelPermit p = Admit(ModelPermit::Kind::kUntracked, now);
          p.start_nanos = 0;
          return p;
        }
        case State::kForcedOpen:
          return Reject(now, -1, -1, -1);
        case State::kOpen: {
          bool wait_over;
          if (now < open_until_lo_) {
            wait_over = false;
          } else if (now >= open_until_hi_) {
            wait_over = true;
          } else if (shared()) {
            // Jitter under the shared state: rejected either way, with the
            // time left or, the deadline passed, 0: both in [0, hi - now].
            // The delay tells the deadline (LearnDeadline(); a 0 sets it to
            // now, which from now on reads as any earlier instant would).
            return Reject(now, -2, 0, open_until_hi_ - now);
          } else {
            // Jitter: the deadline is in [lo, hi]; follow the breaker.
            wait_over = hint == AcquireHint::kAdmitted;
            if (wait_over) {
              open_until_hi_ = now;
            } else {
              open_until_lo_ = now + 1;
            }
          }
          if (!wait_over) {
            return Reject(now, open_until_lo_ == open_until_hi_ ? open_until_lo_ - now : -2,
                          open_until_lo_ - now, open_until_hi_ - now);
          }
          // Under the shared state the coordinator ends OPEN: a trial slot
          // may come any moment.
          if (shared()) return Reject(now, 0, 0, 0);
          // OPEN,g,0 -> HALF_OPEN,g+1,1: this call is the first trial.
          NewGeneration(State::kHalfOpen, now);
          if (half_open_max_nanos_ > 0) half_open_until_ = CeilMicros(now + half_open_max_nanos_);
          in_flight_ = 1;
          ++metrics_.permitted;
          ModelPermit trial = Admit(ModelPermit::Kind::kTrial, now);
          ClaimProbeSlot(trial, now);
          return trial;
        }
        case State::kHalfOpen: {
          // Past half_open_max_duration: OPEN again, free slots or not,
          // with the open period starting at the deadline; then judged as
          // any call in OPEN (it may already be over: the first trial).
          if (ApplyHalfOpenDeadline(now)) continue;
          // Under the shared state, also only within the trials lent to
          // this generation (the bound across every instance).
          const uint32_t slots = shared() ? Lent(gen_) : trial_calls_;
          const uint32_t started = in_flight_ + trial_successes_ + trial_failures_;
          if (in_flight_ < max_concurrent_ && started < trial_calls_ && started < slots) {
            ++in_flight_;
            ++metrics_.permitted;
            ModelPermit trial = Admit(ModelPermit::Kind::kTrial, now);
            ClaimProbeSlot(trial, now);
            return trial;
          }
          // No slot for this call: with per-probe deadlines, a trial in
          // flight may be past its own; reap once, then judge the call
          // again (it may be a trial now, or see OPEN, or CLOSED).
          if (!probe_slots_.empty() && in_flight_ > 0 && !reaped) {
            reaped = true;
            ReapExpiredProbes(now);
            continue;
          }
          return Reject(now, 0, 0, 0);
        }
      }
      return Reject(now, -1, -1, -1);
    }
  }

  // The gated draws the model followed: the current streak of like answers
  // (admitted, or rejected), its length, and log2 of its chance given the
  // shares the model computed (each draw is the breaker's own per-thread
  // random number: u32 < share x 2^32). A streak whose chance is below
  // 2^-50 says the breaker does not draw at the share the model knows (a
  // gate never set, a probability never judged, ...).
  double draw_streak_log2() const { return streak_log2_; }
  uint64_t draw_streak_length() const { return streak_length_; }
  bool draw_streak_admitted() const { return streak_admitted_; }

  // If the breaker rejected with a retry delay the model only knew as a
  // range (jitter), learn the exact deadline from it.
  void LearnDeadline(int64_t now, int64_t retry_nanos) {
    if (state_ == State::kOpen && open_until_lo_ != open_until_hi_) {
      open_until_lo_ = open_until_hi_ = now + retry_nanos;
    }
  }

  // BreakerModel::Resolve()
  // Success(), Failure(), Ignore(), Record() at time `now`: the permit's
  // outcome. With `took` (Success(took) and friends) the call's duration is
  // the caller's, not the clock's: negative counts as 0. Returns what the
  // permit's method returns. `retry_open_nanos`: FailureRetryAfter(), the
  // open period the dependency asked for (already capped at
  // max_open_duration, > 0); with it, `outcome` is kFailure.
  bool Resolve(ModelPermit& p, Outcome outcome, int64_t now,
               std::optional<absl::Duration> took = std::nullopt,
               std::optional<int64_t> retry_open_nanos = std::nullopt) {
    if (!p.admitted) return false;
    p.admitted = false;
    if (p.kind == ModelPermit::Kind::kUntracked) return true;  // DISABLED: nothing
    if (outcome == Outcome::kIgnored) {
      ++metrics_.ignored;
      GiveBackTrialSlot(p, now);
      return true;
    }
    const bool failure = outcome == Outcome::kFailure;
    bool slow = false;
    if (measure_ && took.has_value()) {
      slow = std::max(*took, absl::ZeroDuration()) >= slow_duration_;
    } else if (measure_ && !caller_clock_) {
      slow = absl::Nanoseconds(now - p.start_nanos) >= slow_duration_;
    }
    ++(failure ? metrics_.failures : metrics_.successes);
    if (slow) ++metrics_.slow;
    // The latency window first: its judge may trip, and the outcome is
    // then stale.
    if (latency_on_ && p.kind == ModelPermit::Kind::kNormal) {
      if (took.has_value()) {
        LatencyOutcome(p, MeasuredNanos(*took), now);
      } else if (!caller_clock_) {
        LatencyOutcome(p, std::max<int64_t>(0, now - p.start_nanos), now);
      }
    }
    if (p.kind == ModelPermit::Kind::kTrial) {
      TrialOutcome(p, failure, slow, now, retry_open_nanos);
    } else {
      NormalOutcome(p, failure, slow, now, retry_open_nanos);
    }
    return true;
  }

  // Release(), or the destruction of an unresolved permit, at time `now`.
  bool Release(ModelPermit& p, int64_t now) {
    if (!p.admitted) return false;
    p.admitted = false;
    if (p.kind == ModelPermit::Kind::kUntracked) return true;
    ++metrics_.released;
    GiveBackTrialSlot(p, now);
    return true;
  }

  // `to = std::move(from)`: `to` is released first, `from` becomes empty.
  void Move(ModelPermit& from, ModelPermit& to, int64_t now) {
    if (&from == &to) return;
    Release(to, now);
    to = from;
    from.kind = ModelPermit::Kind::kNone;
    from.admitted = false;
  }

  // Operator controls at time `now`: each a new generation.
  void ForceOpen(int64_t now) {
    NewGeneration(State::kForcedOpen, now);
    RecordTrip(TripCause::kOperator, 0, 0);
  }
  void Disable(int64_t now) { NewGeneration(State::kDisabled, now); }
  void MetricsOnly(int64_t now) { NewGeneration(State::kMetricsOnly, now); }
  void Reset(int64_t now) { Close(now); }  // "no open-duration backoff", as a close

  // ---- The distributed mode's hold (circuit/internal/shared_control.h) ----

  // SharedControl::SetSharing() at time `now`. Leaving the shared state:
  // the shared verdict on the trials will not come, so a HALF_OPEN reopens
  // with no wait and the next call starts the breaker's own trials.
  void SetSharing(Sharing to, int64_t now) {
    const bool leaving = shared() && to != Sharing::kShared;
    sharing_ = to;
    if (!leaving) return;
    if (state_ == State::kHalfOpen) {
      Open(now, TripCause::kShared, 0, 0, /*period=*/0);
      return;
    }
    if (state_ != State::kClosed) return;
    // The trips the shared state held back are judged at once, the window
    // first, as an outcome would (fuzz/README.md, bug 9). The breaker folds
    // the window for it (SharedControl::TakeBackDecisions()), which judges
    // the throttle (without clearing the `want` bit first).
    if (throttling_) FoldWindow(/*event=*/false, /*serves_want=*/false, now);
    TripCause cause;
    double rate;
    double threshold;
    if (window_on_ && RatesTrip(now, &cause, &rate, &threshold)) {
      const uint32_t judged = gen_;
      Open(now, cause, rate, threshold);
      if (throttling_) StaleJudge(judged);
      return;
    }
    if (throttling_) JudgeThrottle(now);
    if (consecutive_to_open_ > 0 && run_ >= static_cast<uint64_t>(consecutive_to_open_)) {
      Open(now, TripCause::kConsecutiveFailures, static_cast<double>(run_), consecutive_to_open_);
    }
  }
  Sharing sharing() const { return sharing_; }

  // SharedControl::Follow() at time `now`: into `to` (CLOSED, OPEN or
  // HALF_OPEN) at the next generation, unless there already (true) or in an
  // operator's state (false, the operator's word stands). Into OPEN for
  // exactly `open_nanos` (0 if negative). `*generation`: the generation
  // after.
  bool Follow(State to, int64_t open_nanos, double value, double threshold, int64_t now,
              uint32_t* generation) {
    *generation = gen_;
    if (state_ == State::kForcedOpen || state_ == State::kDisabled ||
        state_ == State::kMetricsOnly) {
      return false;
    }
    if (state_ == to) return true;
    if (to == State::kClosed) {
      Close(now);
    } else if (to == State::kOpen) {
      Open(now, TripCause::kShared, value, threshold, std::max<int64_t>(0, open_nanos));
    } else {
      // The shared HALF_OPEN: no trial yet, no half_open_max_duration.
      NewGeneration(to, now);
    }
    *generation = gen_;
    return true;
  }

  // SharedControl::Reopen() at time `now`: OPEN generation `generation` to
  // the next, still OPEN, for exactly `open_nanos` (0 if negative).
  bool Reopen(uint32_t generation, int64_t open_nanos, double value, double threshold,
              int64_t now) {
    if (state_ != State::kOpen || gen_ != generation) return false;
    Open(now, TripCause::kShared, value, threshold, std::max<int64_t>(0, open_nanos));
    return true;
  }

  // SharedControl::Lend() and Lent(): the grant is one generation's, made
  // only while that generation is the HALF_OPEN one; one for another
  // generation replaces it, one for the same only raises it.
  void Lend(uint32_t generation, uint32_t slots) {
    if (state_ != State::kHalfOpen || generation != gen_) return;
    if (lent_gen_ != generation || lent_slots_ < slots) {
      lent_gen_ = generation;
      lent_slots_ = slots;
    }
  }
  uint32_t Lent(uint32_t generation) const { return lent_gen_ == generation ? lent_slots_ : 0; }

  // The open duration after `k` reopens from HALF_OPEN, in nanoseconds:
  // open_duration * multiplier^k capped at max_open_duration, taken in
  // double nanoseconds (the fraction of a fractional open_duration kept:
  // 1.75 ns * 10^3 is 1750 ns, not 1000) and then truncated, as the breaker
  // does (Breaker::OpenDurationNanos()); past 2^53 ns (104 days) the double
  // rounds, for k == 0 too.
  int64_t OpenDurationNanos(uint32_t k) const {
    double nanos = open_nanos_d_ * std::pow(multiplier_, k);
    if (!(nanos <= max_open_nanos_d_)) nanos = max_open_nanos_d_;  // also inf
    return static_cast<int64_t>(nanos);
  }

  // Rounded up to a microsecond from the breaker's creation: "a breaker
  // never reopens early".
  int64_t CeilMicros(int64_t nanos) const {
    const int64_t since = nanos - base_;
    return base_ + (since <= 0 ? 0 : (since + 999) / 1000 * 1000);
  }

  // The window's calls, failures and slow calls as of `now` (for traces).
  struct WindowView {
    uint64_t calls = 0;
    uint64_t failures = 0;
    uint64_t slow = 0;
  };
  WindowView Window(int64_t now) {
    WindowView v;
    if (!window_on_) return v;
    if (!time_window_) {
      v.calls = count_window_.size();
      for (const CallFlags& f : count_window_) {
        v.failures += f.failure;
        v.slow += f.slow;
      }
      return v;
    }
    PruneBuckets(EpochOf(now));
    for (const Bucket& b : time_window_buckets_) {
      v.calls += b.calls;
      v.failures += b.failures;
      v.slow += b.slow;
    }
    return v;
  }
  uint64_t consecutive_failures() const { return run_; }

  // BreakerModel::Snapshot()
  // Breaker::Snapshot() at time `now` (circuit/snapshot.h): a due HALF_OPEN
  // deadline applied first, as state() does; the window as of `now` (a
  // time window without what has aged out); in OPEN the window that opened
  // it (the CLOSED window, read as of `now`, or the trials that reopened
  // it; none after the shared state's trip from CLOSED or OPEN); in
  // HALF_OPEN the trials so far; FORCED_OPEN and DISABLED empty.
  ModelSnapshot Snapshot(int64_t now) {
    ApplyHalfOpenDeadline(now);
    ReapExpiredProbes(now);
    ModelSnapshot s;
    s.state = state_;
    s.generation = gen_;
    s.trip_cause = trip_cause_;
    s.trip_value = trip_value_;
    s.trip_threshold = trip_threshold_;
    s.trip_generation = trip_gen_;
    s.sharing = sharing_;
    if (latency_on_) s.latency_percentile_threshold = ModelBinBound(latency_threshold_bin_);
    switch (state_) {
      case State::kClosed:
      case State::kMetricsOnly: {
        const WindowView v = Window(now);
        SetWindow(v.calls, v.calls - v.failures, v.failures, v.slow,
                  static_cast<uint64_t>(minimum_calls_), s);
        s.consecutive_failures = run_;
        if (state_ == State::kClosed && throttling_) {
          const ThrottleView t = ThrottleCounts(now);
          s.throttle_probability = t.probability;
          s.throttle_requests = t.requests;
          s.throttle_accepts = t.accepts;
        }
        if (latency_on_ && latency_last_ && latency_last_gen_ == gen_) {
          s.latency_percentile_calls = latency_last_calls_;
          if (latency_last_bin_ >= 0) s.latency_percentile = ModelBinBound(latency_last_bin_);
        }
        // The ramp's, not a gate the throttle set.
        if (state_ == State::kClosed && gated_ && has_ramp_ && now < ramp_end_) {
          s.slow_start_admitted = RampAdmitted(now);
          s.slow_start_remaining = ramp_end_ - now;
        }
        break;
      }
      case State::kOpen:
        if (tripped_window_ == TrippedWindow::kClosed) {
          WindowView v;
          if (window_on_) {
            if (!time_window_) {
              for (const CallFlags& f : tripped_count_window_) {
                ++v.calls;
                v.failures += f.failure;
                v.slow += f.slow;
              }
            } else {
              PruneBuckets(tripped_buckets_, EpochOf(now));
              for (const Bucket& b : tripped_buckets_) {
                v.calls += b.calls;
                v.failures += b.failures;
                v.slow += b.slow;
              }
            }
          }
          SetWindow(v.calls, v.calls - v.failures, v.failures, v.slow,
                    static_cast<uint64_t>(minimum_calls_), s);
        } else if (tripped_window_ == TrippedWindow::kTrials) {
          SetWindow(tripped_trial_successes_ + tripped_trial_failures_, tripped_trial_successes_,
                    tripped_trial_failures_, tripped_trial_slow_, trial_calls_, s);
        }
        s.open_remaining_lo = std::max<int64_t>(0, open_until_lo_ - now);
        s.open_remaining_hi = std::max<int64_t>(0, open_until_hi_ - now);
        s.open_period_lo = open_period_lo_;
        s.open_period_hi = open_period_hi_;
        break;
      case State::kHalfOpen:
        SetWindow(trial_successes_ + trial_failures_, trial_successes_, trial_failures_,
                  trial_slow_, trial_calls_, s);
        s.trials_in_flight = in_flight_;
        s.trial_successes = trial_successes_;
        s.trial_failures = trial_failures_;
        break;
      case State::kForcedOpen:
        s.open_remaining_infinite = true;
        break;
      case State::kDisabled:
        break;
    }
    if (state_ != State::kOpen) {
      // The next open period, without jitter: a reopen from HALF_OPEN backs
      // off once more, a trip from CLOSED starts over.
      s.open_period_lo = s.open_period_hi =
          OpenDurationNanos(state_ == State::kHalfOpen ? reopen_count_ + 1 : 0);
    }
    return s;
  }

  uint32_t reopen_count() const { return reopen_count_; }


 private:
  struct CallFlags {
    bool failure;
    bool slow;
  };
  struct Bucket {
    int64_t epoch;
    uint64_t calls;
    uint64_t failures;
    uint64_t slow;
  };

  // Counts and rates of a snapshot's window: the rates once it holds
  // `minimum` calls (and at least one), each while its threshold is on.
  void SetWindow(uint64_t calls, uint64_t successes, uint64_t failures, uint64_t slow,
                 uint64_t minimum, ModelSnapshot& s) const {
    s.calls = calls;
    s.successes = successes;
    s.failures = failures;
    s.slow_calls = slow;
    if (calls == 0 || calls < minimum) return;
    const double d = static_cast<double>(calls);
    if (failure_pct_ > 0) s.failure_rate = static_cast<double>(failures) * 100.0 / d;
    if (slow_pct_ > 0) s.slow_call_rate = static_cast<double>(slow) * 100.0 / d;
  }

  // The last trip's record (TripReason).
  void RecordTrip(TripCause cause, double value, double threshold) {
    trip_cause_ = cause;
    trip_value_ = value;
    trip_threshold_ = threshold;
    trip_gen_ = gen_;
  }

  ModelPermit Admit(ModelPermit::Kind kind, int64_t now) {
    ModelPermit p;
    p.kind = kind;
    p.admitted = true;
    p.generation = gen_;
    p.start_nanos = now;
    return p;
  }

  // retry: exact delay as of `now` (-1: until reset, -2: known only as
  // [lo, hi]). A rejection while OPEN reports its delay as of when it is
  // asked (Permit::retry_after() reads the clock then): start_nanos keeps
  // `now` for the comparison to subtract what has passed since.
  ModelPermit Reject(int64_t now, int64_t retry, int64_t lo, int64_t hi) {
    ++metrics_.rejected;
    ModelPermit p;
    p.start_nanos = now;
    p.kind = ModelPermit::Kind::kRejected;
    p.generation = gen_;
    p.rejected_state = state_;
    p.retry_nanos = retry;
    p.retry_min = lo;
    p.retry_max = hi;
    return p;
  }

  // Every transition (at `now`): the next generation, with the trial
  // counts, the consecutive run and the rate window of the old one gone.
  // A CLOSED or METRICS_ONLY window starts in now's bucket (Rebase()).
  void NewGeneration(State to, int64_t now) {
    ++metrics_.transitions[static_cast<size_t>(state_)][static_cast<size_t>(to)];
    gen_ = (gen_ + 1) & kModelGenMask;
    state_ = to;
    in_flight_ = trial_successes_ = trial_failures_ = trial_slow_ = 0;
    run_ = 0;
    count_window_.clear();
    time_window_buckets_.clear();
    half_open_until_ = 0;  // the caller sets a HALF_OPEN's, if it has one
    gated_ = false;  // set by a trial verdict's close (Close()) or a throttle judge
    has_ramp_ = false;
    ramp_end_ = 0;
    // The state word's window bits are the generation's; the rate window's
    // log is a generation's (the throttle's words are not).
    want_ = false;
    log_for_gen_ = false;
    latency_calls_.clear();  // a generation's latency window is its own
    if (to == State::kClosed || to == State::kMetricsOnly) window_base_epoch_ = EpochOf(now);
  }

  // Into OPEN for `cause` (what crossed which threshold: TripReason): a
  // trip from CLOSED, a reopen from HALF_OPEN, or the shared state's move
  // (from either, or from OPEN). The window that opened it is kept for
  // Snapshot(): a HALF_OPEN's trials, the CLOSED window of the breaker's own
  // trip, none for the shared state's trip from CLOSED or OPEN (the shared
  // window opened it). `period`: the shared state's, exact; without it the
  // breaker's own, backed off and jittered.
  void Open(int64_t now, TripCause cause, double value, double threshold,
            std::optional<int64_t> period = std::nullopt) {
    const bool reopen = state_ == State::kHalfOpen;
    if (reopen) {
      tripped_window_ = TrippedWindow::kTrials;
      tripped_trial_successes_ = trial_successes_;
      tripped_trial_failures_ = trial_failures_;
      tripped_trial_slow_ = trial_slow_;
    } else if (cause != TripCause::kShared) {
      tripped_window_ = TrippedWindow::kClosed;
      tripped_count_window_ = count_window_;
      tripped_buckets_ = time_window_buckets_;
    } else {
      tripped_window_ = TrippedWindow::kNone;
    }
    NewGeneration(State::kOpen, now);
    RecordTrip(cause, value, threshold);
    ++metrics_.opened;
    // Every transition into OPEN, the shared state's too, counts reopens.
    reopen_count_ = reopen ? reopen_count_ + 1 : 0;
    if (period.has_value()) {
      open_period_lo_ = open_period_hi_ = *period;
      open_until_lo_ = open_until_hi_ = CeilMicros(now + *period);
      return;
    }
    const int64_t nanos = OpenDurationNanos(reopen_count_);
    open_period_lo_ = open_period_hi_ = nanos;
    if (jitter_ > 0) {
      // Up to open_jitter either way; a little slack for the rounding.
      const double lo = static_cast<double>(nanos) * (1.0 - jitter_);
      // The cap is applied after the jitter: never past max_open_duration.
      const double hi = std::min(static_cast<double>(nanos) * (1.0 + jitter_),
                                 static_cast<double>(max_open_nanos_));
      open_until_lo_ = CeilMicros(now + static_cast<int64_t>(lo)) - 1000;
      open_until_hi_ = CeilMicros(now + static_cast<int64_t>(hi)) + 1000;
      open_until_lo_ = std::max(open_until_lo_, now);
      // The period itself: within open_jitter either way (2 ns of slack,
      // and a little more for huge periods, for the double's rounding), never past the cap.
      const double slack = 2 + hi * 1e-12;
      open_period_lo_ = std::max<int64_t>(0, static_cast<int64_t>(lo - slack));
      open_period_hi_ = static_cast<int64_t>(hi + slack);
    } else {
      open_until_lo_ = open_until_hi_ = CeilMicros(now + nanos);
    }
  }

  // Into CLOSED at `now`. `verdict`: the trials' closing verdict, the only
  // close that ramps up (slow start): the gate is set and the ramp ends
  // slow_start_duration later, rounded up to a microsecond from the
  // breaker's creation as the deadline word keeps it. Reset() and the
  // shared state's Follow() pass false.
  void Close(int64_t now, bool verdict = false) {
    NewGeneration(State::kClosed, now);
    reopen_count_ = 0;  // "closing resets it"
    if (verdict && slow_start_nanos_ > 0) {
      gated_ = true;
      has_ramp_ = true;
      ramp_end_ = CeilMicros(now + slow_start_nanos_);
    }
  }

  // The fraction of calls slow start's ramp admits at `now` (< ramp_end_),
  // computed as the breaker does (src/gate.cc, src/snapshot.cc): 1 - the
  // time left / the ramp, at least 0 (the end may be up to 999 ns more
  // than a ramp away, by its rounding).
  double RampAdmitted(int64_t now) const {
    return std::max(0.0, 1.0 - static_cast<double>(ramp_end_ - now) /
                                   static_cast<double>(slow_start_nanos_));
  }

  // ---- Adaptive throttling (adaptive_throttling) ----

  // The probability is kept x 2^32 (throttle_word_).
  static constexpr double kTwoTo32 = 4294967296.0;

  struct ThrottleView {
    uint64_t requests = 0;
    uint64_t accepts = 0;
    double probability = 0;
  };

  // The formula over the current generation's window as of `now`
  // (Breaker::ThrottleCountsOf(), the same arithmetic, so equal as a
  // double): the window's calls and failures, and the gate's rejections by
  // bucket over the window's epochs, the first bounded by the bucket this
  // generation's window started in (whatever generation rejected them).
  ThrottleView ThrottleCounts(int64_t now) {
    const WindowView v = Window(now);
    const int64_t last = EpochOf(now);
    const int64_t first = std::max(last - buckets_ + 1, window_base_epoch_);
    uint64_t throttled = 0;
    for (const Bucket& b : throttled_) {
      if (b.epoch >= first && b.epoch <= last) throttled += b.calls;
    }
    ThrottleView t;
    t.requests = v.calls + throttled;
    t.accepts = v.calls - std::min(v.failures, v.calls);
    const double excess =
        static_cast<double>(t.requests) - throttle_k_ * static_cast<double>(t.accepts);
    t.probability = excess > 0 ? excess / (static_cast<double>(t.requests) + 1) : 0;
    return t;
  }

  // A gate rejection while throttling is on: one more request in now's
  // bucket. Buckets that no window can reach again are dropped.
  void AddThrottled(int64_t now) {
    const int64_t epoch = EpochOf(now);
    if (throttled_.empty() || throttled_.back().epoch != epoch) {
      throttled_.push_back(Bucket{epoch, 0, 0, 0});
    }
    ++throttled_.back().calls;
    PruneBuckets(throttled_, epoch);
  }

  // The time from `now` to the start of the next bucket.
  int64_t NextBucketNanos(int64_t now) const {
    const int64_t elapsed = now - base_;
    return (elapsed / bucket_nanos_ + 1) * bucket_nanos_ - elapsed;
  }

  // Breaker::JudgeThrottle() for the current generation: publishes p
  // (x 2^32, truncated, saturated) tagged with it, and a p > 0 sets the
  // gate of a CLOSED generation.
  void JudgeThrottle(int64_t now) {
    const double p = ThrottleCounts(now).probability;
    throttle_gen_ = gen_;
    throttle_scaled_ = std::min<uint64_t>(static_cast<uint64_t>(p * kTwoTo32), 0xFFFFFFFFu);
    if (throttle_scaled_ != 0 && state_ == State::kClosed) gated_ = true;
  }
  // The same for generation `gen`, which the fold's own trip has ended:
  // the tag no later generation matches (its value is never read).
  void StaleJudge(uint32_t gen) {
    throttle_gen_ = gen;
    throttle_scaled_ = 0;
  }

  // Breaker::ThrottleNow() at a gated admission: the first one in a bucket
  // (of any generation) judges; then the probability judged for the
  // current generation, 0 if the last judge was another's.
  double ThrottleNow(int64_t now) {
    const uint64_t bucket = static_cast<uint64_t>(EpochOf(now)) + 1;
    if (throttle_claim_ != bucket) {
      throttle_claim_ = bucket;
      JudgeThrottle(now);
    }
    return judged_throttle();
  }

  // Whether the breaker folds the window for an outcome of the current
  // CLOSED or METRICS_ONLY generation at `now` (`event`: a failure or a
  // slow call, which always folds): a success folds if the state word's
  // `want` bit is set, or if the last fold that wrote window_judged_ found
  // a failure or slow call in the window and was in another bucket
  // (RecordClosedSuccess()).
  bool OutcomeFolds(bool event, int64_t now) const {
    return event || want_ || (judged_held_ && judged_epoch_ != EpochOf(now));
  }

  // The fold's bookkeeping (RateWindow::FoldLocked()), after the outcome
  // joined the window: a generation with no failure or slow call yet (no
  // log) and no event withdraws window_judged_'s hold; else the log is
  // this generation's, window_judged_ = (now's bucket, the window holds a
  // failure or slow call), and the `want` bit is set if it does while
  // short of minimum_calls. `serves_want`: a success's fold, which cleared
  // the bit first (ServeWindow()); the others leave a set bit set.
  void FoldWindow(bool event, bool serves_want, int64_t now) {
    if (serves_want) want_ = false;
    if (!log_for_gen_ && !event) {
      if (judged_held_) {
        judged_held_ = false;
        judged_epoch_ = 0;
      }
      return;
    }
    log_for_gen_ = true;
    const WindowView v = Window(now);
    const bool held = v.failures != 0 || v.slow != 0;
    judged_epoch_ = EpochOf(now);
    judged_held_ = held;
    if (held && (v.calls == 0 || static_cast<int64_t>(v.calls) < minimum_calls_)) want_ = true;
  }

  // One gated draw at `share` (0 < share < 1) and what the breaker did.
  void NoteDraw(double share, bool admitted) {
    const double chance = admitted ? share : 1.0 - share;
    if (streak_length_ == 0 || admitted != streak_admitted_) {
      streak_admitted_ = admitted;
      streak_length_ = 0;
      streak_log2_ = 0;
    }
    ++streak_length_;
    streak_log2_ += std::log2(chance);
  }

  // A trial released or ignored: a HALF_OPEN period past its deadline
  // reopens first (whatever the trial's generation); else the slot goes back
  // if the trial is of the current period.
  void GiveBackTrialSlot(const ModelPermit& p, int64_t now) {
    if (p.kind != ModelPermit::Kind::kTrial) return;
    // A reaped trial's slot went back when it timed out: nothing changes
    // (not even a due HALF_OPEN deadline applied).
    if (!FreeProbeSlot(p)) return;
    ApplyHalfOpenDeadline(now);
    if (p.generation == gen_ && state_ == State::kHalfOpen && in_flight_ > 0) {
      --in_flight_;
    }
  }

  // BreakerModel::ApplyHalfOpenDeadline()
  // HALF_OPEN past half_open_max_duration at `now` -> OPEN, the new open
  // period (a reopen, with backoff) starting at the deadline. Returns true
  // if it made the transition. Not under the shared state, whose HALF_OPEN
  // has its own limit.
  bool ApplyHalfOpenDeadline(int64_t now) {
    if (state_ != State::kHalfOpen || half_open_until_ == 0 || now < half_open_until_ ||
        shared()) {
      return false;
    }
    Open(half_open_until_, TripCause::kHalfOpenTimeout, half_open_max_seconds_,
         half_open_max_seconds_);
    return true;
  }

  int64_t EpochOf(int64_t now) const { return (now - base_) / bucket_nanos_; }

  void PruneBuckets(int64_t epoch) { PruneBuckets(time_window_buckets_, epoch); }
  void PruneBuckets(std::deque<Bucket>& buckets, int64_t epoch) const {
    while (!buckets.empty() && buckets.front().epoch <= epoch - buckets_) buckets.pop_front();
  }

  // A CLOSED or METRICS_ONLY permit's success or failure. Only CLOSED
  // trips, and not under the shared state (the window and the run still
  // record: the shared window, which they feed, decides).
  void NormalOutcome(const ModelPermit& p, bool failure, bool slow, int64_t now,
                     std::optional<int64_t> retry_open_nanos) {
    if (p.generation != gen_) {
      ++metrics_.stale;
      return;
    }
    const bool may_trip = state_ == State::kClosed && !shared();
    // With a retry-after, the window and the run count the failure but the
    // dependency's trip is the one, with its period (RETRY_AFTER).
    const bool may_trip_itself = may_trip && !retry_open_nanos.has_value();
    if (window_on_) {
      // Adaptive throttling: whether the breaker folds the window for this
      // outcome (a fold judges the throttle), as the words stand before it.
      const bool event = failure || slow;
      const bool folds = throttling_ && OutcomeFolds(event, now);
      AddToWindow(failure, slow, now);
      // A success folds after clearing the `want` bit (ServeWindow()); a
      // failure's or slow call's fold leaves it as it is.
      if (folds) FoldWindow(event, /*serves_want=*/!event, now);
      // Rates are judged on every outcome, a success included, and before
      // the consecutive run: when one outcome crosses both, the rate is the
      // cause recorded (the breaker folds the window first).
      TripCause cause;
      double rate;
      double threshold;
      if (may_trip_itself && RatesTrip(now, &cause, &rate, &threshold)) {
        const uint32_t judged = gen_;
        Open(now, cause, rate, threshold);
        // The fold's judge comes after its trip: of the generation it ended.
        if (folds) StaleJudge(judged);
        return;
      }
      if (folds) JudgeThrottle(now);
    }
    if (consecutive_to_open_ > 0) {
      if (failure) {
        ++run_;
        if (run_ >= static_cast<uint64_t>(consecutive_to_open_) && may_trip_itself) {
          Open(now, TripCause::kConsecutiveFailures, static_cast<double>(run_),
               consecutive_to_open_);
          return;
        }
      } else {
        run_ = 0;
      }
    }
    if (retry_open_nanos.has_value() && may_trip) {
      Open(now, TripCause::kRetryAfter, static_cast<double>(*retry_open_nanos) / 1e9, 0,
           *retry_open_nanos);
    }
  }

  void AddToWindow(bool failure, bool slow, int64_t now) {
    if (!time_window_) {
      count_window_.push_back(CallFlags{failure, slow});
      if (count_window_.size() > static_cast<size_t>(window_size_)) count_window_.pop_front();
      return;
    }
    const int64_t epoch = EpochOf(now);
    if (time_window_buckets_.empty() || time_window_buckets_.back().epoch != epoch) {
      time_window_buckets_.push_back(Bucket{epoch, 0, 0, 0});
    }
    Bucket& b = time_window_buckets_.back();
    ++b.calls;
    b.failures += failure;
    b.slow += slow;
    PruneBuckets(epoch);
  }

  // The window's rates against the thresholds, once it holds minimum_calls.
  // On a trip, which (the failure rate first), its value and its threshold.
  bool RatesTrip(int64_t now, TripCause* cause, double* rate, double* threshold) {
    const WindowView v = Window(now);
    if (v.calls == 0 || v.calls < static_cast<uint64_t>(minimum_calls_)) return false;
    const double calls = static_cast<double>(v.calls);
    const bool failure_trip =
        failure_pct_ > 0 && static_cast<double>(v.failures) * 100.0 >= failure_pct_ * calls;
    const bool slow_trip =
        slow_pct_ > 0 && static_cast<double>(v.slow) * 100.0 >= slow_pct_ * calls;
    *cause = failure_trip ? TripCause::kFailureRate : TripCause::kSlowCallRate;
    *rate = static_cast<double>(failure_trip ? v.failures : v.slow) * 100.0 / calls;
    *threshold = failure_trip ? failure_pct_ : slow_pct_;
    return failure_trip || slow_trip;
  }

  void TrialOutcome(const ModelPermit& p, bool failure, bool slow, int64_t now,
                    std::optional<int64_t> retry_open_nanos) {
    // A reaped trial (half_open_probe_timeout) is over: its verdict was
    // given when it timed out; its late outcome is stale and changes
    // nothing (not even a due HALF_OPEN deadline applied).
    if (!FreeProbeSlot(p)) {
      ++metrics_.stale;
      return;
    }
    if (!TrialVerdict(p.generation, failure, slow, now, retry_open_nanos)) {
      ++metrics_.stale;  // the trials of its generation are over
    }
  }

  // A trial outcome of generation `gen` on the state machine (the reaper's
  // kFailure too, which counts nothing in Metrics()). False if that
  // generation's trials are over.
  bool TrialVerdict(uint32_t gen, bool failure, bool slow, int64_t now,
                    std::optional<int64_t> retry_open_nanos) {
    // A HALF_OPEN period past its deadline reopens first: the outcome is
    // then late, and stale.
    ApplyHalfOpenDeadline(now);
    if (gen != gen_ || state_ != State::kHalfOpen || in_flight_ == 0) return false;
    --in_flight_;
    if (slow) ++trial_slow_;
    // S of K: a trial failed if it failed, or if it was slow while slow
    // calls count. By rate, failures and slow calls count apart.
    const bool counted_failure = judge_by_rate_ ? failure : failure || (slow && slow_pct_ > 0);
    ++(counted_failure ? trial_failures_ : trial_successes_);
    // Under the shared state, counted only: the verdict is the shared
    // store's, over every instance's trials.
    if (shared()) return true;
    if (retry_open_nanos.has_value()) {
      // The dependency said when to come back: no verdict to wait for.
      Open(now, TripCause::kRetryAfter, static_cast<double>(*retry_open_nanos) / 1e9, 0,
           *retry_open_nanos);
      return true;
    }
    if (!judge_by_rate_) {
      // S successes close; more than K - S failures reopen.
      if (trial_successes_ >= to_close_) {
        Close(now, /*verdict=*/true);
      } else if (trial_failures_ > trial_calls_ - to_close_) {
        Open(now, TripCause::kTrialFailures, trial_failures_, trial_calls_ - to_close_ + 1);
      }
      return true;
    }
    const uint32_t done = trial_successes_ + trial_failures_;
    if (done < trial_calls_) return true;
    const double d = static_cast<double>(done);
    const bool failure_trip =
        failure_pct_ > 0 && static_cast<double>(trial_failures_) * 100.0 >= failure_pct_ * d;
    const bool slow_trip =
        slow_pct_ > 0 && static_cast<double>(trial_slow_) * 100.0 >= slow_pct_ * d;
    if (failure_trip || slow_trip) {
      Open(now, failure_trip ? TripCause::kTrialFailureRate : TripCause::kTrialSlowCallRate,
           static_cast<double>(failure_trip ? trial_failures_ : trial_slow_) * 100.0 / d,
           failure_trip ? failure_pct_ : slow_pct_);
    } else {
      Close(now, /*verdict=*/true);
    }
    return true;
  }

  // ---- The latency-percentile trip (latency_percentile) ----

  // A duration the caller gave, in whole nanoseconds as the breaker keeps
  // it: negative counts as 0, huge ones saturate at INT64_MAX / 2.
  static int64_t MeasuredNanos(absl::Duration took) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max() >> 1;
    if (took <= absl::ZeroDuration()) return 0;
    if (took >= absl::Nanoseconds(kMax)) return kMax;
    return absl::ToInt64Nanoseconds(took);
  }

  // The nearest rank of the percentile among n > 0 durations: ceil(p /
  // 100 x n), at least 1 (and at most n), in exact arithmetic with p as
  // the decimal it was written as when it is one.
  uint64_t LatencyRank(uint64_t n) const {
    uint64_t rank;
    if (latency_den_ > 0) {
      const uint64_t den = latency_den_ * 100;
      rank = (latency_num_ * n + den - 1) / den;
    } else {
      rank = static_cast<uint64_t>(
          std::ceil(static_cast<long double>(latency_pct_) * static_cast<long double>(n) / 100));
    }
    return std::min(std::max<uint64_t>(rank, 1), n);
  }

  // A normal permit's outcome with a duration of `nanos`, at `now`, before
  // anything else it does: if its generation is the current CLOSED or
  // METRICS_ONLY one, the window is judged once per (generation, bucket),
  // before the call counts itself; then it counts.
  void LatencyOutcome(const ModelPermit& p, int64_t nanos, int64_t now) {
    if (p.generation != gen_ || (state_ != State::kClosed && state_ != State::kMetricsOnly)) {
      return;
    }
    const int64_t epoch = EpochOf(now);
    if (!latency_judged_ || latency_judged_gen_ != gen_ || latency_judged_epoch_ != epoch) {
      latency_judged_ = true;
      latency_judged_gen_ = gen_;
      latency_judged_epoch_ = epoch;
      // The window: this generation's calls of the last window_buckets
      // buckets (and of this one, none yet).
      while (!latency_calls_.empty() && latency_calls_.front().epoch < epoch - buckets_) {
        latency_calls_.pop_front();
      }
      std::array<uint64_t, kModelDurationBins> counts{};
      for (const LatencyCall& call : latency_calls_) ++counts[static_cast<size_t>(call.bin)];
      const uint64_t n = latency_calls_.size();
      int bin = -1;
      if (n > 0) {
        const uint64_t rank = LatencyRank(n);
        uint64_t seen = 0;
        for (bin = 0; bin < kModelDurationBins; ++bin) {
          seen += counts[static_cast<size_t>(bin)];
          if (seen >= rank) break;
        }
      }
      latency_last_ = true;
      latency_last_gen_ = gen_;
      latency_last_calls_ = n;
      latency_last_bin_ = bin;
      if (n >= static_cast<uint64_t>(minimum_calls_) && bin > latency_threshold_bin_ &&
          state_ == State::kClosed && !shared()) {
        Open(now, TripCause::kLatencyPercentile, ModelBinSeconds(bin),
             ModelBinSeconds(latency_threshold_bin_));
        return;  // the call counts in the generation it has just ended
      }
    }
    latency_calls_.push_back(LatencyCall{epoch, ModelDurationBin(nanos)});
  }

  // ---- Per-probe deadlines (half_open_probe_timeout) ----

  // Deadlines are kept in ms since the breaker's creation; the breaker's
  // entry holds them modulo 2^37.
  static constexpr int64_t kMaxProbeMs = (int64_t{1} << 37) - 1;

  // Right after a trial's admission: the first slot that is free or holds
  // an entry of a generation neither the trial's nor the current one (the
  // same here: single-threaded, the trial's generation is the current
  // one), deadline = ceil((elapsed + timeout) / 1 ms).
  void ClaimProbeSlot(ModelPermit& p, int64_t now) {
    if (probe_slots_.empty() || p.generation != gen_) return;
    const int64_t nanos = (now - base_) + probe_timeout_nanos_;
    int64_t deadline_ms = (nanos + 999'999) / 1'000'000;
    for (size_t i = 0; i < probe_slots_.size(); ++i) {
      ProbeEntry& e = probe_slots_[i];
      if (e.used && e.gen == gen_) continue;  // a trial of this period holds it
      e.used = true;
      e.gen = gen_;
      e.deadline_ms = deadline_ms;
      e.stamp = ++probe_claims_;  // every claim's entry differs
      p.probe_stamp = e.stamp;
      p.probe_slot = static_cast<int>(i);
      p.probe_deadline_ms = deadline_ms;
      return;
    }
  }

  // A resolving trial frees its slot if it still holds its own entry;
  // false if a reaper took it (the trial timed out). True for a permit
  // with no slot.
  bool FreeProbeSlot(const ModelPermit& p) {
    if (p.probe_slot < 0) return true;
    ProbeEntry& e = probe_slots_[static_cast<size_t>(p.probe_slot)];
    if (!e.used || e.stamp != p.probe_stamp) return false;
    e.used = false;
    return true;
  }

  // Due at its deadline or after, whenever that was: deadlines are kept
  // modulo 2^37 ms (4.36 years), and one is not yet due only while it is at
  // most the timeout (rounded up to a ms) plus 1 ms ahead of now_ms.
  bool ProbeDue(int64_t now_ms, int64_t deadline_ms) const {
    const uint64_t mask = static_cast<uint64_t>(kMaxProbeMs);
    const uint64_t ahead =
        (static_cast<uint64_t>(deadline_ms) - static_cast<uint64_t>(now_ms)) & mask;
    const uint64_t horizon = static_cast<uint64_t>((probe_timeout_nanos_ + 999'999) / 1'000'000) + 1;
    return ahead == 0 || ahead > horizon;
  }

  // ReapExpiredProbes(): HALF_OPEN with trials in flight: in slot order,
  // every entry of the current generation at or past its deadline
  // (now_ms = floor(elapsed / 1 ms)) is freed, counted in probe_timeouts
  // and resolved as half_open_probe_timeout_outcome says: kFailure as a
  // trial's plain Failure() on the state machine (no Metrics() failure),
  // kReleased as its slot given back. Once a reaped failure has moved the
  // generation on, the later entries are not of the current one.
  void ReapExpiredProbes(int64_t now) {
    if (probe_slots_.empty() || state_ != State::kHalfOpen || in_flight_ == 0) return;
    const uint32_t gen = gen_;
    const int64_t now_ms = (now - base_) / 1'000'000;
    for (ProbeEntry& e : probe_slots_) {
      if (!e.used || e.gen != gen_) continue;
      if (!ProbeDue(now_ms, e.deadline_ms)) continue;
      e.used = false;
      ++probe_timeouts_;
      if (!probe_released_) {
        TrialVerdict(gen, /*failure=*/true, /*slow=*/false, now, std::nullopt);
      } else {
        ApplyHalfOpenDeadline(now);
        if (gen == gen_ && state_ == State::kHalfOpen && in_flight_ > 0) --in_flight_;
      }
    }
  }

  bool shared() const { return sharing_ == Sharing::kShared; }

  // Configuration.
  const int64_t base_;  // the clock when the breaker was created
  const int consecutive_to_open_;
  const double failure_pct_;
  const double slow_pct_;
  const absl::Duration slow_duration_;
  const bool measure_;
  const bool caller_clock_;  // SlowCallClock::kCaller: only measured durations
  const bool window_on_;
  const bool time_window_;
  const int window_size_;
  const int64_t buckets_;
  const int64_t bucket_nanos_;
  const int64_t minimum_calls_;
  const double open_nanos_d_;  // open_duration in nanoseconds, fraction kept
  const double max_open_nanos_d_;
  const int64_t max_open_nanos_;
  const double multiplier_;
  const double jitter_;
  const uint32_t max_concurrent_;
  const uint32_t trial_calls_;
  const uint32_t to_close_;
  const bool judge_by_rate_;
  const int64_t half_open_max_nanos_;
  const double half_open_max_seconds_;
  const int64_t probe_timeout_nanos_;  // half_open_probe_timeout; 0: off
  const bool probe_released_;          // ProbeTimeoutOutcome::kReleased
  const int64_t slow_start_nanos_;     // slow_start_duration; 0: off
  const bool throttling_;              // adaptive_throttling
  const double throttle_k_;            // adaptive_throttling_k
  const bool latency_on_;              // latency_percentile > 0
  const double latency_pct_;           // latency_percentile
  const int latency_threshold_bin_;    // the bin of latency_percentile_threshold
  uint64_t latency_num_ = 0;           // latency_percentile = num / den (den 0: not a decimal)
  uint64_t latency_den_ = 0;

  // State.
  State state_ = State::kClosed;
  uint32_t gen_ = 0;
  int64_t open_until_lo_ = 0;  // OPEN: trials from then (a range with jitter)
  int64_t open_until_hi_ = 0;
  int64_t half_open_until_ = 0;  // HALF_OPEN: lost trials reopen from then; 0 never
  uint32_t in_flight_ = 0;
  uint32_t trial_successes_ = 0;
  uint32_t trial_failures_ = 0;
  uint32_t trial_slow_ = 0;
  uint32_t reopen_count_ = 0;
  // Slow start: the gate (CLOSED after the trials' verdict, until the
  // first admission at or past the ramp's end) and that end.
  // The gate is also set by a throttle judge; has_ramp_: this generation
  // closed ramping (the deadline word's end is 0 otherwise).
  bool gated_ = false;
  bool has_ramp_ = false;
  int64_t ramp_end_ = 0;
  // Adaptive throttling (kept only with it on): the state word's `want`
  // bit; whether the rate window's log is this generation's (a failure or
  // slow call of it has been folded); window_judged_ (the bucket of the
  // last fold that wrote the log, and whether the window held a failure or
  // slow call then; not per generation); the bucket this generation's
  // window started in (Rebase(); 0 for the first); throttle_word_ (the
  // generation and p x 2^32 of the last judge); throttle_judged_ (the
  // bucket + 1 of the last gated admission's judge; 0: none); the gate's
  // rejections by bucket (not per generation).
  bool want_ = false;
  bool log_for_gen_ = false;
  int64_t judged_epoch_ = 0;
  bool judged_held_ = false;
  int64_t window_base_epoch_ = 0;
  uint32_t throttle_gen_ = 0;
  uint64_t throttle_scaled_ = 0;
  uint64_t throttle_claim_ = 0;
  std::deque<Bucket> throttled_;
  // The current streak of like answers to gated draws (NoteDraw()).
  bool streak_admitted_ = false;
  uint64_t streak_length_ = 0;
  double streak_log2_ = 0;
  // The latency-percentile trip: the current generation's counted calls
  // (bucket, bin), oldest first; the last (generation, bucket) judged; and
  // what that judgment found (for Snapshot()).
  struct LatencyCall {
    int64_t epoch;
    int bin;
  };
  std::deque<LatencyCall> latency_calls_;
  bool latency_judged_ = false;
  uint32_t latency_judged_gen_ = 0;
  int64_t latency_judged_epoch_ = 0;
  bool latency_last_ = false;
  uint32_t latency_last_gen_ = 0;
  uint64_t latency_last_calls_ = 0;
  int latency_last_bin_ = -1;
  uint64_t run_ = 0;                        // consecutive failures of the current generation
  std::deque<CallFlags> count_window_;      // the last window_size calls
  std::deque<Bucket> time_window_buckets_;  // calls by epoch, oldest first
  ModelMetrics metrics_;
  // Per-probe deadlines: half_open_max_concurrent slots (none when off).
  struct ProbeEntry {
    bool used = false;
    uint32_t gen = 0;
    int64_t deadline_ms = 0;
    uint64_t stamp = 0;  // the claim's, unique (the breaker's entry holds it)
  };
  std::vector<ProbeEntry> probe_slots_;
  uint64_t probe_timeouts_ = 0;
  uint64_t probe_claims_ = 0;
  // The distributed mode: the sharing, and SharedControl::Lend()'s grant
  // (HALF_OPEN generation lent_gen_ may start lent_slots_ trials).
  Sharing sharing_ = Sharing::kLocal;
  uint32_t lent_gen_ = 0;
  uint32_t lent_slots_ = 0;
  // For Snapshot(): the last trip (TripReason), the current OPEN period
  // (a range with jitter) and the window that opened it.
  TripCause trip_cause_ = TripCause::kNone;
  double trip_value_ = 0;
  double trip_threshold_ = 0;
  uint32_t trip_gen_ = 0;
  int64_t open_period_lo_ = 0;
  int64_t open_period_hi_ = 0;
  // Which window the OPEN breaker shows (Open()).
  enum class TrippedWindow : uint8_t { kNone, kClosed, kTrials };
  TrippedWindow tripped_window_ = TrippedWindow::kNone;
  std::deque<CallFlags> tripped_count_window_;
  std::deque<Bucket> tripped_buckets_;
  uint32_t tripped_trial_successes_ = 0;
  uint32_t tripped_trial_failures_ = 0;
  uint32_t tripped_trial_slow_ = 0;
};

}  // namespace circuit_fuzz

#endif  // CIRCUIT_FUZZ_BREAKER_MODEL_H_
