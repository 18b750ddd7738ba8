// File: circuit/permit.h
// `circuit::Permit` is the right to make one call through a breaker, and the
// place its outcome is reported. Breaker::TryAcquire() returns one; it is
// true when the call may proceed and false when the breaker rejected it.
//
// Example:
//   circuit::Permit permit = breaker->TryAcquire();
//   if (!permit) return permit.RejectionStatus();   // kUnavailable
//   absl::Status status = CallPayments();
//   permit.Record(status);                          // classified by the config
//   return status;
//
// Lifecycle: a permit is resolved at most once, by Success(), Failure(),
// Ignore(), Record() or Release(); the first of them counts and the rest
// return false and do nothing. A permit destroyed unresolved is released: it
// counts as "released", hands a half-open trial slot back, and never counts
// as an outcome. So a permit cannot leak, whatever the caller's control flow
// (an exception, a cancelled coroutine, an early return).
//
// Moving: a permit is move-only; the moved-from permit is empty (false,
// resolving it returns false) and its destruction does nothing.
//
// Threads: a permit may be resolved, or destroyed, on another thread than
// the one that acquired it (the async case); it must not be used from two
// threads at once. The breaker must outlive its permits.
//
// Generations: a permit remembers the generation of the breaker that issued
// it. If the breaker has changed state since (opened, closed, was reset), the
// outcome is counted as stale and changes nothing: a call admitted while
// CLOSED that fails after the breaker went OPEN and HALF_OPEN cannot reopen
// it.
#ifndef CIRCUIT_PERMIT_H_
#define CIRCUIT_PERMIT_H_

#include <cstdint>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "circuit/state.h"

namespace circuit {

class Breaker;

class Permit {
 public:
  // An empty permit: false, resolving it does nothing.
  Permit() noexcept
      : breaker_(nullptr), time_nanos_(0), generation_(0), kind_(Kind::kNone), admitted_(false),
        rejected_state_(State::kClosed), probe_slot_(0) {}
  Permit(Permit&& other) noexcept { MoveFrom(other); }
  Permit& operator=(Permit&& other) noexcept {
    if (this != &other) {
      Release();
      MoveFrom(other);
    }
    return *this;
  }
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { Release(); }

  // True if the call may proceed and the permit is not yet resolved.
  explicit operator bool() const { return admitted_; }

  // Permit::Success() / Failure() / Ignore()
  // Resolve the permit. Success() and Failure() also measure the call's
  // duration when slow-call detection is on, so a slow success counts as
  // slow. Return true if this call resolved the permit, false if it was
  // empty, rejected or already resolved. Never block, allocate or throw.
  bool Success() noexcept;
  bool Failure() noexcept;
  bool Ignore() noexcept;

  // Permit::Success(took) / Failure(took) / Record(status, took)
  // As above, with the call's duration measured by the caller
  // (resilience4j's onSuccess(duration)): slow-call detection judges `took`
  // (slow if took >= slow_call_duration, compared exactly) and reads no
  // clock. A negative `took` is never slow. With SlowCallClock::kCaller
  // these are the only way a call is judged slow.
  bool Success(absl::Duration took) noexcept;
  bool Failure(absl::Duration took) noexcept;
  bool Record(const absl::Status& status, absl::Duration took) noexcept;

  // Permit::FailureRetryAfter(retry_after) / (retry_after, took) / (retry_at)
  // A failure whose dependency said when to come back: an HTTP 429 or 503
  // with Retry-After, a throttling status with a retry delay. The failure
  // counts as Failure() counts it, and the breaker also opens now for
  // `retry_after`, whatever its trip conditions: a CLOSED breaker opens, a
  // HALF_OPEN trial reopens it. That is the open period, instead of the
  // computed one (backoff and jitter), capped at max_open_duration; the
  // rejections report what is left of it, and the transition's cause is
  // RETRY_AFTER with the seconds asked for as its value.
  // If another outcome opens the breaker at the same moment (a racing
  // thread's trip wins the transition), that transition and its period
  // stand. As with every outcome: a permit from an earlier generation changes
  // nothing; METRICS_ONLY and DISABLED never open; a shared breaker
  // (circuit/sharing.h) counts the failure and leaves the opening to the
  // shared state. A `retry_after` of zero or less is a plain Failure().
  // `retry_at` is a wall-clock time, turned into a wait with absl::Now()
  // (also under an injected Clock). `took`: as in Failure(took).
  bool FailureRetryAfter(absl::Duration retry_after) noexcept;
  bool FailureRetryAfter(absl::Duration retry_after, absl::Duration took) noexcept;
  bool FailureRetryAfter(absl::Time retry_at) noexcept;

  // Permit::Record()
  // Resolves the permit from a status, classified by
  // BreakerConfig::status_is_failure (default: !ok()). Returns as Success().
  bool Record(const absl::Status& status) noexcept;

  // Permit::Release()
  // Gives the permit back without an outcome (the call was not made, or was
  // cancelled). The destructor does this for an unresolved permit.
  bool Release() noexcept;

  // True for a HALF_OPEN trial permit.
  bool is_trial() const { return kind_ == Kind::kTrial; }

  // The generation the permit was issued in (or, when rejected, the
  // generation that rejected it).
  uint32_t generation() const { return generation_; }

  // ---- When rejected ------------------------------------------------------

  // True if TryAcquire() said no (false for admitted and empty permits).
  bool rejected() const { return breaker_ != nullptr && !admitted_ && kind_ == Kind::kRejected; }

  // The state that rejected the call: CLOSED when slow start's ramp shed
  // it (BreakerConfig::slow_start_duration).
  State rejected_state() const { return rejected_state_; }

  // How long, from now, until the breaker will admit a trial call: worked
  // out when asked, with a fresh reading of the breaker's clock, so it is
  // never behind (zero once the open period is over); zero when it was
  // HALF_OPEN (a trial slot may free up at any time), the time left in the
  // ramp when slow start shed it (CLOSED: a retry before then is admitted
  // with a rising probability, one after it surely), and infinite when
  // FORCED_OPEN. The breaker must still exist.
  absl::Duration retry_after() const;

  // Permit::RejectionStatus()
  // kUnavailable naming the breaker, the state and the retry delay, with a
  // payload that IsRejection() recognises. Builds a message: it allocates,
  // so it is built only when asked for, never by TryAcquire().
  absl::Status RejectionStatus() const;

 private:
  friend class Breaker;
  enum class Kind : uint8_t { kNone, kNormal, kTrial, kUntracked, kRejected };

  Permit(Breaker* breaker, Kind kind, uint32_t generation, int64_t time_nanos)
      : breaker_(breaker), time_nanos_(time_nanos), generation_(generation), kind_(kind),
        admitted_(kind != Kind::kRejected), rejected_state_(State::kClosed), probe_slot_(0) {}

  // A permit whose every field the function it is passed to fills, with
  // Fill() or MoveFrom(), before anything reads it: Breaker::TryAcquire()
  // hands one to its out-of-line part, which then stores nothing twice and
  // can hand it on with a tail call (a function returning a Permit by
  // value cannot: the return slot stays the caller's).
  struct Unfilled {};
  explicit Permit(Unfilled) noexcept {}

  void Fill(Breaker* breaker, Kind kind, uint32_t generation, int64_t time_nanos,
            State rejected_state) noexcept {
    breaker_ = breaker;
    time_nanos_ = time_nanos;
    generation_ = generation;
    kind_ = kind;
    admitted_ = kind != Kind::kRejected;
    rejected_state_ = rejected_state;
    probe_slot_ = 0;
  }

  void MoveFrom(Permit& other) noexcept {
    breaker_ = other.breaker_;
    time_nanos_ = other.time_nanos_;
    generation_ = other.generation_;
    kind_ = other.kind_;
    admitted_ = other.admitted_;
    rejected_state_ = other.rejected_state_;
    probe_slot_ = other.probe_slot_;
    if (probe_slot_ != 0) probe_entry_ = other.probe_entry_;
    other.breaker_ = nullptr;
    other.admitted_ = false;
    other.kind_ = Kind::kNone;
  }

  // Marks the permit resolved; returns false if there was nothing to resolve.
  bool Claim() noexcept {
    if (!admitted_) return false;
    admitted_ = false;
    return true;
  }

  // time_nanos_ of a permit rejected while OPEN that left the deadline
  // where it was: retry_after() reads generation_'s deadline when asked.
  static constexpr int64_t kGenerationsDeadline = std::numeric_limits<int64_t>::min();

  // Every constructor but Permit(Unfilled) sets every field.
  Breaker* breaker_;
  // Admitted: when the call started (0 when durations are not measured).
  // Rejected while OPEN: when a trial will be admitted, in nanoseconds from
  // the breaker's creation (retry_after() subtracts the time when asked),
  // or kGenerationsDeadline;
  // otherwise the nanoseconds until then (0 HALF_OPEN, -1 never).
  int64_t time_nanos_;
  uint32_t generation_;
  Kind kind_;
  bool admitted_;
  State rejected_state_;
  // A trial under a per-probe deadline (half_open_probe_timeout): 1 + the
  // index of the breaker's probe slot it holds, and that slot's entry as it
  // claimed it (see Breaker::ClaimProbeSlot()); 0 for every other permit,
  // and probe_entry_ is then never read (nor written: the CLOSED path
  // stores one field fewer).
  uint8_t probe_slot_;
  uint64_t probe_entry_;
};

// IsRejection()
// True if `status` is a breaker's RejectionStatus(), as opposed to a
// kUnavailable the dependency itself returned.
bool IsRejection(const absl::Status& status);

// RejectionRetryAfter()
// For a breaker's RejectionStatus(): the retry_after() it was built with
// (InfiniteDuration() when FORCED_OPEN, zero when HALF_OPEN). For any other
// status, or a rejection payload that does not parse: nullopt.
std::optional<absl::Duration> RejectionRetryAfter(const absl::Status& status);

}  // namespace circuit

#endif  // CIRCUIT_PERMIT_H_
