// A concurrent history of one circuit::Breaker, and the stress harness that
// records it.
//
// RunHistory() starts `threads` workers (more than the machine's cores) that
// drive ONE breaker through random operations: TryAcquire(), resolving a
// permit as a success, a failure, a slow call, Ignore(), Release() or by
// destroying it (possibly on another thread than the one that acquired it),
// and the operator controls ForceOpen(), Disable(), MetricsOnly() and
// Reset(). A separate driver thread advances the breaker's FakeClock; it is
// the only thread that moves time while the workers run.
//
// Each operation becomes one Event in the worker's own log (no lock, no
// shared write but two tickets). An event is laid out in time as
//
//   before = ticket()  pre = Observe()  clock_before = now()
//   <the operation>
//   post = Observe()   clock_after = now()   after = ticket()
//
// where ticket() is one fetch_add on a single global counter. Every ticket is
// a read-modify-write of the same atomic, so the tickets form one total order
// that is also a happens-before order: if a.after < b.before then everything
// event `a` did happens-before everything event `b` did. That is what the
// checker is allowed to conclude from tickets, and no more: two events whose
// ticket intervals overlap were concurrent, in either order.
//
// Observe() reads generation(), state(), generation(); when the two
// generations agree, the state read between them is the state OF that
// generation (the state word is one atomic; the generation changes on every
// change of state). Otherwise only the generation is kept, as a bound.
//
// Operator controls are serialized among themselves by one mutex (a single
// control plane; calls never take it). Because FORCED_OPEN, DISABLED and
// METRICS_ONLY are left only by an operator, an operator that holds the mutex
// observes exactly the generation its own ForceOpen()/Disable()/MetricsOnly()
// produced. So the history knows every DISABLED generation, hence which
// permits were untracked, hence the exact counters Metrics() must report.
//
// With HarnessOptions::coordinator, one more thread plays the distributed
// mode's sync (src/redis/coordinator.cc) against a shared state that evolves
// at random: it claims the breaker, shares it most of the time and degrades
// it sometimes (internal::SharedControl::SetSharing()), and while shared
// Follow()s, Reopen()s and Lend()s as the coordinator does. Each of its
// calls is an Event too (it takes neither mutex: it races with operators
// as a real coordinator would). A transition listener then records, for
// every transition, its cause and the event in progress on the thread that
// made it (listeners run on that thread, right after the transition's CAS).
//
// The configuration named `system-clock` (kSystemClockConfig) runs on the
// system clock instead (BreakerConfig::clock == nullptr): no FakeClock, no
// clock steps; the driver only alternates outages with healthy spells in
// real time, and the workers pause a little between operations. Each
// event then also reads CLOCK_MONOTONIC_COARSE, the clock the breaker ends
// OPEN by, first thing after its `before` ticket and last thing before its
// `after` ticket (Event::coarse_before, coarse_after), and clock_before /
// clock_after are CLOCK_MONOTONIC readings; the listener records when each
// transition was told (TransitionRecord::ticket, coarse, mono).
#ifndef CIRCUIT_TESTS_HISTORY_HISTORY_H_
#define CIRCUIT_TESTS_HISTORY_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "circuit/breaker.h"
#include "circuit/config.h"
#include "circuit/events.h"
#include "circuit/sharing.h"
#include "circuit/state.h"

namespace circuit {
namespace history {

enum class Op : uint8_t {
  kAcquire,      // TryAcquire()
  kSuccess,      // Permit::Success()
  kFailure,      // Permit::Failure()
  kFailureRetryAfter,  // Permit::FailureRetryAfter(wait): Event::open_nanos
  kIgnore,       // Permit::Ignore()
  kRelease,      // Permit::Release()
  kDrop,         // the permit destroyed unresolved
  kForceOpen,    // Breaker::ForceOpen()
  kDisable,      // Breaker::Disable()
  kMetricsOnly,  // Breaker::MetricsOnly()
  kReset,        // Breaker::Reset()
  // The coordinator's hold (internal::SharedControl).
  kClaim,       // Claim(): kLocal -> kDegraded
  kSetSharing,  // SetSharing(sharing)
  kFollow,      // Follow(follow_to, open_nanos, ...)
  kReopen,      // Reopen(hold_generation, open_nanos, ...)
  kLend,        // Lend(hold_generation, lent_slots)
};

absl::string_view OpName(Op op);
inline bool IsResolve(Op op) { return op >= Op::kSuccess && op <= Op::kDrop; }
inline bool IsOperator(Op op) { return op >= Op::kForceOpen && op <= Op::kReset; }
inline bool IsCoordinator(Op op) { return op >= Op::kClaim; }
// Resolutions that hand the permit back without an outcome.
// A failure, with a retry-after or not.
inline bool IsFailure(Op op) { return op == Op::kFailure || op == Op::kFailureRetryAfter; }
inline bool IsGiveBack(Op op) { return op == Op::kIgnore || op == Op::kRelease || op == Op::kDrop; }
// The state an operator control moves the breaker to.
State OperatorTarget(Op op);

// One reading of the state word (see Observe() above).
struct Observation {
  uint32_t generation = 0;  // a generation loaded at this point
  bool has_state = false;   // true: `state` is the state of `generation`
  State state = State::kClosed;
};

struct Event {
  int thread = 0;
  Op op = Op::kAcquire;
  uint64_t before = 0;       // ticket taken first
  uint64_t after = 0;        // ticket taken last
  int64_t clock_before = 0;  // FakeClock read just before the operation
  int64_t clock_after = 0;   // ... and just after it
  // On the system clock (History::system_clock), clock_before/clock_after
  // are CLOCK_MONOTONIC readings, and these are CLOCK_MONOTONIC_COARSE ones
  // (the breaker's own clock there): coarse_before right after `before`,
  // before the pre-observation; coarse_after right before `after`. So
  // every coarse reading the breaker took inside the event lies between
  // them. 0 on a FakeClock.
  int64_t coarse_before = 0;
  int64_t coarse_after = 0;
  Observation pre;           // read just before the operation
  Observation post;          // read just after it

  // Acquire and resolutions.
  uint64_t permit = 0;             // the permit's id in this history (0: none)
  uint32_t permit_generation = 0;  // Permit::generation()
  bool trial = false;              // Permit::is_trial()
  // Acquire only.
  bool admitted = false;
  State rejected_state = State::kClosed;  // Permit::rejected_state() if not admitted
  // Rejected as CLOSED (slow start's ramp shed it): Permit::retry_after()
  // in nanoseconds, asked inside the acquire, between clock_before and
  // clock_after (it reads the breaker's clock afresh); -1 otherwise.
  int64_t retry_nanos = -1;
  // Resolutions only.
  bool returned = false;              // what Success()/Failure()/Ignore()/Release() returned
  int64_t acquired_clock_before = 0;  // the acquire's clock_before
  int64_t acquired_clock_after = 0;   // the acquire's clock_after
  bool meant_slow = false;            // the worker held the permit until the clock had moved
  // Success(took)/Failure(took): the duration the caller gave, in
  // nanoseconds (the breaker judges and records it exactly); -1: none, the
  // breaker timed the call with its clock (between the acquire's and the
  // resolution's clock reads).
  int64_t took_nanos = -1;
  // The coordinator's calls; `returned` is what Claim(), Follow() and
  // Reopen() returned.
  State follow_to = State::kClosed;   // Follow(): the state followed
  Sharing sharing = Sharing::kLocal;  // SetSharing(): the sharing set
  // Follow(): the generation it left the breaker in; Reopen(): the OPEN
  // generation it was to move; Lend(): the HALF_OPEN generation lent to.
  uint32_t hold_generation = 0;
  uint32_t lent_slots = 0;  // Lend()
  // Follow() into OPEN, Reopen(): the period given; FailureRetryAfter():
  // the open period it asks for (the wait, capped at max_open_duration).
  int64_t open_nanos = 0;

  bool probe = false;  // made by the quiescent tail, after every worker joined
};

// One transition as the breaker's transition listener was told of it, on
// the thread that made it.
struct TransitionRecord {
  uint32_t generation = 0;  // the generation it opened
  State from = State::kClosed;
  State to = State::kClosed;
  TransitionCause cause = TransitionCause::kOperator;
  int thread = -1;
  uint64_t event = 0;  // the `before` ticket of that thread's event in progress (0: none)
  double value = 0;      // TransitionEvent::value: what crossed the threshold
  double threshold = 0;  // TransitionEvent::threshold
  // On the system clock, a ticket the listener took (0: none): after the
  // transition's CAS and everything its winner did before telling
  // listeners (for OPEN, storing the deadline: transitions.cc, Publish()).
  uint64_t ticket = 0;
  // On the system clock: CLOCK_MONOTONIC_COARSE and CLOCK_MONOTONIC read by
  // the listener (after the coarse reading the winner dated the transition
  // by, which it took before its CAS); 0 otherwise.
  int64_t coarse = 0;
  int64_t mono = 0;
};

// The driver's clock: after the advance that made the clock `now`, it took
// ticket `ticket`.
struct ClockMark {
  uint64_t ticket = 0;
  int64_t now = 0;
};

struct History {
  BreakerConfig config;  // as run; `clock` cleared
  uint64_t seed = 0;
  int threads = 0;
  // True when every operation of the run is in `events` (the harness's
  // histories; hand-made ones may say false to skip the completeness checks).
  bool complete = false;
  std::vector<Event> events;  // sorted by `after`
  std::vector<ClockMark> clock_marks;
  int64_t start_clock = 0;
  int64_t quiescent_clock = -1;  // the clock once every worker had joined (-1: none)
  int64_t end_clock = 0;
  bool has_final = false;
  BreakerMetrics final_metrics;  // Metrics() after every permit ended
  // The trials the state word still counted in flight once every permit
  // had ended, before the tail (internal::SharedControl::Read(); 0 unless
  // HALF_OPEN); -1: not read.
  int quiescent_trials_in_flight = -1;
  // Snapshot().trials_in_flight right after (Snapshot() reaps due probes
  // first when half_open_probe_timeout is set); -1: not read.
  int quiescent_snapshot_trials_in_flight = -1;
  // With the coordinator, with half_open_probe_timeout set, with
  // slow_start_duration set or with latency_percentile set: every
  // transition of the run, by generation
  // (the listener's records; for slow start they name the trial outcome
  // that closed the breaker, whose clock dates the ramp).
  bool transitions_complete = false;
  std::vector<TransitionRecord> transitions;

  // The system-clock configuration (kSystemClockConfig): the breaker ran on
  // the system clock; events carry CLOCK_MONOTONIC readings in
  // clock_before/clock_after (start_clock, quiescent_clock and end_clock
  // too) and CLOCK_MONOTONIC_COARSE ones in coarse_before/coarse_after;
  // there are no clock marks.
  bool system_clock = false;
  int64_t start_coarse = 0;      // CLOCK_MONOTONIC_COARSE before the breaker was created
  int64_t quiescent_coarse = 0;  // ... once every worker had joined
  int64_t end_coarse = 0;        // ... at the end
  int64_t coarse_resolution = 0;  // clock_getres(CLOCK_MONOTONIC_COARSE): the tick, ns
  // The breaker's own stripes (EffectiveStripes()), and each thread's
  // number (internal::ThisThreadSlot(), by Event::thread; -1: unknown): a
  // thread numbered below own_stripes has a stripe of its own, and with
  // the system clock judges only one of its rejections in
  // kRejectionsPerClockRead while OPEN (design.md section 7); the others
  // judge every one.
  int own_stripes = 0;
  std::vector<int> thread_slots;
};

struct HarnessOptions {
  int threads = 8;
  int ops_per_thread = 2000;
  uint64_t seed = 1;
  // Chance, per operation, of a random operator control (per million).
  int operator_per_million = 600;
  // Chance, per operation while FORCED_OPEN/DISABLED/METRICS_ONLY is seen,
  // of a Reset() (per million).
  int reset_per_million = 20000;
  // The driver advances the clock by 1..max_step every ops_per_step operations.
  absl::Duration max_step = absl::Milliseconds(8);
  int ops_per_step = 16;
  // After the workers join: probe until the breaker is CLOSED again.
  bool probe_tail = true;
  // A coordinator thread shares the breaker (see above), one sync round
  // every `sync_ops` operations of the workers; it lets the breaker go when
  // they are done, before the tail.
  bool coordinator = false;
  int sync_ops = 24;
  // Chance that a failure is a Permit::FailureRetryAfter() (per million),
  // with a wait of 1 to max_retry_after, at random.
  int retry_after_per_million = 0;
  absl::Duration max_retry_after = absl::Milliseconds(40);
  // With half_open_probe_timeout set: chance that a worker hangs a trial it
  // was admitted (per million): it holds the permit until the clock has
  // moved 1/2 to 3/2 of the timeout past its admission (the driver steps
  // the clock meanwhile, as for a slow call), then resolves it late (an
  // outcome, or a release, an ignore, a drop), so probes are reaped.
  int hang_trial_per_million = 300'000;
};

// The configurations the test and the soak rotate through, each named:
//   count-window            consecutive, failure-rate and slow-rate trips over
//                           a count window; backoff and jitter; K=2 of T=4
//   time-window             the same over a time window
//   judge-by-rate           trials judged by rate, K=3 of T=6
//   half-open-max-duration  HALF_OPEN ends 30 ms after it began; K=T=3
//   consecutive-only        no window: every trip needs N failures of its own
//                           generation, which the checker counts
//   successes-to-close      S of K: 2 of K=4 successful trials close, 3 failed
//                           (or slow) ones reopen; 2 in flight at once
//   half-open-limit         HALF_OPEN ends 12 ms after it began (the driver
//                           steps up to 8 ms), free slots or not; K=8, S=3
//   success-decides         rates alone (consecutive_failures_to_open unset)
//                           over a 16 ms time window with minimum_calls 12:
//                           the success that reaches the minimum may open it
//   probe-timeout           per-probe deadlines (half_open_probe_timeout
//                           10 ms, a reaped trial fails): K=4, C=2, S=K, so a
//                           reap reopens; hung trials (hang_trial_per_million)
//   probe-timeout-released  the same with kReleased and S=2: a reaped trial's
//                           slot goes back, so its late outcome is stale in a
//                           generation that goes on
//   slow-start              consecutive-only with slow_start_duration 40 ms:
//                           every close by the trials ramps (a fraction of
//                           calls admitted, the rest shed as CLOSED), and
//                           outages trip it during the ramp
//   slow-start-by-rate      a time window, trials judged by rate (K=6, C=3),
//                           and a 250 ms ramp after each by-rate close (as
//                           long as a healthy spell: outages trip many)
//   latency                 the latency-percentile trip: p90 over 25 ms in a
//                           1 s window of 10 buckets (about 22 driver steps
//                           each), minimum 40 calls, besides 5 consecutive
//                           failures; outages are either failing (85 %) or
//                           slow (half the calls over 25 ms: durations given
//                           to Success(took)/Failure(took), or held while
//                           the clock moves); healthy calls mostly at most
//                           25 ms (given, or timed by the breaker)
//   system-clock            on the system clock (config.clock == nullptr),
//                           in real time: 3 failures in a row open it for
//                           2 ms (the coarse clock's 4 ms tick decides when
//                           it ends), K=C=2; 4 own stripes, so with the
//                           main thread numbered 0 the fourth worker (and
//                           more) has none
std::vector<BreakerConfig> StressConfigs();
// The one named `name` (a default BreakerConfig if there is none).
BreakerConfig StressConfig(absl::string_view name);

// The configuration the harness runs on the system clock, in real time.
inline constexpr absl::string_view kSystemClockConfig = "system-clock";
inline bool OnSystemClock(const BreakerConfig& config) { return config.name == kSystemClockConfig; }

// Runs one history. `config.clock` is replaced by the harness's FakeClock,
// or, for the system-clock configuration (OnSystemClock()), by nullptr.
absl::StatusOr<History> RunHistory(BreakerConfig config, const HarnessOptions& options);

std::string FormatObservation(const Observation& o);
std::string FormatEvent(const Event& e);
std::string FormatTransition(const TransitionRecord& t);

}  // namespace history
}  // namespace circuit

#endif  // CIRCUIT_TESTS_HISTORY_HISTORY_H_
