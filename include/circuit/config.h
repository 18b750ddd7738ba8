// File: circuit/config.h
// `circuit::BreakerConfig` tunes one breaker: a plain struct whose defaults
// open after 5 consecutive failures (the best-known Python breaker's,
// pybreaker's, fail_max), stay open 30 s (pybreaker waits 60), then let one
// trial call through and close if it succeeds. Rate-based trips are off until a threshold is set;
// setting one turns the default of 5 consecutive failures off (set
// consecutive_failures_to_open to have both).
//
// Example:
//   circuit::BreakerConfig config;
//   config.name = "payments";
//   config.failure_rate_threshold = 50;        // percent
//   config.window_type = circuit::WindowType::kTimeBased;
//   config.window_duration = absl::Seconds(10);
//   config.minimum_calls = 20;
//   auto breaker = circuit::Breaker::Create(config);  // validates
//   if (!breaker.ok()) LOG(ERROR) << breaker.status();
//
// ValidateConfig() explains what is wrong in a message that names the field,
// e.g. "BreakerConfig.window_size must be in 1..1000000, got 0".
#ifndef CIRCUIT_CONFIG_H_
#define CIRCUIT_CONFIG_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/classify.h"
#include "circuit/clock.h"

namespace circuit {

enum class WindowType : uint8_t {
  // The last `window_size` calls.
  kCountBased,
  // The calls of the last `window_duration`, kept in `window_buckets`
  // buckets; the oldest bucket is dropped whole as time moves on.
  kTimeBased,
};

// Which clock measures call durations for slow-call detection.
enum class SlowCallClock : uint8_t {
  // kCoarse when slow_call_duration is at least kCoarseSlowCallMinimum
  // (its error is then at most a few percent of it), else kPrecise.
  kAuto,
  // Clock::NowNanos() (CLOCK_MONOTONIC by default: about 20-40 ns a read,
  // two reads a call). Exact.
  kPrecise,
  // Clock::CoarseNowNanos() (CLOCK_MONOTONIC_COARSE: about 2 ns a read).
  // A duration is measured between two ticks of the coarse clock, so it is
  // off by less than one tick (4 ms at the kernel's HZ=250, 1 ms at
  // HZ=1000) either way: a call within a tick of slow_call_duration may be
  // judged on the wrong side of it.
  kCoarse,
  // No clock at all: only durations the caller measured and passed to
  // Permit::Success(absl::Duration) (and friends) are judged; a permit
  // resolved without one is never slow.
  kCaller,
};

// What a half-open trial that outlived half_open_probe_timeout counts as.
enum class ProbeTimeoutOutcome : uint8_t {
  // A failed trial: under S of K it may reopen the breaker (with S = K, the
  // default, it does), judged by rate it counts among the trials' failures.
  kFailure,
  // Its slot goes back and nothing is counted, as if it had been released:
  // the next call may probe instead.
  kReleased,
};

// kAuto picks the coarse clock for a slow_call_duration of at least this:
// 100 ms, 25 coarse ticks at HZ=250, so the error is under 4 %.
inline constexpr absl::Duration kCoarseSlowCallMinimum = absl::Milliseconds(100);

struct BreakerConfig {
  // Names the breaker in rejections, metrics and logs. Default: "breaker".
  std::string name = "breaker";

  // ---- Behaviour: what trips the breaker -------------------------------

  // Failures in a row, while CLOSED, that open the breaker. A success resets
  // the run. Unset, it follows the other trip conditions: 5 (pybreaker's
  // default) when neither failure_rate_threshold nor slow_call_rate_threshold
  // is set, else off, so that a breaker meant to open on a rate opens on the
  // rate alone. Set, it applies whatever else is set (with a rate threshold,
  // the first condition to hold opens the breaker); 0 turns it off, and then
  // a rate threshold must be set: ValidateConfig() rejects a config that
  // nothing can trip (to record calls and never trip, use
  // Breaker::MetricsOnly()). EffectiveConsecutiveFailuresToOpen() gives the
  // value in force. Default: unset. Must be 0..1'000'000'000.
  std::optional<int> consecutive_failures_to_open;

  // Percentage of failed calls in the window at or above which the breaker
  // opens. 0 disables this trip. Default: 0 (off). Must be in 0..100.
  double failure_rate_threshold = 0;

  // Percentage of slow calls (see slow_call_duration) in the window at or
  // above which the breaker opens. 0 disables this trip. Default: 0 (off).
  // Must be in 0..100. Turning it on makes every permit read the precise
  // clock twice (about 2 x 40 ns with the system clock).
  double slow_call_rate_threshold = 0;

  // A call that takes at least this long is slow. Default: 60 s.
  // Must be >= 1 ns.
  absl::Duration slow_call_duration = absl::Seconds(60);

  // Which clock times calls for slow-call detection (see SlowCallClock).
  // A permit resolved with a duration the caller measured itself
  // (Permit::Success(absl::Duration) and friends) reads no clock at all.
  // Default: kAuto.
  SlowCallClock slow_call_clock = SlowCallClock::kAuto;

  // The latency-percentile trip: the breaker opens when the
  // latency_percentile-th percentile of the durations of the window's calls
  // is above latency_percentile_threshold (p99 over 250 ms, say), besides
  // the other conditions (or instead of them: a config with only this and
  // consecutive_failures_to_open = 0 opens on latency alone). The
  // percentile is the nearest rank (the ceil(p / 100 x n)-th smallest of n
  // durations), so "p99 above 250 ms" means more than 1 % of the calls
  // took longer than 250 ms: with n calls, it holds once fewer than
  // ceil(0.99 x n) took at most 250 ms.
  //   * Durations: every call with an outcome (success or failure)
  //     admitted in the CLOSED period judged, timed as for slow-call
  //     detection (slow_call_clock) or given by the caller. Calls of an
  //     earlier state that end in this one, ignored and released calls do
  //     not count.
  //   * Bins: the log-linear bins of circuit/call_durations.h (at most
  //     12.5 % wide from 1 us to 100 s). The threshold is rounded up to its
  //     bin's bound (Snapshot().latency_percentile_threshold shows it); the
  //     1-2.5-5 series (10 ms, 25 ms, 50 ms, 100 ms, 250 ms ...) are bounds
  //     themselves, exact.
  //   * When: judged once a bucket of the time window, by the first outcome
  //     of each bucket (the first of a CLOSED period also marks where its
  //     window starts), never per call; so it acts up to one bucket
  //     (window_duration / window_buckets) after the calls that make it.
  //     Not judged below minimum_calls calls in the window. Never while
  //     HALF_OPEN (trials are judged as configured) or METRICS_ONLY.
  //   * Cost: every call with an outcome reads the clocks of slow-call
  //     detection (none with kCaller), takes the out-of-line outcome path
  //     and adds to one more word of the caller's own stripe (a binary
  //     search of 8 steps for its bin); each breaker keeps 242 words in
  //     every stripe and CPU block and 242 x (window_buckets + 1) words for
  //     the window's judge.
  // Requires window_type kTimeBased. Default: 0 (off). Must be in 0..100.
  double latency_percentile = 0;

  // The duration the latency_percentile-th percentile must not exceed.
  // Required (1 us..100 s) when latency_percentile is set.
  absl::Duration latency_percentile_threshold = absl::ZeroDuration();

  // The window the two rates are computed over. Default: kCountBased.
  WindowType window_type = WindowType::kCountBased;

  // kCountBased: the number of most recent calls in the window.
  // Default: 100. Must be 1..1'000'000 (the breaker keeps 16 bytes a call
  // of event log).
  int window_size = 100;

  // kTimeBased: the span of the window. Default: 60 s. Must be >= 1 ns, and
  // window_duration / window_buckets must be at least 1 ms (finer buckets
  // than the coarse clock's resolution would only be noise).
  absl::Duration window_duration = absl::Seconds(60);

  // kTimeBased: how many buckets the span is cut into; the window slides a
  // bucket at a time. Default: 10. Must be 1..1000.
  int window_buckets = 10;

  // The rates are not judged until the window holds at least this many
  // calls (for kCountBased, at most window_size are ever needed).
  // Default: 100. Must be >= 1.
  int minimum_calls = 100;

  // ---- Behaviour: OPEN ---------------------------------------------------

  // How long the breaker stays OPEN before admitting trial calls.
  // Default: 30 s. Must be >= 1 ns.
  absl::Duration open_duration = absl::Seconds(30);

  // Each re-opening from HALF_OPEN multiplies the open duration by this,
  // up to max_open_duration; closing resets it. Default: 1 (no backoff).
  // Must be in 1..1000.
  double open_backoff_multiplier = 1;

  // Cap of every open period, backoff and jitter included. Default: 10 min.
  // Must be >= open_duration and <= 365 days.
  absl::Duration max_open_duration = absl::Minutes(10);

  // Randomizes each open duration by up to this fraction either way, so
  // that many clients do not probe in lockstep; the result is then capped at
  // max_open_duration (so at the cap, jitter only shortens). Default: 0.
  // Must be in 0..1 (exclusive of 1).
  double open_jitter = 0;

  // ---- Behaviour: HALF_OPEN ----------------------------------------------

  // Trial calls in flight at once while HALF_OPEN. Default: 1. Must be
  // 1..255 and <= half_open_trial_calls.
  int half_open_max_concurrent = 1;

  // Trial calls that decide: when half_open_judge_by_rate is false, this
  // many successful trials close the breaker and any failed trial (or slow
  // one, when slow_call_rate_threshold is set) reopens it; when true, once
  // this many trials have completed their failure and slow rates are
  // compared with the thresholds above. Trials admitted
  // and not yet released never outnumber it minus the trials completed
  // (a released or ignored trial hands its slot back, so more than this
  // many may be admitted in one HALF_OPEN period, never more than this
  // many decide). Default: 1. Must be 1..255.
  int half_open_trial_calls = 1;

  // S of the K = half_open_trial_calls trials (failsafe-go's success
  // threshold): the breaker closes once S trials have succeeded and reopens
  // once more than K - S have failed (a slow trial counts as failed when
  // slow_call_rate_threshold is set), so one unlucky probe does not keep a
  // mostly healthy dependency out. At most half_open_max_concurrent trials
  // are in flight at once, and no more are admitted than can still change
  // the verdict. 0 means K: every trial must succeed, any failure reopens.
  // Default: 0. Must be 0 or 1..half_open_trial_calls; with
  // half_open_judge_by_rate it must be 0 (the rates decide).
  int half_open_successes_to_close = 0;

  // See half_open_trial_calls. Default: false (a single failed trial
  // reopens). Requires failure_rate_threshold or slow_call_rate_threshold.
  bool half_open_judge_by_rate = false;

  // The longest a HALF_OPEN period may last without a verdict
  // (resilience4j's maxWaitDurationInHalfOpenState): past it the breaker is
  // OPEN again, whether or not trial slots are free, with a new open period
  // (and backoff) starting at this deadline; the late trials' outcomes are
  // stale. Whatever looks first after the deadline makes the transition: a
  // call, a resolution, state(), Snapshot(). 0 disables.
  // Default: 0. Must be 0 or in 1 ns..365 days.
  absl::Duration half_open_max_duration = absl::ZeroDuration();

  // The longest one trial call may take (a per-probe deadline): a trial
  // that has neither resolved nor been released this long after it was
  // admitted gives its slot back and counts as half_open_probe_timeout_outcome
  // says, so a probe that hangs (a lost connection, a call with no timeout
  // of its own) never wedges the breaker in HALF_OPEN. There is no
  // background thread: the first call that finds no trial slot free after
  // the deadline (or state(), Snapshot()) reaps it, so it takes effect
  // within one coarse-clock tick (a few ms) of the deadline, or at the next
  // look. The late outcome of a reaped trial is stale: it changes nothing.
  // 0 disables. Default: 0. Must be 0 or in 1ms..365 days.
  absl::Duration half_open_probe_timeout = absl::ZeroDuration();

  // What a trial past half_open_probe_timeout counts as. Default: kFailure.
  ProbeTimeoutOutcome half_open_probe_timeout_outcome = ProbeTimeoutOutcome::kFailure;

  // ---- After recovery ---------------------------------------------------------

  // Slow start: for this long after HALF_OPEN closes the breaker, admit a
  // rising fraction of calls, linear from 0 to all of them, and reject the
  // rest (Permit::rejected_state() CLOSED, retry_after() the time left in
  // the ramp, Metrics().shed), so that a dependency that has just recovered
  // is not hit by the full load at once. The fraction is elapsed / this, on
  // the coarse clock (ticks of a few ms: the first tick after closing admits
  // nothing); each admission draws against it from a per-thread generator,
  // so it is a probability, not a quota. Outcomes are judged as in any
  // CLOSED period: a trip during the ramp opens the breaker as usual. Only
  // the HALF_OPEN -> CLOSED verdict ramps: Reset() (and a ManualControl's
  // release) and the shared state's CLOSED admit everything at once. 0 disables. Default: 0.
  // Must be 0 or in 1ms..1 day.
  absl::Duration slow_start_duration = absl::ZeroDuration();

  // ---- Adaptive throttling ------------------------------------------------

  // Client-side throttling after Google's SRE book ("Handling Overload"):
  // while CLOSED, reject each call locally with probability
  //   max(0, (requests - adaptive_throttling_k * accepts) / (requests + 1))
  // over the time window, where requests are the calls with an outcome plus
  // the calls the throttle rejected (not those slow start's ramp shed:
  // with both on, an admission draws against the ramp first, then against
  // the throttle), and accepts are the successes. So the breaker degrades smoothly
  // as the dependency accepts less, instead of all or nothing, and lets
  // through about K times what the dependency accepts. It composes with the
  // trip conditions: they are judged as always, and a trip opens the
  // breaker as usual. A throttled call is rejected with rejected_state()
  // CLOSED and retry_after() the time until the probability is next judged
  // (the next bucket), and counted in Metrics().rejected, .shed and
  // .throttled.
  //
  // The probability is judged when the window folds (every failure or slow
  // call) and, while calls are being throttled, once a bucket by the first
  // admission of the bucket; each admission draws against it from a
  // per-thread generator (no shared write). Requires window_type
  // kTimeBased. Default: false.
  //
  // The throttled calls count as requests, so once the dependency accepts
  // less than 1/K of what is sent the probability climbs towards 1 (the
  // formula's fixed point), a trickle still getting through; and after a
  // total outage it eases off only as that trickle's successes build up the
  // accepts: with K = 2, from nearly all rejected to none takes about five
  // windows (tests/throttle_test.cc). A throttled window may also hold too
  // few calls for a rate to be judged (minimum_calls): keep failures in a
  // row (consecutive_failures_to_open) as a trip, so a total outage opens
  // the breaker, whose recovery starts a new window with nothing to
  // throttle.
  //
  // One interplay to know: the throttle's rejections are counted by
  // bucket, not by generation, so those of the bucket in which the breaker
  // last closed (Reset() included) still count in the new window while that
  // bucket is in it. The recovery pace above is K = 2's: a lower K eases
  // off more slowly still.
  bool adaptive_throttling = false;

  // K in the formula above: the dependency is sent up to K times the calls
  // it accepts. 2 is the SRE book's default; lower throttles sooner. Must be
  // in 1..100. Default: 2.
  double adaptive_throttling_k = 2;

  // ---- Observability ---------------------------------------------------------

  // Keeps a histogram of call durations (circuit/call_durations.h;
  // Breaker::Durations(), and circuit_breaker_call_duration_seconds in the
  // Prometheus export). Durations are measured with the clock slow-call
  // detection uses (slow_call_clock; kAuto chooses by slow_call_duration as
  // there), or taken from the caller (Permit::Success(absl::Duration) and
  // friends; with kCaller, only those). It costs every call with an outcome
  // the clock reads of slow-call detection (none with kCaller), the call of
  // an out-of-line outcome path and two adds to the caller's own stripe
  // (about 2-4 ns, plus the clock, and a binary search of 8 steps for the
  // call's bin), and each breaker 243 words in every stripe and CPU block. A call whose outcome is ignored, or that is
  // released unresolved, is not recorded. Default: false.
  bool record_call_durations = false;

  // ---- Classification ------------------------------------------------------

  // Which statuses are failures. Default (empty): every non-OK status.
  StatusClassifier status_is_failure;

  // Which exceptions are failures. Default (empty): every exception.
  ExceptionClassifier exception_is_failure;

  // Which exceptions are ignored (neither success nor failure); asked before
  // exception_is_failure. Default (empty): none.
  ExceptionClassifier exception_is_ignored;

  // ---- Performance -----------------------------------------------------------
  // Most clients should leave these alone.

  // Where time is read. Default: nullptr, the system clock, read without a
  // virtual call. Not owned; must outlive the breaker.
  const Clock* clock = nullptr;

  // Counter stripes that a thread owns alone. Threads are numbered
  // process-wide, lowest free number first; a thread numbered below
  // `stripes` counts into its own stripe with one non-locked add (about
  // 0.1 ns here). Every other thread counts into the block of the CPU it
  // runs on (a restartable sequence, about 0.4 ns; see
  // circuit/internal/stripes.h), which no thread on another CPU writes, so
  // any number of threads stays off shared lines: own stripes only shave
  // the first threads' cost.
  // Memory per breaker: stripes x (128 B + 8 B a time bucket, rounded up to
  // 128 B) plus, for every CPU id and one shared region, 80 B + 8 B a time
  // bucket, each plus 1944 B with record_call_durations and 1936 B with
  // latency_percentile (a page of a CPU's region is resident only once a
  // thread on that CPU has counted there).
  // Default (unset): DefaultStripes(), twice the CPUs this process may run
  // on, at most 8. Must be 0..1024.
  std::optional<int> stripes;
};

// DefaultStripes()
// The own stripes of a breaker whose config leaves `stripes` unset: twice
// the number of CPUs in the process's affinity mask when it first asks, at
// most kMaxDefaultStripes. As many threads as there are CPUs run at once,
// and services commonly run about twice that (request and I/O threads); the
// first of them get the cheapest add. The cap keeps a breaker's memory small
// on big machines (the per-CPU blocks already keep every other thread off
// shared lines, for about 1.5x an own stripe's cost a call).
inline constexpr int kMaxDefaultStripes = 8;
int DefaultStripes();

// EffectiveStripes()
// `config.stripes` if set, else DefaultStripes().
int EffectiveStripes(const BreakerConfig& config);

// ValidateConfig()
// Returns OK, or InvalidArgumentError naming the first bad field and value:
// "BreakerConfig.<field> must be <rule>, got <value>".
absl::Status ValidateConfig(const BreakerConfig& config);

// EffectiveConsecutiveFailuresToOpen()
// The consecutive-failure trip in force for `config`: its
// consecutive_failures_to_open if set; unset, 5 when neither
// failure_rate_threshold nor slow_call_rate_threshold is set, else 0.
// 0: consecutive failures never open the breaker.
int EffectiveConsecutiveFailuresToOpen(const BreakerConfig& config);

}  // namespace circuit

#endif  // CIRCUIT_CONFIG_H_
