// File: circuit/retry.h
// `circuit::Retry()` makes a call through a breaker again when it fails with
// an error worth retrying, waiting an exponential backoff with jitter between
// attempts, and treats the breaker's own rejections by their retry-after:
// waited out when the breaker will admit a trial within the time left,
// returned at once when it will not. `circuit::RetryPolicy` says how many
// attempts, how long to wait and which errors are worth it.
//
// Example:
//   circuit::RetryPolicy policy;
//   policy.max_attempts = 4;
//   policy.total_deadline = absl::Seconds(2);    // waits included
//   absl::StatusOr<Quote> quote =
//       circuit::Retry(*breaker, policy, [&] { return GetQuote(id); });
//   if (!quote.ok()) {
//     // The last attempt's status, its code unchanged; RetryAttempts()
//     // says how many attempts were made.
//     return quote.status();
//   }
//
// How retries count in the breaker's window: every attempt is one call of
// the breaker (one Breaker::Call(fn)), no different from a call made by
// hand. A request that fails three times is three failures in the window
// and three steps of the consecutive-failure run, so retrying requests trip
// the breaker after fewer of them; that is the point, since the dependency
// saw three calls. An attempt the breaker rejects is counted as a rejection
// (BreakerMetrics::rejected), never as a call in the window, and still uses
// up one of max_attempts. The breaker is never told that attempts belong
// together.
//
// Why retrying on a rejection is bounded by its retry-after: a rejection
// says when the breaker will next admit a call (RejectionRetryAfter(): the
// rest of the open period; zero when HALF_OPEN with every trial slot taken;
// infinite when FORCED_OPEN). An attempt made sooner cannot succeed: it is
// rejected again and wastes an attempt, so Retry() never waits less. A wait
// that would not end before total_deadline is a wait for nothing, the
// caller having given up by then, so Retry() returns the rejection at once
// instead (FORCED_OPEN's always). In between, it waits the retry-after, or
// the backoff a failure would have waited if that is longer (a HALF_OPEN
// rejection's zero must not spin through the attempts), and the attempt
// after the wait is usually the HALF_OPEN trial. Retrying callers thus add
// no load to an OPEN breaker: a rejection costs one admission check and one
// wait, never a call of the dependency.
//
// Thread safety: Retry() may be called concurrently, with the same breaker
// and the same policy (which it only reads; its is_retryable and sleep are
// then called concurrently). The jitter comes from a generator of the
// calling thread's own: no state is shared between calls.
#ifndef CIRCUIT_RETRY_H_
#define CIRCUIT_RETRY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/clock.h"
#include "circuit/internal/call.h"

namespace circuit {

struct RetryPolicy {
  // ---- Behaviour: how many attempts, and which failures to retry ----------

  // Attempts in all, the first included (1: no retry). Each is one call of
  // the breaker. Default: 3. Must be >= 1.
  int max_attempts = 3;

  // Whether a failing status is worth another attempt. Empty (the default):
  // IsRetryableByDefault(). Never asked about a breaker's rejection
  // (IsRejection()): rejections follow the rule in the file comment. It is
  // called on the thread that called Retry(); what it throws reaches the
  // caller.
  std::function<bool(const absl::Status&)> is_retryable;

  // ---- Behaviour: how long to wait ---------------------------------------

  // The wait after the first failed attempt, before jitter. Default: 100 ms.
  // Must be >= 0, finite and <= max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(100);

  // Each wait is this many times the one before (before jitter). Default: 2.
  // Must be >= 1 and finite (1: a constant backoff).
  double backoff_multiplier = 2;

  // No backoff wait is longer than this, jitter included (at the cap,
  // jitter can only shorten a wait). A rejection's retry-after is not
  // capped by it. Default: 10 s. Must be >= initial_backoff; may be
  // InfiniteDuration().
  absl::Duration max_backoff = absl::Seconds(10);

  // Each backoff wait is drawn uniformly within +-jitter of itself (0.2:
  // 80 ms to 120 ms for 100 ms), so that callers that failed together do
  // not retry together. Default: 0.2. Must be in [0, 1).
  double jitter = 0.2;

  // Bounds the whole, from the call to Retry() to its return, waits
  // included: no wait is begun that would end at or past it, so Retry()
  // returns the last result rather than wait. An attempt already running
  // is not interrupted, so the whole may pass the deadline by the last
  // attempt's own duration (bound that with the callable's own deadline).
  // Default: InfiniteDuration() (max_attempts alone bounds it). Must be > 0.
  absl::Duration total_deadline = absl::InfiniteDuration();

  // ---- Time: most clients should leave these alone ----------------------

  // Where the deadline's time is read (NowNanos()). Default (nullptr):
  // SystemClock(). Set it with `sleep`: the two must agree.
  const Clock* clock = nullptr;

  // How to wait. Default (empty): absl::SleepFor(). Tests inject one that
  // advances a FakeClock (and records the wait) instead of sleeping. It must
  // wait at least the duration given; what it throws reaches the caller.
  std::function<void(absl::Duration)> sleep;
};

// ValidateRetryPolicy()
// OK, or InvalidArgumentError naming the first field that is out of range
// and its value, e.g. "RetryPolicy.max_attempts must be >= 1, got 0".
absl::Status ValidateRetryPolicy(const RetryPolicy& policy);

// IsRetryableByDefault()
// What RetryPolicy::is_retryable does when empty: true for kUnavailable,
// kDeadlineExceeded, kResourceExhausted and kAborted (the dependency may
// answer differently next time), false for every other code and for a
// breaker's rejection. For composing a predicate of your own:
//   policy.is_retryable = [](const absl::Status& s) {
//     return circuit::IsRetryableByDefault(s) || s.code() == absl::StatusCode::kInternal;
//   };
bool IsRetryableByDefault(const absl::Status& status);

// RetryAttempts()
// For a failing status Retry() returned: the number of attempts it made
// (kept in the payload "circuit.dev/retry-attempts"). nullopt for any other
// status: an OK one, one Retry() did not return, or an invalid policy's
// (which made none).
std::optional<int> RetryAttempts(const absl::Status& status);

// Retry(breaker, policy, fn)
// Calls `breaker.Call(fn)` until it succeeds, up to policy.max_attempts
// times, and returns what that returns (see Breaker::Call(fn)):
//   fn returns          Retry() returns
//   void                absl::Status
//   absl::Status        absl::Status
//   T                   absl::StatusOr<T> (T may be move-only)
//   absl::StatusOr<T>   absl::StatusOr<T>
// After a failed attempt, in this order:
//   - a breaker's rejection: waits max(its retry-after, the next backoff)
//     and tries again if that wait is shorter than what remains of
//     total_deadline and attempts remain; else returns the rejection. With
//     the system clock the retry-after is waited one tick of the coarse
//     clock longer (4 ms at HZ=250): the breaker judges OPEN by that clock,
//     which may read up to a tick behind, and an attempt made on the dot
//     could be rejected again;
//   - a failure is_retryable rejects: returned at once;
//   - a retryable failure: waits the next backoff and tries again if that
//     wait is shorter than what remains of total_deadline and attempts
//     remain; else returns this failure.
// A success is returned as fn gave it. A failure keeps its code, message
// and payloads, and gains the payload RetryAttempts() reads; when more than
// one attempt was made, its message also gains "; gave up after N
// attempts: <why>". An invalid policy returns ValidateRetryPolicy()'s
// InvalidArgumentError without calling fn. What fn throws propagates at
// once, without a retry (the breaker has recorded it, see Breaker::Call()).
// fn is called as an lvalue, once per admitted attempt; capture its
// arguments in it. Blocks the calling thread for the waits.
template <typename F>
auto Retry(Breaker& breaker, const RetryPolicy& policy, F&& fn)
    -> internal::CallResultT<std::invoke_result_t<F&>>;

// ---- Implementation details -------------------------------------------------

namespace internal {

// RetrySchedule: the bookkeeping of one Retry(), out of line
// (src/retry.cc), so that the template is only the loop: the clock and the
// deadline, the attempts made, the backoff, the waits and why the loop
// stopped.
// Invariant: attempts_ >= 1 (the first attempt is made before any
// decision); next_backoff_ <= policy_.max_backoff.
class RetrySchedule {
 public:
  // `policy` must be valid (ValidateRetryPolicy()) and outlive the
  // schedule, as must `breaker`, the one the attempts go through (its clock
  // decides how a rejection's retry-after is waited out). Reads the clock:
  // the deadline counts from here.
  RetrySchedule(const RetryPolicy& policy, const Breaker& breaker);

  // RetrySchedule::WaitForNextAttempt()
  // After an attempt that failed with `failure` (not OK): returns true,
  // having waited, when another attempt is due; false when Retry() should
  // return GiveUp(failure), without waiting.
  bool WaitForNextAttempt(const absl::Status& failure);

  // `failure` marked with the attempts made (and, after more than one, why
  // the loop stopped, in its message).
  absl::Status GiveUp(const absl::Status& failure) const;

 private:
  // The next backoff wait, jittered and capped; advances the backoff.
  absl::Duration NextBackoff();
  // What remains of the total deadline.
  absl::Duration Remaining() const;
  // Waits `wait` with the policy's sleep and counts the next attempt.
  void Wait(absl::Duration wait);

  const RetryPolicy& policy_;
  const Breaker& breaker_;
  const Clock* clock_;
  // Added to a rejection's non-zero retry-after: the resolution of the
  // clock the breaker judged it by (a coarse clock reads up to one tick
  // behind; zero for an injected clock).
  absl::Duration rejection_margin_;
  int64_t start_nanos_;
  int attempts_ = 1;
  absl::Duration next_backoff_;
  std::string stopped_because_;  // set when WaitForNextAttempt() says false
};

}  // namespace internal

template <typename F>
auto Retry(Breaker& breaker, const RetryPolicy& policy, F&& fn)
    -> internal::CallResultT<std::invoke_result_t<F&>> {
  using Result = internal::CallResultT<std::invoke_result_t<F&>>;
  if (absl::Status invalid = ValidateRetryPolicy(policy); !invalid.ok()) {
    return Result(std::move(invalid));
  }
  internal::RetrySchedule schedule(policy, breaker);
  for (;;) {
    Result result = breaker.Call(fn);  // fn as an lvalue: it may run again
    const absl::Status& status = internal::StatusOf(result);
    if (status.ok()) return result;
    if (!schedule.WaitForNextAttempt(status)) return Result(schedule.GiveUp(status));
  }
}

}  // namespace circuit

#endif  // CIRCUIT_RETRY_H_
