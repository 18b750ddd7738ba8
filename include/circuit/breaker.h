// File: circuit/breaker.h
// `circuit::Breaker` guards calls to one dependency (a database, a payment
// API, another service). It opens on consecutive failures, or on the failure
// or slow-call rate over a sliding window, rejects calls while OPEN, then
// lets a bounded number of trial calls through while HALF_OPEN and closes
// when they succeed.
//
// Example (two layers):
//   auto breaker = circuit::Breaker::Create(config).value();
//
//   // 1. Permits: the breaker never runs your code.
//   if (circuit::Permit permit = breaker->TryAcquire()) {
//     permit.Record(CallPayments());          // classified by the config
//   } else {
//     return permit.RejectionStatus();        // kUnavailable, no exception
//   }
//
//   // 2. Wrappers: the breaker runs the callable and classifies its status,
//   //    its result or what it threw (recorded, then rethrown).
//   absl::StatusOr<Quote> quote = breaker->Call([&] { return GetQuote(id); });
//   Quote q = breaker->Call([](const std::string& id) { return GetQuote(id); },
//                           [](const absl::Status& /*why*/, const std::string& id) {
//                             return CachedQuote(id);   // the fallback
//                           },
//                           id).value();
//
// Transitions (state, generation, trials in flight):
//   CLOSED,g,0    -> OPEN,g+1,0       a trip condition holds, judged after
//                                     every outcome (a success that brings
//                                     the window to minimum_calls included)
//   OPEN,g,0      -> HALF_OPEN,g+1,1  the first call after the open duration
//                                     (exactly one caller wins the CAS)
//   HALF_OPEN,g,n -> HALF_OPEN,g,n+1  a trial admitted (n < max concurrent)
//   HALF_OPEN,g,n -> CLOSED,g+1,0     S of the T trials succeeded
//   HALF_OPEN,g,n -> OPEN,g+1,0       more than T - S trials failed (or the
//                                     trial rates crossed a threshold, or the
//                                     period outlived half_open_max_duration)
//   any,g         -> FORCED_OPEN / DISABLED / METRICS_ONLY, g+1   by operator
//   any,g         -> CLOSED,g+1,0     Reset()
//   CLOSED, OPEN or HALF_OPEN,g -> another of them, g+1
//                                     the shared state, while the breaker
//                                     is shared (circuit/sharing.h), which
//                                     then makes the three automatic
//                                     transitions above in its stead
//
// Thread safety: every member may be called concurrently. Nothing on the
// call path (TryAcquire, resolving a permit, Call) takes a lock, allocates
// or makes a system call. Reading the state is one load. A success in CLOSED
// writes only the calling thread's own counter stripe (see
// circuit/internal/stripes.h); failures, slow calls and transitions write
// shared words with CAS.
//
// Exactness under concurrency:
// - Transitions and half-open trial accounting are exact: they live in one
//   word changed only by CAS, and a permit's outcome from an older generation
//   never changes the current one.
// - Consecutive failures are exact in the order in which the failures and
//   the successes that follow them reach the shared run counter (a success
//   reads it and writes only when it must reset a non-zero run).
// - The count window places each failure or slow call at the position given
//   by the number of calls recorded when it is folded into the window, which
//   is a sum of per-thread stripes. With calls completing one at a time it is
//   exactly the last N calls; with calls completing concurrently a call can
//   be placed up to the number of calls then in flight away from its true
//   position, so the window's edge is fuzzy by that many calls and the rates
//   by that many calls over N. No call is lost or counted twice.
// - The time window counts calls into per-thread buckets chosen with the
//   coarse clock (resolution a few ms): a call near a bucket boundary may be
//   counted in the neighbouring bucket, so the window's edge is fuzzy by the
//   coarse clock's resolution.
// - Outcomes racing with a transition into CLOSED (checked against the old
//   generation just before it changed) may be counted among the new
//   window's calls (as calls only: the failures among them are dropped);
//   their number is bounded by the calls in flight at that instant.
// - No failure or slow call waits for a later failure to be judged: the
//   fold it asks for judges it, or, when the thread folding for everyone
//   stops at its bound (a storm on many threads), the next call that loads
//   the state word (an admission or a success) folds before going on.
#ifndef CIRCUIT_BREAKER_H_
#define CIRCUIT_BREAKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "circuit/classify.h"
#include "circuit/clock.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/internal/call.h"
#include "circuit/internal/state_word.h"
#include "circuit/internal/stripes.h"
#include "circuit/open_error.h"
#include "circuit/permit.h"
#include "circuit/snapshot.h"
#include "circuit/call_durations.h"
#include "circuit/state.h"

namespace circuit {

namespace internal {
class BreakerTestPeer;  // tests only: tests/breaker_test_peer.h
class LatencyWindow;
class ListenerSet;
class RateWindow;
class RetrySchedule;  // circuit/retry.h: JudgeNextRejection()
class SharedControl;  // the distributed mode's hold on a breaker
struct FoldResult;

// Why a transition happens (Breaker::Publish()).
struct TransitionWhy {
  TransitionCause cause = TransitionCause::kOperator;
  double value = 0;
  double threshold = 0;
  // Into OPEN: the open period, when the shared state sets it (-1: the
  // breaker's own, with backoff and jitter).
  int64_t open_nanos = -1;
};
}  // namespace internal

// FallbackFailureReason()
// For what Call(fn, fallback, ...) returned when its fallback failed: the
// status the call had failed or been rejected with (its code and message;
// IsRejection() holds for it if it was a rejection). nullopt for any other
// status.
std::optional<absl::Status> FallbackFailureReason(const absl::Status& status);

// A snapshot of a breaker's lifetime counters. Each counter is exact once
// the calls have stopped; while they run, a snapshot may miss increments in
// flight. permitted == successes + failures + ignored + released + (permits
// still outstanding).
struct BreakerMetrics {
  State state = State::kClosed;
  uint32_t generation = 0;
  uint64_t permitted = 0;  // permits issued (not counting DISABLED's)
  uint64_t rejected = 0;   // calls refused
  uint64_t successes = 0;  // permits resolved as success
  uint64_t failures = 0;   // permits resolved as failure
  uint64_t ignored = 0;    // permits resolved as ignored
  uint64_t released = 0;   // permits given back unresolved
  uint64_t slow = 0;       // successes and failures at or over slow_call_duration
  uint64_t stale = 0;      // outcomes dropped: their generation had passed
  uint64_t opened = 0;     // transitions into OPEN
  uint64_t listener_errors = 0;  // listener calls that threw (circuit/events.h)
  // Trials that outlived half_open_probe_timeout and were reaped (each
  // counted as half_open_probe_timeout_outcome says; its permit counts its
  // own late outcome, as stale, when it resolves).
  uint64_t probe_timeouts = 0;
  // Calls rejected while CLOSED at the admission gate: by slow start's
  // ramp (slow_start_duration) or by adaptive throttling; also counted in
  // `rejected`.
  uint64_t shed = 0;
  // Of those, the calls adaptive throttling rejected (the requests it adds
  // to its formula; a call the ramp shed is not one).
  uint64_t throttled = 0;
  // Transitions made, by [from][to] (indexed by State's values).
  std::array<std::array<uint64_t, kNumStates>, kNumStates> transitions{};
};

class Breaker {
 public:
  // Breaker::Create()
  // Validates `config` (see ValidateConfig()) and builds a CLOSED breaker.
  // Allocates the counter stripes and the window once, here.
  static absl::StatusOr<std::unique_ptr<Breaker>> Create(BreakerConfig config);

  // Breaker::~Breaker()
  // Permits must not outlive the breaker: the destructor checks that every
  // permit it issued has ended and, if not, aborts the process with a
  // message naming the breaker and the number outstanding (a permit resolved
  // later would write freed memory). Destroying a breaker while other
  // threads still call it is undefined, as for any object.
  ~Breaker();

  Breaker(const Breaker&) = delete;
  Breaker& operator=(const Breaker&) = delete;

  // Breaker::TryAcquire()
  // Returns an admitted permit, or a rejected one (false) when OPEN,
  // FORCED_OPEN, or HALF_OPEN with every trial slot taken. The first call
  // after the open duration becomes the first trial. Never blocks, allocates
  // or throws; the CLOSED path is one load and one counter in the caller's
  // own stripe.
  [[nodiscard]] Permit TryAcquire() noexcept;

  // Breaker::state()
  // The state as of now: one acquire load, and, in HALF_OPEN with
  // half_open_max_duration set, a clock read: a HALF_OPEN period past its
  // limit is moved to OPEN here (there is no background thread; whatever
  // looks first after the deadline makes the transition). OPEN is reported
  // until a call arrives after the open duration (the transition to
  // HALF_OPEN is made by that call, which becomes the first trial).
  State state() const noexcept { return internal::StateOf(WordAsOfNow()); }

  // The generation: changes on every transition. Applies a due HALF_OPEN
  // deadline as state() does.
  uint32_t generation() const noexcept { return internal::GenOf(WordAsOfNow()); }

  absl::string_view name() const { return config_.name; }
  const BreakerConfig& config() const { return config_; }

  // Breaker::Metrics()
  // Sums the stripes: O(stripes). Thread-safe; the snapshot may be
  // outdated as soon as it returns.
  BreakerMetrics Metrics() const;

  // Breaker::Snapshot()
  // The window as it is now (circuit/snapshot.h): state with time-due
  // transitions applied, rates, counts, trials, open time, the last trip's
  // cause. O(stripes + events in the window). Thread-safe; takes no lock
  // the call path takes and allocates nothing; exact once calls stop.
  BreakerSnapshot Snapshot() const;

  // Breaker::Durations()
  // The histogram of call durations (circuit/call_durations.h), if
  // config().record_call_durations; else `recorded` is false. Sums the
  // stripes, like Metrics().
  CallDurations Durations() const;

  // ---- Operator controls ------------------------------------------------
  // Each moves to a new generation, so outcomes of permits issued before it
  // are dropped as stale; half-open trial slots are freed with it.

  // Breaker::Subscribe()
  // Calls `listener` on this breaker's transitions (kTransitionEvents, the
  // default) and/or every call's outcome (kCallEvents) until the returned
  // Subscription is cancelled or destroyed; see circuit/events.h for the
  // thread, the order and the cost. Thread-safe; may be called from inside
  // a listener. A null listener or an empty mask gives an empty
  // Subscription. A Subscription that outlives the breaker does nothing.
  Subscription Subscribe(std::shared_ptr<BreakerListener> listener,
                         uint32_t mask = kTransitionEvents);

  // Rejects every call until Reset().
  void ForceOpen();
  // Permits every call and records nothing until Reset().
  void Disable();
  // Permits and records every call, never trips, until Reset().
  void MetricsOnly();
  // Back to CLOSED with an empty window and no open-duration backoff.
  void Reset();

  // Breaker::ForcedBy()
  // Who put the breaker in its operator state (FORCED_OPEN, DISABLED,
  // METRICS_ONLY): "operator" for the calls above (Registry's levers
  // included), "<control>: <reason>" for a circuit::ManualControl
  // (circuit/manual_control.h). Empty in any other state. Thread-safe;
  // takes a lock no call path takes, and allocates.
  std::string ForcedBy() const;

  // ---- Wrappers ---------------------------------------------------------

  // Breaker::Call(fn)
  // Runs `fn()` if admitted. Returns the rejection status if not, else fn's
  // result as a status (see internal::CallResult):
  //   fn returns          Call() returns
  //   void                absl::Status (OK when fn returns)
  //   absl::Status        absl::Status
  //   T                   absl::StatusOr<T> (T may be move-only)
  //   absl::StatusOr<T>   absl::StatusOr<T>
  // A status is classified by config.status_is_failure; an exception by
  // config.exception_is_ignored and config.exception_is_failure, recorded,
  // then rethrown. Without a fallback there are no arguments (they could not
  // be told from a fallback): capture them in fn.
  template <typename F>
  auto Call(F&& fn) -> internal::CallResultT<std::invoke_result_t<F&>>;

  // Breaker::Call(fn, fallback, args...)
  // Runs `fn(args...)` if admitted. When the call is rejected or fails (a
  // failing status, or an exception classified as a failure, which is then
  // not rethrown) returns `fallback(reason, args...)`, or
  // `fallback(args...)` if that is what it accepts; `reason` is the
  // rejection status, the failing status, or kUnknown naming what fn threw.
  // Ignored and expected exceptions are rethrown, without the fallback. The
  // fallback runs at most once, outside the call's try: what it throws
  // reaches the caller and is not recorded. A fallback that returns a
  // failing status is reported as such: Call() returns its code with the
  // message "fallback failed: <its message>; the call had failed with:
  // <reason>", and FallbackFailureReason() gives the reason back (a
  // fallback that returns the reason itself passes it on unchanged).
  //
  // The fallback returns what fn returns, or anything that converts to
  // what Call() returns (T or absl::StatusOr<T> for a T; absl::Status for
  // void and absl::Status). It may return void when Call() returns
  // absl::Status: it handled the failure, and Call() returns OK.
  //
  // Arguments are passed by reference, never copied by the breaker. fn and
  // the fallback each get every argument as an lvalue, the object the caller
  // passed, when they accept lvalues (a `const T&` or `T&` parameter, or a
  // copyable `T` by value, which then gets a copy); one that does not (a
  // move-only argument taken by value, a `T&&` parameter) gets them as they
  // were passed, so an argument passed as an rvalue (`std::move(p)`, a
  // temporary) is moved into it. The fallback runs after fn only when fn
  // failed (on a rejection fn never ran): an argument that fn moved from is
  // then moved-from in the fallback (a std::unique_ptr is null), so pass
  // such a fallback nothing it needs from an argument that fn consumes.
  template <typename F, typename Fallback, typename... Args>
  auto Call(F&& fn, Fallback&& fallback, Args&&... args)
      -> internal::CallResultT<internal::ArgsResultT<F, Args...>>;

  // Breaker::CallWithClassifier(fn, result_is_failure)
  // As Call(fn), and a result for which `result_is_failure(result)` is true
  // counts as a failure (it is still returned). result_is_failure gets the
  // result by const reference (the whole absl::Status or absl::StatusOr<T>
  // for those, asked only when config.status_is_failure calls the status a
  // success); if it throws, the result is a failure. fn may not return void.
  template <typename F, typename IsFailure>
  auto CallWithClassifier(F&& fn, IsFailure&& result_is_failure)
      -> internal::CallResultT<std::invoke_result_t<F&>>;

  // Breaker::CallWithClassifier(fn, result_is_failure, fallback, args...)
  // As Call(fn, fallback, args...), with the result classified as in
  // CallWithClassifier(fn, result_is_failure). A result classified as a
  // failure goes to the fallback with `reason` its failing status, or
  // kUnknown "result classified as a failure" when its status is OK.
  template <typename F, typename IsFailure, typename Fallback, typename... Args>
  auto CallWithClassifier(F&& fn, IsFailure&& result_is_failure, Fallback&& fallback,
                          Args&&... args)
      -> internal::CallResultT<internal::ArgsResultT<F, Args...>>;

  // Breaker::CallOrThrow(fn)
  // The exception flavour: returns fn()'s result as it is, throws
  // circuit::OpenError when rejected. Statuses and exceptions are classified
  // as in Call(); exceptions are rethrown.
  template <typename F>
  auto CallOrThrow(F&& fn) -> std::invoke_result_t<F&>;

  // Classifies a status as config.status_is_failure does; a classifier that
  // throws counts as a failure. Never throws.
  Outcome Classify(const absl::Status& status) const noexcept;
  // Classifies an exception (ignored first, then failure, else success).
  Outcome Classify(const std::exception_ptr& error) const noexcept;

 private:
  friend class Permit;
  friend class internal::BreakerTestPeer;
  friend class internal::RetrySchedule;
  friend class internal::SharedControl;
  explicit Breaker(BreakerConfig config);

  // True while the shared state decides this breaker's transitions
  // (Sharing::kShared, circuit/sharing.h): its own trips, the end of its
  // OPEN and HALF_OPEN's verdict are left to the coordinator, and its
  // HALF_OPEN trials are bounded by the slots the shared state lent it
  // (shared_trials_). Read only off the CLOSED path. relaxed: a mode set by
  // the coordinator; a decision racing with its change is the one either
  // side would make (each is a CAS on the state word).
  bool SharedDecides() const noexcept {
    return sharing_.load(std::memory_order_relaxed) == static_cast<uint8_t>(Sharing::kShared);
  }
  // In HALF_OPEN under the shared state: the trials this instance may start
  // in generation `gen`: 0 unless shared_trials_ is that generation's.
  uint32_t SharedTrialSlots(uint32_t gen) const noexcept {
    // acquire: pairs with the release store in SharedControl::Lend().
    const uint64_t lent = shared_trials_.load(std::memory_order_acquire);
    return static_cast<uint32_t>(lent >> 32) == gen ? static_cast<uint32_t>(lent) : 0;
  }

  enum class WindowMode : uint8_t { kNone, kCount, kTime };

  int64_t NowNanos() const {
    return system_clock_ ? internal::MonotonicNanos() : clock_->NowNanos();
  }
  int64_t CoarseNowNanos() const {
    return system_clock_ ? internal::MonotonicCoarseNanos() : clock_->CoarseNowNanos();
  }
  // Nanoseconds from the breaker's creation to `coarse_now` (a coarse
  // reading): deadlines are kept on this scale, so any clock origin works
  // (an epoch-based clock, a negative one). Computed modulo 2^64, which is
  // exact for a monotonic clock whatever its origin.
  int64_t ElapsedNanos(int64_t coarse_now) const {
    return static_cast<int64_t>(static_cast<uint64_t>(coarse_now) -
                                static_cast<uint64_t>(time_base_));
  }

  // Everything TryAcquire() does not settle inline, out of line so that
  // the CLOSED path inlines into its callers: first the common rejection
  // (OPEN, unjudged on most of a thread's rejections), then the judging
  // one (JudgeOpenInto(): the deadline and the clock, with the caller's own
  // stripe), then TryAcquireOpen() and TryAcquireSlow(). Fills `*permit`
  // (constructed Unfilled): the common rejection then needs no stack frame
  // (the rest are tail calls).
  void TryAcquireNotClosed(Permit* permit, uint64_t word) noexcept;
  void JudgeOpenInto(Permit* permit, uint64_t word, internal::StripeRef stripe) noexcept;
  void TryAcquireOpenInto(Permit* permit, uint64_t word) noexcept;
  Permit TryAcquireOpen(uint64_t word) noexcept;
  // The end of OPEN, HALF_OPEN trials, the forced states, an owed fold, and
  // a retry after a lost CAS.
  Permit TryAcquireSlow(uint64_t word) noexcept;
  // A trial permit of generation `gen`, whose admission CAS this thread has
  // just won: counted, timed, and holding a probe slot if deadlines are on.
  Permit AdmittedTrial(uint32_t gen) noexcept;
  // A rejected permit; `retry_nanos` until a trial (-1: until reset).
  Permit Reject(uint64_t word, int64_t retry_nanos) noexcept;
  // The same, counted into `stripe` (the caller's, already looked up).
  Permit Reject(uint64_t word, int64_t retry_nanos, internal::StripeRef stripe) noexcept;
  // The rejected permit itself, counted and reported by the caller.
  Permit RejectedPermit(uint64_t word, int64_t retry_nanos) noexcept;
  // The three take `retry_nanos` as the permit keeps it: when OPEN, the
  // deadline on the ElapsedNanos() scale, so that the delay is worked out
  // from a fresh reading when asked (most rejections read no clock at
  // all); when HALF_OPEN 0, when FORCED_OPEN -1 (until reset).
  // RetryNanosNow(): a rejected permit's delay as of now (0 once due).
  int64_t RetryNanosNow(const Permit& permit) const noexcept;
  // The next rejection while OPEN, on any thread, judges by the clock: for
  // a retry that has just waited out a rejection's delay, whose next
  // attempt must not be rejected again for want of a reading
  // (internal::kRejectionsPerClockRead). One write to the breaker's line,
  // once per wait.
  void JudgeNextRejection() const noexcept {
    judged_rejections_.fetch_or(kJudgeNextRejection, std::memory_order_relaxed);
  }

  // A call's measured duration, as the outcome paths pass it on:
  // (nanoseconds << 1) | slow, or kNotMeasured. `slow`: slow-call
  // detection is on and the call took at least slow_call_duration.
  static constexpr int64_t kNotMeasured = -1;
  static constexpr int64_t kMaxMeasuredNanos = INT64_MAX >> 1;
  // JudgeMeasured(): a duration the caller measured, judged. Without the
  // histogram only the verdict is kept (nanoseconds 0): the conversion
  // costs more than the comparison.
  int64_t JudgeMeasured(absl::Duration took) const noexcept {
    // Compared as durations, exactly: no rounding of either side. Without
    // the histogram, slow-call detection is on or the verdict is unused
    // (IsSlow() stops at kOff).
    if (ABSL_PREDICT_TRUE(!keep_nanos_)) return took >= config_.slow_call_duration ? 1 : 0;
    return JudgeMeasuredForHistogram(took);
  }
  int64_t JudgeMeasuredForHistogram(absl::Duration took) const noexcept;
  // Measure(): the call's duration, `measured` if the caller gave one,
  // else read from the duration clock when the breaker times calls, else
  // kNotMeasured.
  int64_t Measure(const Permit& permit, int64_t measured) const noexcept {
    if (measured >= 0 || duration_clock_ < DurationClock::kPrecise) {
      return duration_clock_ == DurationClock::kOff ? kNotMeasured : measured;
    }
    int64_t nanos = DurationNowNanos() - permit.time_nanos_;
    if (nanos < 0) nanos = 0;
    return (nanos << 1) | (nanos >= slow_nanos_ ? 1 : 0);
  }
  // True if slow-call detection is on and the permit's call has taken at
  // least slow_call_duration. `measured`: as Measure() returns it, or as
  // the caller passed it. Reads the clock only when durations are timed by
  // the breaker and the caller gave none.
  bool IsSlow(const Permit& permit, int64_t measured) const noexcept {
    if (ABSL_PREDICT_TRUE(duration_clock_ == DurationClock::kOff)) return false;
    if (measured >= 0) return (measured & 1) != 0;
    if (duration_clock_ == DurationClock::kCaller) return false;
    return DurationNowNanos() - permit.time_nanos_ >= slow_nanos_;
  }
  // The outcome paths' measurement: Measure(), then the duration counted
  // into the histogram if the breaker keeps one. Returns the measurement.
  int64_t MeasureAndRecord(const Permit& permit, int64_t measured,
                           internal::StripeRef stripe) const noexcept {
    measured = Measure(permit, measured);
    if (record_durations_ && measured >= 0) stripes_.AddDuration(stripe, measured >> 1);
    return measured;
  }
  // Where a permit's call starts and ends for slow-call detection. The two
  // that read no clock come first: one compare tells them apart.
  enum class DurationClock : uint8_t { kOff, kCaller, kPrecise, kCoarse };
  static DurationClock ChooseDurationClock(const BreakerConfig& config);
  int64_t DurationNowNanos() const noexcept {
    if (ABSL_PREDICT_TRUE(duration_clock_ < DurationClock::kPrecise)) return 0;
    return duration_clock_ == DurationClock::kPrecise ? NowNanos() : CoarseNowNanos();
  }

  // Outcome paths; the permit has already been claimed.
  void OnSuccess(const Permit& permit, int64_t measured) noexcept;
  // A success of a CLOSED or METRICS_ONLY permit that was not slow: the
  // common case, inline; writes only `stripe` (and the run word after a
  // failure).
  void RecordClosedSuccess(const Permit& permit, internal::StripeRef stripe) noexcept;
  // Every other success: DISABLED, trials, slow calls.
  void OnSuccessSlow(const Permit& permit, int64_t measured) noexcept;
  // The latency-percentile trip's share of an outcome (src/latency.cc): a
  // normal permit of the CLOSED or METRICS_ONLY generation current now,
  // with a measured duration, judges the window if its bucket is due and
  // counts itself into `stripe`'s latency histogram. `timed_here`: the
  // breaker measured it (the caller gave no duration), so with the coarse
  // duration clock the permit's start plus the duration is a coarse
  // reading of now, and no clock is read again.
  void RecordLatency(const Permit& permit, int64_t measured, bool timed_here,
                     internal::StripeRef stripe) noexcept;
  // `open_nanos` >= 0: the dependency asked for that open period
  // (FailureRetryAfter(), already capped); -1: none.
  void OnOutcomeSlow(const Permit& permit, Outcome outcome, bool slow,
                     internal::StripeRef stripe, int64_t open_nanos = -1) noexcept;
  // A trial's outcome in generation `gen`: false if that generation's
  // trials are over (the outcome is stale; the caller counts it).
  bool OnTrialOutcome(uint32_t gen, Outcome outcome, bool slow, int64_t open_nanos = -1) noexcept;
  // HALF_OPEN,gen,n -> HALF_OPEN,gen,n-1: a trial's slot back, no outcome.
  void ReturnTrialSlot(uint32_t gen) noexcept;
  void OnRelease(const Permit& permit, bool ignored) noexcept;
  // Claims `permit` (if still unresolved) and records `outcome`.
  // `status` / `error`: what the outcome was classified from, for call
  // events.
  void ResolveAs(Permit& permit, Outcome outcome, int64_t measured = kNotMeasured,
                 const absl::Status* status = nullptr,
                 const std::exception_ptr* error = nullptr) noexcept;
  // Claims `permit` and records a failure that asks the breaker to open for
  // `retry_after` (Permit::FailureRetryAfter()).
  void ResolveRetryAfter(Permit& permit, int64_t measured, absl::Duration retry_after) noexcept;
  // A claimed permit's failure, for both: counted, timed, judged (with the
  // dependency's open period when `open_nanos` >= 0) and told to call
  // listeners.
  void RecordFailure(const Permit& permit, int64_t measured, const absl::Status* status,
                     const std::exception_ptr* error, int64_t open_nanos) noexcept;
  void ClearConsecutiveFailures(uint32_t gen) noexcept;
  uint32_t AddConsecutiveFailure(uint32_t gen) noexcept;

  // ApplyHalfOpenDeadline()
  // Given a loaded word: if it is HALF_OPEN past half_open_max_duration,
  // reopens the breaker (HALF_OPEN,g,n -> OPEN,g+1,0) with the new open
  // period starting at the deadline, and returns the word as it is after;
  // otherwise returns `word`. Const because a reader (state(), Snapshot())
  // may apply a transition that is already due: the breaker's state is a
  // function of time, and the transition is the same CAS any call would
  // make.
  uint64_t ApplyHalfOpenDeadline(uint64_t word) const noexcept;
  // Both HALF_OPEN limits that time makes due: the period's
  // (ApplyHalfOpenDeadline()) and each trial's (ReapExpiredProbes()).
  // Const for the same reason.
  uint64_t ApplyHalfOpenLimits(uint64_t word) const noexcept;
  // The state word with a due HALF_OPEN deadline applied (state(),
  // generation(), Snapshot()).
  uint64_t WordAsOfNow() const noexcept {
    // acquire: pairs with the release of the CAS that made the transition.
    const uint64_t word = state_.load(std::memory_order_acquire);
    if (ABSL_PREDICT_FALSE(internal::StateOf(word) == State::kHalfOpen) && half_open_timed_) {
      return ApplyHalfOpenLimits(word);
    }
    return word;
  }

  // ---- The CLOSED admission gate (slow start; src/gate.cc) ------------------
  // PassGate(): for an admission that found the gate bit set in `word`
  // (CLOSED). kAdmit: admit it. kReject: reject it, retrying at `*until`
  // (elapsed nanoseconds: the ramp's end). kReexamine: the word changed
  // under a CAS that would have cleared the gate; `word` holds the new one.
  enum class GateVerdict { kAdmit, kReject, kReexamine };
  GateVerdict PassGate(uint64_t& word, int64_t* until) noexcept;
  // RampAt(): whether generation `gen`'s slow-start ramp is still running
  // at `now` (ElapsedNanos()); if so, `*end` is its end and `*admitted`
  // the share it admits (0 at its start, rising linearly). The one reading
  // of the ramp that PassGate() and Snapshot() share. REQUIRES:
  // slow_start_nanos_ > 0 and a gated CLOSED word of `gen`.
  bool RampAt(uint32_t gen, int64_t now, int64_t* end, double* admitted) const noexcept;

  // ---- Adaptive throttling (src/throttle.cc) ------------------------------
  // The window's requests (calls with an outcome, plus the calls rejected
  // at the gate) and accepts (successes) of CLOSED generation `gen` as of
  // `now`, and the probability the formula gives them.
  struct ThrottleCounts {
    uint64_t requests = 0;
    uint64_t accepts = 0;
    double probability = 0;
  };
  ThrottleCounts ThrottleCountsOf(uint32_t gen, int64_t now) const noexcept;
  // JudgeThrottle(): judges generation `gen`'s window now, publishes the
  // probability (throttle_word_) and, if it is above 0, sets the gate in
  // that generation's CLOSED word. After every fold, and once a bucket
  // from the gate.
  void JudgeThrottle(uint32_t gen) noexcept;
  // ThrottleNow(): the probability in force for `gen` (0 if none was
  // judged for it), judging afresh first if no one has in `now`'s bucket.
  double ThrottleNow(uint32_t gen, int64_t now) noexcept;
  // Sets the gate in the CLOSED word of generation `gen`, if it is current.
  void SetGate(uint32_t gen) noexcept;

  // ---- Per-probe deadlines (half_open_probe_timeout; src/probe_deadlines.cc)
  // One probe slot per concurrent trial (half_open_max_concurrent), each two
  // atomic words. The entry names the trial that holds the slot:
  //   63             37 36                                         0
  //  +-----------------+--------------------------------------------+
  //  | generation (27) |  claim stamp (37): unique per claim, never 0 |
  //  +-----------------+--------------------------------------------+
  // (the field holds the state word's 26-bit generation). 0: free. The deadline word says when that trial is due:
  //   63             37 36                                         0
  //  +-----------------+--------------------------------------------+
  //  | stamp's low 27  |  deadline: ms since creation, mod 2^37 (37) |
  //  +-----------------+--------------------------------------------+
  // A trial claims a slot right after the CAS that admitted it (CAS of the
  // entry, then a store of the deadline word) and frees it (CAS from its
  // own entry to 0) before the CAS that hands its in-flight count back, so
  // the current generation's entries never outnumber its trials in flight
  // and a claim always finds a slot: a free one, or one left by a trial of
  // a generation that is over. A reaper takes a due trial with the same CAS
  // from its entry to 0, so exactly one of the two hands the trial's count
  // back. Stamps come from one counter (probe_claims_), so no entry is ever
  // written twice (until 2^37 claims) and a late trial can never free a
  // successor's slot, whatever the clock reads; a reaper reads a deadline
  // only under its entry's stamp (a claim that has not stored its deadline
  // yet is not due). Deadlines wrap after 4.3 years: one is due unless it is
  // at most the timeout ahead of now (modulo 2^37), so a look after any
  // absence finds it due, at worst one timeout late once per wrap.
  static constexpr int kProbeFieldBits = 37;
  static constexpr uint64_t kProbeFieldMask = (uint64_t{1} << kProbeFieldBits) - 1;
  static constexpr uint32_t ProbeEntryGen(uint64_t entry) {
    return static_cast<uint32_t>(entry >> kProbeFieldBits);
  }
  // ClaimProbeSlot(): for a trial just admitted; fills the permit's probe
  // fields (or leaves it without a deadline if its generation is already
  // over: its outcome will be stale).
  void ClaimProbeSlot(Permit& permit) noexcept;
  // FreeProbeSlot(): a resolving trial's slot back; false if a reaper took
  // it first (the trial timed out: its outcome is stale). True for a trial
  // that holds no slot (deadlines off, or its generation was over).
  bool FreeProbeSlot(const Permit& permit) noexcept;
  // ReapExpiredProbes(): every trial of `word`'s HALF_OPEN generation past
  // its deadline gives its slot back and counts as
  // half_open_probe_timeout_outcome says, for as long as that generation
  // lasts. Returns the word as it is after.
  uint64_t ReapExpiredProbes(uint64_t word) noexcept;

  // The window bits (circuit/internal/state_word.h). ServeWindow(), given a
  // loaded word, clears the bits of `bits` that it has and, if this thread
  // cleared any, folds; ApplyFold() trips if the fold says so and sets the
  // bits the fold asks for, if the word is still CLOSED or METRICS_ONLY.
  void ServeWindow(uint64_t word, uint64_t bits) noexcept;
  // A time-window success in an epoch the window was not judged in, while
  // it holds failures or slow calls: folds (and trips if the fold says so).
  void JudgeAgedWindow(int64_t now) noexcept;
  void ApplyFold(internal::FoldResult result) noexcept;

  // Publish()
  // CAS of the state word from `expected` to `desired`. Returns false, with
  // `expected` updated, if the word had moved. A new generation of CLOSED
  // or METRICS_ONLY (Reset() from CLOSED included) rebases the window
  // first; the winner of a new generation then runs AfterTransition()
  // (deadline, backoff, counters).
  // `why` is what the listeners are told (circuit/events.h) and, into OPEN
  // or FORCED_OPEN, what RecordTrip() records.
  using Why = internal::TransitionWhy;
  bool Publish(uint64_t& expected, uint64_t desired, int64_t coarse_now,
               const Why& why = Why()) noexcept;
  static TripCause TripCauseOf(TransitionCause cause);
  static TransitionCause TransitionCauseOf(TripCause cause);
  // After a winning transition: the listeners, outside any lock.
  void NotifyTransition(State from, uint64_t word, const Why& why) noexcept;
  // A call event for the listeners that asked (call_listeners_ != 0).
  void NotifyCall(const Permit& permit, CallOutcome outcome, bool slow,
                  const absl::Status* status = nullptr,
                  const std::exception_ptr* error = nullptr) const noexcept;
  void NotifyRejected(uint64_t word) const noexcept;
  bool HasCallListeners() const {
    // relaxed: a hint; a listener subscribed concurrently with a call may or
    // may not see it.
    return call_listeners_.load(std::memory_order_relaxed) != 0;
  }
  void AfterTransition(State from, uint64_t word, int64_t coarse_now, const Why& why) noexcept;
  // CLOSED,g,0 -> OPEN,g+1,0 if the word is still CLOSED at generation
  // `gen`; the winner records why. `open_nanos`: the open period (-1: the
  // breaker's own, with backoff and jitter).
  void TripIfCurrent(uint32_t gen, TripCause cause, double value, double threshold,
                     int64_t open_nanos = -1) noexcept;
  // Records the reason of the transition into OPEN or FORCED_OPEN at `gen`,
  // unless a later generation's is already there (as StoreDeadline()).
  // `from_half_open`: a reopen (kept in the tag's bit 7, beside the cause,
  // for Snapshot(), which shows the trials of a reopen and the window of a
  // trip from CLOSED, and cannot tell them apart by a RETRY_AFTER cause).
  void RecordTrip(uint32_t gen, TripCause cause, double value, double threshold,
                  bool from_half_open) noexcept;
  TripReason ReadTrip(bool* from_half_open = nullptr) const noexcept;
  // Moves to `to` at the next generation, whatever the state; returns it.
  uint32_t ForceTo(State to);
  // ForceTo() recording `by` as the forcer (ForcedBy()); returns the
  // generation it forced.
  uint32_t ForceBy(State to, std::string by);
  // Reset(), only while the breaker is still at generation `gen` (the
  // generation a ForceBy() made); false if anything moved it since.
  bool ResetIfGeneration(uint32_t gen);
  friend class ManualControl;
  // open_duration * multiplier^reopen_count, capped; then OpenDurationNanos()
  // draws generation `gen`'s jitter and caps again.
  double BackedOffNanos(uint32_t reopen_count) const;
  int64_t OpenDurationNanos(uint32_t reopen_count, uint32_t gen) const;
  absl::Status MakeRejectionStatus(const Permit& permit) const;

  // Deadline word:
  //  63        50 49                                                0
  // +------------+---------------------------------------------------+
  // | gen (14 b) | deadline, microseconds since creation (50 bits)   |
  // +------------+---------------------------------------------------+
  // In OPEN: when trials may start. In HALF_OPEN: when trials that never
  // came back reopen the breaker (0: never). Every other state stores 0.
  // Written by the winner of every transition into generation `gen`, after
  // its CAS (StoreDeadline()); a reader that finds another generation's tag
  // treats the deadline as not yet published. Because every transition
  // stores, the tag trails the state word's generation by at most the
  // number of winners that have not stored yet: a stale tag could pass for
  // the current one only with 2^14 winners preempted at once.
  // Time is kept from the breaker's creation (time_base_), so the clock's
  // origin does not matter; 2^50 us is 35 years of a breaker's life.
  static constexpr int kDeadlineGenBits = 14;
  static constexpr int kDeadlineTimeBits = 50;
  static constexpr uint64_t kDeadlineTimeMask = (uint64_t{1} << kDeadlineTimeBits) - 1;
  static constexpr uint32_t kDeadlineGenMask = (1u << kDeadlineGenBits) - 1;
  // `elapsed_nanos`: a deadline on the ElapsedNanos() scale (0: none).
  static uint64_t DeadlineWord(uint32_t gen, int64_t elapsed_nanos);
  // True if `stored`, the generation tag (its bits under `tag_mask`) of a
  // value a winner found in a word it is about to overwrite for generation
  // `gen`, may be a generation in (gen, current]: the late writer must leave
  // it. Also true when gen is more generations behind than the tag can
  // tell apart.
  bool LaterGenerationStored(uint32_t stored, uint32_t gen, uint32_t tag_mask) const noexcept;
  // Publishes generation `gen`'s deadline unless a newer generation's is
  // already there.
  void StoreDeadline(uint32_t gen, int64_t elapsed_nanos) noexcept;
  // The winner of a transition into OPEN (`increment`: from HALF_OPEN) or
  // CLOSED updates the re-open count for `gen`, unless a newer generation
  // already did; returns the count for `gen`.
  uint32_t UpdateReopenCount(uint32_t gen, bool increment) noexcept;
  // Generation `gen`'s deadline on the ElapsedNanos() scale, or false if
  // not yet published.
  bool ReadDeadline(uint32_t gen, int64_t* elapsed_nanos) const noexcept {
    // acquire: pairs with the release store in StoreDeadline().
    const uint64_t word = deadline_.load(std::memory_order_acquire);
    if ((word >> kDeadlineTimeBits) != (gen & kDeadlineGenMask)) return false;
    *elapsed_nanos = static_cast<int64_t>(word & kDeadlineTimeMask) * 1000;
    return true;
  }

  template <typename R, typename IsFailure>
  Outcome ClassifyResult(const R& result, IsFailure& result_is_failure) const noexcept;
  static absl::Status ExceptionReason(const std::exception_ptr& error);

  struct NoClassifier {
    template <typename R>
    bool operator()(const R&) const {
      return false;
    }
  };
  struct NoFallback {};

  const BreakerConfig config_;
  const Clock* const clock_;
  const bool system_clock_;
  const int64_t time_base_;  // the coarse clock at creation (ElapsedNanos())
  const DurationClock duration_clock_;  // kOff: slow-call detection off
  // What a success must look at before taking the inline CLOSED path, in
  // the one byte that path loads: the duration clock (bits 0-1, so 0 when
  // slow-call detection is off) and, kCallListenersMode, call listeners to
  // tell (set and cleared by the listener set, under its mutex, as the
  // count of call subscriptions leaves and returns to zero). 0 sends a
  // normal permit's success straight to RecordClosedSuccess(). relaxed:
  // the clock bits are fixed; the listener bit is a hint like
  // HasCallListeners().
  // kDurationsMode: the call-duration histogram or the latency window is
  // kept (fixed), so every success takes OnSuccessSlow(), which records it.
  static constexpr uint8_t kCallListenersMode = 4;
  static constexpr uint8_t kDurationsMode = 8;
  std::atomic<uint8_t> success_mode_;
  // Why a rejection while OPEN must judge by the clock (TryAcquireOpen())
  // rather than take TryAcquireNotClosed()'s common path, in the one byte
  // that path loads: an injected clock (fixed), call listeners to tell
  // (set and cleared by the listener set, as kCallListenersMode above),
  // and a retry that has just waited out a rejection (JudgeNextRejection(),
  // cleared by the next judgment). 0: the common path. relaxed: the clock
  // bit is fixed, the listener bit a hint like HasCallListeners(), and a
  // retry's own next call, on its thread, sees the bit it set.
  static constexpr uint8_t kJudgedByInjectedClock = 1;
  static constexpr uint8_t kJudgedForCallListeners = 2;
  static constexpr uint8_t kJudgeNextRejection = 4;
  mutable std::atomic<uint8_t> judged_rejections_;
  const bool slow_detection_;    // slow_call_rate_threshold > 0
  const bool record_durations_;  // record_call_durations
  // record_call_durations or latency_percentile: a measurement keeps its
  // nanoseconds (JudgeMeasured()).
  const bool keep_nanos_;
  const int64_t slow_nanos_;     // slow_call_duration in ns (never, without slow_detection_)
  const uint32_t consecutive_to_open_;  // EffectiveConsecutiveFailuresToOpen()
  const bool consecutive_on_;
  const bool half_open_limited_;  // half_open_max_duration > 0
  const int64_t probe_timeout_nanos_;  // half_open_probe_timeout (0: off)
  const bool half_open_timed_;         // either of the two above
  const WindowMode window_mode_;
  const int64_t slow_start_nanos_;     // slow_start_duration (0: off)
  // The stripe word that counts slow start's shed calls (Metrics().shed):
  // the one this breaker's window mode leaves unused. A count window (and
  // no window) never writes kCachedBucket, which only a time window's own
  // stripes use; a time window places calls in its buckets and never
  // writes kWindowCalls. So a shed call, like every other, adds to the
  // caller's own stripe or its CPU's block, and the count costs no memory.
  const int shed_counter_;
  const bool throttling_;  // adaptive_throttling

  // 128 B: x86-64 prefetches line pairs. The state word is read by every
  // call and written only on transitions: it gets a line pair of its own.
  alignas(128) std::atomic<uint64_t> state_;
  // A time window's last judgment: (epoch << 1) | (it held a failure or a
  // slow call). A success counted in another epoch while the window holds
  // failures folds: old successes aging out can raise the rates, so a
  // success may decide even past minimum_calls. Written by the folder only
  // when it changes (once a bucket at most), read by time-window successes:
  // it shares the state word's line, which every call already reads.
  std::atomic<uint64_t> window_judged_{0};
  // The consecutive-failure run: (gen << 32) | count. Written by failures
  // and by the first success after a failure.
  alignas(128) std::atomic<uint64_t> consecutive_{0};
  std::atomic<uint64_t> deadline_{0};
  // Re-openings since the breaker last closed: (gen << 32) | count, written
  // by the winners of transitions into OPEN and CLOSED.
  std::atomic<uint64_t> reopen_{0};
  // Transitions by [from][to]: written by transition winners (relaxed: a
  // statistic), read by Metrics().
  std::atomic<uint64_t> transitions_[kNumStates][kNumStates] = {};

  // For Snapshot(), written by transition winners, read by snapshots:
  //   trip_tag_   the last trip's generation (or kTripWriting) and cause,
  //               (gen << 8) | from HALF_OPEN << 7 | cause (below 128):
  //               the sequence word of a seqlock over the two values below;
  //   open_period_nanos_  the current OPEN's period, stored before its
  //               deadline (whose release publishes it);
  //   last_trials_        the HALF_OPEN word the last reopen left.
  static constexpr uint64_t kTripWriting = ~uint64_t{0};
  static constexpr uint64_t kTripFromHalfOpen = 0x80;
  std::atomic<uint64_t> trip_tag_{0};
  std::atomic<double> trip_value_{0};
  std::atomic<double> trip_threshold_{0};
  std::atomic<int64_t> open_period_nanos_{0};
  std::atomic<uint64_t> last_trials_{0};
  // ForcedBy(): the last forcer and the generation it forced, written and
  // read under the mutex (operator paths only).
  mutable std::mutex forced_by_mu_;
  std::string forced_by_;
  uint32_t forced_by_gen_ = 0;
  bool forced_by_set_ = false;

  alignas(128) internal::StripeSet stripes_;
  std::unique_ptr<internal::RateWindow> window_;
  // The latency-percentile trip's window (null when off).
  std::unique_ptr<internal::LatencyWindow> latency_;
  // Listeners (circuit/events.h); the count of call-event subscriptions is
  // what the outcome paths other than the CLOSED success load.
  std::atomic<uint32_t> call_listeners_{0};
  std::shared_ptr<internal::ListenerSet> listeners_;

  // The distributed mode (circuit/sharing.h, internal::SharedControl):
  //   sharing_        a Sharing value, written by the coordinator;
  //   shared_trials_  (gen << 32) | the HALF_OPEN trials generation `gen`
  //                   may start under the shared state: lent by the shared
  //                   store, only ever raised within a generation, so a
  //                   stale read can only refuse a trial, never admit one
  //                   too many.
  std::atomic<uint8_t> sharing_{0};
  std::atomic<uint64_t> shared_trials_{0};

  // Per-probe deadlines: half_open_max_concurrent slots' entries and
  // deadline words (null when off), the stamp counter, and the trials
  // reaped (relaxed: a statistic).
  std::unique_ptr<std::atomic<uint64_t>[]> probe_slots_;
  std::unique_ptr<std::atomic<uint64_t>[]> probe_deadlines_;
  std::atomic<uint64_t> probe_claims_{0};  // the last claim's stamp
  std::atomic<uint64_t> probe_timeouts_{0};

  // Adaptive throttling (null / unused when off): the calls rejected at the
  // gate, by time bucket (the window's buckets, a second stripe set: each
  // thread adds to its own stripe or its CPU's block); the probability in
  // force, tagged with the generation it was judged for:
  //   63            32 31                                  0
  //  +----------------+------------------------------------+
  //  | generation     | probability x 2^32, saturated      |
  //  +----------------+------------------------------------+
  // and the bucket (epoch + 1; 0: none) whose first gated admission judged
  // it. relaxed, both: a probability is a hint that any judge may replace,
  // and a generation that moved on reads as 0.
  std::unique_ptr<internal::StripeSet> throttled_;
  std::atomic<uint64_t> throttle_word_{0};
  std::atomic<uint64_t> throttle_judged_{0};
};

// ---- Inline fast paths ---------------------------------------------------

ABSL_ATTRIBUTE_ALWAYS_INLINE inline Permit Breaker::TryAcquire() noexcept {
  // acquire: pairs with the release of the transition's CAS, so an admitted
  // caller sees what the transition published (the deadline, the window
  // base) before its generation.
  const uint64_t word = state_.load(std::memory_order_acquire);
  // The state with the owed bit: CLOSED or METRICS_ONLY only if no fold is
  // owed (TryAcquireSlow() serves it first).
  const uint32_t state = internal::StateGateAndFoldOwedOf(word);
  // One named permit on every path, so that it is built in the caller's
  // return slot (a second, unnamed return would make it a copy).
  Permit permit{Permit::Unfilled{}};
  if (ABSL_PREDICT_TRUE(state == static_cast<uint32_t>(State::kClosed) ||
                        state == static_cast<uint32_t>(State::kMetricsOnly))) {
    stripes_.ForThisThread().Add(internal::kPermitted);
    permit.Fill(this, Permit::Kind::kNormal, internal::GenOf(word), DurationNowNanos(),
                State::kClosed);
    return permit;
  }
  TryAcquireNotClosed(&permit, word);
  return permit;
}

inline void Breaker::OnSuccess(const Permit& permit, int64_t measured) noexcept {
  // One byte decides the common case: no slow-call detection, no call
  // listener (see success_mode_). With call listeners, OnSuccessSlow()
  // tells them. IsSlow() reads the clock only when slow-call detection is on.
  const uint8_t mode = success_mode_.load(std::memory_order_relaxed);
  if (ABSL_PREDICT_TRUE(permit.kind_ == Permit::Kind::kNormal) &&
      (ABSL_PREDICT_TRUE(mode == 0) ||
       (mode < kCallListenersMode && !IsSlow(permit, measured)))) {
    RecordClosedSuccess(permit, stripes_.ForThisThread());
  } else {
    OnSuccessSlow(permit, measured);
  }
}

inline void Breaker::RecordClosedSuccess(const Permit& permit,
                                         internal::StripeRef stripe) noexcept {
  stripe.AddInlined(internal::kSuccesses);
  // acquire: see TryAcquire(); we must judge the generation as of now.
  const uint64_t word = state_.load(std::memory_order_acquire);
  // One compare tests all three: the permit's generation is current, and
  // the window neither owes a fold nor wants successes.
  const bool window_calls =
      internal::GenAndWindowBitsOf(word) != internal::GenAndWindowBits(permit.generation_);
  if (ABSL_PREDICT_FALSE(window_calls) && internal::GenOf(word) != permit.generation_) {
    stripe.Add(internal::kStale);
    return;
  }
  if (consecutive_on_) {
    // relaxed: only a non-zero run of this generation needs a write; the
    // CAS in ClearConsecutiveFailures() re-reads.
    const uint64_t run = consecutive_.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE(static_cast<uint32_t>(run) != 0 &&
                           (run >> 32) == permit.generation_)) {
      ClearConsecutiveFailures(permit.generation_);
    }
  }
  if (window_mode_ == WindowMode::kCount) {
    stripe.Add(internal::kWindowCalls);
  } else if (window_mode_ == WindowMode::kTime) {
    const int64_t now = ElapsedNanos(CoarseNowNanos());
    const uint64_t epoch =
        stripes_.AddToBucket(stripe, now, [this] { return ElapsedNanos(CoarseNowNanos()); });
    // relaxed: a hint; the fold it may start orders itself.
    const uint64_t judged = window_judged_.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE((judged & 1) != 0 && (judged >> 1) != epoch) && !window_calls) {
      JudgeAgedWindow(now);
      return;
    }
  }
  // After counting itself, so that the fold counts this call.
  if (ABSL_PREDICT_FALSE(window_calls)) ServeWindow(word, internal::kWindowBits);
}

inline Permit Breaker::Reject(uint64_t word, int64_t retry_nanos) noexcept {
  return Reject(word, retry_nanos, stripes_.ForThisThread());
}

inline Permit Breaker::Reject(uint64_t word, int64_t retry_nanos,
                              internal::StripeRef stripe) noexcept {
  stripe.Add(internal::kRejected);
  if (ABSL_PREDICT_FALSE(HasCallListeners())) NotifyRejected(word);
  return RejectedPermit(word, retry_nanos);
}

inline Permit Breaker::RejectedPermit(uint64_t word, int64_t retry_nanos) noexcept {
  Permit permit(this, Permit::Kind::kRejected, internal::GenOf(word), retry_nanos);
  permit.rejected_state_ = internal::StateOf(word);
  return permit;
}

// An untracked permit (issued while DISABLED) records nothing, so resolving
// it never touches the breaker: it may even outlive it.

inline bool Permit::Success() noexcept {
  if (!Claim()) return false;
  if (kind_ != Kind::kUntracked) breaker_->OnSuccess(*this, Breaker::kNotMeasured);
  return true;
}

inline bool Permit::Failure() noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveAs(*this, Outcome::kFailure);
  return true;
}

inline bool Permit::Ignore() noexcept {
  if (!Claim()) return false;
  if (kind_ != Kind::kUntracked) breaker_->OnRelease(*this, /*ignored=*/true);
  return true;
}

inline bool Permit::Release() noexcept {
  if (!Claim()) return false;
  if (kind_ != Kind::kUntracked) breaker_->OnRelease(*this, /*ignored=*/false);
  return true;
}

inline bool Permit::Record(const absl::Status& status) noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveAs(*this, breaker_->Classify(status), Breaker::kNotMeasured, &status);
  return true;
}


inline bool Permit::Success(absl::Duration took) noexcept {
  if (!Claim()) return false;
  if (kind_ != Kind::kUntracked) breaker_->OnSuccess(*this, breaker_->JudgeMeasured(took));
  return true;
}

inline bool Permit::Failure(absl::Duration took) noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveAs(*this, Outcome::kFailure, breaker_->JudgeMeasured(took));
  return true;
}

inline bool Permit::FailureRetryAfter(absl::Duration retry_after) noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveRetryAfter(*this, Breaker::kNotMeasured, retry_after);
  return true;
}

inline bool Permit::FailureRetryAfter(absl::Duration retry_after, absl::Duration took) noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveRetryAfter(*this, breaker_->JudgeMeasured(took), retry_after);
  return true;
}

inline bool Permit::FailureRetryAfter(absl::Time retry_at) noexcept {
  return FailureRetryAfter(retry_at - absl::Now());
}

inline bool Permit::Record(const absl::Status& status, absl::Duration took) noexcept {
  if (!admitted_) return false;
  if (kind_ == Kind::kUntracked) return Claim();
  breaker_->ResolveAs(*this, breaker_->Classify(status), breaker_->JudgeMeasured(took), &status);
  return true;
}

}  // namespace circuit

// The wrappers' templates: Call(), CallWithClassifier(), CallOrThrow().
#include "circuit/internal/breaker_call.h"  // IWYU pragma: export

#endif  // CIRCUIT_BREAKER_H_
