// File: circuit/events.h
// What a breaker tells those who listen: every state transition, with why
// it happened, and, for listeners that ask, every call's outcome.
//
//   class LogTransitions : public circuit::BreakerListener {
//    public:
//     void OnTransition(const circuit::TransitionEvent& e) override {
//       LOG(INFO) << e.breaker << ": " << circuit::StateName(e.from) << " -> "
//                 << circuit::StateName(e.to) << " ("
//                 << circuit::TransitionCauseName(e.cause) << ")";
//     }
//   };
//   circuit::Subscription subscription =
//       breaker->Subscribe(std::make_shared<LogTransitions>());
//   // ... until `subscription` is destroyed or Cancel()ed.
//
// Delivery:
//   * A transition is delivered exactly once to each listener subscribed
//     when it happens, on the thread that made it (the caller whose outcome
//     tripped the breaker, the call that found OPEN over, an operator's
//     ForceOpen(), a state() that found HALF_OPEN past its limit), right
//     after the compare-and-swap that made it, and outside any lock: a
//     listener may call back into the breaker (read state() or Snapshot(),
//     even ForceOpen() or Reset(), which delivers that transition
//     re-entrantly before returning).
//   * Order: each thread delivers its own transitions in order, but two
//     threads' transitions may reach a listener in either order, and a
//     transition may arrive while an older one is still being delivered on
//     another thread. Every event carries the generation it opened (and
//     generations of one breaker only grow, by one per transition), so a
//     listener that needs the order sorts by it; `to` and `generation`
//     together are exact.
//   * A listener that throws: the exception is swallowed (counted in
//     BreakerMetrics::listener_errors); the breaker and the other listeners
//     are unaffected. A slow listener slows only the thread delivering to
//     it (which is a calling thread: keep listeners short, hand heavy work
//     to a queue).
//   * Call events (kCallEvents) run on the calling thread, inside Success(),
//     Failure(), Record(), Ignore() or the rejecting TryAcquire(), after the
//     outcome has been counted (a stale outcome, of a call admitted in an
//     earlier generation, is reported as what it was).
//
// Cost on the call path: a breaker with no call listener pays one relaxed
// load per outcome and per rejection (of the count of call listeners);
// transition listeners cost nothing there (transitions are never on the
// CLOSED path). See docs/benchmarks.md, BM_Circuit_Closed_TransitionListener.
// A breaker with call listeners takes a short reader lock per call to find
// them: that is a shared write, so call events are for tests, debugging and
// low-rate breakers, not for the hot path of a busy one, and the call path
// with call listeners is not async-signal-safe.
//
// Subscribing and cancelling are thread-safe at any time, from any thread,
// including from inside a listener. Once Cancel() (or the Subscription's
// destructor) returns, the listener is not called again, except when
// Cancel() runs inside that very listener's call (then the call in progress
// finishes); so a listener may be destroyed right after Cancel() returns.
// A Subscription may outlive its breaker: cancelling it then does nothing.
#ifndef CIRCUIT_EVENTS_H_
#define CIRCUIT_EVENTS_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "circuit/sharing.h"
#include "circuit/state.h"

namespace circuit {

class Breaker;

// Why a transition happened.
enum class TransitionCause : uint8_t {
  // CLOSED -> OPEN (value: as TripCause; see circuit/snapshot.h).
  kConsecutiveFailures,
  kFailureRate,
  kSlowCallRate,
  // HALF_OPEN -> OPEN.
  kTrialFailures,
  kTrialFailureRate,
  kTrialSlowCallRate,
  kHalfOpenTimeout,
  // OPEN -> HALF_OPEN: the open period is over (value: its seconds).
  kOpenPeriodOver,
  // HALF_OPEN -> CLOSED: enough trials succeeded (value: successful
  // trials; threshold: the successes needed, or the rate judged by).
  kTrialsSucceeded,
  // ForceOpen(), Disable(), MetricsOnly(), Reset().
  kOperator,
  // Any of CLOSED, OPEN, HALF_OPEN -> another: the shared state of a
  // shared breaker moved (circuit/sharing.h); for a move into OPEN, value
  // and threshold are the shared trip's (see SharedState in
  // circuit/redis/shared.h), and the shared store's open period holds.
  kShared,
  // CLOSED -> OPEN or HALF_OPEN -> OPEN: the dependency said when to come
  // back (Permit::FailureRetryAfter()); value: the seconds it asked for,
  // which are the open period.
  kRetryAfter,
  // CLOSED -> OPEN: the window's latency percentile went over its threshold
  // (BreakerConfig::latency_percentile); value, threshold: seconds (see
  // TripCause::kLatencyPercentile).
  kLatencyPercentile,
};

// TransitionCauseName()
// "CONSECUTIVE_FAILURES", "FAILURE_RATE", "SLOW_CALL_RATE", "TRIAL_FAILURES",
// "TRIAL_FAILURE_RATE", "TRIAL_SLOW_CALL_RATE", "HALF_OPEN_TIMEOUT",
// "OPEN_PERIOD_OVER", "TRIALS_SUCCEEDED", "OPERATOR", "SHARED",
// "RETRY_AFTER", "LATENCY_PERCENTILE"; "UNKNOWN" outside.
absl::string_view TransitionCauseName(TransitionCause cause);

struct TransitionEvent {
  absl::string_view breaker;  // its config's name; valid during the call
  State from = State::kClosed;
  State to = State::kClosed;
  uint32_t generation = 0;  // the generation `to` opened
  TransitionCause cause = TransitionCause::kOperator;
  double value = 0;      // what crossed the threshold (see TransitionCause)
  double threshold = 0;  // the threshold it crossed (0 if none)
};

enum class CallOutcome : uint8_t {
  kSuccess,   // counted as a success (slow: see CallEvent::slow)
  kFailure,   // counted as a failure
  kIgnored,   // resolved with Ignore(), or classified as ignored
  kRejected,  // TryAcquire() returned no permit
};

// CallOutcomeName(): "SUCCESS", "FAILURE", "IGNORED", "REJECTED".
absl::string_view CallOutcomeName(CallOutcome outcome);

struct CallEvent {
  absl::string_view breaker;  // valid during the call
  CallOutcome outcome = CallOutcome::kSuccess;
  State state = State::kClosed;  // the state the call was admitted (or rejected) in
  bool trial = false;            // a HALF_OPEN trial
  bool slow = false;             // took at least slow_call_duration
  // A failure recorded from a status (Record(status), the Call() wrappers):
  // that status; OK otherwise.
  absl::Status status;
  // A failure from an exception the Call() wrappers caught: its type's
  // name as typeid reports it (mangled); null otherwise.
  const char* exception_type = nullptr;
};

// A shared breaker's sharing changed (circuit/sharing.h): it lost the
// shared store (kShared -> kDegraded, `reason` says why), found it again
// (kDegraded -> kShared), or was shared or let go (from or to kLocal).
// Delivered to transition listeners (kTransitionEvents) on the thread that
// made the change: the coordinator's sync thread, or whoever shared or let
// go of the breaker.
struct SharingEvent {
  absl::string_view breaker;  // valid during the call
  Sharing from = Sharing::kLocal;
  Sharing to = Sharing::kLocal;
  absl::Status reason;  // why the store was lost (kDegraded); OK otherwise
};

class BreakerListener {
 public:
  virtual ~BreakerListener() = default;
  virtual void OnTransition(const TransitionEvent& event) { (void)event; }
  virtual void OnCall(const CallEvent& event) { (void)event; }
  virtual void OnSharing(const SharingEvent& event) { (void)event; }
};

// What a listener is subscribed to.
enum EventMask : uint32_t {
  kTransitionEvents = 1u << 0,
  kCallEvents = 1u << 1,
  kAllEvents = kTransitionEvents | kCallEvents,
};

namespace internal {
class ListenerSet;
struct ListenerEntry;
}  // namespace internal

// A subscription: the listener is called until Cancel() or destruction.
// Movable, not copyable; an empty (default or moved-from) one does nothing.
class Subscription {
 public:
  Subscription() = default;
  ~Subscription() { Cancel(); }
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Stops the calls (see the header comment for the guarantee). Idempotent;
  // does nothing once the breaker is gone.
  void Cancel();
  // Subscribed and not yet cancelled (true even if the breaker is gone).
  bool active() const { return entry_ != nullptr; }

 private:
  friend class internal::ListenerSet;
  Subscription(std::weak_ptr<internal::ListenerSet> set,
               std::shared_ptr<internal::ListenerEntry> entry)
      : set_(std::move(set)), entry_(std::move(entry)) {}

  std::weak_ptr<internal::ListenerSet> set_;
  std::shared_ptr<internal::ListenerEntry> entry_;
};

}  // namespace circuit

#endif  // CIRCUIT_EVENTS_H_
